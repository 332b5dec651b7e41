"""VTS (SeaTunnel) job files in HOCON, read into the same raw job a YAML file gives (:mod:`vts.config`).

::

    env { parallelism = 2, job.mode = "BATCH" }
    source { Milvus { url = "...", token = "...", collections = ["docs"] } }
    transform { Sql { query = "SELECT id, vector FROM docs WHERE year > 2000" } }
    sink { Milvus { url = "./out.db" } }

Parsing is pyhocon's (a maintained HOCON parser, used as is for objects,
lists, includes, ``+=`` and substitutions), with what SeaTunnel does on top (``include`` is resolved against the working directory):

- **duplicate plugin blocks stay apart.** HOCON merges two ``FakeSource {}``
  blocks into one; SeaTunnel reads each child of ``source``/``transform``/
  ``sink`` as one plugin. :func:`number_plugins` renames each such child
  ``"<n>@Name"`` in the text before pyhocon sees it, so order and duplicates
  survive the parse. It is a scanner of HOCON's lexical layer (strings,
  comments, brackets), written here because no parser exposes the blocks
  before merging them.
- **variables, in two passes** (``vts run -i key=value``): unquoted
  ``${key}`` is HOCON substitution, from ``-i`` then the environment, and a
  value written ``[a,b]`` becomes a list; then ``${key:default}`` inside quoted
  strings is replaced from ``-i`` only, unknown names left as written.
- **base64 shade**: ``env { shade.identifier = "base64" }`` decodes the
  sensitive options (``password``, ``token``, ...; more with ``shade.options``).
- **plugin and option names** are mapped onto vts's (:mod:`vts.hocon_plugins`),
  plugin names case-insensitively; every key vts does not use is a warning
  naming the closest one (SeaTunnel accepts unknown keys, so VTS's own
  examples carry some), and each key vts handles differently gets one line.
- pyhocon reads unquoted ``10s``/``1m`` as durations: they come back as
  seconds.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vts import secrets
from vts.errors import ConfigError, JobFileError, MissingEnvVarError

log = logging.getLogger("vts")

SECTIONS = ("source", "transform", "sink")
SUFFIXES = (".conf", ".hocon")
_ENV_KEYS = ("env",)


def is_hocon(path: str | Path) -> bool:
    return Path(path).suffix.lower() in SUFFIXES


@dataclass
class Converted:
    """A HOCON job as vts's raw job (``{env, source, transform, sink}``), and what the conversion warns about."""

    raw: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def parse_variables(items: list[str]) -> dict[str, str]:
    """``-i key=value`` arguments as a mapping (the last one wins)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"variable '{item}' is not key=value", hint="write -i name=value, e.g. -i rows=1000")
        out[key.strip()] = value
    return out


def convert(
    text: str,
    where: str = "job",
    variables: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Converted:
    """The raw vts job a HOCON text describes (see the module doc); raises coded errors, never pyhocon's."""
    from vts import hocon_plugins

    variables = dict(variables or {})
    environ = os.environ if environ is None else environ
    tree = _parse(number_plugins(text), where, variables, environ)
    tree = _second_pass(tree, variables)
    warnings: list[str] = []
    for key in tree:
        if key not in (*_ENV_KEYS, *SECTIONS) and key not in _defined_roots(variables, environ, text):
            warnings.append(f"top-level block '{key}' is ignored: a job has env, source, transform and sink")
    env = tree.get("env") or {}
    if not isinstance(env, dict):
        raise ConfigError(f"'env' in {where} must be a block {{ ... }}", hint='write env { job.mode = "BATCH" }')
    _unshade(tree, env)
    raw = hocon_plugins.map_job(tree, env, warnings)
    return Converted(raw, warnings)


# --- duplicate plugin blocks -------------------------------------------------------------------------------

_KEY_END = set(' \t\r\n{}[]=:,#"+')


