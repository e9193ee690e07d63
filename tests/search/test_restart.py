"""A database restart under running workers: they ride through it, and no finished trial is lost or doubled.

The tests restart servers of their own (a PostgreSQL cluster from pg_createcluster, a Redis server with its
append-only file), each on a free port, so the shared servers that other tests use in parallel stay up.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from helpers import SPACES, assert_exactly, study_trials, unavailable
from optuna.trial import TrialState

from sweep.search.settings import NOT_RUN

SWEEP = ["--space", str(SPACES / "steady.yaml"), "--max-train", "2000", "--pruner", "none"]


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def private_postgres():
    """(URL of a fresh database, a function that restarts its server) on a cluster made for this test."""
    if not shutil.which("pg_createcluster") or not Path("/etc/postgresql").is_dir():
        unavailable("pg_createcluster", FileNotFoundError("Debian's postgresql-common"))
    version, name, port = sorted(os.listdir("/etc/postgresql"))[-1], f"sweep{uuid.uuid4().hex[:8]}", _free_port()
    control = ["pg_ctlcluster", "--skip-systemctl-redirect", version, name]
    subprocess.run(["pg_createcluster", version, name, "-p", str(port), "--", "--auth=trust"], check=True,
                   capture_output=True)  # fmt: skip
    try:
        subprocess.run([*control, "start"], check=True, capture_output=True)
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as admin:
            admin.execute("CREATE DATABASE sweep")

        def restart() -> None:
            subprocess.run([*control, "stop"], check=True)
            time.sleep(3)  # down for a while, as a failover is: a restart alone can fall between the workers' calls
            subprocess.run([*control, "start"], check=True)

        yield f"postgresql://postgres@127.0.0.1:{port}/sweep", restart
    finally:
        subprocess.run([*control, "stop", "-m", "immediate"], capture_output=True)
        subprocess.run(["pg_dropcluster", version, name], capture_output=True)


@pytest.fixture
def private_redis(tmp_path):
    """(journal URL, a function that restarts the server) for a Redis server that keeps an append-only file."""
    if not shutil.which("redis-server"):
        unavailable("redis-server", FileNotFoundError("Debian's redis-server"))
    port = _free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
               "--appendfsync", "always", "--dir", str(tmp_path)]  # fmt: skip
    server = [subprocess.Popen(command, stdout=subprocess.DEVNULL)]

    def answering() -> None:
        import redis

        for _ in range(100):
            with contextlib.suppress(redis.ConnectionError):
                if redis.Redis(port=port, socket_connect_timeout=1).ping():
                    return
            time.sleep(0.1)

    def restart() -> None:
        server[0].terminate()  # redis-server finishes its append-only file on SIGTERM
        server[0].wait()
        time.sleep(3)  # down for a while, as a failover is: the workers' calls meet a closed port
        server[0] = subprocess.Popen(command, stdout=subprocess.DEVNULL)

    answering()

    try:
        yield f"redis://127.0.0.1:{port}/0", restart
    finally:
        server[0].kill()
        server[0].wait()


def _finished(url: str) -> int | None:
    """Complete and pruned trials, read without sweep's retries; None while the server is down."""
    import optuna
    from optuna.storages.journal import JournalRedisBackend

    if url.startswith("postgresql"):
        import psycopg

        try:
            with psycopg.connect(url, connect_timeout=2) as connection:
                query = "SELECT count(*) FROM trials WHERE state IN ('COMPLETE', 'PRUNED')"
                return connection.execute(query).fetchone()[0]
        except psycopg.Error:
            return None
    try:
        study = optuna.load_study(study_name="steady", storage=optuna.storages.JournalStorage(JournalRedisBackend(url)))
        return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))
    except Exception:  # down, restarting, or the study not created yet
        return None


def _sweep(url: str, folder: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "sweep", "run", *SWEEP, "--workers", "2", "--fuse", "4", "--trials", "12"]
    return subprocess.Popen([*command, "--storage", url], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip


@pytest.mark.parametrize("server", ["private_postgres", "private_redis"])
def test_workers_ride_through_a_database_restart_and_lose_nothing(tmp_path, server, request):
    url, restart = request.getfixturevalue(server)
    process, seen = _sweep(url, tmp_path), []
    deadline = time.monotonic() + 300
    while (_finished(url) or 0) < 4:  # four trials done, the groups' other trials mid-way
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1][-2000:]
        time.sleep(0.2)
    restart()
    deadline = time.monotonic() + 300
    while process.poll() is None:
        seen.append(_finished(url))
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the sweep never finished after the restart: {process.communicate()[1][-3000:]}")
        time.sleep(0.2)
    out, err = process.communicate()
    counts = [count for count in seen if count is not None]
    assert counts == sorted(counts), f"the finished count dropped: {counts}"
    if process.returncode != 0:  # a worker may stop with one line; the same command then finishes the target
        assert err.strip().count("\n") == 0 and "Traceback" not in err, err[-2000:]
        process = _sweep(url, tmp_path)
        out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-2000:]
    trials = study_trials(url, "steady")
    assert_exactly(trials, 12)  # no trial lost or counted twice, none left running
    failed = [t for t in trials if t.state == TrialState.FAIL and not t.user_attrs.get("interrupted")]
    assert all(t.user_attrs.get("fail_reason") == NOT_RUN for t in failed), [  # none failed by the restart
        (t.number, t.user_attrs.get("fail_reason")) for t in failed
    ]
    assert "unreachable" in (tmp_path / "results" / "steady.log").read_text()  # the workers met it, and retried
