"""Storage URLs -> Optuna storages. No storage of our own: Optuna's tools read ours.

- ``sqlite:///results/sweep.db`` (default): one process; RDB with heartbeats.
- ``postgresql://user:pass@host/db``: many workers on many machines; RDB with heartbeats,
  so the trial of a worker that died is failed and retried by the others.
- ``journal:///results/sweep.log``: Optuna's JournalStorage on a file, for several workers
  on one machine.
- ``redis://host:6379/0[?prefix=NAME]``: Optuna's JournalStorage on Redis.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sweep.results.urls import DEFAULT_STORAGE, BadStorage, StorageError, mask, scheme

log = logging.getLogger(__name__)

# A worker that misses heartbeats for GRACE seconds is presumed dead; its trial is retried.
HEARTBEAT_SECONDS = int(os.environ.get("SWEEP_HEARTBEAT_SECONDS", "10"))
MAX_RETRIES = 3


def study_names(storage, url: str) -> list[str]:
    """The studies in an opened storage; a file that is not an Optuna database is one BadStorage line."""
    import optuna

    try:
        return optuna.study.get_all_study_names(storage)
    except Exception as error:  # SQLAlchemy's DatabaseError for a half-written or foreign file, and kin
        raise BadStorage(f"cannot read storage {mask(url)} ({_first_line(error)}): is it an Optuna database?") from None


def has_heartbeats(url: str | None) -> bool:
    """RDB storages (SQLite, PostgreSQL) fail and retry a dead worker's trial; journals cannot."""
    return scheme(url or DEFAULT_STORAGE) in ("sqlite", "postgresql")


def shares_badly(url: str) -> bool:
    """SQLite serialises writers; Optuna's FAQ advises against it for parallel workers."""
    return scheme(url) == "sqlite"


def open_storage(url: str | None = None, read_only: bool = False):
    """An Optuna storage for ``url``; raise StorageError with one line if it is unusable.

    ``read_only``: the caller only reads studies (table, best, report, export), so an RDB storage skips
    Optuna's schema version check (alembic: about a third of ``sweep table``'s start-up) and, for an
    existing SQLite file, the table creation. Writers (``sweep run``) keep both.
    """
    url = url or DEFAULT_STORAGE
    kind = scheme(url)
    openers = {"sqlite": _rdb, "postgresql": _rdb, "journal": _journal_file, "redis": _journal_redis}
    if kind not in openers:
        raise BadStorage(
            f"storage {mask(url)!r} is not supported: use sqlite:///FILE, postgresql://USER@HOST/DB, "
            "journal:///FILE or redis://HOST:PORT/DB"
        )
    try:
        return _rdb(url, read_only) if openers[kind] is _rdb else openers[kind](url)
    except StorageError:
        raise
    except Exception as error:  # driver errors vary by database; one clear line for all of them
        named_file = kind == "sqlite" and Path(url.split(":///", 1)[1]).is_file()  # the user's file, not the server
        fault = BadStorage if named_file else StorageError
        raise fault(f"cannot open storage {mask(url)} ({_first_line(error)}): {_fix(kind)}") from None


def _rdb(url: str, read_only: bool = False):
    import optuna

    engine_kwargs = {}
    existing = False
    if scheme(url) == "sqlite":
        path = Path(url.split(":///", 1)[1])
        path.parent.mkdir(parents=True, exist_ok=True)
        existing = path.is_file() and path.stat().st_size > 0
        engine_kwargs = {"connect_args": {"timeout": 60}}
    else:
        engine_kwargs = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    from sweep.results.reconnect import ReconnectingRDBStorage

    return ReconnectingRDBStorage(
        url,
        engine_kwargs=engine_kwargs,
        skip_compatibility_check=read_only,
        skip_table_creation=read_only and existing,
        heartbeat_interval=HEARTBEAT_SECONDS,
        grace_period=3 * HEARTBEAT_SECONDS,
        heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES),
    )


def _journal_file(url: str):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = Path(url.split("://", 1)[1].removeprefix("/"))  # like SQLite: 3 slashes relative, 4 absolute
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


def _journal_redis(url: str):
    from optuna.storages import JournalStorage

    from sweep.results.reconnect import ReconnectingRedisBackend

    url, prefix = _split_prefix(url)
    backend = ReconnectingRedisBackend(url, prefix=prefix)
    import redis

    redis.Redis.from_url(url, socket_connect_timeout=5).ping()  # fail now, in one line, not at the first trial
    return JournalStorage(backend)


def _split_prefix(url: str) -> tuple[str, str]:
    """``redis://host:6379/0?prefix=night1`` keeps several sweeps apart in one Redis database."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    prefix = query.pop("prefix", "")
    return urlunsplit(parts._replace(query=urlencode(query))), prefix


def retried_trial_number(trial) -> int | None:
    """The trial a heartbeat retry re-runs: the system attribute that Optuna's (experimental-marked)
    ``RetryHeartbeatStaleTrialCallback.retried_trial_number`` reads. Looked up here so that a table
    needs no Optuna import; tests/test_resilience.py checks it against Optuna's helper."""
    return trial.system_attrs.get("failed_trial")


def _fix(kind: str) -> str:
    return {
        "sqlite": "check that the folder is writable and the file is an Optuna database",
        "postgresql": "start PostgreSQL, or fix host, port, user and database in --storage",
        "redis": "start Redis (redis-server), or fix host and port in --storage",
    }.get(kind, "check the --storage URL")


def _first_line(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return mask(text[0] if text else type(error).__name__)
