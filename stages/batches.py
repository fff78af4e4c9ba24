"""Batches of tokenized reviews for training and prediction.

Two ways to batch, chosen by `train.batching`:
- `fixed`: every review keeps the length the tokenize stage padded it to.
- `bucket`: padding is stripped, reviews of similar length are batched together and each
  batch is padded only to its longest review, on the same side the tokenize stage padded.
  Reviews are drawn in chunks of SORTING_CHUNK_BATCHES batches, sorted by length within the
  chunk and cut into batches; with shuffling, the batches of a chunk are then shuffled too.
  Every batch but the epoch's last is full, and on full-length reviews this skips most of the
  padding that fixed batches compute on.
"""

from __future__ import annotations

import math

import tensorflow as tf

from stages.params import PAD_ID, Batching, Side

# Reviews are sorted by length within chunks of this many batches: enough reviews that each
# batch holds similar lengths, few enough that a batch's reviews still change every epoch.
SORTING_CHUNK_BATCHES = 50


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


def review_batches(reviews: tf.data.Dataset, *, batching: Batching, batch_size: int,
                   padding: Side, shuffle_buffer: int | None = None,
                   seed: int | None = None) -> tf.data.Dataset:
    """Batches of `(token_ids, label, ...)` from padded records, cached after the first pass.

    With `shuffle_buffer`, reviews are drawn in a new order every epoch (seeded by `seed`).
    """
    if batching == "bucket":
        reviews = reviews.map(strip_padding, num_parallel_calls=tf.data.AUTOTUNE)
    reviews = reviews.cache()

    # One pass fills the cache and counts the reviews, which gives Keras a progress total.
    count = int(reviews.reduce(0, lambda total, *_: total + 1))
    if shuffle_buffer:
        reviews = reviews.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)

    if batching == "bucket":
        batches = length_sorted_batches(reviews, batch_size, padding,
                                        shuffle_seed=seed if shuffle_buffer else None)
    else:
        batches = reviews.batch(batch_size)
    batches = batches.apply(tf.data.experimental.assert_cardinality(
        math.ceil(count / batch_size)))
    return batches.prefetch(tf.data.AUTOTUNE)
