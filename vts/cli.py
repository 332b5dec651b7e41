"""The ``vts`` command.

Exit codes: 0 success; 1 the job failed while moving data; 2 invalid job file
or usage (nothing was contacted); 3 a source or sink could not be reached or
refused the credentials; 4 the schema cannot be carried to the target (no
data moved); 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import logging
import os
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vts import __version__, config, cutover, engine, hocon, listing, registry, secrets, verify
from vts import status as job_status
from vts.errors import ConfigError, ExitCode, JobFileError, UnknownConnectorError, VtsError
from vts.progress import RunView, summary

log = logging.getLogger("vts")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _logging(args.log_level)
    # piped output (logs, CI) is not cut at rich's default 80 columns
    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "160"))
    out = Console(stderr=False, soft_wrap=True, width=width)
    err = Console(stderr=True, soft_wrap=True, width=width)
    try:
        return int(args.func(args, out, err))
    except VtsError as exc:
        err.print(f"[bold red]error[/] {escape(secrets.redact(str(exc)))}", highlight=False)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:
        log.debug("unexpected error", exc_info=True)
        err.print(
            f"[bold red]error[/] {escape(f'[VTS-99] unexpected {type(exc).__name__}: {secrets.redact(str(exc))}')}\n"
            "  fix: run again with --log-level DEBUG for details and report it",
            highlight=False,
        )
        return int(ExitCode.FAILED)


EXIT_CODES: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.FAILED: "the job failed while moving data (or a sink precondition, e.g. a missing collection)",
    ExitCode.INVALID_CONFIG: "invalid job file or usage: nothing was contacted",
    ExitCode.CONNECTION: "a source or sink could not be reached or refused the credentials",
    ExitCode.SCHEMA: "a schema cannot be carried to the target: no data moved",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}


def _epilog(*examples: tuple[str, str]) -> str:
    """Examples, then the exit-code table, as the help text's last section."""
    width = max(len(cmd) for cmd, _ in examples)
    lines = ["examples:"] + [f"  {cmd:<{width}}  # {what}" for cmd, what in examples]
    lines += ["", "exit codes:"] + [f"  {int(code):>3}  {text}" for code, text in EXIT_CODES.items()]
    return "\n".join(lines)


def _wrap(text: str) -> str:
    # RawDescriptionHelpFormatter keeps the epilog's table as written, and so does not wrap descriptions either
    return textwrap.fill(text, width=79)


