"""Reading one namespace: list pages and fetches, pipelined, with a resumable position.

A split is one namespace. Its ids come from ``list`` (serverless and BYOC
indexes: pages of ``batch_size`` ids in id order, chained by pagination
tokens) or from ``ids_file`` (any index, pod ones included). Ids are fetched
``fetch_size`` at a time with up to ``concurrency`` fetches in flight while
the next pages are listed; batches come out in listing order, so the
position after a batch is exact:

- listing: ``{"token": t, "read": n}``, ``t`` the token that lists the ids
  after the batch (``None`` at the start);
- ids file: ``{"line": k, "read": n}``, ``k`` the lines consumed;
- ``{"done": true, "read": n}`` once the namespace is read.

``read`` counts the rows read so far, so the completeness check holds across
resumes: at the end, a namespace that read fewer rows than
``describe_index_stats`` reported when the splits were cut (less ``count_tolerance``)
fails with PINECONE-05 instead of finishing quietly. A token the server no
longer accepts (PINECONE-06) restarts the namespace with a warning: the rows
read again overwrite themselves on an upserting sink.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pyarrow as pa

from vts.connectors.pinecone import client
from vts.connectors.pinecone.errors import Code, PineconeError
from vts.connectors.pinecone.index import api_namespace
from vts.connectors.pinecone.options import PineconeSourceOptions
from vts.connectors.pinecone.rows import Layout, as_dict
from vts.schema import TableSchema

log = logging.getLogger("vts.pinecone")


def list_page(
    options: PineconeSourceOptions, idx: Any, namespace: str, token: str | None, limit: int, prefix: str = ""
) -> tuple[list[str], str | None]:
    """One page of ids; ``prefix`` is the split's own cut (``split_prefixes``), after ``id_prefix``."""
    whole = (options.id_prefix or "") + prefix
    page = client.call(
        options,
        f"listing namespace '{namespace}'",
        idx.list_paginated,
        namespace=api_namespace(namespace),
        prefix=whole or None,
        limit=limit,
        pagination_token=token,
    )
    ids = [item.id for item in page.vectors if item.id is not None]
    return ids, (page.pagination.next if page.pagination is not None else None)


def fetch(options: PineconeSourceOptions, idx: Any, namespace: str, ids: list[str]) -> list[dict[str, Any]]:
    """The vectors of ``ids`` in their order; ids the namespace no longer holds are absent."""
    if not ids:
        return []
    res = client.call(
        options, f"fetching from namespace '{namespace}'", idx.fetch, ids=ids, namespace=api_namespace(namespace)
    )
    got = res.vectors
    return [as_dict(got[i]) for i in ids if i in got]


def read_ids(path: str, start: int, count: int) -> tuple[list[str], int]:
    """Up to ``count`` ids from line ``start`` on (blank lines skipped); returns them and the next line."""
    with _IdsFile(path, start) as ids_file:
        return ids_file.take(count)


class _IdsFile:
    """An ids file read forward from a line, opened once per split (re-reading it per group is quadratic)."""

    def __init__(self, path: str, start: int) -> None:
        self.path, self.line = path, start
        try:
            self.fh = open(path, encoding="utf-8")  # noqa: SIM115 - closed by close()/__exit__
            for _ in range(start):
                if not self.fh.readline():
                    break
        except OSError as exc:
            raise PineconeError(
                Code.INVALID_PARAM, f"cannot read ids_file {path}: {exc}", hint="check 'ids_file'"
            ) from None

    def take(self, count: int) -> tuple[list[str], int]:
        ids: list[str] = []
        while len(ids) < count:
            text = self.fh.readline()
            if not text:
                break
            self.line += 1
            text = text.strip()
            if text:
                ids.append(text)
        return ids, self.line

    def close(self) -> None:
        self.fh.close()

    def __enter__(self) -> _IdsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Ids:
    """Where a namespace's ids come from, one group of ``fetch_size`` at a time."""

    def __init__(
        self, options: PineconeSourceOptions, idx: Any, namespace: str, position: dict[str, Any], prefix: str
    ) -> None:
        self.options, self.idx, self.namespace, self.prefix = options, idx, namespace, prefix
        self.token: str | None = position.get("token")
        self.file = _IdsFile(options.ids_file, int(position.get("line", 0))) if options.ids_file else None
        self.exhausted = False

    def next_group(self) -> tuple[list[str], dict[str, Any]]:
        """The next ids and the position after them (without ``read``)."""
        o = self.options
        if self.file is not None:
            ids, line = self.file.take(o.fetch_size)
            self.exhausted = len(ids) < o.fetch_size
            return ids, {"line": line}
        ids: list[str] = []
        while len(ids) < o.fetch_size:
            page, self.token = list_page(
                o, self.idx, self.namespace, self.token, min(o.batch_size, o.fetch_size - len(ids)), self.prefix
            )
            ids += page
            if self.token is None:
                self.exhausted = True
                break
        return ids, {"token": self.token}


