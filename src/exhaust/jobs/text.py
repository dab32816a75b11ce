"""Text from requesters: refused at the door when no store or reader could hold it, repaired when read.

A lone UTF-16 surrogate (JSON `"\\ud83d"`) cannot be encoded as UTF-8, so PostgreSQL, the JSON answer and
a terminal all fail on it; a NUL cannot be stored in PostgreSQL text. Both are refused in any field at
submit. Tags name a path segment (`/request/read/<tag>`), so a tag also may not hold `/`, control
characters, or only white space. A row that already holds a surrogate (stored before this check) is read
with each one replaced by U+FFFD, so reads, lists, searches and `exhaust status` still work.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from exhaust.errors import BadInput

REPLACEMENT = "\ufffd"


def _is_surrogate(char: str) -> bool:
    return "\ud800" <= char <= "\udfff"


def text_problem(text: str) -> str | None:
    """What makes `text` unstorable (a surrogate or a NUL), or None."""
    if text.isascii():
        return "a NUL character" if "\x00" in text else None
    if "\x00" in text:
        return "a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "a lone UTF-16 surrogate"
    return None


def value_problem(value: Any) -> str | None:
    """The first unstorable text anywhere in a JSON-like value (walked without recursion), or None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found = text_problem(item)
            if found:
                return found
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None


def check_value(name: str, value: Any) -> None:
    """BadInput when `value` holds text no store can keep."""
    found = value_problem(value)
    if found:
        raise BadInput(f"{name} must not contain {found}")


def tag_problem(tag: str) -> str | None:
    """Why `tag` cannot be a tag (None when it can): empty, '/', control characters, unstorable text."""
    if not tag.strip():
        return "tag is empty"
    found = text_problem(tag)
    if found:
        return f"tag must not contain {found}"
    if "/" in tag:
        return "tag must not contain '/'"
    if any(unicodedata.category(char) == "Cc" for char in tag):
        return "tag must not contain control characters"
    return None


def check_tag(tag: str) -> str:
    found = tag_problem(tag)
    if found:
        raise BadInput(found)
    return tag


def repaired(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (readers of rows stored before the check)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(REPLACEMENT if _is_surrogate(char) else char for char in text)
    return text


def repaired_value(value: Any) -> Any:
    """A JSON-like value with every text `repaired` (keys too); unchanged (the same object) when clean."""
    if value_problem(value) is None:
        return value
    if isinstance(value, str):
        return repaired(value)
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while stack:
        item, parent, key = stack.pop()
        if isinstance(item, dict):
            copy: Any = {}
            for k, v in item.items():
                fixed = repaired(k) if isinstance(k, str) else k
                copy[fixed] = None
                stack.append((v, copy, fixed))
        elif isinstance(item, list | tuple):
            copy = [None] * len(item)
            stack.extend((v, copy, i) for i, v in enumerate(item))
        else:
            copy = repaired(item) if isinstance(item, str) else item
        parent[key] = copy
    return root[0]
