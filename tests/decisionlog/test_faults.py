"""The decision log never gets in the request's way: outages, a full queue, a full disk, exit.

Every test counts decisions made against rows written, with a real database stopped and
started again where it says so, and names exactly which decisions were lost and why.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from routeiq_core import DecisionLogWarning, Router
from routeiq_core.decisionlog import DecisionLogger, LogFilter, iter_log, open_log

from .conftest import CANDIDATES, PROMPTS

REPO = Path(__file__).resolve().parents[2]


def _wait(predicate: Any, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _ids(log: Any) -> list[str]:
    return [r.record.id for r in iter_log(log)]


def _decide(router: Router, n: int) -> list[str]:
    return [router.decide(PROMPTS[i % len(PROMPTS)], metadata={"user": f"u{i % 3}"}).id for i in range(n)]


def test_postgres_stopped_and_restarted_mid_run_loses_nothing(postgres: Any, embedder: Any) -> None:
    """60 decisions before, 60 during and 60 after an outage: 180 made, 180 rows, none lost
    (the queue holds the outage's records and the writer reconnects)."""
    router = Router(CANDIDATES, embedder=embedder, log=postgres.url)
    assert router.log is not None
    made = _decide(router, 60)
    assert router.log.flush(30)
    postgres.stop()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        made += _decide(router, 60)  # every decision goes through while the database is down
        assert _wait(lambda: router.counters.get("log_write_failures") >= 2)  # the writer saw the outage
        assert router.log.writer.pending == 60  # nothing written, nothing lost: queued
        postgres.start()
        made += _decide(router, 60)
        assert router.log.flush(60)
    counters = router.counters.snapshot()
    written = _ids(router.log.log)
    print(f"\noutage: made {len(made)} decisions, {len(written)} rows, write failures "
          f"{counters.get('log_write_failures', 0)}, dropped {counters.get('log_dropped', 0)}")
    assert written == sorted(made) and len(made) == 180
    assert counters.get("log_write_failures", 0) >= 1 and counters.get("log_dropped", 0) == 0
    assert counters["log_written"] == 180
    outage = [w for w in caught if issubclass(w.category, DecisionLogWarning)]
    assert len(outage) == 1 and "write failed" in str(outage[0].message)  # one warning per outage
    router.close()


def test_a_full_queue_drops_the_oldest_records_and_counts_them(postgres: Any, embedder: Any) -> None:
    """With a 25-record queue, 100 decisions during an outage keep the newest 25: exactly the
    75 oldest of the outage are lost, counted in log_dropped, with one warning."""
    logger = DecisionLogger(postgres.url, max_queue=25)
    router = Router(CANDIDATES, embedder=embedder, log=logger)
    before = _decide(router, 10)
    assert logger.flush(30)
    postgres.stop()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        during = _decide(router, 100)
        assert _wait(lambda: router.counters.get("log_write_failures") >= 1)
        postgres.start()
        assert logger.flush(60)
    dropped = router.counters.get("log_dropped")
    written = set(_ids(logger.log))
    lost = [i for i in before + during if i not in written]
    print(f"\nfull queue: made {len(before) + len(during)}, written {len(written)}, dropped {dropped}; "
          f"lost = the {len(lost)} oldest decisions of the outage")
    assert written >= set(before) and dropped == len(lost)
    # what survived of the outage is its newest records; in-flight batch aside, the lost are the oldest
    kept = [i for i in during if i in written]
    assert kept == during[-len(kept):] and 25 <= len(kept) <= 26 + logger.writer.batch_size
    assert sum("queue is full" in str(w.message) for w in caught) == 1
    router.close()


@pytest.mark.filterwarnings("ignore:decision log .* write failed:routeiq_core.errors.DecisionLogWarning")  # the writer's, by design
def test_database_down_at_start(postgres: Any, embedder: Any) -> None:
    """A log whose server is down when the router starts: one warning, decisions go on, and the
    rows are written once the server is up (the schema is created then)."""
    postgres.stop()
    try:
        with pytest.warns(DecisionLogWarning, match="not reachable"):
            router = Router(CANDIDATES, embedder=embedder, log=postgres.url)
        made = _decide(router, 20)
        assert _wait(lambda: router.counters.get("log_write_failures") >= 1)
    finally:
        postgres.start()
    assert router.log is not None and router.log.flush(60)
    assert _ids(router.log.log) == sorted(made)
    router.close()


def test_sqlite_disk_full_then_space_again(tmp_path: Path, embedder: Any) -> None:
    """SQLite says 'database or disk is full' (a page limit, a real SQLITE_FULL): decisions go on,
    the records wait in the queue, and are written when there is room again."""
    import sqlalchemy as sa

    logger = DecisionLogger(f"sqlite:///{tmp_path}/full.db", store_embeddings=True)
    router = Router(CANDIDATES, embedder=embedder, log=logger)
    _decide(router, 5)
    assert logger.flush()
    engine = logger.log._engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        pages = conn.execute(sa.text("PRAGMA page_count")).scalar()

    def cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    sa.event.listen(engine, "connect", cap)
    engine.dispose()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        made = _decide(router, 40)
        assert not logger.flush(2)  # cannot write: disk full
        assert router.counters.get("log_write_failures") >= 1
        sa.event.remove(engine, "connect", cap)
        engine.dispose()
        assert logger.flush(30)
    assert set(made) <= set(_ids(logger.log)) and router.counters.get("log_dropped") == 0
    router.close()


def test_close_flushes_and_exit_flushes(tmp_path: Path) -> None:
    """A process that exits without close() still writes its queued decisions (atexit)."""
    db = tmp_path / "exit.db"
    script = textwrap.dedent(f"""
        from routeiq_core import Router
        router = Router(log="sqlite:///{db}")
        for i in range(50):
            router.decide(f"question number {{i}}: what is {{i}} squared?")
        print(router.log.writer.pending)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert len(_ids(open_log(f"sqlite:///{db}"))) == 50


def test_two_processes_write_one_sqlite_file(tmp_path: Path) -> None:
    """Two processes writing one SQLite file at the same time (WAL): every decision of both is a row."""
    db = tmp_path / "shared.db"
    script = textwrap.dedent(f"""
        import sys
        from routeiq_core import Router
        router = Router(log="sqlite:///{db}")
        for i in range(150):
            router.decide(f"worker {{sys.argv[1]}} question {{i}}", metadata={{"team": sys.argv[1]}})
        router.close()
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, name], cwd=REPO, stderr=subprocess.PIPE, text=True)
             for name in ("a", "b")]
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    log = open_log(f"sqlite:///{db}")
    assert len(_ids(log)) == 300
    assert len(log.query(LogFilter(team="a"), limit=1000)) == 150
    with open_log(f"sqlite:///{db}")._engine.connect() as conn:  # type: ignore[attr-defined]
        import sqlalchemy as sa

        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


