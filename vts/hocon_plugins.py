"""VTS's plugin and option names, mapped onto vts's (for :mod:`vts.hocon`).

A VTS plugin is found case-insensitively; its options are read by literal
key, then as a dotted path (HOCON nests ``row.num`` as ``row {num}``). Keys
vts does not use are dropped with a warning naming the closest option; keys
vts handles differently are kept, converted, with one warning line saying
how.
"""

from __future__ import annotations

import difflib
import itertools
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from vts import registry, typenames
from vts.connector import fields_by_key
from vts.env import CheckpointOptions, EnvOptions
from vts.errors import ConfigError, UnknownConnectorError

Warn = Callable[[str], None]


@dataclass(frozen=True)
class Plugin:
    """One VTS plugin: the vts connector it becomes, renamed keys, explained keys, a custom conversion."""

    vts: str
    renames: dict[str, str] = field(default_factory=dict)  # VTS key (dotted) -> vts key
    notes: dict[str, str] = field(default_factory=dict)  # VTS key -> how vts treats it (kept, converted)
    implies: dict[str, dict[str, Any]] = field(default_factory=dict)  # VTS key -> vts options it brings along
    convert: Callable[[dict[str, Any], str, Warn], dict[str, Any]] | None = None


def _fake_source(opts: dict[str, Any], path: str, warn: Warn) -> dict[str, Any]:
    """SeaTunnel's FakeSource -> DataGen: ``schema.fields {name = type}``, ``row.num``."""
    out: dict[str, Any] = {}
    rows = _pop(opts, "row.num")
    out["row_count"] = 5 if rows is None else rows  # FakeSource's default
    if _pop(opts, "rows") is not None:
        raise ConfigError(
            f"'{path}.rows' (literal rows) is not supported: vts's DataGen generates the values",
            hint="remove 'rows' and keep 'schema' and 'row.num', or load literal rows from a file source",
        )
    dim = _pop(opts, "vector.dimension") or 4
    sparse_dim = _pop(opts, "binary.vector.dimension") or 8
    schema = _pop(opts, "schema")
    columns = (schema or {}).get("fields") if isinstance(schema, dict) else None
    if not isinstance(columns, dict) or not columns:
        raise ConfigError(
            f"'{path}.schema.fields' is missing: vts needs the columns to generate",
            hint='write schema = { fields { id = "bigint", name = "string" } }',
        )
    fields = []
    for name, type_name in columns.items():
        parsed = typenames.parse(str(type_name))
        if parsed is None:
            raise ConfigError(
                f"'{path}.schema.fields.{name}': unknown type '{type_name}'",
                hint=f"known types: {', '.join(typenames.KNOWN)}",
            )
        spec: dict[str, Any] = {"name": name, "type": parsed.type.value}
        if parsed.element_type is not None:
            spec["element_type"] = parsed.element_type.value
        if parsed.type.is_vector and parsed.type.value != "SPARSE_FLOAT_VECTOR":
            spec["dimension"] = sparse_dim if parsed.type.value == "BINARY_VECTOR" else dim
        fields.append(spec)
    out["fields"] = fields
    warn(
        f"{path}: FakeSource becomes vts's DataGen ({out['row_count']} rows of seeded random values, "
        "no primary key: a Milvus sink adds an auto-id field)"
    )
    for key in ("parallelism", "split.num", "split.read-interval"):
        if _pop(opts, key) is not None:
            warn(f"{path}.{key} is ignored: vts splits DataGen by env.parallelism")
    return {**out, **opts}


