"""`make test` installs the services the suite needs, once: the Makefile's real rules, run with installers
that only record that they ran (the real ones download from PyPI and npm)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

INSTALLERS = {
    "install_milvus_standalone.sh": ".venv-milvus-server",
    "install_azurite.sh": ".azurite",
    "install_postgres.sh": None,  # installs into .venv
    "install_es8_client.sh": ".venv-es8",
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("make") is None:
        pytest.fail("make is not installed (apt-get install make)")
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")
    services = tmp_path / "tests" / "services"
    services.mkdir(parents=True)
    for script, folder in INSTALLERS.items():
        made = f'mkdir -p "{folder}"; ' if folder else ""
        (services / script).write_text(f'{made}echo "{script} VENV=${{VENV:-}}" >> installs.log\n')
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / ".installed").touch()
    past = time.time() - 60  # `make install` ran after the last change to pyproject.toml and the installers
    for path in [tmp_path / "pyproject.toml", *services.iterdir()]:
        os.utime(path, (past, past))
    return tmp_path


def _edit(path: Path) -> None:
    time.sleep(0.05)  # make compares modification times: be newer than the stamps just made
    path.touch()


def _make(repo: Path, *targets: str) -> list[str]:
    proc = subprocess.run(["make", "-C", str(repo), *targets], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = repo / "installs.log"
    runs = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return runs


def test_make_services_runs_each_installer_once_then_none(repo: Path) -> None:
    first = _make(repo, "services")
    assert sorted(r.split()[0] for r in first) == sorted(INSTALLERS)
    assert "install_postgres.sh VENV=.venv" in first  # it installs into the project venv
    assert _make(repo, "services") == []


def test_a_changed_or_removed_service_is_installed_again_alone(repo: Path) -> None:
    _make(repo, "services")
    _edit(repo / "tests" / "services" / "install_azurite.sh")
    assert [r.split()[0] for r in _make(repo, "services")] == ["install_azurite.sh"]
    shutil.rmtree(repo / ".venv-milvus-server")
    assert [r.split()[0] for r in _make(repo, "services")] == ["install_milvus_standalone.sh"]


def test_make_test_installs_the_services_before_running_pytest(repo: Path) -> None:
    proc = subprocess.run(["make", "-n", "-C", str(repo), "test"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    pytest_line = next(i for i, line in enumerate(lines) if "-m pytest" in line)
    for script in INSTALLERS:
        assert any(script in line for line in lines[:pytest_line]), script
