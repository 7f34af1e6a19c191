def numbers():
    yield 10  # tag:yield-first
    yield 20  # tag:yield-second


def main():
    out = []
    for n in numbers():  # tag:for
        out.append(n)  # tag:append
    print("collected", out)


main()
