"""Storage URLs and their errors, without importing Optuna: the CLI checks a URL before anything loads."""

from __future__ import annotations

import re

DEFAULT_STORAGE = "sqlite:///results/sweep.db"
SCHEMES = ("sqlite", "postgresql", "journal", "redis")


class StorageError(RuntimeError):
    """The storage URL is malformed or the database cannot be reached."""

    exit_code = 1  # the CLI's exit code: a database that is down is not the user's typo


class BadStorage(StorageError):
    """The storage the user named is not one: an unknown scheme, a file that is not an Optuna database."""

    exit_code = 2


def mask(url: str) -> str:
    """The URL with any password replaced by ***, for logs, tables and errors."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def scheme(url: str) -> str:
    return url.split("://", 1)[0].split("+", 1)[0] if "://" in url else ""