def number_plugins(text: str) -> str:
    """``text`` with each object-valued child of ``source``/``transform``/``sink`` renamed ``"<n>@Name"``.

    Only the lexical layer matters: strings, comments and brackets are skipped
    whole; keys are recognised where an object expects one (after ``{``, a
    comma or a newline).
    """
    out: list[str] = []
    contexts: list[str] = ["root"]  # one per open bracket: root, section, other
    expect_key, i, n, seq = True, 0, len(text), 0
    pending: str | None = None  # the context the next "{" opens
    # A file may wrap its root object in braces.
    lead = re.match(r"\s*(?:(?:#|//)[^\n]*\n\s*)*\{", text)
    if lead:
        out.append(text[: lead.end()])
        i = lead.end()
        contexts.append("root")
    while i < n:
        c = text[i]
        if c == '"':
            end = _string_end(text, i)
            token = text[i:end]
            if expect_key and contexts[-1] in ("root", "section"):
                rewritten, pending, seq = _key(
                    json.loads(token) if not token.startswith('"""') else token, token, text, end, contexts[-1], seq
                )
                out.append(rewritten)
                expect_key = False
            else:
                out.append(token)
            i = end
            continue
        if c == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(text[i:end])
            i = end
            continue
        if c in "{[":
            contexts.append(pending if (c == "{" and pending) else "other")
            pending = None
            expect_key = c == "{"
            out.append(c)
            i += 1
            continue
        if c in "}]":
            if len(contexts) > 1:
                contexts.pop()
            expect_key = False
            out.append(c)
            i += 1
            continue
        if c in ",\n":
            expect_key = contexts[-1] != "other" or expect_key
            out.append(c)
            i += 1
            continue
        if expect_key and contexts[-1] in ("root", "section") and c not in _KEY_END:
            end = i
            while end < n and text[end] not in _KEY_END:
                end += 1
            token = text[i:end]
            rewritten, pending, seq = _key(token, token, text, end, contexts[-1], seq)
            out.append(rewritten)
            expect_key = False
            i = end
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _key(name: str, token: str, text: str, end: int, context: str, seq: int) -> tuple[str, str | None, int]:
    """A key as written, or renamed when it opens a plugin block; and the context its "{" opens."""
    opens_object = re.match(r"[ \t]*(?:[=:][ \t\r\n]*)?\{", text[end:]) is not None
    if not opens_object:
        return token, None, seq
    if context == "root":
        return token, ("section" if name in SECTIONS else None), seq
    return json.dumps(f"{seq}@{name}"), None, seq + 1


def _string_end(text: str, i: int) -> int:
    if text.startswith('"""', i):
        end = text.find('"""', i + 3)
        if end < 0:
            return len(text)
        end += 3
        while end < len(text) and text[end] == '"':  # """ may close with extra quotes belonging to the value
            end += 1
        return end
    j = i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == '"' or text[j] == "\n":
            return j + 1
        j += 1
    return j


# --- parsing and variables ---------------------------------------------------------------------------------

_REF = re.compile(r"\$\{\??\s*([A-Za-z_][\w.-]*)\s*\}")


def _definitions(text: str, variables: Mapping[str, str], environ: Mapping[str, str]) -> str:
    """HOCON lines defining what unquoted ``${x}`` may refer to: ``-i`` values, then environment variables."""
    lines = []
    for name in dict.fromkeys(_REF.findall(text)):
        if name in variables:
            value = variables[name].strip()
            # SeaTunnel: a value written [a,b] is a list.
            lines.append(
                f"{_path(name)} = {value}"
                if value.startswith("[") and value.endswith("]")
                else f"{_path(name)} = {json.dumps(variables[name])}"
            )
        elif name in environ:
            lines.append(f"{_path(name)} = {json.dumps(environ[name])}")
    return "\n".join(lines)


def _path(name: str) -> str:
    return ".".join(json.dumps(part) for part in name.split("."))


def _defined_roots(variables: Mapping[str, str], environ: Mapping[str, str], text: str) -> set[str]:
    names = [n for n in _REF.findall(text) if n in variables or n in environ]
    return {n.split(".")[0] for n in names}


