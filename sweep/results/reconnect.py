"""Riding through a database restart: storage calls that lost their connection are tried again.

An overnight sweep on PostgreSQL meets restarts (an upgrade, a failover). SQLAlchemy's ``pool_pre_ping``
replaces a dead pooled connection at the next checkout, but a call made while the server is down still
fails, and Optuna turns that into a ``StorageInternalError`` about "invalid data in the commit", which
misleads. So every storage call of a worker is retried, with a growing pause, for up to
``SWEEP_RECONNECT_SECONDS`` (120 by default): a restart of a few seconds costs nothing. A database that
stays away ends the worker with one ``StorageLost`` line; its running trials stop beating, and the next
run fails and retries them with the same params (heartbeats), so nothing finished is lost.

Optuna wraps an ``RDBStorage`` in its cache (``_CachedStorage``), so the retries sit below the cache, on
each public call of a subclass; the journal's Redis backend gets the same for its two calls.
"""

from __future__ import annotations

import datetime
import functools
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from optuna.storages import RDBStorage
from optuna.storages.journal import JournalRedisBackend

from sweep.results.urls import StorageError, mask

log = logging.getLogger(__name__)

RECONNECT_SECONDS = float(os.environ.get("SWEEP_RECONNECT_SECONDS", "120"))
FIRST_PAUSE, LONGEST_PAUSE = 0.5, 5.0
NEVER_BEAT_AFTER = 3  # grace periods after its start, a running trial without a heartbeat is presumed orphaned
# Optuna's cache (_CachedStorage) and heartbeat helpers call these private methods of the RDB storage.
PRIVATE_CALLS = ("_create_new_trial", "_set_trial_param", "_get_best_trial_id", "_get_trials", "_get_stale_trial_ids")


class StorageLost(StorageError):
    """The database stayed unreachable for longer than the reconnect budget."""


def lost_connection(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is a dropped or refused connection, not a bad request."""
    import sqlalchemy.exc

    transient = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.DisconnectionError)
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, transient) or getattr(seen, "connection_invalidated", False):
            return True
        if type(seen).__module__.startswith("redis") and type(seen).__name__ in ("ConnectionError", "TimeoutError"):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retrying(call: Callable, where: Callable[[Any], str]) -> Callable:
    """``call`` (a method) tried again while its connection is lost, for up to RECONNECT_SECONDS."""

    @functools.wraps(call)
    def method(self, *args, **kwargs):
        started, pause = time.monotonic(), FIRST_PAUSE
        while True:
            try:
                return call(self, *args, **kwargs)
            except Exception as error:
                if not lost_connection(error):
                    raise
                waited = time.monotonic() - started
                if waited >= RECONNECT_SECONDS:
                    raise StorageLost(
                        f"lost the connection to {where(self)} for {waited:.0f} s ({_reason(error)}): start the "
                        "database and run the same command again; running trials are retried then"
                    ) from None
                log.warning("storage %s unreachable (%s); retrying in %.1f s", where(self), _reason(error), pause)
                time.sleep(pause)
                pause = min(2 * pause, LONGEST_PAUSE)

    return method


class ReconnectingRDBStorage(RDBStorage):
    """``optuna.storages.RDBStorage`` whose every public call (and the heartbeat's stale query) retries.

    Its stale trials also include those that never beat. Optuna fails a running trial whose last heartbeat
    is older than the grace period, but skips one that has no heartbeat at all, and such a trial stays
    RUNNING for ever: a worker killed between ``ask`` and its first heartbeat, or a trial row whose insert
    committed just as the connection dropped, so that the retried call made a second one. A resumed
    ``sweep run`` would wait for it without end. Every worker beats within milliseconds of ``ask``, so a
    trial started ``NEVER_BEAT_AFTER`` grace periods ago with no heartbeat is failed and retried too.
    """

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        return [*super()._get_stale_trial_ids(study_id), *self._never_beat(study_id)]

    def _never_beat(self, study_id: int) -> list[int]:
        from optuna.storages._rdb import models
        from optuna.trial import TrialState

        # datetime_start: the asking worker's clock, stored in UTC without a zone (Optuna 5)
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        started_before = now - datetime.timedelta(seconds=NEVER_BEAT_AFTER * self._grace())
        trial, heartbeat = models.TrialModel, models.TrialHeartbeatModel
        with self.scoped_session() as session:
            query = (
                session.query(trial.trial_id)
                .outerjoin(heartbeat, heartbeat.trial_id == trial.trial_id)
                .filter(trial.study_id == study_id, trial.state == TrialState.RUNNING)
                .filter(heartbeat.trial_heartbeat_id.is_(None), trial.__table__.c.datetime_start < started_before)
            )
            return [trial_id for (trial_id,) in query.all()]

    def _grace(self) -> float:
        return self.grace_period or 2 * self.heartbeat_interval  # Optuna's own default when none is set


class ReconnectingRedisBackend(JournalRedisBackend):
    """Optuna's ``JournalRedisBackend`` whose log appends and reads retry."""

    def read_logs(self, log_number_from: int):
        return iter(list(super().read_logs(log_number_from)))  # read whole, so a lost connection is seen here


def _retry_calls(subclass: type, names: list[str], where: Callable[[Any], str]) -> None:
    for name in names:
        setattr(subclass, name, retrying(getattr(subclass, name), where))


def _rdb_url(storage) -> str:
    return mask(str(storage.url))


def _redis_url(backend) -> str:
    return mask(str(backend._url))  # noqa: SLF001 (Optuna keeps the URL it connects to there)


_public = [name for name, member in vars(RDBStorage).items() if callable(member) and not name.startswith("_")]
_retry_calls(ReconnectingRDBStorage, [*_public, *PRIVATE_CALLS], _rdb_url)
_retry_calls(ReconnectingRedisBackend, ["read_logs", "append_logs"], _redis_url)


def _reason(error: BaseException) -> str:
    root = error
    while root.__cause__ is not None:
        root = root.__cause__
    text = str(getattr(root, "orig", None) or root).strip().splitlines()
    return text[0] if text else type(root).__name__
