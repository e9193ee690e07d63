"""Heartbeats for the trials of a fused group.

``study.optimize`` starts Optuna's heartbeat thread for its one trial; ask-and-tell does not, so
``Heartbeats`` beats for every running trial of the group. A worker killed with -9 stops beating, and
the next worker fails and retries all of its trials.
"""

from __future__ import annotations

import threading


class Heartbeats:
    """Record a heartbeat for each running trial every ``interval`` seconds, from a thread."""

    def __init__(self, storage, interval: float):
        self.storage, self.interval = storage, interval
        self.trial_ids: set[int] = set()
        self.lock, self.stopped = threading.Lock(), threading.Event()
        self.thread = threading.Thread(target=self._beat, name="sweep-heartbeats", daemon=True)

    def __enter__(self) -> Heartbeats:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()

    def add(self, trial_id: int) -> None:
        self.storage.record_heartbeat(trial_id)  # at once: the trial must never look stale
        with self.lock:
            self.trial_ids.add(trial_id)

    def remove(self, trial_id: int) -> None:
        with self.lock:
            self.trial_ids.discard(trial_id)

    def _beat(self) -> None:
        while not self.stopped.wait(self.interval):
            with self.lock:
                ids = list(self.trial_ids)
            for trial_id in ids:
                self.storage.record_heartbeat(trial_id)


class NoHeartbeats:
    """Journal storages have no heartbeats (a dead worker's trials stay RUNNING there)."""

    def __enter__(self) -> NoHeartbeats:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def add(self, trial_id: int) -> None:
        pass

    def remove(self, trial_id: int) -> None:
        pass


def heartbeats_for(study):
    """Heartbeats when the study's storage keeps them (Optuna's RDBStorage with an interval)."""
    from optuna.storages._heartbeat import is_heartbeat_enabled  # what study.optimize itself checks

    storage = study._storage  # noqa: SLF001 (Optuna's own helpers, e.g. fail_stale_trials, read it so)
    return Heartbeats(storage, storage.get_heartbeat_interval()) if is_heartbeat_enabled(storage) else NoHeartbeats()