def read_namespace(
    options: PineconeSourceOptions,
    table: TableSchema,
    namespace: str,
    url: str,
    expected: int,
    position: dict[str, Any] | None,
    prefix: str = "",
) -> Iterator[tuple[pa.RecordBatch, dict[str, Any]]]:
    """The split's rows; a whole namespace (no ``prefix``) is checked against ``expected`` at its end, a prefix
    split is part of a namespace, checked with its siblings by the source's ``audit``."""
    position = dict(position or {})
    read = int(position.get("read", 0))
    if not position.get("done"):
        idx = client.data(options, url)
        try:
            try:
                read = yield from _pipeline(options, table, namespace, idx, position, read, prefix)
            except _Restart:
                log.warning(
                    "%s: the server no longer accepts the pagination token of namespace '%s'; reading it from its "
                    "start (rows read again replace themselves on an upserting sink)",
                    options.where(),
                    namespace,
                )
                try:
                    read = yield from _pipeline(options, table, namespace, idx, {}, 0, prefix)
                except _Restart:
                    raise PineconeError(
                        Code.TOKEN_REJECTED,
                        f"{options.where()} refused the pagination token of namespace '{namespace}' twice in a row",
                    ) from None
        finally:
            client.close(idx)
    if not prefix:
        check_complete(options, namespace, read, expected)


class _Restart(Exception):
    """The listing must start again (its token was refused)."""


def _pipeline(
    options: PineconeSourceOptions,
    table: TableSchema,
    namespace: str,
    idx: Any,
    position: dict[str, Any],
    read: int,
    prefix: str,
) -> Generator[tuple[pa.RecordBatch, dict[str, Any]], None, int]:
    """Yield the batches; return the rows read in all."""
    layout = Layout(table, namespace)
    source = _Ids(options, idx, namespace, position, prefix)
    pending: deque[tuple[Future[list[dict[str, Any]]], dict[str, Any]]] = deque()
    with ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="vts-pinecone-fetch") as pool:
        try:
            while True:
                while not source.exhausted and len(pending) < options.concurrency:
                    try:
                        ids, after = source.next_group()
                    except PineconeError as err:
                        if err.kind is Code.TOKEN_REJECTED and source.token is not None:
                            raise _Restart from None
                        raise
                    if ids:
                        pending.append((pool.submit(fetch, options, idx, namespace, ids), after))
                if not pending:
                    return read
                future, after = pending.popleft()
                vectors = future.result()
                read += len(vectors)
                done = source.exhausted and not pending
                if vectors:
                    yield layout.batch(vectors), ({"done": True, "read": read} if done else {**after, "read": read})
        finally:
            for future, _ in pending:
                future.cancel()
            if source.file is not None:
                source.file.close()


def check_complete(options: PineconeSourceOptions, namespace: str, read: int, expected: int, splits: int = 1) -> None:
    """``read`` rows of ``namespace`` (over ``splits`` prefix splits) against its count when the splits were cut."""
    if options.id_prefix is not None:
        return  # the stats count the whole namespace, the prefix selects part of it
    if read + options.count_tolerance < expected:
        raise PineconeError(
            Code.INCOMPLETE_NAMESPACE,
            f"namespace '{namespace}' of {options.where()}: {read} vectors read, describe_index_stats counted "
            f"{expected} when the run was planned ({expected - read} missing)"
            + (" — the ids_file does not list them all" if options.ids_file else "")
            + (f" — do the {splits} split_prefixes cover every id?" if splits > 1 else ""),
        )
    if read > expected:
        log.warning(
            "namespace '%s': %d vectors read, %d counted when the splits were cut (vectors written during the copy)",
            namespace,
            read,
            expected,
        )
