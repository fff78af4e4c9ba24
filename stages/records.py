"""TFRecord files of tokenized reviews: the tokenize stage writes them, later stages read them.

Each record is one review: its padded `token_ids`, its `label` (0 negative, 1 positive) and
`review_index`, its row in the raw split table it came from (validation reviews point into
the raw train table).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import tensorflow as tf

FEATURES = {
    "token_ids": tf.io.RaggedFeature(tf.int64),
    "label": tf.io.FixedLenFeature([], tf.int64),
    "review_index": tf.io.FixedLenFeature([], tf.int64),
}


def serialize_review(token_ids: np.ndarray, label: int, review_index: int) -> bytes:
    """One review as a serialized `tf.train.Example`."""
    feature = {
        "token_ids": tf.train.Feature(int64_list=tf.train.Int64List(value=token_ids)),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
        "review_index": tf.train.Feature(int64_list=tf.train.Int64List(value=[review_index])),
    }
    # The features are a protobuf map, whose order follows Python's per-process hash seed
    # unless serialized deterministically; without it, equal reviews give different bytes.
    example = tf.train.Example(features=tf.train.Features(feature=feature))
    return example.SerializeToString(deterministic=True)


def write_records(path: Path, token_ids: np.ndarray, labels: Iterable[int],
                  review_indices: Iterable[int]) -> None:
    """Write one record per row of `token_ids` (reviews x tokens)."""
    with tf.io.TFRecordWriter(str(path)) as writer:
        for ids, label, index in zip(token_ids, labels, review_indices, strict=True):
            writer.write(serialize_review(ids, int(label), int(index)))


def read_records(path: Path, with_index: bool = False) -> tf.data.Dataset:
    """Stream `(token_ids, label)` pairs, or `(token_ids, label, review_index)` triples.

    Token ids come back as int32 vectors, labels as float32 scalars, ready for Keras.
    """
    def parse(serialized: tf.Tensor) -> tuple[tf.Tensor, ...]:
        review = tf.io.parse_single_example(serialized, FEATURES)
        parsed = (tf.cast(review["token_ids"], tf.int32), tf.cast(review["label"], tf.float32))
        return (*parsed, review["review_index"]) if with_index else parsed

    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run `dvc repro tokenize`")
    return tf.data.TFRecordDataset(str(path)).map(parse, num_parallel_calls=tf.data.AUTOTUNE)
