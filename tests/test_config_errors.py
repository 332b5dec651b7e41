"""Acceptance: bad job files give their documented message and exit code, no traceback, no secret.

Each file in ``tests/bad_jobs`` is one bad job whose leading comment lines state
what ``vts run`` must do with it::

    # expect-exit: 2                  process exit code
    # expect-code: VTS-01             error code printed as [VTS-01]
    # expect-message: ...             text that must appear in stderr (repeatable)
    # env: NAME=value                 environment for the run (repeatable)
    # secret: value                   must not appear in any output (repeatable;
                                      values under token/password/... keys are added)
    # xfail: reason                   a known bug elsewhere (strict: fails once fixed)
    # check-differs: reason           'vts check' is known not to report it (strict xfail)

Jobs write Milvus Lite files under ``${VTS_TEST_DIR}``, a per-test temp dir.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from vts import cli, config, secrets
from vts.errors import ConfigError, ExitCode, MissingEnvVarError

BAD_JOBS = Path(__file__).parent / "bad_jobs"
REPO = Path(__file__).resolve().parents[1]


@dataclass
class Expect:
    exit: int | None = None
    code: str | None = None
    messages: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    xfail: str | None = None
    check_differs: str | None = None


def expectations(path: Path) -> Expect:
    exp = Expect()
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].strip().partition(":")
        if not sep:
            continue
        value = value.strip()
        match key.strip():
            case "expect-exit":
                exp.exit = int(value)
            case "expect-code":
                exp.code = value
            case "expect-message":
                exp.messages.append(value)
            case "env":
                name, _, val = value.partition("=")
                exp.env[name.strip()] = val
            case "secret":
                exp.secrets.append(value)
            case "xfail":
                exp.xfail = value
            case "check-differs":
                exp.check_differs = value
    exp.secrets += _secret_values(path)
    return exp


def _secret_values(path: Path) -> list[str]:
    """Scalar values under secret-named keys of the job (when it is valid YAML)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        return []
    found: list[str] = []

    def walk(value: Any, secret: bool) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, secret or secrets.is_secret_name(str(k)))
        elif isinstance(value, list):
            for v in value:
                walk(v, secret)
        elif secret and value is not None and len(str(value)) >= 3:
            found.append(str(value))

    walk(raw, False)
    return found


JOBS = sorted(BAD_JOBS.glob("*.yaml"))


def _params(for_check: bool = False) -> list[Any]:
    params = []
    for path in JOBS:
        exp = expectations(path)
        reason = exp.xfail or (exp.check_differs if for_check else None)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(path, id=path.stem, marks=marks))
    return params


