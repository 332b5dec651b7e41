"""Job files: YAML in VTS's block structure, validated before anything connects.

::

    env:       {parallelism: 2, job.mode: BATCH}
    source:    {DataGen: {...}}        # exactly one connector
    transform: [{FieldRename: {...}}]  # optional, applied in order
    sink:      {Milvus: {...}}

Errors name the option path (``sink.Milvus.batch_size``), the value and what
is allowed; unknown keys come with the closest valid one. Secret values are
never echoed.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, SecretStr, ValidationError

from vts import hocon, registry, secrets
from vts.connector import Sink, Source, Transform, fields_by_key
from vts.env import EnvOptions
from vts.envsubst import substitute
from vts.errors import ConfigError, JobFileError

_TOP_KEYS = ("env", "source", "transform", "sink")
log = logging.getLogger("vts")


@dataclass
class Job:
    """A validated job: connector instances holding their options."""

    path: Path | None
    env: EnvOptions
    source: Source
    transforms: list[Transform]
    sink: Sink
    fingerprint: str


def load(path: str | Path, environ: dict[str, str] | None = None, variables: dict[str, str] | None = None) -> Job:
    """The job in a YAML file, or in a VTS-style HOCON file (``.conf``/``.hocon``, see :mod:`vts.hocon`).

    ``variables`` are ``vts run -i key=value``: HOCON jobs only (YAML jobs take ``${VAR}`` from the environment).
    """
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise JobFileError(f"job file {p} does not exist", hint="check the path") from None
    except OSError as exc:
        raise JobFileError(f"cannot read job file {p}: {exc.strerror}", hint="check the file's permissions") from None
    if hocon.is_hocon(p):
        converted = hocon.convert(text, str(p), variables, environ)
        for warning in converted.warnings:
            log.warning("%s: %s", p.name, warning)
        return build(converted.raw, p)
    if variables:
        raise ConfigError(
            f"-i variables are for HOCON (.conf) jobs, and {p.name} is YAML",
            hint="write ${NAME} in the YAML job and export NAME=... before running it",
        )
    return parse(text, p, environ)


def parse(text: str, path: Path | None = None, environ: dict[str, str] | None = None) -> Job:
    where = str(path) if path else "job"
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise JobFileError(f"{where} is not valid YAML{at}: {problem}", hint="fix the YAML syntax") from None
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where} must be a mapping with keys {', '.join(_TOP_KEYS)}", hint="start from jobs/quickstart.yaml"
        )
    return build(substitute(raw, environ), path)


def build(raw: dict[str, Any], path: Path | None = None) -> Job:
    """The job from its raw blocks (``{env, source, transform, sink}``, variables already filled in)."""
    _register_raw_secrets(raw)
    for key in raw:
        if key not in _TOP_KEYS:
            raise ConfigError(f"unknown top-level key '{key}'", hint=_suggest(str(key), _TOP_KEYS))
    for key in ("source", "sink"):
        if key not in raw:
            raise ConfigError(f"missing '{key}' block", hint=f"add '{key}:' with one connector, e.g. {_EXAMPLE[key]}")

    env = _validate(EnvOptions, raw.get("env") or {}, "env")
    source = _connector("source", raw["source"], "source")
    if env.job_mode == "STREAMING":
        source = source.streaming()
    sink = _connector("sink", raw["sink"], "sink")
    transforms_raw = raw.get("transform") or []
    if not isinstance(transforms_raw, list):
        raise ConfigError("'transform' must be a list of {Name: {options}}", hint="write 'transform: []' for none")
    transforms = [_connector("transform", t, f"transform[{i}]") for i, t in enumerate(transforms_raw)]
    _register_secrets(source.options, sink.options, *[t.options for t in transforms])
    fingerprint = hashlib.sha256(
        json.dumps(_without_secrets(_without_placement(raw)), sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    return Job(path, env, source, transforms, sink, fingerprint)


_EXAMPLE = {"source": "'source: {DataGen: {row_count: 1000}}'", "sink": "'sink: {Milvus: {url: ./out.db}}'"}


def _connector(kind: registry.Kind, block: Any, path: str) -> Any:
    if not isinstance(block, dict) or len(block) != 1:
        if isinstance(block, dict) and block:
            got = f"{len(block)} connectors ({', '.join(map(str, block))})"
        else:
            got = "nothing" if not block else _kind(block)
        raise ConfigError(
            f"'{path}' must hold exactly one connector as {{Name: {{options}}}}, got {got}",
            hint=f"e.g. {_EXAMPLE.get(kind, 'FieldRename: {fields: {a: b}}')}",
        )
    name, options = next(iter(block.items()))
    cls = registry.resolve(kind, str(name), path)
    opts = _validate(cls.Options, options or {}, f"{path}.{cls.name}")
    return cls(opts)


def _validate(model: type[BaseModel], data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(
            f"'{path}' must be a mapping of options, got {_kind(data)}", hint="write 'option: value' lines under it"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(err, model, path) for err in exc.errors()]
        messages = list(dict.fromkeys(m for m, _ in problems))
        message = (
            messages[0]
            if len(messages) == 1
            else f"{len(messages)} problems in '{path}':\n" + "\n".join(f"  - {m}" for m in messages)
        )
        hint = "; ".join(dict.fromkeys(h for _, h in problems if h)) or None
        raise ConfigError(message, hint=hint) from None


def _problem(err: Any, model: type[BaseModel], path: str) -> tuple[str, str | None]:
    """One pydantic error as (message, hint): the option path, the value given, what is allowed."""
    loc: list[str | int] = list(err["loc"])
    full = _join(path, loc)
    kind, value = err["type"], err.get("input")
    names = [str(p) for p in loc]
    fields = _fields_at(model, loc[:-1]) if loc else None
    if kind == "extra_forbidden":
        return f"unknown option '{full}'", _suggest(names[-1], fields) if fields is not None else None
    if kind == "missing":
        desc = (fields or {}).get(names[-1]) if loc else None
        return f"missing required option '{full}'", f"set '{names[-1]}'" + (f": {desc}" if desc else "")
    shown = _shown(value, names)
    if kind in ("enum", "literal_error"):
        expected = err.get("ctx", {}).get("expected", "")
        allowed = _ENUM_VALUE.findall(expected)
        close = _closest_value(value, allowed) if isinstance(value, str) else None
        hint = f"did you mean '{close}'?" if close else None
        return f"'{full}' must be one of {expected} (got {shown})", hint
    msg = str(err["msg"]).rstrip(".")
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if kind in ("value_error", "assertion_error"):
        # Validators of a whole block get the block as input: naming it adds noise, not information.
        at = "" if isinstance(value, dict | list) else f" (got {shown})"
        return f"'{full}': {msg}{at}", None
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        msg = "Input should be a mapping of options" if kind != "dict_type" else "Input should be a mapping"
    if msg.startswith("Input should be"):
        return f"'{full}' {msg.replace('Input should be', 'should be', 1)} (got {shown})", None
    return f"'{full}': {msg} (got {shown})", None


_ENUM_VALUE = re.compile(r"'((?:[^'\\]|\\.)*)'")


def _closest_value(value: str, allowed: list[str]) -> str | None:
    """The allowed value the user most likely meant: same but for case, a unique prefix, or a near spelling."""
    folded = {a.lower(): a for a in allowed}
    v = value.strip().lower()
    if v in folded:
        return folded[v]
    prefixed = [a for a in allowed if v and a.lower().startswith(v)]
    if len(prefixed) == 1:
        return prefixed[0]
    close = difflib.get_close_matches(v, list(folded), n=1, cutoff=0.75)
    return folded[close[0]] if close else None


def _join(path: str, loc: list[str | int]) -> str:
    """``sink.Milvus`` + ``['field_schema', 0, 'data_type']`` -> ``sink.Milvus.field_schema[0].data_type``."""
    out = path
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    name = {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "integer"}.get(
        type(value), type(value).__name__
    )
    return ("an " if name[0] in "aeiou" else "a ") + name


def _shown(value: Any, loc: list[str]) -> str:
    if any(secrets.is_secret_name(p) for p in loc):
        return secrets.MASK
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    text = secrets.redact(repr(value))
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 3] + "..."


_SHOWN_MAX = 120


def _fields_at(model: type[BaseModel], loc: list[str | int]) -> dict[str, str] | None:
    """Option names (with descriptions) of the model found by walking ``loc`` through fields, lists and maps."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return None
    found = _as_model(current)
    if found is None:
        return None
    return {name: (info.description or "") for name, info in fields_by_key(found).items()}


