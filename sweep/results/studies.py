"""A stored study by name: the one a user means, opened for reading.

Without a name, 'notes' or the storage's only study, as the CLI picks. Reading never creates an empty
database, and a SQLite study of Optuna's known schema is read through ``sqlite3`` (``sqlite_study``).
"""

from __future__ import annotations

from sweep.results.sqlite_study import open_sqlite_study, sqlite_path, sqlite_study_names
from sweep.results.storages import open_storage, study_names
from sweep.results.urls import DEFAULT_STORAGE, mask


class UnknownStudy(ValueError):
    """The storage holds no study of that name."""


def stored_study(study: str | None, storage: str | None):
    """sqlite_study's fast reader of a SQLite study, else Optuna's own study (see ``optuna_study``)."""
    url = storage or DEFAULT_STORAGE
    path = sqlite_path(url)
    if path is not None and not path.is_file():  # reading never creates an empty database
        raise UnknownStudy(f"no study {study or 'notes'!r}: {path} does not exist; `sweep run` makes it")
    names = sqlite_study_names(url)
    if names is None:
        return optuna_study(study, storage)
    return open_sqlite_study(url, pick_study(study, names, url))


def optuna_study(study: str | None, storage: str | None):
    """Optuna's study of that name, opened for reading (no schema upgrade check)."""
    import optuna

    opened = open_storage(storage, read_only=True)
    names = study_names(opened, storage or DEFAULT_STORAGE)  # not summaries: they read every trial once more
    return optuna.load_study(study_name=pick_study(study, names, storage or DEFAULT_STORAGE), storage=opened)


def pick_study(study: str | None, names: list[str], url: str) -> str:
    """``study`` if the storage holds it; without a name, 'notes' or the storage's only study."""
    name = study or ("notes" if "notes" in names or len(names) != 1 else names[0])
    if name not in names:
        raise UnknownStudy(f"no study {name!r} in {mask(url)}; studies there: {names or 'none'}")
    return name
