import asyncio


async def fetch(n):
    await asyncio.sleep(0)  # tag:fetch-await
    return n * 2  # tag:fetch-return


async def handler():
    value = await fetch(21)  # tag:handler-await
    print("value", value)  # tag:handler-print
    return value


async def main():
    task = asyncio.create_task(handler(), name="handler-task")
    await task


asyncio.run(main())
