"""Two workers and a main thread; the workers wait for each other at a barrier."""

import threading

barrier = threading.Barrier(2)
results = {}


def work(name, n):
    barrier.wait()
    total = 0
    for i in range(n):
        total += i  # tag:work-loop
    results[name] = total  # tag:work-done
    return total


threads = [threading.Thread(target=work, args=(f"w{i}", 5), name=f"worker-{i}") for i in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("results", sorted(results.items()))
