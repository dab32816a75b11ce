"""Log lines that cannot be forged: control characters in a message are escaped, so one record is one line.

A request path is percent-decoded before anyone logs it, so `%0A` in a URL would otherwise start a new,
made-up line in the access log (and a lone surrogate would make the handler fail). Every handler this
package configures formats with `SafeFormatter`.
"""

from __future__ import annotations

import logging
import sys

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """`text` with C0/C1 control characters, line separators and lone surrogates written as escapes."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif code < 32 or 127 <= code < 160 or code in (0x2028, 0x2029) or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


class SafeFormatter(logging.Formatter):
    """A Formatter whose message part never spans lines (tracebacks, appended after it, still do)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


def configure(fmt: str, level: int = logging.INFO) -> None:
    """Log to stderr through `SafeFormatter` (what `exhaust serve` and `exhaust worker` use)."""
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(SafeFormatter(fmt))
