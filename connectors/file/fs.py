"""Paths, globs and object-store URLs -> the files to read, through pyarrow's filesystems.

pyarrow's filesystems have no glob: :func:`expand` lists the folder above the
first wildcard and matches with ``fnmatch`` (``**`` crossing folders), so one
code path serves local folders, S3 and Azure alike without another library.
"""

from __future__ import annotations

import fnmatch
import os
import re
from typing import Any

import pyarrow.fs as pafs

from vts.connectors.file.errors import Code, FileSourceError, wrap

_WILD = re.compile(r"[*?\[]")


def open_fs(opts: Any, uri: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path inside it) for a local path, ``s3://bucket/key`` or ``abfs://container/key``.

    ``opts`` has the File source's storage options (endpoint, keys...).
    """
    if uri.startswith("s3://"):
        kwargs: dict[str, Any] = {"region": opts.region or "us-east-1"}
        if opts.endpoint:
            scheme, _, host = opts.endpoint.partition("://")
            kwargs.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
        if opts.access_key is not None and opts.secret_key is not None:
            kwargs.update(access_key=opts.access_key.get_secret_value(), secret_key=opts.secret_key.get_secret_value())
        return pafs.S3FileSystem(**kwargs), uri[len("s3://") :]
    if uri.startswith(("abfs://", "az://")):
        if not opts.account_name:
            raise FileSourceError(
                Code.INVALID_PARAM, f"{uri} is on Azure but 'account_name' is not set", hint="set account_name"
            )
        kwargs = {"account_name": opts.account_name}
        if opts.account_key is not None:
            kwargs["account_key"] = opts.account_key.get_secret_value()
        if opts.blob_endpoint:
            kwargs.update(blob_storage_authority=opts.blob_endpoint, blob_storage_scheme="http")
            kwargs.update(dfs_storage_authority=opts.blob_endpoint, dfs_storage_scheme="http")
        return pafs.AzureFileSystem(**kwargs), uri.split("://", 1)[1]
    return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(uri))


def _uri(original: str, path: str) -> str:
    if original.startswith("s3://"):
        return f"s3://{path}"
    if original.startswith(("abfs://", "az://")):
        return f"{original.split('://', 1)[0]}://{path}"
    return path


def expand(opts: Any, pattern: str, suffixes: tuple[str, ...]) -> list[str]:
    """The files ``pattern`` names, sorted: a file, a folder (its files ending in ``suffixes``), or a glob."""
    fs, path = open_fs(opts, pattern)
    try:
        if not _WILD.search(path):
            info = fs.get_file_info(path)
            if info.type == pafs.FileType.NotFound:
                raise FileNotFoundError(path)
            if info.type == pafs.FileType.File:
                return [_uri(pattern, path)]
            infos = fs.get_file_info(pafs.FileSelector(path, recursive=True))
            found = sorted(i.path for i in infos if i.type == pafs.FileType.File and i.path.endswith(suffixes))
            if not found:
                raise FileSourceError(
                    Code.NO_FILES_MATCH,
                    f"folder {pattern} holds no {'/'.join(suffixes)} file",
                    hint="check 'path' and 'format'",
                )
            return [_uri(pattern, p) for p in found]
        parts = path.split("/")
        fixed = next(i for i, p in enumerate(parts) if _WILD.search(p))
        base = "/".join(parts[:fixed]) or "/"
        if fs.get_file_info(base).type != pafs.FileType.Directory:
            raise FileSourceError(
                Code.NO_FILES_MATCH,
                f"no file matches {pattern}: folder {_uri(pattern, base)} does not exist",
                hint="check 'path'",
            )
        recursive = "**" in path or fixed < len(parts) - 1
        infos = fs.get_file_info(pafs.FileSelector(base, recursive=recursive))
        regex = _glob_regex(path)
        found = sorted(i.path for i in infos if i.type == pafs.FileType.File and regex.match(i.path))
    except FileSourceError:
        raise
    except Exception as exc:
        raise wrap(exc, "listing files", pattern) from None
    if not found:
        raise FileSourceError(
            Code.NO_FILES_MATCH,
            f"no file matches {pattern}",
            hint="check 'path' (globs: * within a folder, ** across folders)",
        )
    return [_uri(pattern, p) for p in found]


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """``**/`` matches any number of folders, ``*`` and ``?`` stay within one (fnmatch's would cross '/')."""
    out = []
    for piece in re.split(r"(\*\*/?)", pattern):
        if piece.startswith("**"):
            out.append("(?:.*/)?" if piece.endswith("/") else ".*")
        else:
            out.append(fnmatch.translate(piece).removeprefix("(?s:").removesuffix(")\\Z").replace(".*", "[^/]*"))
    return re.compile("".join(out) + r"\Z", re.S)
