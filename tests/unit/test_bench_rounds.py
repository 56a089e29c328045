"""``make bench``'s rounds: every approach starts a round in turn."""

from bench.__main__ import APPROACHES, _rotated


def test_each_approach_starts_a_round_in_turn_and_every_round_runs_each_once():
    rounds = [_rotated(APPROACHES, attempt) for attempt in range(2 * len(APPROACHES))]
    assert [order[0] for order in rounds] == [*APPROACHES, *APPROACHES]
    assert all(sorted(order) == sorted(APPROACHES) for order in rounds)
