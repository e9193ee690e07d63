"""Shared fixtures: the real dataset, small slices of it, temporary real storages (SQLite, PostgreSQL, Redis)."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from helpers import POSTGRES, REDIS, SMALL, SPACES, sweep_cli, unavailable


@pytest.fixture(scope="session", autouse=True)
def baseline_cache(tmp_path_factory):
    """One baseline computation per test session, in a folder of its own."""
    folder = tmp_path_factory.mktemp("cache")
    os.environ["SWEEP_CACHE_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory) -> tuple[Path, str, subprocess.CompletedProcess]:
    """One real `sweep run` of 4 trials over the tiny space into SQLite, shared by every test that reads a
    finished study (table, best, report, export, dashboard): (folder, storage URL, the run's output).
    Tests must not write to its database; copy the file first (see test_rerun_continues...)."""
    folder = tmp_path_factory.mktemp("tiny_sweep")
    url = f"sqlite:///{folder / 'sweep.db'}"
    args = ["--space", str(SPACES / "tiny.yaml"), "--trials", "4", "--max-train", str(SMALL), "--storage", url]
    return folder, url, sweep_cli("run", *args, cwd=folder)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'sweep.db'}"


@pytest.fixture
def postgres_url():
    """A fresh database per test, dropped afterwards."""
    import psycopg

    name = f"sweep_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(f"{POSTGRES}/test", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        unavailable("PostgreSQL", error)
    admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{POSTGRES}/{name}"
    admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def redis_url():
    """A fresh key prefix per test, deleted afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.ConnectionError as error:
        unavailable("Redis", error)
    prefix = f"sweep-test-{uuid.uuid4().hex[:10]}"
    yield f"{REDIS}?prefix={prefix}"
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