def _jdbc(opts: dict[str, Any], path: str, warn: Warn) -> dict[str, Any]:
    """Jdbc with a ``jdbc:postgresql://`` URL -> the Pgvector source."""
    url = str(_pop(opts, "url") or "")
    if not url.startswith("jdbc:postgresql://"):
        kind = url.split(":")[1] if url.startswith("jdbc:") and url.count(":") > 1 else "(none)"
        raise UnknownConnectorError(
            f"'{path}.url' is a {kind} JDBC URL: vts reads PostgreSQL (with pgvector) only",
            hint="use a jdbc:postgresql://host:port/database URL, or another source vts has ('vts connectors')",
        )
    parts = urlsplit(url.removeprefix("jdbc:"))
    if "," in (parts.netloc or ""):
        raise ConfigError(f"'{path}.url' lists several hosts", hint="give one host:port")
    out: dict[str, Any] = {"host": parts.hostname or "localhost", "port": parts.port or 5432}
    database = parts.path.lstrip("/") or None
    if database:
        out["database"] = database
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if "sslmode" in query:
        out["sslmode"] = query.pop("sslmode")
    for key in query:
        warn(f"{path}.url parameter '{key}' is ignored (a JDBC driver setting)")
    table_path = _pop(opts, "table_path")
    if table_path is not None:
        pieces = str(table_path).split(".")
        if len(pieces) == 3:
            if database and pieces[0] != database:
                warn(f"{path}.table_path names database '{pieces[0]}', the url '{database}': vts reads '{database}'")
            out.setdefault("database", pieces[0])
            pieces = pieces[1:]
        out["table"] = ".".join(pieces)
    for vts_key in ("user", "password", "query"):
        value = _pop(opts, vts_key)
        if value is not None:
            out[vts_key] = value
    where = _pop(opts, "where_condition")
    if where is not None:
        out["where"] = str(where).strip().removeprefix("where ").removeprefix("WHERE ")
    fetch = _pop(opts, "fetch_size")
    if fetch is not None:
        out["batch_size"] = fetch
    if _pop(opts, "driver") is not None:
        warn(f"{path}.driver is not needed: vts talks to PostgreSQL natively (source Pgvector)")
    for key in ("partition_column", "partition_num", "split.size", "partition_lower_bound", "partition_upper_bound"):
        if _pop(opts, key) is not None:
            warn(f"{path}.{key} is ignored: vts splits PostgreSQL tables by primary key, env.parallelism pieces")
    return {**out, **opts}


SOURCES: dict[str, Plugin] = {
    "milvus": Plugin("Milvus"),
    "pinecone": Plugin("Pinecone"),
    "qdrant": Plugin(
        "Qdrant",
        renames={"port": "grpc_port"},
        notes={"port": "is VTS's gRPC port: vts reads it as 'grpc_port' and talks gRPC (prefer_grpc = true)"},
        implies={"port": {"prefer_grpc": True}},
    ),
    "elasticsearch": Plugin("Elasticsearch"),
    "jdbc": Plugin("Pgvector", convert=_jdbc),
    "fakesource": Plugin("DataGen", convert=_fake_source),
}
SINKS: dict[str, Plugin] = {"milvus": Plugin("Milvus"), "console": Plugin("Console")}
TRANSFORMS: dict[str, Plugin] = {
    "sql": Plugin("Sql"),
    "fieldmapper": Plugin("FieldMapper"),
    "fieldrename": Plugin("FieldRename"),
    "filter": Plugin("Filter", renames={"fields": "include_fields"}),
    "copy": Plugin("Copy"),
    "replace": Plugin("Replace"),
    "jsonpath": Plugin("JsonPath"),
    "normalizevector": Plugin("NormalizeVector"),
    "embedding": Plugin("Embedding"),
}
PLUGINS = {"source": SOURCES, "transform": TRANSFORMS, "sink": SINKS}

# VTS and SeaTunnel plugins vts has no counterpart for yet: a clear refusal beats "unknown connector".
NOT_YET = {
    "source": ("MongoDB", "S3Vector", "Weaviate", "Tencent VectorDB", "AstraDB", "Iceberg"),
    "sink": ("Elasticsearch", "Jdbc", "S3File", "LocalFile", "Kafka"),
    "transform": ("LLM", "DynamicCompile", "Split", "FilterRowKind"),
}

_OUTPUT = ("plugin_output", "result_table_name")
_INPUT = ("plugin_input", "source_table_name")


@dataclass
class _Stage:
    section: str
    name: str  # as written
    output: str | None
    input: str | None
    block: dict[str, Any]  # {vts name: options}