def _parser() -> argparse.ArgumentParser:
    help_format = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(
        prog="vts",
        description=_wrap("Move vector data into Milvus: a job file names a source, optional transforms and a sink."),
        epilog=_epilog(
            ("vts run jobs/quickstart.yaml", "100 000 generated rows into ./quickstart.db (Milvus Lite)"),
            ("vts check job.yaml", "validate, connect, show schemas, splits and the target layout; writes nothing"),
            ("vts connectors Milvus", "the Milvus source's and sink's options with their defaults"),
        ),
        formatter_class=help_format,
    )
    p.add_argument("--version", action="version", version=f"vts {__version__}")
    p.add_argument(
        "--log-level",
        default="WARNING",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logs on stderr (DEBUG adds tracebacks of unexpected errors); give it before the command",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run a job file",
        description=_wrap(
            "Run a job: progress on stderr, a summary on stdout. An interrupted run resumes from its "
            "checkpoint when started again."
        ),
        epilog=_epilog(
            ("vts run jobs/quickstart.yaml", "progress bar, then a summary"),
            ("vts run --report run.json --verify job.yaml", "per-split report, then compare source and target"),
            ("QUICKSTART_ROWS=5000 vts run -q jobs/quickstart.yaml", "${VAR} in the job file; only errors shown"),
        ),
        formatter_class=help_format,
    )
    run.add_argument("job", help="path to the job file (YAML, or VTS's HOCON .conf)")
    _variables_argument(run)
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary, only errors")
    run.add_argument("--report", metavar="PATH", help="write a JSON report with per-split counts and timings")
    run.add_argument("--fresh", action="store_true", help="ignore the checkpoint of an interrupted run and start over")
    run.add_argument("--verify", action="store_true", help="run 'vts verify' (sampled) at the end")
    run.add_argument(
        "--executor", choices=["local", "ray"], help="where splits run (overrides env.executor; default local)"
    )
    run.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="Ray cluster to run on: local, auto or host:6379 (implies --executor ray; overrides env.ray.address)",
    )
    run.set_defaults(func=cmd_run)

    check = sub.add_parser(
        "check",
        help="validate, connect to source and sink, print the splits and the target layout; writes nothing",
        description=_wrap(
            "Validate the job, connect to source and sink, print the source and target schemas side by "
            "side, the splits and the sink's target layout, and refuse what 'run' would refuse. Writes nothing, "
            "not even a new Milvus Lite file."
        ),
        epilog=_epilog(
            ("vts check jobs/quickstart.yaml", "schemas, splits and target layout of the quickstart"),
            ("vts --log-level INFO check job.yaml", "the same, with what vts connects to"),
        ),
        formatter_class=help_format,
    )
    check.add_argument("job", help="path to the job file (YAML, or VTS's HOCON .conf)")
    _variables_argument(check)
    check.set_defaults(func=cmd_check)

    ver = sub.add_parser(
        "verify",
        help="compare source and target: counts, keys, values; non-zero exit on any difference",
        description=_wrap(
            "Compare source and target: row counts (per partition), key sets, and the values of a "
            "sample of rows (every row with --full). Exits 1 when they differ."
        ),
        epilog=_epilog(
            ("vts verify job.yaml", "counts, keys, and the values of 1 000 sampled rows"),
            ("vts verify --full job.yaml", "the values of every row"),
            ("vts verify --sample 10000 job.yaml", "a larger sample"),
        ),
        formatter_class=help_format,
    )
    ver.add_argument("job", help="path to the job file (YAML, or VTS's HOCON .conf)")
    _variables_argument(ver)
    ver.add_argument("--full", action="store_true", help="compare the values of every row, not a sample")
    ver.add_argument(
        "--sample", type=int, default=1000, metavar="N", help="rows whose values are compared (default 1000)"
    )
    ver.set_defaults(func=cmd_verify)

    stat = sub.add_parser(
        "status",
        help="where a running or interrupted run stands: splits, rows, a stream's lag; changes nothing",
        description=_wrap(
            "Read the job's checkpoint (never write it) and print each split's state, rows written and "
            "rejected, the time since its last checkpoint and, where the source can tell (Kafka; a PostgreSQL "
            "replication slot: changes, WAL bytes, last commit applied, lag in seconds), how many records are "
            "still ahead of it. Works beside a running job, from another shell."
        ),
        epilog=_epilog(
            ("vts status job.yaml", "the table"),
            ("vts status --json job.yaml", "the same as JSON, for a monitor"),
        ),
        formatter_class=help_format,
    )
    stat.add_argument("job", help="path to the job file (YAML, or VTS's HOCON .conf)")
    _variables_argument(stat)
    stat.add_argument("--json", action="store_true", help="print JSON instead of a table")
    stat.set_defaults(func=cmd_status)

    cut = sub.add_parser(
        "cutover",
        help="end a streaming job: wait until it caught up, verify, then drop the source's replication slot",
        description=_wrap(
            "Beside the running 'vts run' of a streaming job, once the application writes to Milvus: wait "
            "until the run's checkpoint is level with the source, compare every row (vts verify --full) and, "
            "only if the target equals the source, drop the replication slot and publication vts created "
            "(then stop the run). Exit 0 only when the target equals the source."
        ),
        epilog=_epilog(
            ("vts cutover job.yaml", "wait (as long as it takes), verify, release"),
            ("vts cutover --deadline 300 job.yaml", "give up (exit 1, nothing dropped) after 5 minutes"),
            ("vts cutover --abandon job.yaml", "drop the slot now and forget the checkpoint; no verify"),
        ),
        formatter_class=help_format,
    )
    cut.add_argument("job", help="path to the job file (YAML, or VTS's HOCON .conf)")
    _variables_argument(cut)
    cut.add_argument("--deadline", type=float, metavar="S", help="seconds to wait for the run to catch up")
    cut.add_argument("--abandon", action="store_true", help="drop the slot without waiting or verifying")
    cut.set_defaults(func=cmd_cutover)

    conv = sub.add_parser(
        "convert",
        help="print a VTS HOCON job (.conf) as the equivalent vts YAML job",
        description=_wrap(
            "Read a VTS/SeaTunnel HOCON job as 'vts run' does (variables, plugin and option names mapped, "
            "warnings for what vts ignores) and print the equivalent YAML job on stdout."
        ),
        epilog=_epilog(("vts convert job.conf > job.yaml", "the YAML twin of a VTS job")),
        formatter_class=help_format,
    )
    conv.add_argument("job", help="path to the HOCON job (.conf or .hocon)")
    _variables_argument(conv)
    conv.set_defaults(func=cmd_convert)

    conns = sub.add_parser(
        "connectors",
        help="list connectors with their options",
        description=_wrap(
            "List every connector with its options, grouped (connection, reading, writing, advanced), "
            "defaults written as in a job file, secrets marked. With NAME, also the keys of nested blocks "
            "(index, fields, bulk_writer_config)."
        ),
        epilog=_epilog(
            ("vts connectors", "every source, sink and transform"),
            ("vts connectors DataGen", "one connector (any case), nested keys included"),
        ),
        formatter_class=help_format,
    )
    conns.add_argument("name", nargs="?", metavar="NAME", help="show only this connector (any case)")
    conns.set_defaults(func=cmd_connectors)
    return p