def _step(annotation: Any, part: str | int) -> Any:
    """The annotation one ``loc`` part further in: a model's field, a list's item, a map's value."""
    model = _as_model(annotation)
    if model is not None:
        info = fields_by_key(model).get(str(part))
        return None if info is None else info.annotation
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (list, tuple, set, frozenset) and args and isinstance(part, int):
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    for arg in args:  # Optional / unions: the first member that has this part
        found = _step(arg, part)
        if found is not None:
            return found
    return None


def _as_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _as_model(arg)
            if found is not None:
                return found
    return None


def _suggest(name: str, valid: Any) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "valid keys: " + ", ".join(sorted(valid))


def _register_raw_secrets(value: Any, secret: bool = False) -> None:
    """Register values under secret-named keys before validation, so no error can echo them."""
    if isinstance(value, dict):
        for k, v in value.items():
            _register_raw_secrets(v, secret or secrets.is_secret_name(str(k)))
    elif isinstance(value, list):
        for v in value:
            _register_raw_secrets(v, secret)
    elif secret and value is not None and not isinstance(value, bool):
        secrets.register(str(value))


_PLACEMENT_KEYS = ("executor", "ray")  # where the splits run, not what they copy


def _without_placement(raw: dict[str, Any]) -> dict[str, Any]:
    """The job minus where it runs: a run interrupted on threads may resume on Ray, and the other way round."""
    env = raw.get("env")
    if not isinstance(env, dict):
        return raw
    return {**raw, "env": {k: v for k, v in env.items() if k not in _PLACEMENT_KEYS}}


def _without_secrets(value: Any) -> Any:
    """The job minus its secrets: a rotated token must not block resuming."""
    if isinstance(value, dict):
        return {k: _without_secrets(v) for k, v in value.items() if not secrets.is_secret_name(str(k))}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def _register_secrets(*models: BaseModel) -> None:
    for m in models:
        for value in _walk(m):
            if isinstance(value, SecretStr):
                secrets.register(value.get_secret_value())


def _walk(value: Any) -> typing.Iterator[Any]:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name))
    elif isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _walk(v)
    else:
        yield value
