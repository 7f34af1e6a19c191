def f(x):
    y = x * 2  # tag:f-body
    return y + 1  # tag:f-return


def main():
    for i in range(3):
        print("f", i, "=", f(i))  # tag:main-call


main()
