"""Batches of tokenized reviews for training and prediction.

Two ways to batch, chosen by `train.batching`:
- `fixed`: every review keeps the length the tokenize stage padded it to.
- `bucket`: padding is stripped, reviews of similar length are batched together and each
  batch is padded only to its longest review, on the same side the tokenize stage padded.
  Reviews are drawn in chunks of SORTING_CHUNK_BATCHES batches, sorted by length within the
  chunk and cut into batches; with shuffling, the batches of a chunk are then shuffled too.
  On full-length reviews this skips most of the padding that fixed batches compute on.
  Reviews longer than LONG_REVIEW_TOKENS are batched apart, fewer to a batch, so that no
  batch holds much more than `batch_size * LONG_REVIEW_TOKENS` tokens: the memory that
  backpropagation through the LSTMs needs grows with a batch's size times its length.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from stages.params import PAD_ID, Batching, Side

# Reviews are sorted by length within chunks of this many batches: enough reviews that each
# batch holds similar lengths, few enough that a batch's reviews still change every epoch.
SORTING_CHUNK_BATCHES = 50
# Longer reviews (3% of IMDB's train split) go in smaller batches; see the module docstring.
LONG_REVIEW_TOKENS = 1024


def strip_padding(token_ids: tf.Tensor, *rest: tf.Tensor) -> tuple[tf.Tensor, ...]:
    """Drop the padding ids of one review."""
    return (tf.boolean_mask(token_ids, token_ids != PAD_ID), *rest)


def _reverse(token_ids: tf.Tensor, *rest: tf.Tensor) -> tuple[tf.Tensor, ...]:
    return (tf.reverse(token_ids, axis=[-1]), *rest)


def _same_review(token_ids: tf.Tensor, *rest: tf.Tensor) -> tuple[tf.Tensor, ...]:
    return (token_ids, *rest)


def _sort_by_length(token_ids: tf.RaggedTensor, *rest: tf.Tensor) -> tuple[tf.Tensor, ...]:
    """Reorder a chunk of reviews (and their labels, indices) from shortest to longest."""
    order = tf.argsort(token_ids.row_lengths(), stable=True)
    return tuple(tf.gather(part, order) for part in (token_ids, *rest))


def length_sorted_batches(reviews: tf.data.Dataset, batch_size: int, padding: Side,
                          shuffle_seed: int | None = None) -> tf.data.Dataset:
    """Batch unpadded reviews of similar length, padding each batch on the `padding` side.

    With `shuffle_seed`, the batches of each chunk come in a seeded random order.
    """
    # Sort each chunk by length; a chunk is a whole number of batches, so no batch straddles
    # two chunks. Mapping each review out of its chunk makes it a plain vector again.
    reviews = (reviews.ragged_batch(batch_size * SORTING_CHUNK_BATCHES)
               .map(_sort_by_length, num_parallel_calls=tf.data.AUTOTUNE)
               .unbatch()
               .map(_reverse if padding == "pre" else _same_review,
                    num_parallel_calls=tf.data.AUTOTUNE))

    # tf.data pads at the end (with 0, which is PAD_ID); reversing each review before and
    # after moves the padding to the front.
    batches = reviews.padded_batch(batch_size)
    if shuffle_seed is not None:
        batches = batches.shuffle(SORTING_CHUNK_BATCHES, seed=shuffle_seed,
                                  reshuffle_each_iteration=True)
    if padding == "pre":
        batches = batches.map(_reverse, num_parallel_calls=tf.data.AUTOTUNE)
    return batches


def review_lengths(reviews: tf.data.Dataset) -> np.ndarray:
    """Token count of every review, in dataset order (one pass over the data)."""
    sizes = reviews.map(lambda token_ids, *_: tf.size(token_ids),
                        num_parallel_calls=tf.data.AUTOTUNE)
    return np.fromiter(sizes.as_numpy_iterator(), dtype=np.int64)


def bucket_batches(reviews: tf.data.Dataset, lengths: np.ndarray, batch_size: int,
                   padding: Side, shuffle_seed: int | None = None
                   ) -> tuple[tf.data.Dataset, int]:
    """Length-sorted batches of unpadded reviews, long reviews apart; also their count.

    With `shuffle_seed`, batches of ordinary and of long reviews are interleaved at random.
    """
    long_batch_size = max(1, batch_size * LONG_REVIEW_TOKENS // max(int(lengths.max()), 1))
    long_reviews = int(np.count_nonzero(lengths > LONG_REVIEW_TOKENS))
    streams = [
        (reviews.filter(lambda token_ids, *_: tf.size(token_ids) <= LONG_REVIEW_TOKENS),
         batch_size, math.ceil((len(lengths) - long_reviews) / batch_size)),
        (reviews.filter(lambda token_ids, *_: tf.size(token_ids) > LONG_REVIEW_TOKENS),
         long_batch_size, math.ceil(long_reviews / long_batch_size)),
    ]
    streams = [(length_sorted_batches(stream, size, padding, shuffle_seed), count)
               for stream, size, count in streams if count]
    counts = [count for _, count in streams]

    # In order, ordinary batches then long ones; shuffled, both interleaved in proportion to
    # their counts, so long batches come throughout an epoch.
    if shuffle_seed is None:
        batches = streams[0][0]
        for later, _ in streams[1:]:
            batches = batches.concatenate(later)
    else:
        batches = tf.data.Dataset.sample_from_datasets(
            [stream for stream, _ in streams], weights=[c / sum(counts) for c in counts],
            seed=shuffle_seed, stop_on_empty_dataset=False, rerandomize_each_iteration=True)
    return batches, sum(counts)


def review_batches(reviews: tf.data.Dataset, *, batching: Batching, batch_size: int,
                   padding: Side, shuffle_buffer: int | None = None,
                   seed: int | None = None) -> tf.data.Dataset:
    """Batches of `(token_ids, label, ...)` from padded records, cached after the first pass.

    With `shuffle_buffer`, reviews are drawn in a new order every epoch (seeded by `seed`).
    """
    if batching == "bucket":
        reviews = reviews.map(strip_padding, num_parallel_calls=tf.data.AUTOTUNE)
    reviews = reviews.cache()

    # One pass fills the cache and measures the reviews; the batch count gives Keras a total.
    lengths = review_lengths(reviews)
    if shuffle_buffer:
        reviews = reviews.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)

    if batching == "bucket":
        batches, count = bucket_batches(reviews, lengths, batch_size, padding,
                                        shuffle_seed=seed if shuffle_buffer else None)
    else:
        batches, count = reviews.batch(batch_size), math.ceil(len(lengths) / batch_size)
    batches = batches.apply(tf.data.experimental.assert_cardinality(count))
    return batches.prefetch(tf.data.AUTOTUNE)
