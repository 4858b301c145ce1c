"""Processes the tests start for themselves: ports, polling, stopping, private Redis servers
and Redis Clusters, private PostgreSQL servers.

Whatever a helper here starts, it stops again, also when starting fails half-way.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import TracebackType

import httpx
import redis

Process = subprocess.Popen[bytes]


def free_port() -> int:
    """A local TCP port that was free a moment ago (the OS picked it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def closed_port() -> int:
    """A local TCP port nothing listens on: connecting to it is refused."""
    return free_port()


def stop_process(process: Process, timeout: float = 10.0) -> None:
    """Terminate ``process``; kill it if it is still alive after ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(
    condition: Callable[[], object],
    what: str,
    timeout: float = 15.0,
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


def wait_until_serving(
    url: str, process: Process, log: Path, *, timeout: float = 90.0, healthy: bool = True
) -> None:
    """Wait for the HTTP server ``process`` to answer ``GET {url}/health``.

    Args:
        url: the server's base URL.
        process: the server; if it exits, waiting stops at once.
        log: where its output goes, shown when it fails to serve.
        timeout: seconds to wait at most.
        healthy: wait for a 200 (else any response will do).

    Raises:
        RuntimeError: the server exited or did not answer in time (with its output).
    """

    def serving() -> bool:
        if process.poll() is not None:
            output = log.read_text(errors="replace")
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{output}")
        response = httpx.get(f"{url}/health", timeout=2)
        return response.status_code == 200 or not healthy

    try:
        wait_until(
            serving, f"{url} to serve", timeout, ignoring=(httpx.TransportError,), interval=0.1
        )
    except TimeoutError as error:
        output = log.read_text(errors="replace")
        raise RuntimeError(f"{url} did not serve within {timeout:g} s:\n{output}") from error


class RedisServer:
    """A private ``redis-server`` on 127.0.0.1 that keeps nothing on disk.

    ``start()`` waits until it answers PING; ``stop()`` then ``start()`` brings it back on
    the same port, empty. As a context manager it is started on entry and stopped on exit.
    """

    def __init__(self, workdir: Path, port: int | None = None, *options: str) -> None:
        """Args:
        workdir: its working directory (``--dir``).
        port: the port to listen on; a free one when not given.
        *options: more ``redis-server`` command-line options.
        """
        self.workdir = workdir
        self.port = free_port() if port is None else port
        self.options = options
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A new synchronous client of this server (close it, e.g. with ``with``)."""
        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=2)

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
        with self.client() as probe:
            return bool(probe.ping())

    def stop(self) -> None:
        """Stop the server, if it runs."""
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)  # a paused server could not stop
            stop_process(self.process)
            self.process = None

    def restart_keeping_data(self) -> None:
        """``SHUTDOWN SAVE`` (every client is disconnected), then start again on the same
        port, loading the saved data: a restart that keeps the keys but not the scripts."""
        if self.process is None:
            raise RuntimeError(f"redis-server on port {self.port} is not running")
        # redis-cli: redis-py's client would retry the connection SHUTDOWN closes
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "save"],
            capture_output=True,
            timeout=10,
            check=False,
        )
        self.process.wait(timeout=10)
        self.process = None
        self.start()

    def pause(self) -> None:
        """Stop the process (SIGSTOP): connections are still accepted, nothing answers."""
        if self.process is None:
            raise RuntimeError(f"redis-server on port {self.port} is not running")
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server go on (SIGCONT)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

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


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_cluster_ports(count: int) -> list[int]:
    """``count`` free ports whose cluster bus port (port + 10000) is free too."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port < 55535 and port not in ports and _port_is_free(port + 10000):
            ports.append(port)
    return ports


def _cluster_is_ok(node: redis.Redis) -> bool:
    return bool(node.cluster("info")["cluster_state"] == "ok")


class RedisClusterServer:
    """A private Redis Cluster of ``masters`` primaries and no replicas, on free ports,
    keeping nothing on disk but each node's cluster configuration (in ``workdir``).

    ``start()`` starts every node (``nodes``), joins them with ``redis-cli --cluster create``
    and waits until each says ``cluster_state:ok``; ``stop()`` stops every node it started,
    and so does a start that fails half-way. As a context manager it is started on entry
    and stopped on exit.
    """

    def __init__(self, workdir: Path, masters: int = 3) -> None:
        self.workdir = workdir
        self.masters = masters
        self.nodes: list[RedisServer] = []

    @property
    def url(self) -> str:
        """The cluster's URL for ``connect_redis``, seeded from the first node."""
        if not self.nodes:
            raise RuntimeError("the Redis Cluster is not running")
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}"

    def start(self, timeout: float = 30.0) -> None:
        """Start the nodes, create the cluster and wait until every node serves it."""
        if any(node.process is not None for node in self.nodes):
            raise RuntimeError("the Redis Cluster is already running")
        self.nodes = []
        try:
            for port in free_cluster_ports(self.masters):
                workdir = self.workdir / f"redis-cluster-{port}"
                workdir.mkdir(parents=True, exist_ok=True)
                config = ["--cluster-config-file", str(workdir / f"nodes-{port}.conf")]
                node = RedisServer(workdir, port, "--cluster-enabled", "yes", *config)
                self.nodes.append(node)
                node.start()
            created = subprocess.run(
                ["redis-cli", "--cluster", "create"]
                + [f"127.0.0.1:{node.port}" for node in self.nodes]
                + ["--cluster-replicas", "0", "--cluster-yes"],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            if created.returncode != 0:
                raise RuntimeError(f"redis-cli --cluster create failed:\n{created.stdout}")
            for node in self.nodes:
                with node.client() as client:
                    wait_until(
                        partial(_cluster_is_ok, client),
                        f"cluster_state:ok on port {node.port}",
                        timeout,
                        ignoring=(redis.RedisError, OSError),
                    )
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every node that was started (``nodes`` still names them, stopped)."""
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> RedisClusterServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class PostgresServer:
    """A private PostgreSQL cluster (``initdb`` in a temporary directory, ``pg_ctl``) on a
    free port, trusting local connections as ``postgres``. As root, its commands run as
    the ``postgres`` user, which owns the directory. ``close()`` stops it and removes it."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise RuntimeError("PostgreSQL server binaries (initdb) are not installed")
        self.bin = Path(found[-1]).parent
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="authgate-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        """Stop the server at once, cutting every connection (``-m fast``)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def close(self) -> None:
        """Stop the server if it runs and remove its files."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
