"""Tokenize stage: reviews to padded WordPiece token ids in TFRecord files.

Every review is split into subword tokens with keras-hub's `WordPieceTokenizer` over
`data/vocab.txt`, then cut and padded to one length exactly as `keras.utils.pad_sequences`
would. A seeded share of the train split is held out as the validation split, so the test split
stays for the evaluate stage alone. Writes `data/tokenized/{train,validation,test}.tfrecord`
and `data/tokenized/stats.json` (counts, token lengths, truncation and unknown-token shares).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence

import keras_hub
import numpy as np
import pandas as pd
import tensorflow as tf

from stages import paths
from stages.params import PAD_ID, UNK_TOKEN, Side, TokenizeParams, load_params
from stages.records import file_digest, write_records
from stages.runner import run_stage
from stages.vocab import read_vocabulary

log = logging.getLogger("stages.tokenize")

LABEL_NAMES = ("negative", "positive")
PERCENTILES = (50, 90, 95, 99)


def make_tokenizer(vocabulary: list[str], lowercase: bool) -> keras_hub.tokenizers.Tokenizer:
    """The WordPiece tokenizer matching how the vocabulary was learned."""
    return keras_hub.tokenizers.WordPieceTokenizer(
        vocabulary=vocabulary, lowercase=lowercase, strip_accents=lowercase,
        oov_token=UNK_TOKEN, dtype="int32")


def tokenize_reviews(reviews: Sequence[str], tokenizer: keras_hub.tokenizers.Tokenizer,
                     batch_size: int = 1024) -> list[np.ndarray]:
    """Token ids of each review, unpadded, in input order."""
    batches = (tf.data.Dataset.from_tensor_slices(tf.constant(list(reviews), tf.string))
               .batch(batch_size)
               .map(tokenizer, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True))
    token_ids: list[np.ndarray] = []
    for batch in batches:
        flat, row_splits = batch.flat_values.numpy(), batch.row_splits.numpy()
        token_ids.extend(np.split(flat, row_splits[1:-1]))
    return token_ids


def pad_and_truncate(sequences: Sequence[np.ndarray], max_length: int, padding: Side,
                     truncating: Side, value: int = PAD_ID) -> np.ndarray:
    """Cut and pad sequences to `max_length` columns, as `keras.utils.pad_sequences` does.

    `truncating="pre"` drops tokens from the start of long sequences, `"post"` from the end;
    `padding="pre"` fills short sequences at the start, `"post"` at the end.
    """
    padded = np.full((len(sequences), max_length), value, dtype=np.int32)
    for row, ids in enumerate(sequences):
        kept = ids[-max_length:] if truncating == "pre" else ids[:max_length]
        if len(kept) == 0:
            continue
        if padding == "pre":
            padded[row, -len(kept):] = kept
        else:
            padded[row, :len(kept)] = kept
    return padded


def hold_out(rows: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split row numbers into sorted (kept, held-out) sets, holding out `fraction` of them."""
    held_out = min(max(round(rows * fraction), 1), rows - 1)
    order = np.random.default_rng(seed).permutation(rows)
    return np.sort(order[held_out:]), np.sort(order[:held_out])


def split_stats(token_ids: Sequence[np.ndarray], labels: np.ndarray, max_length: int,
                unk_id: int) -> dict[str, object]:
    """Counts, token-length percentiles before padding, truncated and unknown-token shares."""
    lengths = np.array([len(ids) for ids in token_ids])
    unknown = sum(int(np.count_nonzero(ids == unk_id)) for ids in token_ids)
    return {
        "reviews": len(lengths),
        "labels": {name: int(np.count_nonzero(labels == index))
                   for index, name in enumerate(LABEL_NAMES)},
        "tokens": {"mean": round(float(lengths.mean()), 1),
                   **{f"p{q}": round(float(np.percentile(lengths, q)), 1) for q in PERCENTILES},
                   "max": int(lengths.max())},
        "truncated_share": round(float(np.mean(lengths > max_length)), 4),
        "unknown_share": round(unknown / max(int(lengths.sum()), 1), 6),
    }


def main() -> None:
    all_params = load_params()
    params: TokenizeParams = all_params.tokenize
    vocabulary = read_vocabulary(paths.VOCABULARY)
    tokenizer = make_tokenizer(vocabulary, all_params.vocab.lowercase)

    # Tokenize both raw splits once; validation reviews are a seeded subset of train.
    tokenized = {}
    for role in ("train", "test"):
        started = time.perf_counter()
        table = pd.read_parquet(paths.raw_split(role))
        tokenized[role] = (tokenize_reviews(table["text"].tolist(), tokenizer),
                           table["label"].to_numpy())
        log.info("tokenized %d %s reviews in %.1f s", len(table), role,
                 time.perf_counter() - started)
    train_ids, train_labels = tokenized["train"]
    kept, held_out = hold_out(len(train_ids), params.validation_fraction, params.seed)
    splits = {
        "train": kept,
        "validation": held_out,
        "test": np.arange(len(tokenized["test"][0])),
    }

    # One length for all splits: the configured one, or the longest review anywhere.
    max_length = params.max_length or max(
        len(ids) for token_ids, _ in tokenized.values() for ids in token_ids)
    log.info("padding every review to %d tokens (%s), truncating %s",
             max_length, params.padding, params.truncating)

    # Pad, write the records and describe each split.
    paths.TOKENIZED.mkdir(parents=True, exist_ok=True)
    stats: dict[str, object] = {
        "sequence_length": max_length, "padding": params.padding,
        "truncating": params.truncating, "vocabulary_size": len(vocabulary), "splits": {}}
    for split, rows in splits.items():
        token_ids, labels = tokenized["test" if split == "test" else "train"]
        split_ids = [token_ids[row] for row in rows]
        split_labels = labels[rows]
        padded = pad_and_truncate(split_ids, max_length, params.padding, params.truncating)
        write_records(paths.records(split), padded, split_labels, rows)
        stats["splits"][split] = split_stats(
            split_ids, split_labels, max_length, vocabulary.index(UNK_TOKEN))
        # Later stages check the file against this before reading a record of it.
        stats["splits"][split]["records"] = file_digest(paths.records(split))
        log.info("%s: %s", split, stats["splits"][split])

    with paths.TOKEN_STATS.open("w", encoding="utf-8") as stream:
        json.dump(stats, stream, indent=2)


if __name__ == "__main__":
    run_stage(main)
