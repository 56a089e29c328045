"""Argument types that refuse what no command can use, at parse time (exit 2 with argparse's message):
a rate or a duration that is not a finite number above 0, a count out of its range, a port that is not
one, a day that is not on the calendar."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, not {text[:40]!r}")
    return value


def whole_number(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.strip().lstrip("-").isascii() or not text.strip().lstrip("-").isdigit():
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}, not {text[:40]!r}")
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, not {value}")
        return value

    return parse


#: a TCP port; 0 lets the system choose a free one
port = whole_number(0, 65535)


def day(text: str) -> str:
    from txdagster.lake.layout import is_day  # pyarrow comes with it: only when a day is parsed

    if not is_day(text):
        raise argparse.ArgumentTypeError(f"must be a calendar day written YYYY-MM-DD, not {text[:40]!r}")
    return text
