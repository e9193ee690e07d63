"""The command group, its shared options and the one-line error handling.

The CLI prints; the library only logs. Heavy imports stay inside the commands that train,
so ``sweep --help``, ``sweep table`` and ``sweep best`` start without TensorFlow.
"""

from __future__ import annotations

import os
import sys

import click

from sweep import __version__, api

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
        try:
            return api.parse_duration(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


class CountOrWord(click.ParamType):
    """A whole number from 1, or one word: ``auto`` group size for --fuse, ``all`` training rows for --max-train."""

    def __init__(self, word: str, what: str):
        self.word, self.what = word, what
        self.name = f"N|{word}"

    def convert(self, value, param, ctx):
        if value == self.word or (isinstance(value, int) and value >= 1):
            return value
        if str(value).isdigit() and int(value) >= 1:
            return int(value)
        self.fail(f"{value!r} is not {self.what}; use {self.word} or a whole number from 1", param, ctx)


def fuse_size() -> CountOrWord:
    return CountOrWord("auto", "a group size (1: one trial at a time)")


def user_errors(function):
    """Turn the library's known errors into one line and a non-zero exit, never a traceback."""
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except api.QueryError as error:
            raise UserError(str(error.as_flag()), exit_code=BAD_INPUT) from None
        except (api.SpaceError, api.UnknownStudy, api.DatasetError, api.BuilderError, api.OptionConflict) as error:
            raise UserError(str(error), exit_code=BAD_INPUT) from None
        except api.StorageError as error:
            raise UserError(str(error), exit_code=error.exit_code) from None
        except (api.ExportError, api.SweepStopped, ValueError) as error:
            raise UserError(str(error)) from None
        except BrokenPipeError:  # `sweep table | head` closed the pipe: stop quietly (Python's documented recipe)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except OSError as error:  # e.g. --out in a folder that cannot be written
            raise UserError(f"{error.filename or ''}: {error.strerror or error}".lstrip(": ")) from None

    return wrapper


def _storage_url(ctx, param, value: str | None) -> str | None:
    if value is not None and api.scheme(value) not in api.SCHEMES:
        raise click.BadParameter(
            f"{api.mask(value)!r} is not a storage URL; expected sqlite:///FILE, postgresql://USER@HOST/DB, "
            "journal:///FILE or redis://HOST:PORT/DB",
            ctx,
            param,
        )
    return value


space_option = click.option(
    "--space", default="notes", help="A search-space file, or the name of a built-in space (see `sweep spaces`)."
)
storage_option = click.option(
    "--storage", default=None, callback=_storage_url, help=f"Optuna storage URL [default: {api.DEFAULT_STORAGE}]."
)
study_option = click.option("--study", default=None, help="Study name [default: the space's name, e.g. notes].")
data_options = [
    click.option(
        "--data",
        "--data-dir",
        "data_dir",
        envvar="SWEEP_DATA_DIR",
        default=None,
        type=click.Path(exists=True),
        help="Your own .npz (x_train, y_train[, x_test, y_test]), or the folder with the four Fashion-MNIST .gz "
        "files [default: Fashion-MNIST]. Retraining a study's trials defaults to the .npz the study ran on.",
    ),
    click.option(
        "--max-train",
        type=CountOrWord("all", "a number of training rows"),
        default=None,
        help="Use only the first N training images, or all. Retraining a study's trial (train, export) uses the "
        "rows the study trained on unless told otherwise [default: all for a run].",
    ),
]


def with_data_options(function):
    for option in reversed(data_options):
        function = option(function)
    return function


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(version=__version__, prog_name="sweep")
def main() -> None:
    """Hyperparameter sweeps for Keras models on Fashion-MNIST, driven by Optuna."""


def print_table(study_name: str, storage: str | None, top: int | None, fmt: str = "text", **options) -> None:
    """A study's ranked table, cut to ``top`` rows (the baseline row always shows): ``Study.table``, rendered."""
    click.echo(api.render(api.load(study_name, storage).table(top=top, **options), fmt))


def print_studies(study_names: tuple[str, ...], storage: str | None, top: int | None, **options) -> None:
    """Several studies' tables one after the other, each cut to ``top``, with a leading study column."""
    fmt = options.pop("fmt", "text")
    click.echo(api.render(api.side_by_side(study_names, storage, top, **options), fmt))
