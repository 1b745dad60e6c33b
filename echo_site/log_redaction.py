"""A logging filter that keeps credentials out of every log line, whatever logged them.

The service never logs tokens itself; libraries at DEBUG level may (stripe logs whole API
response bodies, client_secret included). This filter, on the console handler, rewrites each
record's message and traceback before it is written.
"""

from __future__ import annotations

import logging
import re

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*"), "[jwt]"),
    (re.compile(r"\b(?:sk|rk)_(?:test|live)_[A-Za-z0-9]+"), "[stripe-key]"),
    (re.compile(r"\bwhsec_[A-Za-z0-9_]+"), "[webhook-secret]"),
    (re.compile(r"\b(?:pi|seti)_\w+?_secret_[A-Za-z0-9_]+"), "[client-secret]"),
    (re.compile(r"(\bv1=)[0-9a-f]{64}"), r"\1[signature]"),
    (re.compile(r"((?:[?&]|\b)ticket=)[^&\s\"']+"), r"\1[ticket]"),
    (re.compile(r"(\bsessionid=)[^;\s\"']+"), r"\1[session]"),
    (re.compile(r"(\bBearer\s+)[^\s\"']+", re.IGNORECASE), r"\1[token]"),
    (
        re.compile(r"(\"(?:password|refresh|access|client_secret)\"\s*:\s*\")[^\"]*"),
        r"\1[redacted]",
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler to report
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
