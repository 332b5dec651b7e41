"""Keep secrets out of output, logs and errors.

Option names that hold secrets are recognised by name; their values are
registered when a job loads, and a logging filter masks any registered value
that reaches a log record. Connection URLs have their password masked.
"""

from __future__ import annotations

import logging
import re
import threading

SECRET_NAME = re.compile(
    r"(token|password|passwd|api_key|apikey|secret|access_key|connection_string|sas)", re.IGNORECASE
)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]+):(?P<pw>[^@/\s]+)@", re.IGNORECASE)
MASK = "***"

_lock = threading.Lock()
_values: set[str] = set()


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def register(value: str | None) -> None:
    """Remember a secret value so that :func:`redact` masks it anywhere."""
    if value and len(value) >= 3:
        with _lock:
            _values.add(value)


def forget() -> None:
    """Drop every registered value. A `vts` process runs one job; a test suite runs many in one process, and
    one job's short secret (say "key") must not mask another's output ("primary_***")."""
    with _lock:
        _values.clear()


def redact(text: str) -> str:
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    with _lock:
        values = sorted(_values, key=len, reverse=True)
    for v in values:
        text = text.replace(v, MASK)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
