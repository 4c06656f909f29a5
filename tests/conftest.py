"""Real servers for the tests, started on loopback: a throw-away PostgreSQL cluster and a Redis server.

PostgreSQL is Debian's ``postgresql`` package (``.ci/run`` installs it when missing; so does
this fixture when it runs as root with apt). The server refuses to run as root, so as root
the cluster is initialised and started as the ``postgres`` user, in a temporary folder, on a
free port, with ``trust`` authentication on 127.0.0.1 only. Tests may stop and start it
(``postgres.stop()`` / ``postgres.start()``) to simulate an outage.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Where the shared data sets are: ``$ROUTEIQ_SHARED_DATA``, else ``../shared/data`` beside the repository.

    The path may not exist (a clone in /tmp); each test skips when the file it needs is missing.
    """
    env = os.environ.get("ROUTEIQ_SHARED_DATA")
    return Path(env) if env else (Path(__file__).resolve().parents[2] / "shared" / "data")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found and shutil.which("initdb"):
        return Path(shutil.which("initdb") or "").resolve().parent
    return Path(found[-1]).parent if found else None


def _install(package: str) -> None:
    """Debian's ``package``, when the tests run as root with apt (``.ci/run`` does it first)."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-q", package], env=env, capture_output=True,
                      timeout=600).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-q", package], env=env, capture_output=True, timeout=600)


class PostgresServer:
    """A PostgreSQL cluster of its own; ``url`` is a SQLAlchemy/RouteIQ URL for database ``routeiq``."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir, self.root = bindir, root
        self.data, self.socket_dir, self.logfile = root / "data", root / "sock", root / "server.log"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        for folder in (root, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if self.as_postgres:
            shutil.chown(root, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")
        self._run([str(bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                   "--no-sync"], timeout=120)
        self.start()
        self._run([str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d",
                   "postgres", "-c", "CREATE DATABASE routeiq"], timeout=60)

    def _run(self, cmd: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=str(self.root))
        if done.returncode != 0:
            raise RuntimeError(f"{cmd[-3:]} failed ({done.returncode}): {done.stderr[-2000:]}")
        return done

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/routeiq"

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=100")
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-o", options,
                   "-w", "-t", "60", "start"], timeout=90)

    def stop(self) -> None:
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"], timeout=60)

    def psql(self, sql: str) -> str:
        return self._run([str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                          "-d", "routeiq", "-At", "-c", sql]).stdout.strip()

    def reset(self) -> None:
        """Drop RouteIQ's tables (each test starts with an empty log)."""
        self.psql("DROP TABLE IF EXISTS routeiq_decisions, routeiq_feedback, routeiq_state, routeiq_schema, "
                  "routeiq_rollup, routeiq_rollup_latency")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session (installed and started as described above)."""
    bindir = _pg_bin()
    if bindir is None:
        _install("postgresql")
        bindir = _pg_bin()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed: apt-get install postgresql (Debian's package; .ci/run does it)")
    root = Path(tempfile.mkdtemp(prefix="routeiq-pg-"))
    server = PostgresServer(bindir, root)
    try:
        yield server
    finally:
        try:
            server.stop()
        except Exception:
            pass
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres(postgres_server: PostgresServer) -> PostgresServer:
    """The session's server, with RouteIQ's tables dropped and the server running."""
    try:
        postgres_server.psql("SELECT 1")
    except RuntimeError:
        postgres_server.start()
    postgres_server.reset()
    return postgres_server


class RedisServer:
    """A ``redis-server`` of its own on a free loopback port, no persistence; stop() / start() for outages."""

    def __init__(self, binary: str, root: Path) -> None:
        self.binary, self.root = binary, root
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.root), "--protected-mode", "no", "--enable-debug-command", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"FLUSHALL\r\n")
            sock.recv(16)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server (Debian's package) for the session."""
    binary = shutil.which("redis-server")
    if binary is None:
        _install("redis-server")
        binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server (Debian's package; .ci/run does it)")
    root = Path(tempfile.mkdtemp(prefix="routeiq-redis-"))
    server = RedisServer(binary, root)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def redis(redis_server: RedisServer) -> RedisServer:
    """The session's Redis, running and empty."""
    if redis_server.proc is None:
        redis_server.start()
    redis_server.flush()
    return redis_server
