"""Source text: decoding, newline normalisation and locating what changed between two texts.

Everything downstream works on *normalised* text: decoded to ``str`` the way Python decodes a
source file (BOM, coding cookie, UTF-8 by default) and with ``\\r\\n`` and lone ``\\r`` turned
into ``\\n``. Python's own tokenizer does the same universal-newline translation when it reads a
file, so normalising changes no line number and no compiled code, and lets one ``split("\\n")``
give the lines the compiler counts.
"""

from __future__ import annotations

import codecs
import io
import tokenize
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceError:
    """A reason the new source cannot be used at all: nothing of it is applied.

    ``kind`` is ``"encoding"`` (the bytes do not decode), ``"syntax"`` (the parser refuses the
    text, indentation errors included) or ``"compile"`` (the parser accepts it but the compiler
    does not, e.g. ``nonlocal`` with no binding) or ``"nesting"`` (the text is nested too deeply
    for relive to compare it: Python itself refuses most such texts). ``lineno`` and ``col``
    are 1-based; ``col`` is 0 when unknown.
    """

    kind: str
    message: str
    lineno: int
    col: int = 0
    filename: str = ""

    def __str__(self) -> str:
        where = f"{self.filename}:{self.lineno}" if self.filename else f"line {self.lineno}"
        if self.col:
            where += f":{self.col}"
        return f"{where}: {self.kind} error: {self.message}"

    @classmethod
    def from_exception(cls, exc: BaseException, filename: str, kind: str) -> SourceError:
        lineno = getattr(exc, "lineno", None) or 1
        col = getattr(exc, "offset", None) or 0
        message = getattr(exc, "msg", None) or str(exc)
        return cls(kind=kind, message=str(message), lineno=int(lineno), col=int(col),
                   filename=filename)


def normalize_newlines(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def decode_source(source: str | bytes, filename: str = "") -> tuple[str, SourceError | None]:
    """Decode and normalise ``source``; return ``(text, None)`` or ``("", error)``.

    Bytes are decoded as Python decodes a source file: a UTF-8 BOM, else a PEP 263 coding
    cookie in the first two lines, else UTF-8. A ``str`` keeps its characters (a leading BOM
    character is dropped, as the tokenizer would).
    """
    if isinstance(source, bytes):
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        except SyntaxError as exc:
            return "", SourceError("encoding", str(exc), 1, 0, filename)
        try:
            text = codecs.decode(source, encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            return "", SourceError("encoding", _decode_message(exc, source, encoding),
                                   _error_line(exc, source), 0, filename)
    else:
        text = source
    if text.startswith("\ufeff"):
        text = text[1:]
    return normalize_newlines(text), None


def _decode_message(exc: Exception, data: bytes, encoding: str) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return (f"cannot decode byte 0x{data[exc.start]:02x} as {encoding} "
                f"(declare the file's encoding with a coding cookie, or save it as UTF-8)")
    return f"unknown encoding {encoding!r}"


def _error_line(exc: Exception, data: bytes) -> int:
    if isinstance(exc, UnicodeDecodeError):
        return data.count(b"\n", 0, exc.start) + 1
    return 1


def split_lines(text: str) -> list[str]:
    """The lines of normalised text, without their newlines (line ``n`` is ``lines[n - 1]``)."""
    return text.split("\n")


def common_prefix_length(a: str, b: str) -> int:
    """Length of the longest common prefix, in linear time with C-speed comparisons.

    A binary search whose probe only compares the window still in doubt: the windows halve,
    so all comparisons together read each character about once.
    """
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def common_suffix_length(a: str, b: str, limit: int) -> int:
    """Length of the longest common suffix, at most ``limit`` characters."""
    la, lb = len(a), len(b)
    lo, hi = 0, min(limit, la, lb)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[la - mid:la - lo] == b[lb - mid:lb - lo]:
            lo = mid
        else:
            hi = mid - 1
    return lo


@dataclass(frozen=True, slots=True)
class ChangedLines:
    """Where two texts differ, in whole lines (1-based, inclusive).

    Old lines ``first..old_last`` were replaced by new lines ``first..new_last``; every line
    before ``first`` and every line after the replaced block is identical in both texts.
    ``old_last == first - 1`` means nothing was removed (a pure insertion before ``first``),
    ``new_last == first - 1`` that nothing was inserted. ``shift`` is how far the lines after
    the block moved. ``start`` is the character offset of line ``first`` (the same in both),
    ``new_end`` the offset in the new text just after the replaced block's last newline.
    """

    first: int
    old_last: int
    new_last: int
    start: int
    new_end: int

    @property
    def shift(self) -> int:
        return self.new_last - self.old_last


def changed_lines(old: str, new: str) -> ChangedLines | None:
    """The block of whole lines that differs between ``old`` and ``new``, or None if equal."""
    if old == new:
        return None
    len_old, len_new = len(old), len(new)
    p = common_prefix_length(old, new)
    start = old.rfind("\n", 0, p) + 1  # the changed line starts here, in both texts
    first = old.count("\n", 0, start) + 1
    k = common_suffix_length(old, new, min(len_old, len_new) - start)
    # Shorten the common suffix until it begins at a line start in both texts (k == 0 counts
    # when both texts end with a newline: the empty last line is then common).
    while True:
        xo, xn = len_old - k, len_new - k
        if (xo == 0 or old[xo - 1] == "\n") and (xn == 0 or new[xn - 1] == "\n"):
            old_last = first - 1 + old.count("\n", start, xo)
            new_last = first - 1 + new.count("\n", start, xn)
            return ChangedLines(first, old_last, new_last, start, xn)
        if k == 0:
            # no common line at the end: the block runs to the end of both texts
            return ChangedLines(first, first + old.count("\n", start),
                                first + new.count("\n", start), start, len_new)
        nl = old.find("\n", xo)
        k = 0 if nl < 0 else len_old - (nl + 1)