def _variables_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-i",
        dest="variables",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a variable of a HOCON (.conf) job, as VTS's -i: fills ${KEY}; repeatable",
    )


def _load(args: argparse.Namespace) -> config.Job:
    return config.load(args.job, variables=hocon.parse_variables(args.variables))


def cmd_status(args: argparse.Namespace, out: Console, err: Console) -> int:
    st = job_status.status(_load(args))
    if args.json:
        out.print_json(json.dumps(job_status.as_json(st), default=str))
        return int(ExitCode.OK)
    if not st.found:
        out.print(
            f"no running or interrupted run of this job: no checkpoint at {st.checkpoint} (a finished run removes it)"
        )
        return int(ExitCode.OK)
    table = Table(title=f"vts status ({st.checkpoint})", title_justify="left")
    for col in ("split", "table", "state", "written", "rejected", "behind", "last checkpoint"):
        table.add_column(col, justify="left" if col in ("split", "table", "state") else "right")
    for s in st.splits:
        behind = "" if s.backlog is None else f"{s.backlog:,}"
        ago = "" if s.seconds_since_checkpoint is None else f"{s.seconds_since_checkpoint:,.0f} s ago"
        table.add_row(s.split_id, s.table, s.state, f"{s.rows_written:,}", f"{s.rows_rejected:,}", behind, ago)
    out.print(table)
    for s in st.splits:
        if s.last_commit is not None:  # a CDC stream: what "behind" (WAL bytes) means in time
            at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(s.last_commit))
            lag = s.lag_seconds
            out.print(
                f"{s.split_id}: last change applied was committed at {at}"
                + ("" if lag is None else f"; lag {lag:,.1f} s")
                + (f", {s.lag['wal_bytes']:,} bytes of WAL" if "wal_bytes" in s.lag else "")
            )
    if st.backlog is not None:
        out.print(f"{st.backlog:,} record(s) behind the source in all")
    for note in st.notes:
        out.print(note)
    return int(ExitCode.OK)


def cmd_cutover(args: argparse.Namespace, out: Console, err: Console) -> int:
    job = _load(args)
    if args.abandon:
        dropped = cutover.abandon(job)
        out.print("abandoned: dropped " + (", ".join(dropped) or "nothing (already gone)") + "; checkpoint forgotten")
        return int(ExitCode.OK)
    cutover.wait_level(job, args.deadline, said=lambda line: err.print(line, highlight=False))
    _verify(job, True, 0, out)  # raises TargetDiffers (nothing dropped) when they differ
    dropped = cutover.release(job)
    out.print("cut over: dropped " + (", ".join(dropped) or "nothing (already gone)") + "; stop the vts run now")
    return int(ExitCode.OK)


def cmd_convert(args: argparse.Namespace, out: Console, err: Console) -> int:
    path = Path(args.job)
    if not hocon.is_hocon(path):
        raise ConfigError(f"{path.name} is not a HOCON job", hint="give a .conf or .hocon file")
    try:
        text = path.read_text()
    except OSError as exc:
        raise JobFileError(f"cannot read job file {path}: {exc.strerror}", hint="check the path") from None
    converted = hocon.convert(text, str(path), hocon.parse_variables(args.variables))
    for warning in converted.warnings:
        log.warning("%s: %s", path.name, warning)
    config.build(converted.raw, path)  # the YAML printed is one 'vts run' accepts
    out.print(yaml.safe_dump(converted.raw, sort_keys=False, allow_unicode=True), end="", markup=False, highlight=False)
    return int(ExitCode.OK)


