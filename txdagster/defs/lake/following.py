"""A following run's side of the handover (``lake/follow.py`` holds the rules): its tags on the Dagster
instance, which the sensor and its successor read, and the wait for its predecessor."""

from __future__ import annotations

import threading
import time

import dagster as dg

from txdagster.lake.follow import (
    AFTER_TAG,
    BEAT_SECONDS,
    BEAT_TAG,
    DEAD_AFTER_SECONDS,
    ENDS_TAG,
    FOLLOWS_ON_TAG,
    STOPPED_TAG,
    TOOK_TAG,
    RunInFlight,
)

#: A run in one of these states is in flight.
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
WAIT_POLL_SECONDS = 0.2


def runs_in_flight(instance: dg.DagsterInstance, job_name: str, limit: int = 10) -> list[RunInFlight]:
    """The newest runs of ``job_name`` that have not ended, oldest first (a killed run's status stays
    STARTED: the rules judge by its beat or its age)."""
    records = instance.get_run_records(dg.RunsFilter(job_name=job_name, statuses=IN_FLIGHT), limit=limit)
    runs = [RunInFlight(r.dagster_run.run_id, r.create_timestamp.timestamp(), r.dagster_run.tags) for r in records]
    return sorted(runs, key=lambda run: run.created)


class Follower:
    """The tags of a following run: when it stops, its beat and the newest key it saw. The beat comes
    from a thread of its own every ``BEAT_SECONDS``, so a batch that takes long under load does not
    look like a dead follower; a killed process stops beating."""

    def __init__(self, context: dg.AssetExecutionContext, ends: float, after: str) -> None:
        self.context, self.ends, self.took, self.after = context, ends, 0, after
        self._stopped = threading.Event()
        self._tag({ENDS_TAG: f"{ends:.3f}"})
        self._beat()  # following from now on: a successor waits
        self._beating = threading.Thread(target=self._beat_until_stopped, name="txdagster-follow-beat", daemon=True)
        self._beating.start()

    def _tag(self, tags: dict[str, str]) -> None:
        self.context.instance.add_run_tags(self.context.run_id, tags)

    def _beat(self) -> None:
        self._tag({BEAT_TAG: f"{time.time():.3f}", AFTER_TAG: self.after, TOOK_TAG: str(self.took)})

    def _beat_until_stopped(self) -> None:
        while not self._stopped.wait(BEAT_SECONDS):
            self._beat()

    def saw(self, after: str) -> None:
        """After each poll: the newest key seen (the next beat writes it)."""
        self.after = after

    def stop(self) -> None:
        self._stopped.set()
        self._beating.join()
        self._beat()
        self._tag({STOPPED_TAG: f"{time.time():.3f}"})


def predecessors(context: dg.AssetExecutionContext) -> list[RunInFlight]:
    """The runs of this run's job that started before it and have not ended."""
    mine = context.instance.get_run_record_by_id(context.run_id)
    created = mine.create_timestamp.timestamp() if mine else time.time()
    runs = runs_in_flight(context.instance, context.run.job_name)
    return [run for run in runs if run.run_id != context.run_id and run.created <= created]


def wait_for_predecessors(context: dg.AssetExecutionContext) -> str:
    """Wait while a predecessor follows, then the newest key any of them saw (the run starts after it):
    of those it waited for, and of the one its sensor named (``FOLLOWS_ON_TAG``) if that one had
    already stopped when it started. A killed one stops counting when its beat is ``DEAD_AFTER_SECONDS``
    old."""
    waited: set[str] = set()
    while True:
        now = time.time()
        following = [run for run in predecessors(context) if run.following(now)]
        waited.update(run.run_id for run in following)
        if not following:
            break
        time.sleep(WAIT_POLL_SECONDS)
    if waited:
        context.log.info(
            f"followed on after {sorted(waited)}: stopped, or beat last over {DEAD_AFTER_SECONDS:.0f} s ago"
        )
    named = context.run.tags.get(FOLLOWS_ON_TAG)
    after = ""
    for run_id in waited | ({named} if named else set()):
        record = context.instance.get_run_by_id(run_id)
        after = max(after, record.tags.get(AFTER_TAG, "") if record else "")
    return after
