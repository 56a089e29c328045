"""One hot spot of pyiceberg 0.12 that the lake's writers do without; every result stays the same.

``Transaction.table_metadata`` applies the transaction's pending updates to the table's metadata and
deep-copies the result, on every read: a commit reads it about 70 times, and the copy follows the
metadata's size (its snapshots, their summaries, the logs), which made it half of a 100-key batch's
apply on ``transactions_current`` (py-spy and cProfile over ``lake/current.py``'s ``apply_changes``).
The answer depends on the table's metadata and the pending updates alone, both immutable (pyiceberg's
models are frozen, its updates a tuple replaced on every change), so a transaction keeps its last
answer and gives it again while neither has changed.
"""

from __future__ import annotations

from typing import Any

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    from pyiceberg.table import Transaction
    from pyiceberg.table.update import update_table_metadata

    def table_metadata(self: Any) -> Any:
        base, updates = self._table.metadata, self._updates
        last = self.__dict__.get("_txdagster_metadata")
        if last is not None and last[0] is base and last[1] is updates:
            return last[2]
        answer = update_table_metadata(base, updates)
        self.__dict__["_txdagster_metadata"] = (base, updates, answer)
        return answer

    Transaction.table_metadata = property(table_metadata)  # type: ignore[assignment]
    _applied = True