def _parse(text: str, where: str, variables: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, Any]:
    try:
        import pyparsing
        from pyhocon import ConfigFactory
        from pyhocon.exceptions import ConfigException, ConfigSubstitutionException
    except ImportError:
        raise ConfigError(
            f"{where} is a HOCON job, and the HOCON parser is not installed", hint="pip install 'vts[hocon]'"
        ) from None

    defs = _definitions(text, variables, environ)
    offset = defs.count("\n") + 1 if defs else 0
    try:
        tree = ConfigFactory.parse_string(defs + "\n" + text if defs else text)
    except ConfigSubstitutionException as exc:
        m = re.search(r"\$\{\??([^}]+)\}", str(exc))
        name = m[1].strip() if m else "?"
        raise MissingEnvVarError(
            f"variable {name} in {where} has no value",
            hint=f"pass it with 'vts run -i {name}=...', export {name}=..., or write ${{?{name}}} to make it optional",
        ) from None
    except pyparsing.ParseBaseException as exc:
        line = max(1, exc.lineno - offset)
        raise JobFileError(
            f"{where} is not valid HOCON at line {line}, column {exc.col}: {exc.msg}",
            hint="fix the syntax there (an unclosed brace or quote is the usual cause)",
        ) from None
    except ConfigException as exc:
        raise JobFileError(f"{where} is not valid HOCON: {exc}", hint="fix the syntax") from None
    return _plain(tree)


def _plain(value: Any) -> Any:
    """pyhocon's tree as plain dicts and lists; durations as seconds."""
    from pyhocon.config_tree import ConfigTree, NoneValue

    if isinstance(value, ConfigTree):
        return {str(k).strip('"'): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, NoneValue):
        return None
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if type(value).__name__ == "relativedelta":
        days = value.years * 365 + value.months * 30 + value.days
        return float(days * 86400 + value.hours * 3600 + value.minutes * 60 + value.seconds)
    return value


_QUOTED_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][\w.-]*)(?::(?P<default>[^}]*))?\}")


def _second_pass(value: Any, variables: Mapping[str, str]) -> Any:
    """``${name}`` / ``${name:default}`` left inside quoted strings, from ``-i`` only; unknown names stay."""
    if isinstance(value, dict):
        return {k: _second_pass(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_second_pass(v, variables) for v in value]
    if isinstance(value, str) and "${" in value:

        def fill(m: re.Match[str]) -> str:
            if m["name"] in variables:
                return variables[m["name"]]
            return m["default"] if m["default"] is not None else m[0]

        return _QUOTED_VAR.sub(fill, value)
    return value


# --- base64 shade ------------------------------------------------------------------------------------------

# SeaTunnel's ConfigShadeUtils decodes these keys (vts adds api_key, for Pinecone), plus env.shade.options.
SHADED_KEYS = ("password", "username", "auth", "token", "access_key", "secret_key", "api_key")


def _unshade(tree: dict[str, Any], env: dict[str, Any]) -> None:
    shade = env.get("shade") if isinstance(env.get("shade"), dict) else {}
    identifier = shade.get("identifier", env.get("shade.identifier"))
    if identifier is None:
        return
    if str(identifier).lower() != "base64":
        raise ConfigError(
            f"env.shade.identifier '{identifier}' is not supported",
            hint='vts decodes base64-shaded secrets only (shade.identifier = "base64"); put plain values '
            "in variables (-i) or the environment instead",
        )
    extra = shade.get("options", env.get("shade.options")) or []
    keys = {*SHADED_KEYS, *(str(k) for k in (extra if isinstance(extra, list) else str(extra).split(",")))}
    for section in SECTIONS:
        for name, options in (tree.get(section) or {}).items():
            if not isinstance(options, dict):
                continue
            for key in keys:
                if isinstance(options.get(key), str):
                    options[key] = _decode(options[key], f"{section}.{name.partition('@')[2]}.{key}")


def _decode(value: str, path: str) -> str:
    try:
        plain = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ConfigError(
            f"'{path}' is not base64, but env.shade.identifier is \"base64\"",
            hint=f"encode it (echo -n 'secret' | base64), or leave '{path.rsplit('.', 1)[1]}' out of shade.options",
        ) from None
    secrets.register(plain)
    return plain
