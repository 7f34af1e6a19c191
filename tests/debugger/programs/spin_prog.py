import sys

done = False
count = 0
print("spinning", flush=True)
while not done:  # tag:spin
    count += 1
print("stopped spinning")
sys.exit(3)
