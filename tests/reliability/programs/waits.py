import sys

print("waiting", flush=True)
sys.stdin.readline()  # tag:read
print("bye")
