"""What ``vts connectors [NAME]`` prints: each connector's options, grouped, with defaults written as YAML.

A default is shown the way a user would write it in a job file (``[]``,
``./milvus.db``, ``{name: id, type: BIGINT, primary_key: true}``), never as
a Python repr. Options fall into groups: a small explicit table names the
connection and advanced (tuning) options; every other option of a source
reads, of a sink writes, of a transform configures it. A connector can
place an option itself with ``Field(..., json_schema_extra={"group": "advanced"})``.
Options holding secrets are marked and their defaults never shown.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from vts import secrets

GROUPS = ("connection", "reading", "writing", "options", "advanced")
_BY_KIND = {"source": "reading", "sink": "writing", "transform": "options"}

# Options that say where the service is and how to log in to it, whatever the connector.
CONNECTION = frozenset(
    {
        "url", "host", "port", "grpc_port", "prefer_grpc", "use_tls", "path", "database", "user", "password",
        "token", "api_key", "timeout", "connect_timeout", "client_pem_path", "client_key_path", "ca_pem_path",
        "server_name", "sslmode", "sslrootcert", "sslcert", "sslkey",
    }
)  # fmt: skip
# Tuning knobs a first job leaves alone: retries and backoff, limits, sizing of created collections.
ADVANCED = frozenset(
    {
        "rate_limit_backoff", "rate_limit_retries", "rate_limit_wait", "grow_after", "max_error_rows",
        "parallelism", "sample_size", "default_max_length", "shard_num", "partition_num", "consistency_level",
        "invalid_ratio",
    }
)  # fmt: skip

REQUIRED = "required"
UNSET = "not set"
_INDENT = "  "
_MAX_DEFAULT_WIDTH = 28


@dataclass(frozen=True)
class OptionLine:
    """One option as listed: its job-file key, group, default (YAML) and documentation."""

    key: str
    group: str
    default: str  # YAML text, REQUIRED or UNSET
    doc: str
    secret: bool = False
    items: tuple[str, ...] = ()  # a list default of mappings: one YAML flow mapping per element
    nested: tuple[OptionLine, ...] = ()  # the keys of an option that is itself a block of options

    @property
    def label(self) -> str:
        return f"{self.key} (secret)" if self.secret else self.key


def options(model: type[BaseModel], kind: str, nested: bool = False) -> list[OptionLine]:
    """Every option of a connector's Options model in declaration order, grouped.

    With ``nested``, an option that is itself a block (an index, a list of
    fields, ``bulk_writer_config``) lists its own keys too.
    """
    return [_line(name, info, _group(name, info, kind), nested) for name, info in model.model_fields.items()]


def render(name: str, kind: str, doc: str, model: type[BaseModel], nested: bool = False) -> list[str]:
    """The lines ``vts connectors`` prints for one connector: a heading, then each group's options."""
    lines = [f"{name} ({kind}): {doc}"]
    rows = options(model, kind, nested)
    widths = (_key_width(rows), _default_width(rows))
    for group in GROUPS:
        in_group = [r for r in rows if r.group == group]
        if in_group:
            lines.append(f"  {group}")
            lines.extend(_rows(in_group, 0, widths))
    return lines


