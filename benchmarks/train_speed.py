"""Benchmark: one training epoch on full-length reviews, seed's fixed padding vs this project.

Both contenders train the same network (the `train` params) on the same random sample of
tokenized train reviews, in one process:
  (a) the seed lab's way: every batch padded to the longest review of the train split;
  (b) this project's `train.batching` (bucketed by default), padded per batch.
Each is warmed up first (graph tracing is not timed), then timed on the sample and
extrapolated to a whole epoch of the train split. The last line is `speedup=<a over b>`.

Run from the project root after `dvc repro tokenize` with `tokenize.max_length: null`:

    python -m benchmarks.train_speed
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time

import numpy as np
import tensorflow as tf

from stages import paths
from stages.batches import review_batches
from stages.model import build_model, compile_model
from stages.params import TrainParams, load_params
from stages.records import read_records
from stages.vocab import read_vocabulary

log = logging.getLogger("benchmarks.train_speed")


def load_reviews() -> tuple[list[np.ndarray], np.ndarray]:
    """Unpadded token ids and labels of every tokenized train review."""
    token_ids, labels = [], []
    for ids, label in read_records(paths.records("train")).as_numpy_iterator():
        token_ids.append(ids[ids != 0])
        labels.append(label)
    return token_ids, np.array(labels, dtype=np.float32)


def padded_dataset(token_ids: list[np.ndarray], labels: np.ndarray,
                   length: int) -> tf.data.Dataset:
    """Reviews pre-padded to `length`, as the tokenize stage writes them."""
    padded = np.zeros((len(token_ids), length), dtype=np.int32)
    for row, ids in enumerate(token_ids):
        padded[row, length - len(ids):] = ids
    return tf.data.Dataset.from_tensor_slices((padded, labels))


def time_training(params: TrainParams, vocabulary_size: int, batches: tf.data.Dataset,
                  warm_up: tf.data.Dataset) -> tuple[float, int]:
    """Seconds for one pass of `batches` after an untimed pass of `warm_up`, and its steps."""
    model = compile_model(build_model(vocabulary_size, params), params)
    model.fit(warm_up, epochs=1, verbose=0)
    started = time.perf_counter()
    history = model.fit(batches, epochs=1, verbose=0)
    seconds = time.perf_counter() - started
    return seconds, int(batches.cardinality())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reviews", type=int, default=2048,
                        help="train reviews to time each contender on (default 2048)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the review sample")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    params = load_params().train
    vocabulary_size = len(read_vocabulary(paths.VOCABULARY))
    token_ids, labels = load_reviews()
    longest = max(len(ids) for ids in token_ids)
    sample = np.random.default_rng(args.seed).choice(len(token_ids), args.reviews,
                                                     replace=False)
    sample_ids, sample_labels = [token_ids[i] for i in sample], labels[sample]
    real_tokens = sum(len(ids) for ids in sample_ids)
    epoch_share = len(token_ids) / args.reviews
    print(f"train split: {len(token_ids)} reviews, longest {longest} tokens;"
          f" timing {args.reviews} of them ({real_tokens} real tokens) per contender")

    contenders = {
        f"seed (fixed, padded to {longest})": dataclasses.replace(params, batching="fixed"),
        f"project ({params.batching}, mask_padding={params.mask_padding})": params,
    }
    epoch_seconds = []
    for name, contender in contenders.items():
        def batches(reviews: tf.data.Dataset, contender: TrainParams = contender
                    ) -> tf.data.Dataset:
            return review_batches(reviews, batching=contender.batching,
                                  batch_size=contender.batch_size, padding="pre")
        sample_batches = batches(padded_dataset(sample_ids, sample_labels, longest))
        warm_up = batches(padded_dataset(sample_ids[:2 * params.batch_size],
                                         sample_labels[:2 * params.batch_size], longest))
        seconds, steps = time_training(contender, vocabulary_size, sample_batches, warm_up)
        epoch_seconds.append(seconds * epoch_share)
        print(f"{name}: {steps} steps in {seconds:.1f} s -> {epoch_seconds[-1]:.1f} s per"
              f" epoch, {real_tokens / seconds:,.0f} real tokens/s")

    print(f"speedup={epoch_seconds[0] / epoch_seconds[1]:.2f}")


if __name__ == "__main__":
    main()