_OPEN_LOG = "import sys\nfrom routeiq_core.decisionlog import open_log\nopen_log(sys.argv[1]).close()\n"


def _open_at_once(url: str, processes: int = 6) -> list[str]:
    """Start ``processes`` interpreters that open one fresh log at the same moment; their errors."""
    procs = [subprocess.Popen([sys.executable, "-c", _OPEN_LOG, url], cwd=REPO, stderr=subprocess.PIPE, text=True)
             for _ in range(processes)]
    errors = []
    for p in procs:
        _, err = p.communicate(timeout=120)
        if p.returncode:
            errors.append(err.strip().splitlines()[-1])
    return errors


def test_processes_creating_one_sqlite_log_at_once_all_open_it(tmp_path: Path) -> None:
    """Schema creation is serialised: without the lock, 14 of 15 such races failed (a half-created schema)."""
    for trial in range(4):
        url = f"sqlite:///{tmp_path / f'fresh{trial}.db'}"
        assert _open_at_once(url) == []
        assert open_log(url).schema_version() == 2  # type: ignore[attr-defined]


def test_processes_creating_one_postgres_log_at_once_all_open_it(postgres: Any) -> None:
    for _ in range(3):
        postgres.reset()
        assert _open_at_once(postgres.url) == []
        assert postgres.psql("SELECT count(*) FROM routeiq_schema") == "1"
