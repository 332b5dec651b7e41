"""One document's values -> the column's Arrow value: dates by their mapping ``format``, vectors in every
form Elasticsearch and OpenSearch return them (arrays, hex or base64 strings), sparse tokens -> ids.

Written by hand because no library reads Elasticsearch's Java date
patterns and vector encodings; only the forms the servers document are
accepted, anything else is a coded error naming the document.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SPARSE_ID_LIMIT = 2**32 - 1  # Milvus sparse indices are uint32, the largest value reserved


class BadValue(ValueError):
    """A value the column cannot hold; the reader names the document and field."""


def token_id(token: str, salt: int = 0) -> int:
    """The deterministic id of a sparse token: the first 32 bits of its BLAKE2b digest (below the limit)."""
    text = token if salt == 0 else f"{token}#{salt}"
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big") % SPARSE_ID_LIMIT


def vocabulary(tokens: set[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Ids for every token, collision-free: (token -> id for all, the tokens moved off their hash).

    On a collision the token later in sorted order takes the next salted hash,
    so the same set of tokens gets the same ids on every run.
    """
    taken: dict[int, str] = {}
    ids: dict[str, int] = {}
    moved: dict[str, int] = {}
    for token in sorted(tokens):
        salt, tid = 0, token_id(token)
        while tid in taken:
            salt += 1
            tid = token_id(token, salt)
        taken[tid] = token
        ids[token] = tid
        if salt:
            moved[token] = tid
    return ids, moved


def sparse(value: Any, moved: dict[str, int]) -> tuple[list[int], list[float]]:
    if not isinstance(value, dict):
        raise BadValue(f"a sparse_vector must be an object of token -> weight, got {_short(value)}")
    pairs = sorted((moved.get(t, token_id(t)), float(w)) for t, w in value.items())
    return [i for i, _ in pairs], [w for _, w in pairs]


def dense(value: Any, element: str, dims: int) -> list[float] | list[int]:
    """float: floats; byte: ints -128..127; from an array, a hex string (byte) or base64 (9.3+)."""
    if isinstance(value, str):
        raw = _decode(value, element, dims)
        values: list[Any] = (
            list(struct.unpack(f">{dims}f", raw)) if element == "float" else list(struct.unpack(f"{dims}b", raw))
        )
    elif isinstance(value, list):
        values = value
    else:
        raise BadValue(f"a dense vector must be an array, got {_short(value)}")
    if len(values) != dims:
        raise BadValue(f"a {len(values)}-d vector, the mapping says {dims}")
    return values


def bits(value: Any, dims: int) -> bytes:
    """A bit vector: dims/8 signed bytes as an array, a hex string or base64."""
    if isinstance(value, str):
        raw = _decode(value, "bit", dims // 8)
    elif isinstance(value, list):
        try:
            raw = bytes(v & 0xFF for v in value)
        except TypeError:
            raise BadValue(f"a bit vector must hold bytes, got {_short(value)}") from None
    else:
        raise BadValue(f"a bit vector must be an array of bytes, got {_short(value)}")
    if len(raw) * 8 != dims:
        raise BadValue(f"a {len(raw) * 8}-bit vector, the mapping says {dims}")
    return raw


def _decode(text: str, element: str, n: int) -> bytes:
    width = 4 if element == "float" else 1
    if element != "float" and re.fullmatch(r"[0-9a-fA-F]*", text) and len(text) == 2 * n:
        return bytes.fromhex(text)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadValue(f"vector string {_short(text)} is neither hex nor base64") from None
    if len(raw) != n * width:
        raise BadValue(f"a base64 vector of {len(raw)} bytes, the mapping says {n * width}")
    return raw


_JAVA = [("yyyy", "%Y"), ("uuuu", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"),
         ("SSSSSS", "%f"), ("SSS", "%f"), ("XXX", "%z"), ("Z", "%z"), ("'T'", "T")]  # fmt: skip
_ISO = {"strict_date_optional_time", "date_optional_time", "strict_date_optional_time_nanos", "date_time",
        "strict_date_time", "date_time_no_millis", "strict_date_time_no_millis", "date", "strict_date",
        "basic_date", "iso8601"}  # fmt: skip


def timestamp(value: Any, fmt: str | None) -> datetime:
    """A date by the field's mapping ``format`` (default ``strict_date_optional_time||epoch_millis``)."""
    formats = (fmt or "strict_date_optional_time||epoch_millis").split("||")
    if isinstance(value, bool):
        raise BadValue(f"a date cannot be {value}")
    if isinstance(value, int | float):
        unit = "epoch_second" if "epoch_second" in formats and "epoch_millis" not in formats else "epoch_millis"
        return EPOCH + timedelta(seconds=value if unit == "epoch_second" else value / 1000)
    if not isinstance(value, str):
        raise BadValue(f"a date must be a string or a number, got {_short(value)}")
    for f in formats:
        f = f.strip()
        try:
            if f in ("epoch_millis", "epoch_second") and re.fullmatch(r"-?\d+(\.\d+)?", value):
                n = float(value)
                return EPOCH + timedelta(seconds=n if f == "epoch_second" else n / 1000)
            if f in _ISO or f.startswith("strict_") or f.startswith("date"):
                return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
            pattern = f
            for java, py in _JAVA:
                pattern = pattern.replace(java, py)
            return _aware(datetime.strptime(value, pattern))
        except ValueError:
            continue
    raise BadValue(
        f"date {value!r} matches none of the mapping's formats {fmt or 'strict_date_optional_time||epoch_millis'}"
    )


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
