"""A Spark standalone cluster on loopback, from pyspark's own classes: for the cluster test and benchmarks.

`LoopbackCluster` starts a master (`bin/spark-class ...deploy.master.Master`) and N one-core workers
(`...deploy.worker.Worker`) bound to 127.0.0.1, waits until every worker has registered, and stops them
by process id. It is not used by reports: a real cluster is started by its operators (docs/scaling.md).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from exhaust.engine.backend import DRIVER_JAVA_OPTIONS
from exhaust.errors import ExhaustError


def spark_class() -> Path:
    """pyspark's `bin/spark-class` launcher."""
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(predicate: Callable[[], bool], seconds: float, what: str, alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        if not alive():
            raise ExhaustError(f"the Spark cluster stopped while waiting for {what}")
        time.sleep(0.2)
    raise ExhaustError(f"timed out after {seconds:.0f} s waiting for {what}")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and of the children it has reaped (utime..cstime)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in found]


class LoopbackCluster:
    """A master and `workers` one-core workers on 127.0.0.1; a context manager that always stops them.

    `base_port`: every port from there up: the master's and its web UI's, each worker's and its UI's,
    then the driver's (`driver_conf`), its block manager's and their retries (2 + 2 × workers + 8
    ports in all). Default: ports the system picks as free, and the driver's own chosen by Spark.
    """

    def __init__(
        self,
        logs: Path,
        workers: int = 2,
        worker_memory: str = "1g",
        base_port: int | None = None,
    ) -> None:
        self.logs = logs
        self.workers = workers
        self.worker_memory = worker_memory
        wanted = 2 + 2 * workers
        self.base_port = base_port
        self.ports = (
            list(range(base_port, base_port + wanted)) if base_port else [free_port() for _ in range(wanted)]
        )
        self.master_url = f"spark://127.0.0.1:{self.ports[0]}"
        self.master_ui = f"http://127.0.0.1:{self.ports[1]}"
        self.worker_logs = [logs / f"worker-{index}.log" for index in range(workers)]
        self.processes: list[subprocess.Popen[bytes]] = []
        self.started_s = 0.0

    def env(self) -> dict[str, str]:
        """The environment the cluster's processes get (and a driver on this machine should get)."""
        return {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}

    def driver_conf(self, executor_memory: str = "512m") -> dict[str, str]:
        """Spark settings for a driver on this machine (EXHAUST_SPARK_CONF): loopback, one core per executor."""
        conf = {
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.executor.memory": executor_memory,
            "spark.executor.cores": "1",
            # Small executors that live for one report: the C1 compiler alone and the serial collector
            # cost them about half the CPU (docs/benchmarks.md); a long-lived cluster may prefer the JVM's.
            "spark.executor.extraJavaOptions": DRIVER_JAVA_OPTIONS,
        }
        if self.base_port:
            driver = self.ports[-1] + 1
            conf.update(
                {
                    "spark.driver.port": str(driver),
                    "spark.blockManager.port": str(driver + 1),
                    "spark.port.maxRetries": "6",
                }
            )
        return conf

    def driver_env(self, executor_memory: str = "512m") -> dict[str, str]:
        """The environment of an `exhaust` process whose reports run on this cluster."""
        return {
            **self.env(),
            "EXHAUST_SPARK_MASTER": self.master_url,
            "EXHAUST_SPARK_CONF": json.dumps(self.driver_conf(executor_memory)),
        }

    def _start(self, args: list[str], log: Path) -> None:
        with log.open("wb") as handle:
            self.processes.append(
                subprocess.Popen(
                    [str(spark_class()), *args], stdout=handle, stderr=subprocess.STDOUT, env=self.env()
                )
            )

    def _alive(self) -> bool:
        return all(process.poll() is None for process in self.processes)

    def start(self) -> LoopbackCluster:
        """Start the master, then the workers; return once every worker has registered."""
        began = time.perf_counter()
        self.logs.mkdir(parents=True, exist_ok=True)
        master_log = self.logs / "master.log"
        self._start(
            [
                *("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1"),
                *("--port", str(self.ports[0]), "--webui-port", str(self.ports[1])),
            ],
            master_log,
        )
        try:
            _wait_for(
                lambda: "Starting Spark master" in master_log.read_text(errors="replace"),
                90,
                "the Spark master",
                self._alive,
            )
            for index, log in enumerate(self.worker_logs):
                self._start(
                    [
                        *("org.apache.spark.deploy.worker.Worker", self.master_url, "--host", "127.0.0.1"),
                        *("--cores", "1", "--memory", self.worker_memory),
                        *("--port", str(self.ports[2 + 2 * index])),
                        *("--webui-port", str(self.ports[3 + 2 * index])),
                        *("--work-dir", str(self.logs / f"work-{index}")),
                    ],
                    log,
                )
            _wait_for(
                lambda: master_log.read_text(errors="replace").count("Registering worker") >= self.workers,
                120,
                f"{self.workers} Spark workers",
                self._alive,
            )
        except BaseException:
            self.stop()
            raise
        self.started_s = time.perf_counter() - began
        return self

    def cpu_seconds(self) -> float:
        """CPU seconds of the master, the workers and their executors (live or reaped) so far."""
        total = 0.0
        for process in self.processes:
            total += process_cpu_seconds(process.pid)
            total += sum(process_cpu_seconds(child) for child in _children(process.pid))
        return round(total, 3)

    def executors_launched(self) -> list[int]:
        """How many executors each worker was asked to launch."""
        return [log.read_text(errors="replace").count("Asked to launch executor") for log in self.worker_logs]

    def stop(self) -> None:
        """Stop the workers, then the master, by process id (SIGTERM, then SIGKILL after 20 s)."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> LoopbackCluster:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