def map_job(tree: dict[str, Any], env: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """``{env, source, transform, sink}`` in vts's shape, from the parsed HOCON tree."""
    raw: dict[str, Any] = {"env": _env(env, warnings.append)}
    stages: dict[str, list[_Stage]] = {}
    for section in ("source", "transform", "sink"):
        blocks = tree.get(section) or {}
        if not isinstance(blocks, dict):
            raise ConfigError(f"'{section}' must be a block of plugins", hint=f"write {section} {{ Name {{ ... }} }}")
        if section != "transform":
            _one_plugin(section, [key.partition("@")[2] or key for key in blocks])
        stages[section] = [_stage(section, key, options, warnings.append) for key, options in blocks.items()]
    chain = [*stages["source"], *stages["transform"], *stages["sink"]]
    _check_chain(chain)
    for before, stage in itertools.pairwise(chain):
        ((name, options),) = stage.block.items()
        if name == "Sql" and "table_name" not in options:
            table = stage.input or before.output
            if table:
                options["table_name"] = table
    raw["source"] = stages["source"][0].block
    raw["transform"] = [s.block for s in stages["transform"]]
    raw["sink"] = stages["sink"][0].block
    return raw


def _one_plugin(section: str, names: list[str]) -> None:
    if not names:
        raise ConfigError(
            f"the job has no {section}", hint=f"add a {section} {{ ... }} block with one plugin, e.g. Milvus"
        )
    if len(names) > 1:
        raise ConfigError(
            f"the job has {len(names)} {section}s ({', '.join(names)}): vts runs one {section} per job",
            hint=f"write one job file per {section} and run them one after the other",
        )


def _check_chain(chain: list[_Stage]) -> None:
    """vts runs source -> transforms -> sink in one line: each named input must be the stage just before."""
    for i, stage in enumerate(chain[1:], start=1):
        if stage.input is None:
            continue
        before = chain[i - 1]
        if stage.input != before.output:
            earlier = [s.name for s in chain[:i] if s.output == stage.input]
            why = (
                f"it is the output of {earlier[0]}, not of the stage just before ({before.name})"
                if earlier
                else "no stage before it has that plugin_output"
            )
            raise ConfigError(
                f"{stage.section} {stage.name} reads plugin_input '{stage.input}': {why}",
                hint="vts runs source, transforms and sink in the order written, each reading the one before; "
                "set plugin_input to the previous stage's plugin_output, or leave both out",
            )


def _stage(section: str, key: str, options: Any, warn: Warn) -> _Stage:
    name = key.partition("@")[2] or key
    path = f"{section}.{name}"
    if not isinstance(options, dict):
        raise ConfigError(f"'{path}' must be a block of options", hint=f"write {name} {{ option = value }}")
    opts = dict(options)
    output = _one(_pop_first(opts, _OUTPUT, path, warn), path, "plugin_output")
    inputs = _pop_first(opts, _INPUT, path, warn)
    if isinstance(inputs, list) and len(inputs) > 1:
        raise ConfigError(
            f"'{path}.plugin_input' names {len(inputs)} tables: vts runs one line of stages",
            hint="read one table; join or union tables before the migration",
        )
    plugin = PLUGINS[section].get(name.lower())
    if plugin is None:
        plugin = _unmapped(section, name)
    cls = registry.resolve(section, plugin.vts, path)  # type: ignore[arg-type]
    if plugin.convert is not None:
        opts = plugin.convert(opts, path, warn)
    for vts_key, vts_name in plugin.renames.items():
        found, value = _take(opts, vts_key)
        if found:
            opts[vts_name] = value
            for implied, setting in plugin.implies.get(vts_key, {}).items():
                opts.setdefault(implied, setting)
            if vts_key in plugin.notes:
                warn(f"{path}.{vts_key} {plugin.notes[vts_key]}")
    opts = _known_options(cls.Options, f"vts's {cls.name}", opts, path, warn)
    return _Stage(section, name, output, _one(inputs, path, "plugin_input"), {cls.name: opts})


def _unmapped(section: str, name: str) -> Plugin:
    """A plugin vts has under the same name (a vts-only one, or another package's), else a clear refusal."""
    names = registry.available()[section]  # type: ignore[index]
    folded = {n.lower(): n for n in names}
    if name.lower() in folded:
        return Plugin(folded[name.lower()])
    known = sorted({p.vts for p in PLUGINS[section].values()} | set(names))
    if name.lower() in {n.lower() for n in NOT_YET[section]}:
        raise UnknownConnectorError(
            f"VTS's {name} {section} has no vts counterpart yet (vts has: {', '.join(known)})",
            hint=f"move the data with VTS itself, or through a {section} vts has",
        )
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    raise UnknownConnectorError(
        f"unknown {section} plugin '{name}' (vts has: {', '.join(known)})",
        hint=f"did you mean '{close[0]}'?" if close else "run 'vts connectors' to list them",
    )


def _known_options(model: type, label: str, opts: dict[str, Any], path: str, warn: Warn) -> dict[str, Any]:
    """The options ``model`` has (read literally, then as dotted paths); a warning for each other key."""
    fields = fields_by_key(model)
    out: dict[str, Any] = {}
    for key, info in fields.items():
        found, value = _take(opts, key)
        if found:
            out[key] = _coerce(value, info.annotation)
    for key in _leaves(opts):
        close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
        warn(
            f"{path}.{key} is ignored: {label} has no such option" + (f"; did you mean '{close[0]}'?" if close else "")
        )
    return out


def _leaves(opts: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k, v in opts.items():
        if isinstance(v, dict) and v:
            out += _leaves(v, f"{prefix}{k}.")
        else:
            out.append(f"{prefix}{k}")
    return out


def _coerce(value: Any, annotation: Any) -> Any:
    """SeaTunnel's coercions pydantic lacks: a comma-separated string for a list option."""
    if isinstance(value, str) and _is_list(annotation):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    return any(_is_list(a) for a in typing.get_args(annotation) if a is not type(None))


def _env(env: dict[str, Any], warn: Warn) -> dict[str, Any]:
    opts = dict(env)
    for key in ("shade.identifier", "shade.options"):
        _take(opts, key)
    found, interval = _take(opts, "checkpoint.interval")
    _, checkpoint = _take(opts, "checkpoint")
    checkpoint = dict(checkpoint) if isinstance(checkpoint, dict) else {}
    if found:
        seconds = float(interval) / 1000
        checkpoint["interval"] = seconds
        warn(
            f"env.checkpoint.interval = {interval} is VTS's milliseconds: vts checkpoints each split every {seconds:g} s"
        )
    out = _known_options(EnvOptions, "vts's env", opts, "env", warn)
    if checkpoint:
        out["checkpoint"] = _known_options(
            CheckpointOptions, "vts's env.checkpoint", checkpoint, "env.checkpoint", warn
        )
    if isinstance(out.get("job.mode"), str):
        out["job.mode"] = out["job.mode"].upper()
    return out


def _take(opts: dict[str, Any], key: str) -> tuple[bool, Any]:
    """Remove ``key``: the literal key first, then the dotted path (HOCON nests ``a.b`` as ``a {b}``)."""
    if key in opts:
        return True, opts.pop(key)
    head, dot, rest = key.partition(".")
    if dot and isinstance(opts.get(head), dict):
        inner = dict(opts[head])
        found, value = _take(inner, rest)
        if found:
            if inner:
                opts[head] = inner
            else:
                opts.pop(head)
        return found, value
    return False, None


def _pop(opts: dict[str, Any], key: str) -> Any:
    return _take(opts, key)[1]


def _pop_first(opts: dict[str, Any], keys: tuple[str, ...], path: str, warn: Warn) -> Any:
    found = [k for k in keys if k in opts]
    if len(found) > 1:
        raise ConfigError(f"'{path}' sets both {found[0]} and {found[1]}", hint=f"keep only '{keys[0]}'")
    return opts.pop(found[0]) if found else None


def _one(value: Any, path: str, key: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return str(value[0]) if value else None
    return str(value)
