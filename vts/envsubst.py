"""``${VAR}`` and ``${VAR:-default}`` in job files, filled from the environment.

Substitution runs on parsed YAML string values (not on the raw text), so a
variable can never change the file's structure, and a missing variable is
reported with the option path that uses it. A ``${`` that is neither form
(``${VAR:default}``, ``${1X}``, an unclosed ``${VAR``) is an error rather
than text passed on literally; ``$${`` writes a literal ``${``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from vts import secrets
from vts.errors import ConfigError, MissingEnvVarError

_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")
_BAD = re.compile(r"\$\{[^}]*\}?")


def substitute(value: Any, env: Mapping[str, str] | None = None, path: str = "") -> Any:
    env = os.environ if env is None else env
    if isinstance(value, dict):
        return {k: substitute(v, env, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, env, f"{path}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    # "$${" writes a literal "${".
    return "${".join(_fill(piece, env, path) for piece in value.split("$${"))


def _fill(text: str, env: Mapping[str, str], path: str) -> str:
    bad = _BAD.search(_VAR.sub("", text))
    if bad:
        shown = "" if secrets.is_secret_name(path) else f" '{bad[0]}'"
        raise ConfigError(
            f"malformed variable reference{shown} in '{path}'",
            hint="write ${NAME} or ${NAME:-default} (NAME: letters, digits and _, not starting with a digit); "
            "$${ gives a literal ${",
        )

    def fill(m: re.Match[str]) -> str:
        name, default = m["name"], m["default"]
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise MissingEnvVarError(
            f"environment variable {name} is not set (used by '{path}')",
            hint=f"export {name}=... before running, or write ${{{name}:-default}} in the job file",
        )

    return _VAR.sub(fill, text)