def _logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(secrets.RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if level != "DEBUG":
        for noisy in ("pymilvus", "grpc"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)


def cmd_run(args: argparse.Namespace, out: Console, err: Console) -> int:
    job = _placed(_load(args), args.executor, args.ray_address)
    view = RunView(err, quiet=args.quiet)
    stop = threading.Event()
    try:
        with _stop_on_signals(stop, job.source.unbounded()):
            result = engine.run(job, engine.RunOptions(fresh=args.fresh, stop=stop), view)
    finally:
        view.close()
        if args.report and view.run is not None:  # a failed run's report shows how far each split got
            _write_report(Path(args.report), view.run)
    if not args.quiet:
        out.print(summary(result))
    if result.stopped:
        out.print(f"stopped: every split flushed and checkpointed in {result.checkpoint_path}; `vts run` resumes")
        return int(ExitCode.OK)
    if args.verify:
        return _verify(job, False, 1000, out)
    return int(ExitCode.OK)


def _placed(job: config.Job, executor: str | None, ray_address: str | None) -> config.Job:
    """The job with the command line's choice of executor, which the job's fingerprint does not include."""
    env = job.env
    if ray_address is not None:
        if executor == "local":
            raise ConfigError("--ray-address runs the job on Ray: drop it, or --executor local")
        env = env.model_copy(update={"executor": "ray", "ray": env.ray.model_copy(update={"address": ray_address})})
    elif executor is not None:
        env = env.model_copy(update={"executor": executor})
    job.env = env
    return job


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event, streaming: bool) -> Iterator[None]:
    """A streaming run ends on SIGINT/SIGTERM: the first one stops it cleanly (flush, checkpoint, exit 0),
    a second SIGINT interrupts at once (the last checkpoint still holds). Batch runs keep Ctrl-C as is."""
    if not streaming or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        log.warning("%s: stopping after the batches in flight (again to interrupt)", signal.Signals(signum).name)
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def cmd_verify(args: argparse.Namespace, out: Console, err: Console) -> int:
    return _verify(_load(args), args.full, args.sample, out)


def _verify(job: config.Job, full: bool, sample: int, out: Console) -> int:
    results = verify.verify(job, full=full, sample=sample)
    differs = False
    for r in results:
        table = Table(title=f"verify {r.table}", title_justify="left")
        for col in ("", "source", "target"):
            table.add_column(col, justify="right" if col else "left")
        table.add_row("rows", f"{r.source_rows:,}", f"{r.target_rows:,}")
        for partition, (s, t) in sorted(r.partitions.items()):
            table.add_row(f"partition {partition}", f"{s:,}", f"{t:,}")
        table.add_row("keys missing in target", "", f"{r.missing:,}")
        table.add_row("keys only in target", "", f"{r.extra:,}")
        table.add_row("rows compared by value", "", f"{r.compared:,}" + (" (all)" if full else " (sample)"))
        table.add_row("rows with other values", "", f"{r.mismatched:,}")
        out.print(table)
        for label, keys in (("missing", r.missing_keys), ("only in target", r.extra_keys)):
            if keys:
                out.print(
                    f"  {label}: {', '.join(map(repr, keys))}" + (" ..." if len(keys) >= verify.MAX_LISTED else ""),
                    highlight=False,
                )
        for line in r.mismatches:
            out.print(f"  differs: {escape(line)}", highlight=False)
        for note in r.notes:
            out.print(f"  note: {note}")
        differs |= not r.equal
    if differs:
        raise verify.TargetDiffers(
            "the target differs from the source (see above)",
            hint="run the job again (upserts fill what is missing), or inspect the listed keys",
        )
    out.print("[green]equal[/]: the target holds exactly the source's rows" + ("" if full else " (values sampled)"))
    return int(ExitCode.OK)


