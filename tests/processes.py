"""Processes the tests start for themselves: free ports, servers, polling, stopping.

Every helper here stops what it started, also when starting fails half-way.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx
import redis

Process = subprocess.Popen[bytes]


def free_port() -> int:
    """A local TCP port nothing listens on (picked by the OS, so also a safe "closed" port)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def port_is_free(port: int) -> bool:
    """Whether ``port`` on 127.0.0.1 can be bound right now."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def stop_processes(processes: Iterable[Process], timeout: float = 10.0) -> None:
    """Terminate every process, then wait for each; kill one still alive after ``timeout``."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop_process(process: Process, timeout: float = 10.0) -> None:
    """Terminate ``process``; kill it if it is still alive after ``timeout`` seconds."""
    stop_processes([process], timeout)


def wait_until(
    condition: Callable[[], object],
    what: str,
    timeout: float = 10.0,
    *,
    ignoring: tuple[type[Exception], ...] = (),
    interval: float = 0.05,
) -> None:
    """Poll ``condition`` until it returns something true.

    Exceptions of the types in ``ignoring`` count as "not yet"; any other propagates.

    Raises:
        TimeoutError: ``condition`` did not hold within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except ignoring:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


@dataclass
class ServerProcess:
    """An HTTP server in a subprocess on 127.0.0.1, its output in a log file."""

    name: str
    process: Process
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_serving(self, *, healthy: bool = True, timeout: float = 30.0) -> None:
        """Wait for ``/health`` to answer (200 when ``healthy``, else any response).

        Raises:
            RuntimeError: the process exited, or did not answer in time (with its output).
        """

        def serving() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.output()}"
                )
            response = httpx.get(f"{self.url}/health", timeout=2)
            return response.status_code == 200 or not healthy

        try:
            wait_until(
                serving,
                f"{self.name} to serve",
                timeout,
                ignoring=(httpx.TransportError,),
                interval=0.1,
            )
        except TimeoutError as error:
            raise RuntimeError(f"{self.name} did not serve in time:\n{self.output()}") from error

    def stop(self) -> None:
        stop_process(self.process)


def start_server(
    name: str,
    command: Sequence[str],
    *,
    port: int,
    log: Path,
    cwd: Path,
    env: Mapping[str, str],
) -> ServerProcess:
    """Start ``command`` (which must listen on ``port``) with its output going to ``log``."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    return ServerProcess(name, process, f"http://127.0.0.1:{port}", log)


class RedisServer:
    """A private ``redis-server`` on a free port that keeps nothing on disk.

    Usable as a context manager (started on entry, stopped on exit); ``stop()`` and
    ``start()`` again bring it back on the same port, empty.
    """

    def __init__(
        self, workdir: Path, *, port: int | None = None, options: Sequence[str] = ()
    ) -> None:
        """Args:
        workdir: its working directory (``--dir``).
        port: the port to listen on; a free one when not given.
        options: more ``redis-server`` command-line options.
        """
        self.port = free_port() if port is None else port
        self.workdir = workdir
        self.options = tuple(options)
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it answers PING; stop it again if it never does."""
        if self.process is not None:
            raise RuntimeError(f"redis-server on port {self.port} is already running")
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        command += self.options
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_until(
                self._answers_ping,
                f"redis-server on port {self.port} to answer PING",
                timeout,
                ignoring=(redis.ConnectionError,),
            )
        except BaseException:
            self.stop()
            raise

    def _answers_ping(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(
                f"redis-server on port {self.port} exited with {self.process.returncode}"
            )
        with redis.Redis(port=self.port, socket_connect_timeout=1) as probe:
            return bool(probe.ping())

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (if running)."""
        if self.process is not None:
            stop_process(self.process, timeout)
            self.process = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
