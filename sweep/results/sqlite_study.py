"""A read-only view of a study in an Optuna SQLite file, through the standard library's ``sqlite3``.

Why not Optuna's API here: opening an ``RDBStorage`` imports SQLAlchemy's ORM, Optuna's models and
alembic, and reading builds about 20 ORM objects per trial. For ``sweep table`` on a 1,000-trial study
that was two thirds of its 4 s (``results/reference/startup.md``). The tables read here are the ones
Optuna writes (schema version 12, alembic revision v3.2.0.a). For any other schema, or a file that is
not there, :func:`open_sqlite_study` returns None and the caller uses Optuna's API. Nothing is written.
``tests/test_table.py`` checks that both paths give the same table.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import sqlite3
from pathlib import Path
from typing import Any, NamedTuple

KNOWN_SCHEMA = (12, "v3.2.0.a")  # version_info.schema_version, alembic_version.version_num
SPECIAL_VALUES = {"INF_POS": float("inf"), "INF_NEG": float("-inf"), "NAN": float("nan")}


class State(NamedTuple):
    name: str  # COMPLETE, PRUNED, FAIL, RUNNING, WAITING: Optuna's TrialState names


@dataclasses.dataclass
class StoredTrial:
    """The parts of Optuna's FrozenTrial that :func:`sweep.results.table.trial_row` reads."""

    number: int
    state: State
    value: float | None = None
    duration: datetime.timedelta | None = None
    intermediate_values: dict[int, float] = dataclasses.field(default_factory=dict)
    user_attrs: dict[str, Any] = dataclasses.field(default_factory=dict)
    system_attrs: dict[str, Any] = dataclasses.field(default_factory=dict)
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class StoredStudy:
    """What :func:`sweep.results.table.trials_table` reads from an ``optuna.Study``."""

    study_name: str
    user_attrs: dict[str, Any]
    trials: list[StoredTrial]

    def get_trials(self, deepcopy: bool = False) -> list[StoredTrial]:
        return self.trials


def sqlite_path(url: str) -> Path | None:
    return Path(url.split(":///", 1)[1]) if url.startswith("sqlite:///") else None


def sqlite_study_names(url: str) -> list[str] | None:
    """The studies in the file, or None when this reader does not apply."""
    with _connect(url) as connection:
        if connection is None:
            return None
        return [name for (name,) in connection.execute("SELECT study_name FROM studies ORDER BY study_id")]


def open_sqlite_study(url: str, name: str) -> StoredStudy | None:
    """The study ``name`` with all its trials, or None when this reader does not apply."""
    with _connect(url) as connection:
        if connection is None:
            return None
        row = connection.execute("SELECT study_id FROM studies WHERE study_name = ?", (name,)).fetchone()
        if row is None:
            return None
        (study_id,) = row
        attrs = "SELECT key, value_json FROM study_user_attributes WHERE study_id = ?"
        user_attrs = {key: json.loads(value) for key, value in connection.execute(attrs, (study_id,))}
        return StoredStudy(name, user_attrs, _trials(connection, study_id))


class _connect:
    """A read-only connection, or None when the file is missing or its schema is not the known one."""

    def __init__(self, url: str):
        self.path = sqlite_path(url)
        self.connection = None

    def __enter__(self) -> sqlite3.Connection | None:
        if self.path is None or not self.path.is_file():
            return None
        self.connection = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
        try:
            schema = self.connection.execute("SELECT schema_version FROM version_info").fetchone()
            revision = self.connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:  # not an Optuna file, or half-written: Optuna's API says why
            return None
        return self.connection if (schema and revision and (schema[0], revision[0]) == KNOWN_SCHEMA) else None

    def __exit__(self, *exc) -> None:
        if self.connection is not None:
            self.connection.close()


def _trials(connection: sqlite3.Connection, study_id: int) -> list[StoredTrial]:
    query = "SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials WHERE study_id = ?"
    trials: dict[int, StoredTrial] = {}
    for trial_id, number, state, started, completed in connection.execute(query + " ORDER BY number", (study_id,)):
        trials[trial_id] = StoredTrial(number, State(state), duration=_duration(started, completed))
    scope = "trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)"
    for trial_id, value, kind in connection.execute(
        f"SELECT trial_id, value, value_type FROM trial_values WHERE objective = 0 AND {scope}", (study_id,)
    ):
        trials[trial_id].value = SPECIAL_VALUES.get(kind, value)
    for trial_id, step, value, kind in connection.execute(
        "SELECT trial_id, step, intermediate_value, intermediate_value_type "
        f"FROM trial_intermediate_values WHERE {scope}",
        (study_id,),
    ):
        trials[trial_id].intermediate_values[step] = SPECIAL_VALUES.get(kind, value)
    for table, field in (("trial_user_attributes", "user_attrs"), ("trial_system_attributes", "system_attrs")):
        for trial_id, key, value in connection.execute(
            f"SELECT trial_id, key, value_json FROM {table} WHERE {scope}", (study_id,)
        ):
            getattr(trials[trial_id], field)[key] = json.loads(value)
    for trial_id, name, value, distribution in connection.execute(
        f"SELECT trial_id, param_name, param_value, distribution_json FROM trial_params WHERE {scope}", (study_id,)
    ):
        trials[trial_id].params[name] = _external(value, json.loads(distribution))
    return list(trials.values())


def _external(value: float, distribution: dict) -> Any:
    """A parameter as the user saw it: Optuna stores a choice's index and ints as floats."""
    kind, attributes = distribution["name"], distribution["attributes"]
    if kind == "CategoricalDistribution":
        return attributes["choices"][int(value)]
    return int(value) if kind in ("IntDistribution", "IntUniformDistribution", "IntLogUniformDistribution") else value


def _duration(started: str | None, completed: str | None) -> datetime.timedelta | None:
    if not started or not completed:
        return None
    return datetime.datetime.fromisoformat(completed) - datetime.datetime.fromisoformat(started)
