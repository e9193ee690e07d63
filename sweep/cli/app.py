"""The command group, its shared options and the one-line error handling.

The CLI prints; the library only logs. Heavy imports stay inside the commands that train,
so ``sweep --help``, ``sweep table`` and ``sweep best`` start without TensorFlow.
"""

from __future__ import annotations

import re

import click

from sweep.storage import DEFAULT_STORAGE, SCHEMES, mask, scheme

DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*$")


BAD_INPUT = 2  # like click's usage errors: the command line, a space or a config file is wrong


class UserError(click.ClickException):
    """A one-line error for the user; exit code 2 for bad input (BAD_INPUT), 1 for a failure while working."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        click.echo(f"sweep: error: {self.format_message()}", err=True)


class Duration(click.ParamType):
    """Seconds from '8h', '90m', '45s', '1h30m' or plain seconds."""

    name = "duration"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return float(value)
        match = DURATION.match(str(value))
        if not match or not any(match.groups()):
            self.fail(f"{value!r} is not a duration; use e.g. 8h, 90m, 45s, 1h30m or seconds", param, ctx)
        hours, minutes, seconds = (float(group or 0) for group in match.groups())
        total = hours * 3600 + minutes * 60 + seconds
        if total <= 0:
            self.fail(f"{value!r} is no time at all; give a positive duration such as 90m", param, ctx)
        return total


def user_errors(function):
    """Turn the library's known errors into one line and a non-zero exit, never a traceback."""
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        from sweep.data import DatasetError
        from sweep.driver import SweepStopped
        from sweep.export import ExportError
        from sweep.space import SpaceError
        from sweep.storage import StorageError

        try:
            return function(*args, **kwargs)
        except SpaceError as error:
            raise UserError(str(error), exit_code=BAD_INPUT) from None
        except StorageError as error:
            raise UserError(str(error), exit_code=error.exit_code) from None
        except (DatasetError, ExportError, SweepStopped, ValueError) as error:
            raise UserError(str(error)) from None
        except OSError as error:  # e.g. --out in a folder that cannot be written
            raise UserError(f"{error.filename or ''}: {error.strerror or error}".lstrip(": ")) from None

    return wrapper


def _storage_url(ctx, param, value: str | None) -> str | None:
    if value is not None and scheme(value) not in SCHEMES:
        raise click.BadParameter(
            f"{mask(value)!r} is not a storage URL; expected sqlite:///FILE, postgresql://USER@HOST/DB, "
            "journal:///FILE or redis://HOST:PORT/DB",
            ctx,
            param,
        )
    return value


storage_option = click.option(
    "--storage", default=None, callback=_storage_url, help=f"Optuna storage URL [default: {DEFAULT_STORAGE}]."
)
study_option = click.option("--study", default=None, help="Study name [default: the space's name, e.g. notes].")
data_options = [
    click.option(
        "--data-dir",
        envvar="SWEEP_DATA_DIR",
        default=None,
        type=click.Path(exists=True, file_okay=False),
        help="Folder with the four Fashion-MNIST .gz files.",
    ),
    click.option("--max-train", type=click.IntRange(min=1), default=None, help="Use only the first N training images."),
]


def with_data_options(function):
    for option in reversed(data_options):
        function = option(function)
    return function


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="sweep")
def main() -> None:
    """Hyperparameter sweeps for Keras models on Fashion-MNIST, driven by Optuna."""


def print_table(study_name: str, storage: str | None, top: int | None, **options) -> None:
    """A study's ranked table, cut to ``top`` rows (the baseline row always shows)."""
    from sweep.results import render

    click.echo(render(shown_rows(study_table(study_name, storage, **options), top), options.get("fmt", "text")))


def shown_rows(table, top: int | None):
    from sweep.results import baseline_rank

    rank = baseline_rank(table)
    shown = table.head(top) if top else table
    if rank and top and rank > top:  # keep the baseline visible whatever the cut
        shown = table[(table.index < top) | (table["state"] == "BASELINE")]
    return shown


def print_studies(study_names: tuple[str, ...], storage: str | None, top: int | None, **options) -> None:
    """Several studies' tables one after the other, each cut to ``top``, with a leading study column."""
    import pandas as pd

    from sweep.results import render

    tables = [shown_rows(study_table(name, storage, **options), top).assign(study=name) for name in study_names]
    combined = pd.concat(tables, ignore_index=True)
    combined = combined[["study", *[column for column in combined.columns if column != "study"]]]
    click.echo(render(combined, options.get("fmt", "text")))


def study_table(study_name: str, storage: str | None, fmt: str = "text", states=None, sort=None, where=None):
    """The ranked table, filtered (pandas query) and sorted as asked."""
    from sweep.results import trials_table

    table = trials_table(read_study(study_name, storage), states)
    if where:
        table = _query(table, where)
    if sort:
        if sort not in table.columns:
            raise UserError(f"--sort {sort!r} is not a column; columns: {', '.join(table.columns)}", BAD_INPUT)
        table = table.sort_values(sort, ascending=False, na_position="last")
    return table


def _query(table, where: str):
    """``table.query(where)``, or one line naming the expression, pandas's complaint and the columns."""
    try:
        return table.query(where)
    except Exception as error:  # pandas raises SyntaxError, NameError, TypeError, ValueError, KeyError...
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(
            f"--where {where!r} is not a pandas query on this table ({reason}); "
            f"columns: {', '.join(table.columns)}; e.g. --where 'optimizer == \"adam\" and val_accuracy > 0.85'",
            BAD_INPUT,
        ) from None


def read_study(study_name: str | None, storage: str | None):
    """A study to read a table from: a SQLite file straight through ``sqlite3`` when its schema is the
    known one (``sweep.sqlite_study``: ~2 s less start-up), otherwise Optuna's own study."""
    from sweep.sqlite_study import open_sqlite_study, sqlite_study_names

    url = storage or DEFAULT_STORAGE
    names = sqlite_study_names(url)
    if names is None:
        return load_study(study_name, storage)
    return open_sqlite_study(url, pick_study(study_name, names, url))


def load_study(study_name: str | None, storage: str | None):
    """The named study; without a name, 'notes' or the storage's only study."""
    import optuna

    from sweep.storage import open_storage, study_names

    opened = open_storage(storage, read_only=True)
    names = study_names(opened, storage or DEFAULT_STORAGE)  # not summaries: they read every trial once more
    return optuna.load_study(study_name=pick_study(study_name, names, storage or DEFAULT_STORAGE), storage=opened)


def pick_study(study_name: str | None, names: list[str], url: str) -> str:
    """``study_name`` if the storage holds it; without a name, 'notes' or the storage's only study."""
    name = study_name or ("notes" if "notes" in names or len(names) != 1 else names[0])
    if name not in names:
        raise UserError(f"no study {name!r} in {mask(url)}; studies there: {names or 'none'}", BAD_INPUT)
    return name
