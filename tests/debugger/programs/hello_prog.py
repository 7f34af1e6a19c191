def print_world():
    print("World")  # tag:world


def main():
    print("Hello")
    print_world()
    print("done")


main()
