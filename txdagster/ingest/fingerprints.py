"""The transaction ids one file has delivered, 8 bytes each, so that memory follows the file's rows
only by that much: 64-bit fingerprints kept in sorted runs, merged like a binary counter (a run is
merged into the previous one while it is at least as long), each lookup a binary search per run."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class Fingerprints:
    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []
        self._recent: set[int] = set()  # one block's ids on the row road, before they join a run

    @staticmethod
    def of(ids: Iterable[str]) -> np.ndarray:
        return np.fromiter((hash(i) for i in ids), dtype=np.int64)

    def _in_runs(self, prints: np.ndarray) -> np.ndarray:
        found = np.zeros(len(prints), dtype=bool)
        for run in self._runs:
            at = np.minimum(np.searchsorted(run, prints), len(run) - 1)
            found |= run[at] == prints
        return found

    def any_seen(self, prints: np.ndarray) -> bool:
        if self._recent and not self._recent.isdisjoint(prints.tolist()):
            return True
        return bool(self._in_runs(prints).any())

    def seen(self, identifier: str) -> bool:
        fingerprint = hash(identifier)
        return fingerprint in self._recent or bool(self._in_runs(np.array([fingerprint], dtype=np.int64))[0])

    def add(self, identifier: str) -> None:
        self._recent.add(hash(identifier))

    def add_all(self, prints: np.ndarray) -> None:
        if self._recent:
            prints = np.concatenate([prints, np.fromiter(self._recent, dtype=np.int64)])
            self._recent.clear()
        run = np.sort(prints)  # ids are added once (callers check first), so runs hold no duplicates
        while self._runs and len(self._runs[-1]) <= len(run):
            run = np.concatenate([self._runs.pop(), run])
            run.sort(kind="stable")  # two sorted runs: timsort merges them in linear time
        self._runs.append(run)

    def settle(self) -> None:
        """Move the row road's ids into a run (at the end of a block)."""
        if self._recent:
            self.add_all(np.empty(0, dtype=np.int64))