@pytest.fixture(autouse=True)
def fresh_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets registered by one test's job must not mask another test's output."""
    monkeypatch.setattr(secrets, "_values", set())


@pytest.fixture
def job_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean temp dir as VTS_TEST_DIR and cwd; no VTS_BADJOB_* variable set."""
    for name in list(os.environ):
        if name.startswith("VTS_BADJOB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VTS_TEST_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = cli.main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def assert_reported(exp: Expect, rc: int, out: str, err: str) -> None:
    both = out + err
    assert "Traceback" not in both, both
    assert rc == exp.exit, f"exit {rc}, expected {exp.exit}\n{err}"
    assert f"error [{exp.code}]" in err, err
    for message in exp.messages:
        assert message in err, f"{message!r} not in stderr:\n{err}"
    for value in exp.secrets:
        assert value not in both, f"secret {value!r} was printed:\n{both}"


def test_catalogue_is_complete() -> None:
    assert len(JOBS) >= 18
    for path in JOBS:
        exp = expectations(path)
        assert exp.exit in {int(c) for c in ExitCode}, path.name
        assert exp.code and exp.messages, f"{path.name} states no expect-code/expect-message"


@pytest.mark.parametrize("path", _params())
def test_bad_job_run(path: Path, job_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    exp = expectations(path)
    for name, value in exp.env.items():
        monkeypatch.setenv(name, value)
    rc, out, err = run_cli(["run", str(path)], capsys)
    assert_reported(exp, rc, out, err)


@pytest.mark.parametrize("path", _params(for_check=True))
def test_bad_job_check(path: Path, job_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    """'vts check' reports the same error as 'vts run'."""
    exp = expectations(path)
    for name, value in exp.env.items():
        monkeypatch.setenv(name, value)
    rc, out, err = run_cli(["check", str(path)], capsys)
    assert_reported(exp, rc, out, err)


@pytest.mark.parametrize("command", ["run", "check"])
def test_job_file_missing(command: str, job_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = job_env / "no-such-job.yaml"
    rc, out, err = run_cli([command, str(path)], capsys)
    exp = Expect(exit=2, code="VTS-02", messages=[f"job file {path} does not exist", "check the path"])
    assert_reported(exp, rc, out, err)


@pytest.mark.parametrize(
    "name", ["unknown_sink_option", "token_wrong_type", "unreachable_server", "binary_vector_on_lite"]
)
def test_subprocess_shows_no_traceback(name: str, tmp_path: Path) -> None:
    """Through a real process, as a user's terminal sees it."""
    path = BAD_JOBS / f"{name}.yaml"
    exp = expectations(path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VTS_BADJOB_")}
    env.update(exp.env, VTS_TEST_DIR=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-m", "vts", "run", str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_reported(exp, proc.returncode, proc.stdout, proc.stderr)


def test_subprocess_missing_job_file(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "vts", "run", "missing.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    exp = Expect(exit=2, code="VTS-02", messages=["job file missing.yaml does not exist"])
    assert_reported(exp, proc.returncode, proc.stdout, proc.stderr)


# Positive controls: what the bad jobs get wrong, done right, is accepted.


def test_env_default_is_not_an_error(tmp_path: Path) -> None:
    text = (
        "source: {DataGen: {row_count: '${VTS_BADJOB_ROWS:-25}'}}\n"
        "sink: {Milvus: {url: '${VTS_BADJOB_URL:-./out.db}', token: '${VTS_BADJOB_TOKEN:-}'}}\n"
    )
    job = config.parse(text, environ={})
    assert job.source.options.row_count == 25
    assert job.sink.options.url == "./out.db"
    assert job.sink.options.token.get_secret_value() == ""


def test_env_variable_set_fills_the_job() -> None:
    path = BAD_JOBS / "missing_env_var.yaml"
    with pytest.raises(MissingEnvVarError, match="VTS_BADJOB_MILVUS_URL"):
        config.load(path, environ={})
    job = config.load(path, environ={"VTS_BADJOB_MILVUS_URL": "http://milvus:19530", "VTS_BADJOB_ROWS": "7"})
    assert job.sink.options.url == "http://milvus:19530"
    assert job.source.options.row_count == 7


def test_dollar_dollar_is_a_literal() -> None:
    text = "source: {DataGen: {collection: 'a$${b}'}}\nsink: {Milvus: {url: ./x.db}}\n"
    assert config.parse(text, environ={}).source.options.collection == "a${b}"


def test_quickstart_job_is_valid() -> None:
    job = config.load(REPO / "jobs" / "quickstart.yaml", environ={})
    assert job.sink.name == "Milvus"


def test_secret_from_environment_not_echoed() -> None:
    """A token filled from the environment is masked even when its block fails validation."""
    text = (
        "source: {DataGen: {row_count: 1}}\n"
        "sink: {Milvus: {url: 'http://h:19530', token: '${VTS_BADJOB_TOKEN}', field_schema: [{field_name: a, "
        "data_type: Int64}], batch_size: '${VTS_BADJOB_TOKEN}'}}\n"
    )
    with pytest.raises(ConfigError) as info:
        config.parse(text, environ={"VTS_BADJOB_TOKEN": "env-Secret-42"})
    assert "env-Secret-42" not in str(info.value)
    assert "'sink.Milvus.batch_size' should be a valid integer" in str(info.value)
    assert "(got '***')" in str(info.value)