def yaml_text(value: Any) -> str:
    """A plain value (str, number, bool, None, list, dict) as one line of YAML."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, allow_unicode=True, width=1 << 30)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _line(name: str, info: FieldInfo, group: str, nested: bool) -> OptionLine:
    key = info.alias or name
    secret = _is_secret(key, info.annotation)
    doc = _with_choices(info.description or "", info.annotation)
    if info.is_required():
        default, items = REQUIRED, ()
    else:
        default, items = _default(info, secret)
    sub = _block_model(info.annotation) if nested else None
    inner = tuple(_line(n, i, group, nested) for n, i in sub.model_fields.items()) if sub else ()
    if sub is not None and _container(info.annotation):
        doc = f"{doc} Each {_container(info.annotation)}:".lstrip()
    return OptionLine(key, group, default, doc, secret, items, inner)


def _group(name: str, info: FieldInfo, kind: str) -> str:
    extra = info.json_schema_extra
    if isinstance(extra, dict) and extra.get("group") in GROUPS:
        return str(extra["group"])
    key = info.alias or name
    if key in CONNECTION:
        return "connection"
    if key in ADVANCED:
        return "advanced"
    return _BY_KIND.get(kind, "options")


def _default(info: FieldInfo, secret: bool) -> tuple[str, tuple[str, ...]]:
    value = info.get_default(call_default_factory=True)
    if value is None:
        return UNSET, ()
    if secret:
        shown = value.get_secret_value() if isinstance(value, SecretStr) else value
        return (yaml_text("") if not shown else secrets.MASK), ()
    plain = _plain(value)
    if isinstance(plain, list) and plain and all(isinstance(v, dict) for v in plain):
        return "", tuple(f"- {yaml_text(v)}" for v in plain)
    return yaml_text(plain), ()


def _plain(value: Any) -> Any:
    """A default as the YAML a user would write: enums by value, models by the keys that make them what they are."""
    if isinstance(value, BaseModel):
        return _model_keys(value)
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, dict):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, SecretStr):
        return secrets.MASK if value.get_secret_value() else ""
    return value


def _model_keys(model: BaseModel) -> dict[str, Any]:
    # the keys a user writes (required or changed); a block left at its defaults shows the values it sets
    chosen = model.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    if chosen:
        return chosen
    return {k: v for k, v in model.model_dump(mode="json", by_alias=True).items() if v not in (None, [], {})}


def _is_secret(key: str, annotation: Any) -> bool:
    return SecretStr in _flat(annotation) or secrets.is_secret_name(key)


def _with_choices(doc: str, annotation: Any) -> str:
    choices = _choices(annotation)
    if not choices or all(c in doc for c in choices):
        return doc
    return f"{doc} One of: {', '.join(choices)}.".lstrip()


def _choices(annotation: Any) -> list[str]:
    for arg in _flat(annotation):
        if typing.get_origin(arg) is Literal:
            return [str(a) for a in typing.get_args(arg)]
        if isinstance(arg, type) and issubclass(arg, enum.Enum):
            return [str(m.value) for m in arg]
    return []


def _block_model(annotation: Any) -> type[BaseModel] | None:
    """The Options model an option holds (itself, optional, or as list/dict items), if any."""
    for arg in _flat(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _container(annotation: Any) -> str:
    """'item' for a list of blocks, 'value' for a mapping of them, '' for a single block."""
    origins = {typing.get_origin(a) for a in _unions(annotation)}
    return "item" if origins & {list, tuple} else "value" if dict in origins else ""


def _flat(annotation: Any) -> Iterator[Any]:
    """The annotation, the members of a union and the items of containers, depth first."""
    for arg in _unions(annotation):
        yield arg
        origin = typing.get_origin(arg)
        if origin in (list, tuple, set, frozenset):
            for item in typing.get_args(arg):
                yield from _flat(item)
        elif origin is dict:
            yield from _flat(typing.get_args(arg)[-1])


def _unions(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _key_width(rows: list[OptionLine], depth: int = 0) -> int:
    widths = [len(_INDENT * depth + r.label) for r in rows]
    widths += [_key_width(list(r.nested), depth + 1) for r in rows if r.nested]
    return min(max(widths, default=0), 32)


def _default_width(rows: list[OptionLine]) -> int:
    widths = [len(r.default) for r in rows] + [_default_width(list(r.nested)) for r in rows if r.nested]
    return min(max(widths, default=0), _MAX_DEFAULT_WIDTH)


def _rows(rows: list[OptionLine], depth: int, widths: tuple[int, int]) -> Iterator[str]:
    key_width, default_width = widths
    blank = " " * key_width
    for r in rows:
        key = (_INDENT * depth + r.label).ljust(key_width)
        if len(r.default) > default_width:  # a long default gets its own line, the documentation the next
            yield f"    {key}  {r.default}"
            yield f"    {blank}  {'':<{default_width}}  {r.doc}".rstrip()
        else:
            yield f"    {key}  {r.default:<{default_width}}  {r.doc}".rstrip()
        for item in r.items:
            yield f"    {blank}    {item}"
        yield from _rows(list(r.nested), depth + 1, widths)
