import relive


class ContextProxy:
    """Stands for a web framework's request proxy: any attribute outside a request fails."""

    def __getattr__(self, name):
        raise RuntimeError("Working outside of request context.")


request = ContextProxy()


def broken_handler(result):
    raise KeyError("handler bug")


relive.on_update(broken_handler)


def handle(n):
    total = n + 1  # tag:handle
    return total


for i in range(2):
    print("handled", handle(i))
