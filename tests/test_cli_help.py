"""Every command's `--help` reads well: an Examples block of real invocations that parse, options shown
with a metavar (never `<str>`), flags as flags, and no `[default: None]`-style noise. In-process, quick:
it walks the command tree and parses each example, running nothing."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
from typer.main import get_command

from exhaust.cli import app

ROOT = get_command(app)


def _leaves(group: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found: list[tuple[tuple[str, ...], Any]] = []
    for name, command in group.commands.items():
        if getattr(command, "commands", None):
            found += _leaves(command, (*path, name))
        else:
            found.append(((*path, name), command))
    return found


LEAVES = _leaves(ROOT)
IDS = [" ".join(path) for path, _ in LEAVES]


def _context(path: tuple[str, ...]) -> Any:
    ctx = ROOT.make_context("exhaust", [], resilient_parsing=True)
    group = ROOT
    for name in path:
        group = group.commands[name]
        ctx = group.make_context(name, [], parent=ctx, resilient_parsing=True)
    return ctx


def examples(command: Any) -> list[str]:
    """The lines of a command's `\\b Examples:` (or `Example:`) block."""
    text = command.help or ""
    match = re.search(r"\x08\n\s*Examples?:\n((?:[ \t]+\S.*\n?)+)", text)
    return [line.strip() for line in match.group(1).splitlines()] if match else []


def test_the_tree_has_every_group() -> None:
    assert {"schedule add", "tpd run", "emission token create", "emit", "dashboard tokens"} <= set(IDS)


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=IDS)
def test_every_command_has_examples_that_parse(path: tuple[str, ...], command: Any) -> None:
    lines = examples(command)
    assert 1 <= len(lines) <= 4, f"exhaust {' '.join(path)}: give 1-3 examples in a \\b Examples: block"
    invocation = "exhaust " + " ".join(path)
    for line in lines:
        assert invocation in line, f"{line!r} does not call {invocation}"
        words = shlex.split(line.split(invocation, 1)[1], comments=True)
        with command.make_context(path[-1], words, parent=_context(path[:-1])):
            pass  # parses the example's options and arguments (an unknown or missing one raises)


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=IDS)
def test_help_shows_metavars_and_no_noise(path: tuple[str, ...], command: Any) -> None:
    ctx = _context(path)
    for param in command.params:
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, text = record
        where = f"exhaust {' '.join(path)} {names}"
        assert text.strip(), f"{where}: no help text"
        assert "default: None" not in text and "[default: ]" not in text, where
        assert not re.search(r"default: (False|True)\]", text), f"{where}: a flag shows its default"
        assert "BOOLEAN" not in names, where
        if param.param_type_name == "option":
            is_flag = getattr(param, "is_flag", False) or getattr(param, "count", False)
            assert "<" not in names, f"{where}: give the option a metavar"
            assert is_flag or param.metavar, f"{where}: give the option a metavar"
        else:
            assert param.metavar and param.metavar.isupper(), (
                f"{where}: give the argument an upper-case metavar"
            )
