"""Fixed and bucketed batches of tokenized reviews."""

import numpy as np
import pytest
import tensorflow as tf

from stages import batches as batches_module
from stages.batches import SORTING_CHUNK_BATCHES, review_batches
from stages.tokenize import pad_and_truncate

RNG = np.random.default_rng(1)
LENGTHS = [int(n) for n in RNG.integers(1, 300, size=120)]
REVIEWS = [RNG.integers(2, 100, size=n) for n in LENGTHS]


def padded_records(padding: str) -> tf.data.Dataset:
    """What read_records yields: padded ids, float labels and review indices."""
    ids = pad_and_truncate(REVIEWS, max(LENGTHS), padding, "post")
    labels = np.arange(len(REVIEWS)) % 2
    return tf.data.Dataset.from_tensor_slices(
        (ids, labels.astype(np.float32), np.arange(len(REVIEWS))))


def collect(batches: tf.data.Dataset) -> list[tuple[np.ndarray, ...]]:
    return [tuple(part.numpy() for part in batch) for batch in batches]


@pytest.mark.parametrize("padding", ["pre", "post"])
def test_bucket_batches_keep_every_review_whole_and_pad_on_the_right_side(padding: str) -> None:
    batches = review_batches(padded_records(padding), batching="bucket", batch_size=16,
                             padding=padding)
    seen = []
    for token_ids, _, indices in collect(batches):
        for row, index in zip(token_ids, indices):
            review = REVIEWS[index]
            kept = row[row != 0]
            np.testing.assert_array_equal(kept, review)
            if padding == "pre":
                np.testing.assert_array_equal(row[len(row) - len(review):], review)
            else:
                np.testing.assert_array_equal(row[:len(review)], review)
            seen.append(int(index))
    assert sorted(seen) == list(range(len(REVIEWS)))
    assert batches.cardinality().numpy() == len(collect(batches))


def test_bucket_batches_hold_reviews_of_similar_length() -> None:
    batches = review_batches(padded_records("pre"), batching="bucket", batch_size=8,
                             padding="pre")
    padded_tokens = sum(ids.size for ids, _, _ in collect(batches))
    # Fixed batches would compute on max(LENGTHS) tokens per review.
    assert padded_tokens < 1.3 * sum(LENGTHS) < 0.7 * max(LENGTHS) * len(LENGTHS)


def test_fixed_batches_keep_the_padded_length() -> None:
    batches = collect(review_batches(padded_records("pre"), batching="fixed", batch_size=50,
                                     padding="pre"))
    assert [len(ids) for ids, _, _ in batches] == [50, 50, 20]
    assert {ids.shape[1] for ids, _, _ in batches} == {max(LENGTHS)}


def test_shuffled_batches_change_order_every_epoch_but_not_between_runs() -> None:
    def epochs() -> list[list[int]]:
        batches = review_batches(padded_records("pre"), batching="bucket", batch_size=16,
                                 padding="pre", shuffle_buffer=200, seed=5)
        return [[int(i) for _, _, idx in collect(batches) for i in idx] for _ in range(2)]

    first_run, second_run = epochs(), epochs()
    assert first_run[0] != first_run[1]
    assert first_run == second_run


def test_bucket_batches_are_full_but_one_and_sorted_within_chunks() -> None:
    lengths = [int(n) for n in RNG.integers(1, 300, size=SORTING_CHUNK_BATCHES * 4 + 30)]
    reviews = [RNG.integers(2, 100, size=n) for n in lengths]
    ids = pad_and_truncate(reviews, max(lengths), "post", "post")
    records = tf.data.Dataset.from_tensor_slices(
        (ids, np.zeros(len(reviews), np.float32), np.arange(len(reviews))))

    # Shuffled, one batch holds the remainder and may sit anywhere in the last chunk.
    shuffled = collect(review_batches(records, batching="bucket", batch_size=4,
                                      padding="post", shuffle_buffer=1000, seed=3))
    assert sorted(len(indices) for _, _, indices in shuffled) == [2] + [4] * 57

    # In order, each chunk's batches go from its shortest reviews to its longest.
    in_order = collect(review_batches(records, batching="bucket", batch_size=4,
                                      padding="post"))
    first_chunk = [[lengths[i] for i in indices]
                   for _, _, indices in in_order[:SORTING_CHUNK_BATCHES]]
    assert sorted(index for _, _, indices in in_order[:SORTING_CHUNK_BATCHES]
                  for index in indices) == list(range(4 * SORTING_CHUNK_BATCHES))
    assert all(max(shorter) <= min(longer)
               for shorter, longer in zip(first_chunk, first_chunk[1:]))


def test_long_reviews_go_in_smaller_batches_that_bound_the_tokens_per_batch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches_module, "LONG_REVIEW_TOKENS", 100)
    batches = review_batches(padded_records("pre"), batching="bucket", batch_size=16,
                             padding="pre", shuffle_buffer=200, seed=2)
    collected = collect(batches)

    assert all(ids.size <= 16 * 100 for ids, _, _ in collected)
    assert any(ids.shape[1] > 100 and len(ids) < 16 for ids, _, _ in collected)
    assert sorted(int(i) for _, _, indices in collected for i in indices) == list(
        range(len(REVIEWS)))
    assert batches.cardinality().numpy() == len(collected)
