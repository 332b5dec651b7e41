"""Connector registry: the built-ins plus the ``vts.connectors`` entry-point group.

A third-party package adds a connector by declaring, in its pyproject::

    [project.entry-points."vts.connectors"]
    MySource = "my_pkg.source:MySource"

The class must subclass :class:`vts.connector.Source`, ``Sink`` or
``Transform``; its kind follows from that. Built-ins are imported lazily so a
missing optional client library only matters for the connector that needs it.

A connector written against the contract's old method names (``Source.plan``,
now ``splits``; ``Sink.plan`` and ``describe_plan``, now ``layout`` and
``describe_layout``) is refused when it is loaded, with the rename to make:
Python would otherwise fail later with a bare "Can't instantiate abstract
class", or silently use a default in place of the old method.
"""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points
from typing import Literal

from vts.connector import Sink, Source, Transform
from vts.connectors import BUILTIN
from vts.errors import UnknownConnectorError

Kind = Literal["source", "sink", "transform"]
_BASES: dict[Kind, type] = {"source": Source, "sink": Sink, "transform": Transform}
ENTRY_POINT_GROUP = "vts.connectors"
# old contract method -> its new name, per base class
_RENAMED: dict[type, dict[str, str]] = {
    Source: {"plan": "splits"},
    Sink: {"plan": "layout", "describe_plan": "describe_layout"},
}


def _load(target: str) -> type:
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        raise UnknownConnectorError(
            f"connector {target} cannot be imported: {exc}",
            hint="install the extra that provides it, e.g. pip install 'vts[all]'",
        ) from exc


def available() -> dict[Kind, dict[str, str]]:
    """Every connector name by kind, mapped to its 'module:Class' target."""
    out: dict[Kind, dict[str, str]] = {"source": {}, "sink": {}, "transform": {}}
    for (kind, name), target in BUILTIN.items():
        out[kind][name] = target  # type: ignore[index]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        cls = ep.load()
        for kind, base in _BASES.items():
            if isinstance(cls, type) and issubclass(cls, base):
                out[kind][ep.name] = ep.value
    return out


def resolve(kind: Kind, name: str, path: str) -> type:
    names = available()[kind]
    if name not in names:
        folded = {n.lower(): n for n in names}
        if name.lower() in folded:
            name = folded[name.lower()]
        else:
            close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else "run 'vts connectors' to list them"
            raise UnknownConnectorError(
                f"unknown {kind} connector '{name}' at '{path}' (known: {', '.join(sorted(names))})",
                hint=hint,
            )
    cls = _load(names[name])
    if not issubclass(cls, _BASES[kind]):
        raise UnknownConnectorError(
            f"{names[name]} is not a {kind} connector", hint=f"its class must subclass vts.connector.{kind.title()}"
        )
    _refuse_old_names(cls, kind, name, names[name])
    return cls


def _refuse_old_names(cls: type, kind: Kind, name: str, target: str) -> None:
    """A connector that defines an old contract method without its new name cannot work: say which to rename."""
    base = _BASES[kind]
    stale = [
        (old, new)
        for old, new in _RENAMED.get(base, {}).items()
        if callable(getattr(cls, old, None)) and getattr(cls, new) is getattr(base, new)
    ]
    if stale:
        renames = ", ".join(f"{old} to {new}" for old, new in stale)
        olds, news = (", ".join(names) for names in zip(*stale))
        raise UnknownConnectorError(
            f"the {kind} connector '{name}' ({target}) defines {olds} but not {news}: "
            "the connector contract renamed them",
            hint=f"rename {renames}; see README 'Adding a connector'",
        )
