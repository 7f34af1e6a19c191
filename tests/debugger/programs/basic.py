"""A small program for engine tests: plain calls, a loop, a generator, a coroutine."""

import asyncio


def add(a, b):
    total = a + b  # tag:add-body
    return total


def loop(n):
    acc = 0
    for i in range(n):
        acc += add(i, 1)  # tag:loop-body
    return acc  # tag:loop-return


def caller():
    x = add(1, 2)  # tag:caller-first
    y = x * 10  # tag:caller-second
    return y


def numbers():
    yield 1  # tag:gen-first
    yield 2  # tag:gen-second


def consume():
    out = []
    for n in numbers():  # tag:consume-for
        out.append(n)  # tag:consume-append
    return out


async def inner():
    await asyncio.sleep(0)  # tag:inner-await
    return 5  # tag:inner-return


async def outer():
    value = await inner()  # tag:outer-await
    return value + 1  # tag:outer-after


def run_async():
    return asyncio.run(outer())


def blank_lines():
    a = 1

    # a comment: no code on this line or the one above
    b = 2  # tag:after-blank
    return a + b


def spin(flag):
    count = 0
    while not flag.is_set():  # tag:spin
        count += 1
    return count


def raises():
    raise ValueError("boom")  # tag:raise


def catches():
    try:
        raises()
    except ValueError:
        return "caught"  # tag:catch


def locals_demo():
    value = 1
    items = [1, 2, 3]  # tag:locals-demo
    return value + len(items)  # tag:locals-return


def jumpy():
    out = []
    out.append("a")  # tag:jump-a
    out.append("b")  # tag:jump-b
    out.append("c")  # tag:jump-c
    return out


def outer_sum():
    base = 1
    value = add(2, 3)  # tag:outer-call
    return base + value  # tag:outer-return


def make_adder(n):
    def adder(x):
        return x + n  # tag:closure-body

    return adder
