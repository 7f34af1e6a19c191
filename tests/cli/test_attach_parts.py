"""The parts of ``relive attach`` that need no process: telling the CPython version of a
process, its options, and the lines an apply prints."""

from __future__ import annotations

import pytest

from relive.cli.attach import outcome_lines
from relive.client.attach import _has_option, _version


def test_the_version_comes_from_libpython_or_the_executables_name() -> None:
    maps = "7f00-7f10 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0\n"
    assert _version("/usr/bin/uwsgi", maps) == (3, 12)
    assert _version("/usr/local/bin/python3.14", "") == (3, 14)


def test_an_executable_that_is_not_python_has_no_version(tmp_path: object) -> None:
    assert _version("/bin/true", "") is None  # prints nothing when asked


def test_x_options_in_both_spellings() -> None:
    assert _has_option(["python3", "-X", "disable-remote-debug", "app.py"],
                       "disable-remote-debug")
    assert _has_option(["python3", "-Xdisable-remote-debug"], "disable-remote-debug")
    assert not _has_option(["python3", "disable-remote-debug"], "disable-remote-debug")


def test_an_apply_is_told_in_relive_runs_words() -> None:
    outcome = {
        "applied": True, "message": "", "files": ["/app/shop.py"], "duration_s": 0.0123,
        "edits": [{"path": "/app/shop.py", "kind": "update", "definition": "total"},
                  {"path": "/app/shop.py", "kind": "insert", "definition": "tax"},
                  {"path": "/app/shop.py", "kind": "line_shift", "definition": "main"}],
        "rude_edits": [{"path": "/app/shop.py", "line": 3, "code": "RL2001",
                        "severity": "warning", "message": "a default changed"}],
        "generation": {"/app/shop.py": 2},
    }
    assert outcome_lines(outcome) == [
        "shop.py: gen 2: updated total; added tax (12.3 ms)",
        "shop.py:3: RL2001 warning: a default changed"]
    refused = {"applied": False, "message": "a syntax error", "files": [], "edits": [],
               "rude_edits": [], "generation": {}}
    assert outcome_lines(refused) == ["not applied: a syntax error"]


def test_restricted_ptrace_is_refused_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    import relive.client.attach as attach

    info = attach.ProcessInfo(pid=4321, exe="/usr/bin/python3.12", version=(3, 12), uid=0)
    monkeypatch.setattr(attach.shutil, "which", lambda name: "/usr/bin/gdb")
    monkeypatch.setattr(attach, "_ptrace_scope", lambda: 3)
    with pytest.raises(attach.AttachError, match=r"forbids attaching.*ptrace_scope is 3"):
        attach._pending_call(info, "pass")
    monkeypatch.setattr(attach, "_ptrace_scope", lambda: 2)
    monkeypatch.setattr(attach.os, "getuid", lambda: 1000)
    with pytest.raises(attach.AttachError, match=r"only root may attach.*run relive attach as"):
        attach._pending_call(info, "pass")
    monkeypatch.setattr(attach, "_ptrace_scope", lambda: 1)
    assert "ptrace_scope is 1" in attach._ptrace_hint()
    assert "sysctl kernel.yama.ptrace_scope=0" in attach._ptrace_hint()


def test_without_gdb_the_message_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import relive.client.attach as attach

    info = attach.ProcessInfo(pid=4321, exe="/usr/bin/python3.12", version=(3, 12), uid=0)
    monkeypatch.setattr(attach.shutil, "which", lambda name: None)
    with pytest.raises(attach.AttachError, match=r"needs gdb.*apt install gdb"):
        attach._pending_call(info, "pass")
