import sys

line = sys.stdin.readline().strip()
print("read", repr(line))  # tag:print
