"""Durations as people write them ('8h', '90m', '1h30m', seconds) and as tables show them."""

from __future__ import annotations

import re

DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*$")


def parse_duration(value: str | float) -> float:
    """Seconds from '8h', '90m', '45s', '1h30m' or plain seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    match = DURATION.match(str(value))
    if not match or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration; use e.g. 8h, 90m, 45s, 1h30m or seconds")
    hours, minutes, seconds = (float(group or 0) for group in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise ValueError(f"{value!r} is no time at all; give a positive duration such as 90m")
    return total


def format_seconds(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"
