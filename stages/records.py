"""TFRecord files of tokenized reviews: the tokenize stage writes them, later stages read them.

Each record is one review: its padded `token_ids`, its `label` (0 negative, 1 positive) and
`review_index`, its row in the raw split table it came from (validation reviews point into
the raw train table).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import tensorflow as tf

from stages import paths
from stages.runner import StageError

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

    return tf.data.TFRecordDataset(str(path)).map(parse, num_parallel_calls=tf.data.AUTOTUNE)


def file_digest(path: Path) -> dict[str, int | str]:
    """Size and SHA-256 of a file, which the tokenize stage records for every split."""
    sha256 = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            sha256.update(chunk)
    return {"bytes": path.stat().st_size, "sha256": sha256.hexdigest()}


def check_records(path: Path, expected: Mapping[str, int | str]) -> None:
    """Fail unless `path` is the file the tokenize stage wrote, byte for byte.

    TensorFlow would notice a damaged record only when training reached it, and a file cut
    at a record boundary not at all; comparing size and checksum first catches both.
    """
    rerun = "rerun `dvc repro tokenize` to write it again"
    if not path.exists():
        raise StageError(f"{path} does not exist: {rerun}")
    size = path.stat().st_size
    if size != expected["bytes"]:
        raise StageError(f"{path} is corrupt: it holds {size} bytes where the tokenize"
                         f" stage wrote {expected['bytes']} (truncated or overwritten); {rerun}")
    if file_digest(path)["sha256"] != expected["sha256"]:
        raise StageError(f"{path} is corrupt: its contents changed after the tokenize stage"
                         f" wrote it (SHA-256 mismatch); {rerun}")


def read_token_stats() -> dict:
    """The tokenize stage's description of its output (`data/tokenized/stats.json`)."""
    try:
        with paths.TOKEN_STATS.open(encoding="utf-8") as stream:
            return json.load(stream)
    except FileNotFoundError:
        raise StageError(f"{paths.TOKEN_STATS} does not exist: run `dvc repro tokenize`"
                         ) from None
    except json.JSONDecodeError:
        raise StageError(f"{paths.TOKEN_STATS} is corrupt (not JSON): rerun"
                         " `dvc repro tokenize`") from None


def read_split(split: str, token_stats: Mapping, with_index: bool = False) -> tf.data.Dataset:
    """The checked records of one tokenized split ("train", "validation" or "test")."""
    path = paths.records(split)
    check_records(path, token_stats["splits"][split]["records"])
    return read_records(path, with_index=with_index)
