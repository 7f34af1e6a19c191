import sys


def greet(name):
    return f"hello {name}"  # tag:greet


print(greet(sys.argv[1] if len(sys.argv) > 1 else "world"))
