def f(x):
    y = x * 2  # tag:f-body
    z = y + 1  # tag:f-middle
    return z  # tag:f-return


def main():
    for i in range(3):
        print("f", i, "=", f(i))  # tag:main-call


main()
