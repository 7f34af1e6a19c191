import time

print("sleeping", flush=True)
time.sleep(60)  # tag:sleep
print("woke")
