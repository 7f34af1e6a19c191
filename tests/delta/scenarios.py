"""Reading the edit-scenario corpus (``tests/scenarios/*.scenario``, format in its README)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import relive

CORPUS = Path(__file__).resolve().parent.parent / "scenarios"


@dataclass
class Scenario:
    name: str
    about: str
    old: str
    new: str
    edits: set[str] | None
    rude: set[str]
    errors: set[str]
    linemaps: dict[str, dict[int, int | None]] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)

    def source(self, text: str) -> str | bytes:
        """The source as the test hands it to relive (with the options applied)."""
        if self.options.get("newline") == "crlf":
            text = text.replace("\n", "\r\n")
        encoding = self.options.get("encoding")
        if encoding is None:
            return text
        if encoding == "bom":
            return b"\xef\xbb\xbf" + text.encode("utf-8")
        return text.encode(encoding)

    def baseline(self) -> relive.Baseline:
        return relive.Baseline.from_source(self.source(self.old), "app.py", "app")

    def delta(self, incremental: bool = True) -> relive.Delta:
        return relive.compute_delta(self.baseline(), self.source(self.new),
                                    incremental=incremental)


def describe_edit(e: relive.SemanticEdit) -> str:
    text = f"{e.kind} {e.target} {e.path}"
    if e.kind in ("update", "replace") and e.reasons:
        text += f" ({', '.join(e.reasons)})"
    return text


def describe_rude(r: relive.RudeEdit) -> str:
    return f"{r.code} {r.severity} {r.lineno}"


def describe_error(e: relive.SourceError) -> str:
    return f"{e.kind} {e.lineno}"


def _lines(body: str) -> set[str]:
    items = {line.strip() for line in body.splitlines() if line.strip()}
    return set() if items == {"none"} else items


def parse(path: Path) -> Scenario:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.startswith("=== "):
            current = sections.setdefault(line[4:].strip(), [])
        elif current is not None:
            current.append(line)
        elif line.strip():
            raise ValueError(f"{path.name}: text before the first section")

    def text(name: str) -> str:
        lines = sections.get(name, [])
        while lines and not lines[-1].strip():
            lines = lines[:-1]
        return "\n".join(lines) + "\n" if lines else ""

    for required in ("about", "old", "new"):
        if required not in sections:
            raise ValueError(f"{path.name}: missing section {required!r}")
    linemaps: dict[str, dict[int, int | None]] = {}
    for name, lines in sections.items():
        if name.startswith("linemap "):
            mapping: dict[int, int | None] = {}
            for line in lines:
                if line.strip():
                    old, _, new = line.partition("->")
                    mapping[int(old)] = None if new.strip() == "none" else int(new)
            linemaps[name[len("linemap "):].strip()] = mapping
    options = {}
    for line in sections.get("options", []):
        if line.strip():
            key, _, value = line.partition(":")
            options[key.strip()] = value.strip()
    return Scenario(
        name=path.stem,
        about=text("about").strip(),
        old=text("old"),
        new=text("new"),
        edits=_lines(text("edits")) if "edits" in sections else None,
        rude=_lines(text("rude")),
        errors=_lines(text("errors")),
        linemaps=linemaps,
        options=options,
    )


def load_all() -> list[Scenario]:
    return [parse(p) for p in sorted(CORPUS.glob("*.scenario"))]
