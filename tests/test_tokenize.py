"""Padding, truncation and the validation hold-out of the tokenize stage."""

import keras
import numpy as np
import pytest

from stages.tokenize import hold_out, pad_and_truncate, split_stats

RNG = np.random.default_rng(7)
SEQUENCES = [RNG.integers(2, 500, size=length) for length in (0, 1, 3, 5, 8, 13, 21)]


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
@pytest.mark.parametrize("max_length", [1, 5, 8, 30])
def test_pad_and_truncate_matches_keras(padding: str, truncating: str, max_length: int) -> None:
    ours = pad_and_truncate(SEQUENCES, max_length, padding, truncating)
    theirs = keras.utils.pad_sequences([list(s) for s in SEQUENCES], maxlen=max_length,
                                       padding=padding, truncating=truncating, value=0)
    np.testing.assert_array_equal(ours, theirs)


def test_pre_padding_keeps_the_review_at_the_end() -> None:
    padded = pad_and_truncate([np.array([5, 6, 7])], 5, "pre", "post")
    np.testing.assert_array_equal(padded, [[0, 0, 5, 6, 7]])
    truncated = pad_and_truncate([np.array([5, 6, 7])], 2, "pre", "post")
    np.testing.assert_array_equal(truncated, [[5, 6]])


def test_hold_out_is_a_seeded_partition() -> None:
    kept, held_out = hold_out(1000, 0.1, seed=3)
    assert len(held_out) == 100 and len(kept) == 900
    assert set(kept).isdisjoint(held_out)
    assert sorted([*kept, *held_out]) == list(range(1000))
    again_kept, again_held_out = hold_out(1000, 0.1, seed=3)
    np.testing.assert_array_equal(held_out, again_held_out)
    assert not np.array_equal(held_out, hold_out(1000, 0.1, seed=4)[1])


def test_hold_out_leaves_both_sides_non_empty() -> None:
    kept, held_out = hold_out(3, 0.01, seed=0)
    assert len(held_out) == 1 and len(kept) == 2


def test_split_stats_describe_lengths_before_padding() -> None:
    token_ids = [np.array([2, 1, 3]), np.array([4] * 10), np.array([1])]
    stats = split_stats(token_ids, np.array([0, 1, 1]), max_length=5, unk_id=1)
    assert stats["reviews"] == 3
    assert stats["labels"] == {"negative": 1, "positive": 2}
    assert stats["tokens"]["max"] == 10 and stats["tokens"]["p50"] == 3
    assert stats["truncated_share"] == pytest.approx(1 / 3, abs=1e-4)
    assert stats["unknown_share"] == pytest.approx(2 / 14, abs=1e-6)
