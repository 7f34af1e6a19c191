"""The smallest edits that reproduce each kind of bad case the release oracle found.

Each entry is an old and a new source of one module (with its package's other files when it
needs them), the cause, and the release cases it stands for. Run one with
``python -m tests.realcode.pair --repro NAME``; the verdict of a fixed one is good.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Repro:
    cause: str
    old: str
    new: str
    module: str = "relive_pair"
    others: dict[str, str] = field(default_factory=dict)
    cases: tuple[str, ...] = ()


REPROS: dict[str, Repro] = {
    "enc_lambda_default_with_cells": Repro(
        "EnC compile matches code by (first line, name): a lambda default on the line of a "
        "def whose body has closure cells collides; the import under relive raises",
        "def groups(xs, key=lambda x: x):\n    return [lambda: key(x) for x in xs]\n",
        "def groups(xs, key=lambda x: x):\n    return [lambda: key(x) for x in xs][:1]\n",
        cases=("more-itertools:10.1.0..10.2.0:* (3 cases)",
               "more-itertools:10.2.0..10.3.0:* (3 cases)")),
    "class_body_reads_new_import": Repro(
        "a class body (method annotations) run by the apply does not see a name the same "
        "edit imports",
        "class R:\n    def f(self) -> int:\n        return 1\n",
        "from typing import Iterator\n\n\nclass R:\n"
        "    def f(self) -> Iterator[int]:\n        return iter([1])\n",
        cases=("packaging:23.1..23.2:packaging/requirements.py",
               "idna:3.4..3.5:idna/codec.py")),
    "default_reads_new_name": Repro(
        "a default value run by the apply does not see a module name the same edit binds",
        "class E(Exception):\n    def __init__(self, msg=None):\n        self.msg = msg\n",
        "DD = object()\n\n\nclass E(Exception):\n    def __init__(self, msg=DD):\n"
        "        self.msg = msg\n",
        cases=("tomli:2.0.2..2.1.0:tomli/_parser.py",)),
    "new_code_reads_name_of_changed_block": Repro(
        "a changed if/try block is not run (RL3001), so new code that reads a name only it "
        "binds is refused, though a fresh import runs it",
        "TYPE_CHECKING = False\nif TYPE_CHECKING:\n    T = tuple\nelse:\n    T = object\nv: T\n",
        "TYPE_CHECKING = False\nif TYPE_CHECKING:\n    VT = tuple\nelse:\n    VT = object\n"
        "v: VT\n",
        cases=("pluggy:1.3.0..1.4.0:pluggy/_version.py",
               "typing-extensions:4.11.0..4.12.0:typing_extensions.py")),
    "class_under_type_checking_edited": Repro(
        "a class defined only under `if TYPE_CHECKING:` is edited: the apply raises "
        "LookupError (class not in the running program) and refuses, instead of taking the "
        "edit as one of code that never ran",
        "import typing\n\nif typing.TYPE_CHECKING:\n    class B:\n        x: int\n",
        "import typing\n\nif typing.TYPE_CHECKING:\n    class B:\n        x: int\n\n"
        "        def f(self) -> int: ...\n",
        cases=("urllib3:2.2.1..2.2.2:urllib3/_base_connection.py",)),
    "class_of_untaken_branch_inserted": Repro(
        "a class added to the branch of an `if` that does not run is inserted anyway and "
        "shadows the name the taken branch imports (`Literal` becomes a plain class)",
        "import sys\n\nif sys.version_info >= (3, 8):\n    from typing import TypedDict\n"
        "else:\n    class TypedDict:\n        pass\n",
        "import sys\n\nif sys.version_info >= (3, 8):\n    from typing import Literal, "
        "TypedDict\nelse:\n    class Literal:\n        pass\n\n    class TypedDict:\n"
        "        pass\n\nX = Literal['a']\n",
        cases=("packaging:23.1..23.2:packaging/metadata.py",)),
    "column_only_edit": Repro(
        "an edit that changes only columns (parentheses removed, implicit string "
        "concatenation joined) is taken as no change: co_positions keep the old columns",
        "def f(xs):\n    for (a, b) in xs:\n        print(a, b)\n",
        "def f(xs):\n    for a, b in xs:\n        print(a, b)\n",
        cases=("attrs:23.1.0..23.2.0:attr/validators.py",
               "pyparsing:3.1.1..3.1.2:pyparsing/results.py",
               "packaging:23.2..24.0:packaging/metadata.py", "rich:13.6.0..13.7.0:rich/layout.py",
               "rich:13.6.0..13.7.0:rich/table.py",
               "pyflakes:3.0.1..3.1.0:pyflakes/checker.py")),
    "string_concatenation_joined": Repro(
        "the same cause as column_only_edit, with implicit concatenation",
        "def f():\n    return ('a' 'b')\n",
        "def f():\n    return ('ab')\n",
        cases=("attrs:23.1.0..23.2.0:attr/validators.py",)),
    "default_reads_changed_module_name": Repro(
        "a default whose expression is unchanged but reads a module name the edit rebinds "
        "keeps the old value, silently (a fresh import evaluates it anew)",
        "__version__ = '1.0'\n\n\ndef get_parser(version=__version__):\n    return version\n",
        "__version__ = '1.1'\n\n\ndef get_parser(version=__version__):\n    return version\n",
        cases=("pycodestyle:2.10.0..2.11.0:pycodestyle.py",
               "pycodestyle:2.11.0..2.11.1:pycodestyle.py",
               "pycodestyle:2.11.1..2.12.0:pycodestyle.py")),
    "default_reads_changed_class_attribute": Repro(
        "the same, with a class attribute read by a method's default",
        "class R:\n    H = frozenset({'a'})\n\n    def __init__(self, h=H):\n        self.h = h\n",
        "class R:\n    H = frozenset({'a', 'b'})\n\n    def __init__(self, h=H):\n"
        "        self.h = h\n",
        cases=("urllib3:2.2.1..2.2.2:urllib3/util/retry.py",)),
    "future_flag_without_effect": Repro(
        "code compiled by an apply carries CO_FUTURE_ABSOLUTE_IMPORT (0x40000) for "
        "`from __future__ import absolute_import`; the compiler sets no flag for it",
        "from __future__ import absolute_import\n\n\ndef f(x):\n    return x\n",
        "from __future__ import absolute_import\n\ndef f(x):\n    return x\n",
        cases=("rich:13.6.0..13.7.0:rich/traceback.py",)),
    "overload_stubs_not_shifted": Repro(
        "@overload stubs live only in typing's registry (typing.get_overloads): an edit "
        "above them leaves their lines stale, and an edit of a stub is not applied (warning "
        "'no live function object found')",
        "from typing import overload\n\n\n@overload\ndef f(x: int) -> int: ...\n@overload\n"
        "def f(x: str) -> str: ...\ndef f(x):\n    return x\n",
        "# a comment line\nfrom typing import overload\n\n\n@overload\n"
        "def f(x: int) -> int: ...\n@overload\ndef f(x: str) -> str: ...\ndef f(x):\n"
        "    return x\n",
        cases=("tomlkit:0.12.3..0.12.4:tomlkit/items.py",
               "tomlkit:0.12.4..0.12.5:tomlkit/items.py",
               "click:8.1.4..8.1.5:click/decorators.py", "click:8.1.5..8.1.6:click/decorators.py",
               "urllib3:2.1.0..2.2.0:urllib3/connectionpool.py",
               "urllib3:2.1.0..2.2.0:urllib3/util/ssl_.py",
               "urllib3:2.2.1..2.2.2:urllib3/connectionpool.py",
               "urllib3:2.2.1..2.2.2:urllib3/util/ssltransport.py")),
    "deleted_name_imported_elsewhere": Repro(
        "deleting a definition that another tracked module imported (`from m import name`) "
        "is applied without a warning naming the importing module",
        "def helper():\n    return 1\n\n\ndef other():\n    return 2\n",
        "def other():\n    return 2\n",
        module="relive_pair_pkg.a",
        others={"relive_pair_pkg/__init__.py": "from . import a, b\n",
                "relive_pair_pkg/b.py": "from relive_pair_pkg.a import helper\n"},
        cases=("attrs:23.1.0..23.2.0:attr/_compat.py", "attrs:23.2.0..24.1.0:attr/_compat.py",
               "pluggy:1.3.0..1.4.0:pluggy/_result.py")),
    "function_held_in_a_descriptor": Repro(
        "a function kept by a decorator object (a lazy class property, a framework's "
        "command or route) is not found: 'no live function object found', the program keeps "
        "the old code",
        "class lazy:\n    def __init__(self, fn):\n        self.fn = fn\n\n"
        "    def __get__(self, obj, cls):\n        return self.fn(cls)\n\n\n"
        "class U:\n    @lazy\n    def chars(cls):\n        return 1\n",
        "class lazy:\n    def __init__(self, fn):\n        self.fn = fn\n\n"
        "    def __get__(self, obj, cls):\n        return self.fn(cls)\n\n\n"
        "class U:\n    @lazy\n    def chars(cls):\n        return 2\n",
        cases=("pyparsing:3.1.1..3.1.2:pyparsing/unicode.py",)),
}