def _write_report(path: Path, run: engine.RunResult) -> None:
    stats = run.stats
    report: dict[str, Any] = {
        "job": str(run.job.path),
        "fingerprint": run.job.fingerprint,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(stats.seconds, 3),
        "totals": stats.totals,
        "targets": run.targets,
        "dead_letters": str(run.dead_letters) if stats["rows_rejected"] else None,
        "splits": [s.as_dict() for s in stats.splits],
    }
    path.write_text(json.dumps(report, indent=2))


def cmd_check(args: argparse.Namespace, out: Console, err: Console) -> int:
    job = _load(args)
    res = engine.check(job)
    discovery, layout = res.discovery, res.layout
    out.print(f"[bold]source[/] {job.source.name}: {len(discovery.source_tables)} table(s)")
    for source_table, sink_table in zip(discovery.source_tables, discovery.sink_tables):
        out.print(_side_by_side(source_table, sink_table, job.sink.field_mapping(layout, sink_table.name)))
    out.print(f"[bold]splits[/] ({len(discovery.splits)}, parallelism {job.env.parallelism})")
    for s in discovery.splits:
        out.print(f"  {s.id:<48} ~{s.estimated_rows:,} rows", highlight=False)
    out.print(f"[bold]sink[/] {job.sink.name}")
    for line in job.sink.describe_layout(layout):
        out.print(f"  {line}", highlight=False)
    for line in res.preflight:
        out.print(f"  preflight: {line}", highlight=False)
    out.print("[bold]save modes[/]")
    for action in res.actions:
        out.print(f"  {action.describe(dry_run=True)}", highlight=False)
        if action.warning:
            out.print(f"  [yellow]warning[/] {escape(action.warning)}", highlight=False)
    out.print("[green]ok[/]: nothing was written")
    return int(ExitCode.OK)


def _side_by_side(source: Any, sink_table: Any, mapping: list[tuple[str | None, str, str]]) -> Table:
    """Source columns beside the target fields they become."""
    table = Table(title=f"{source.name}: source -> target", title_justify="left")
    for col in ("source column", "source type", "target field", "target type"):
        table.add_column(col)
    by_source = {src: (dst, typ) for src, dst, typ in mapping if src is not None}
    types = {f.name: _ltype(f) for f in source.fields}
    renamed = (
        {t.name: s.name for s, t in zip(source.fields, sink_table.fields)}
        if len(source.fields) == len(sink_table.fields)
        else {}
    )
    shown = set()
    for f in sink_table.fields:
        dst, typ = by_source.get(f.name, ("(not written)", ""))
        origin = renamed.get(f.name, f.name)
        table.add_row(origin, types.get(origin, _ltype(f)), dst, typ)
        shown.add(dst)
    for src, dst, typ in mapping:
        if src is None and dst not in shown:
            table.add_row("", "", dst, typ)
    return table


def _ltype(f: Any) -> str:
    bits = [str(f.type)]
    for key in ("dimension", "max_length", "element_type", "max_capacity"):
        if getattr(f, key) is not None:
            bits.append(f"{key}={getattr(f, key)}")
    bits += [flag for flag in ("primary_key", "nullable", "partition_key") if getattr(f, flag)]
    return " ".join(bits)


def cmd_connectors(args: argparse.Namespace, out: Console, err: Console) -> int:
    available = registry.available()
    wanted = args.name.lower() if args.name else None
    known = sorted({name for names in available.values() for name in names})
    if wanted and wanted not in {n.lower() for n in known}:
        close = difflib.get_close_matches(args.name, known, n=1, cutoff=0.5)
        raise UnknownConnectorError(
            f"no connector named '{args.name}' (known: {', '.join(known)})",
            hint=f"did you mean '{close[0]}'?" if close else "run 'vts connectors' to list them",
        )
    first = True
    for kind, names in available.items():
        for name in sorted(names):
            if wanted and name.lower() != wanted:
                continue
            if not first:
                out.print()
            first = False
            try:
                cls = registry.resolve(kind, name, kind)
            except VtsError as exc:
                out.print(f"[bold]{name}[/] ({kind}): [yellow]unavailable[/] {escape(exc.message)}")
                continue
            heading, *lines = listing.render(name, kind, cls.doc, cls.Options, nested=wanted is not None)
            out.print(f"[bold]{escape(heading)}[/]", highlight=False)
            for line in lines:
                out.print(line, markup=False, highlight=False)
    return int(ExitCode.OK)
