"""The rude edit catalogue: stable, unique codes, each documented in docs/rude-edits.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from relive.delta.rude import RudeEdit, RudeEditKind

DOC = Path(__file__).resolve().parents[2] / "docs" / "rude-edits.md"


def test_codes_are_unique_and_well_formed() -> None:
    codes = [kind.code for kind in RudeEditKind]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"RL[1-5]\d{3}", code) for code in codes)
    assert all(kind.default_severity in ("error", "warning") for kind in RudeEditKind)


@pytest.mark.parametrize("kind", list(RudeEditKind), ids=lambda k: k.code)
def test_each_kind_is_documented_as_it_is(kind: RudeEditKind) -> None:
    message = kind.value.message.replace("|", "\\|")
    row = f"| {kind.code} | `{kind.name}` | {kind.default_severity} | {message} |"
    assert row in DOC.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("kind", list(RudeEditKind), ids=lambda k: k.code)
def test_each_message_is_one_line_with_its_details(kind: RudeEditKind) -> None:
    rude = RudeEdit.make(kind, 3, "Cart.total", "x → y")
    assert "\n" not in rude.message and "{" not in rude.message
    assert rude.code == kind.code and RudeEditKind.from_code(kind.code) is kind
