import os

name = os.fsdecode(b"report-\xff.txt")


def risky(path):
    raise RuntimeError(path)


def guarded():
    held = name  # tag:held
    try:
        risky(held)  # tag:risky
    except ValueError:
        return "swallowed a ValueError"
    except RuntimeError as exc:
        return ascii(str(exc))


print("first", guarded())
print("second", guarded())
