"""vts: a migration engine for vector data into Milvus.

The built-in connectors are the repository's top-level ``connectors/`` folder, imported as
``vts.connectors``. An installed vts has them at ``vts/connectors`` (``setup.py`` maps the folder there).
Run from a source tree (``PYTHONPATH``, or ``pip install -e .``), the folder beside this package is
``vts.connectors``: :class:`_SourceTreeConnectors` says so, ahead of any other finder, so a source tree
never imports the connectors of another vts installed in the same environment.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path

__version__ = "0.1.0"

_HERE = Path(__file__).resolve().parent
_FOLDER = _HERE.parent / "connectors"


class _SourceTreeConnectors:
    """Finds ``vts.connectors`` in the source tree; its submodules are then found on its ``__path__``."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if name != "vts.connectors":
            return None
        return importlib.util.spec_from_file_location(
            name, _FOLDER / "__init__.py", submodule_search_locations=[str(_FOLDER)]
        )


_installed = (_HERE / "connectors").is_dir()
_known = any(getattr(f, "__name__", "") == "_SourceTreeConnectors" for f in sys.meta_path)
if not _installed and not _known and (_FOLDER / "__init__.py").is_file():
    sys.meta_path.insert(0, _SourceTreeConnectors)  # type: ignore[arg-type]
