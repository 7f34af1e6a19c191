from collections import UserList

registry = {}


def route(path):
    def register(view):
        registry[path] = view
        return view

    return register


@route("/count")
def count(items):
    total = len(items)  # tag:count-body
    return total


print("library", UserList([1, 1]).count(1))
print("count", registry["/count"]([1, 2, 3]))
