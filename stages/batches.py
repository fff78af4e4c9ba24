"""Batches of tokenized reviews for training and prediction.

Two ways to batch, chosen by `train.batching`:
- `fixed`: every review keeps the length the tokenize stage padded it to.
- `bucket`: padding is stripped, reviews of similar length are batched together and each
  batch is padded only to its longest review, on the same side the tokenize stage padded.
  On full-length reviews this skips most of the padding that fixed batches compute on.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from stages.params import PAD_ID, Batching, Side

# Bucket edges grow by this factor, so a batch carries at most ~20% padding.
BUCKET_GROWTH = 1.2
SMALLEST_BUCKET = 32


def bucket_boundaries(longest: int) -> list[int]:
    """Geometrically spaced length edges from SMALLEST_BUCKET up to `longest`."""
    edges, edge = [], SMALLEST_BUCKET
    while edge < longest:
        edges.append(edge)
        edge = math.ceil(edge * BUCKET_GROWTH / 8) * 8
    return edges


def strip_padding(token_ids: tf.Tensor, *rest: tf.Tensor) -> tuple[tf.Tensor, ...]:
    """Drop the padding ids of one review."""
    return (tf.boolean_mask(token_ids, token_ids != PAD_ID), *rest)


def _reverse(token_ids: tf.Tensor, *rest: tf.Tensor) -> tuple[tf.Tensor, ...]:
    return (tf.reverse(token_ids, axis=[-1]), *rest)


def review_lengths(reviews: tf.data.Dataset) -> np.ndarray:
    """Token count of every review, in dataset order (one pass over the data)."""
    sizes = reviews.map(lambda token_ids, *_: tf.size(token_ids),
                        num_parallel_calls=tf.data.AUTOTUNE)
    return np.fromiter(sizes.as_numpy_iterator(), dtype=np.int64)


def bucket_by_length(reviews: tf.data.Dataset, lengths: np.ndarray, batch_size: int,
                     padding: Side) -> tf.data.Dataset:
    """Batch unpadded reviews of similar length, padding each batch on the `padding` side."""
    boundaries = bucket_boundaries(int(lengths.max()))

    # tf.data pads at the end; reversing before and after moves the padding to the front.
    if padding == "pre":
        reviews = reviews.map(_reverse, num_parallel_calls=tf.data.AUTOTUNE)
    batches = reviews.bucket_by_sequence_length(
        element_length_func=lambda token_ids, *_: tf.shape(token_ids)[0],
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1))
    if padding == "pre":
        batches = batches.map(_reverse, num_parallel_calls=tf.data.AUTOTUNE)

    # Each bucket ends with one partial batch; knowing the count gives Keras a progress total.
    per_bucket = np.bincount(np.searchsorted(boundaries, lengths, side="right"))
    count = int(np.sum(np.ceil(per_bucket / batch_size)))
    return batches.apply(tf.data.experimental.assert_cardinality(count))


def review_batches(reviews: tf.data.Dataset, *, batching: Batching, batch_size: int,
                   padding: Side, shuffle_buffer: int | None = None,
                   seed: int | None = None) -> tf.data.Dataset:
    """Batches of `(token_ids, label, ...)` from padded records, cached after the first pass.

    With `shuffle_buffer`, reviews are drawn in a new order every epoch (seeded by `seed`).
    """
    if batching == "bucket":
        reviews = reviews.map(strip_padding, num_parallel_calls=tf.data.AUTOTUNE)
    reviews = reviews.cache()
    lengths = review_lengths(reviews)
    if shuffle_buffer:
        reviews = reviews.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)

    if batching == "bucket":
        batches = bucket_by_length(reviews, lengths, batch_size, padding)
    else:
        batches = reviews.batch(batch_size).apply(
            tf.data.experimental.assert_cardinality(math.ceil(len(lengths) / batch_size)))
    return batches.prefetch(tf.data.AUTOTUNE)
