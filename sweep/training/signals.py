"""Clean stops: SIGINT and SIGTERM end the current trial at a safe point.

The handler only records the request; training checks it between batches and the
driver between trials, so a stop never lands inside a storage write. A second
signal stops at once.
"""

from __future__ import annotations

import signal

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
_requested: int | None = None


class Interrupted(KeyboardInterrupt):
    """A stop was requested by a signal."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.signum, 130)


def install(immediate: bool = False) -> None:
    """Handle SIGINT and SIGTERM in this process (the CLI calls this; the library never does).

    ``immediate`` raises at once, for a process that only waits (the parent of workers).
    """
    for signum in EXIT_CODES:
        signal.signal(signum, _raise if immediate else _request)


def _raise(signum, frame) -> None:
    raise Interrupted(signum)


def _request(signum, frame) -> None:
    global _requested
    if _requested is not None:  # asked twice: stop now
        _raise(signum, frame)
    _requested = signum


def check() -> None:
    """Raise Interrupted if a stop was requested."""
    if _requested is not None:
        raise Interrupted(_requested)
