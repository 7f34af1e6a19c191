def compute():
    value = 1  # tag:value
    items = [1, 2, 3]
    label = "x"  # tag:label
    total = value + len(items)  # tag:total
    return label, total


def steps():
    out = []
    out.append("a")  # tag:a
    out.append("b")  # tag:b
    out.append("c")  # tag:c
    return out


def loop():
    acc = 0
    for i in range(5):
        acc += i  # tag:loop
    return acc


print("compute", compute())
print("steps", steps())
print("loop", loop())
