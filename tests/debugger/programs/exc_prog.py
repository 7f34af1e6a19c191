import sys


def parse(text):
    number = int(text)  # tag:int
    return number


def tolerant(text):
    try:
        return parse(text)
    except ValueError:
        return -1  # tag:handled


print("tolerant", tolerant("x"))
mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
if mode == "crash":
    parse("not a number")
print("done")
