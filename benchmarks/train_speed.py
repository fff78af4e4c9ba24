"""Benchmark: one training epoch on full-length reviews, seed's fixed padding vs this project.

Both contenders train the same network (the `train` params) in one process, so the machine's
load affects them alike:
  (a) the seed lab's way: every batch padded to the longest review of the train split, with
      no padding mask, timed on the reviews of `--batches` batches and extrapolated to an
      epoch (every such batch costs the same);
  (b) this project's defaults (`train.batching`, `train.mask_padding`), padded per batch,
      timed on one whole epoch of its own batches, whose costs differ widely with length;
      the same with `train.mask_padding` flipped is timed too, to show what masking costs.
Each contender is first traced on a few batches, untimed. It prints seconds per epoch and
real (non-padding) tokens per second; the last line is `speedup=<a over b>`.

Run from the project root after `dvc repro tokenize` with `tokenize.max_length: null`:

    python -m benchmarks.train_speed
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time

import numpy as np
import tensorflow as tf

from stages import paths
from stages.model import build_model, compile_model
from stages.params import PAD_ID, TrainParams, load_params
from stages.records import read_token_stats
from stages.train import load_batches
from stages.vocab import read_vocabulary

# Batches of different shapes to trace on before timing; TensorFlow then reuses one graph.
TRACING_BATCHES = 4


def project_epoch(params: TrainParams) -> list[tuple[np.ndarray, np.ndarray]]:
    """One epoch of train batches, `(token_ids, labels)`, as the train stage draws them."""
    batches = load_batches("train", params, shuffle=True, token_stats=read_token_stats())
    return list(batches.as_numpy_iterator())


def fixed_batches(batches: list[tuple[np.ndarray, np.ndarray]], length: int, batch_size: int,
                  count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """`count` batches of reviews drawn at random from `batches`, each pre-padded to `length`."""
    reviews = [ids[ids != PAD_ID] for token_ids, _ in batches for ids in token_ids]
    labels = np.concatenate([labels for _, labels in batches])
    drawn = np.random.default_rng(0).permutation(len(reviews))[:count * batch_size]
    padded = np.full((len(drawn), length), PAD_ID, dtype=np.int32)
    for row, review in enumerate(drawn):
        padded[row, length - len(reviews[review]):] = reviews[review]
    return [(padded[start:start + batch_size], labels[drawn[start:start + batch_size]])
            for start in range(0, len(drawn), batch_size)]


def as_dataset(batches: list[tuple[np.ndarray, np.ndarray]]) -> tf.data.Dataset:
    """A dataset that yields the given batches as they are."""
    signature = (tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.float32))
    dataset = tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(len(batches)))


def seconds_per_pass(params: TrainParams, vocabulary_size: int,
                     batches: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Seconds for one training pass over `batches`, after tracing on a few of them."""
    model = compile_model(build_model(vocabulary_size, params), params)
    model.fit(as_dataset(batches[:TRACING_BATCHES]), epochs=1, verbose=0)
    started = time.perf_counter()
    model.fit(as_dataset(batches), epochs=1, verbose=0)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=12,
                        help="batches to time the seed's way on (default 12)")
    args = parser.parse_args()

    # One epoch of the project's batches; the seed's way gets a random draw of its reviews.
    params = load_params().train
    vocabulary_size = len(read_vocabulary(paths.VOCABULARY))
    epoch = project_epoch(params)
    longest = max(int(np.count_nonzero(ids, axis=1).max()) for ids, _ in epoch)
    reviews_per_epoch = sum(len(labels) for _, labels in epoch)
    sample = fixed_batches(epoch, longest, params.batch_size, args.batches)
    print(f"train split: {reviews_per_epoch} reviews, longest {longest} tokens; the seed's way"
          f" timed on {args.batches} batches, the project's on all {len(epoch)}")

    seed_params = dataclasses.replace(params, batching="fixed", mask_padding=False)
    contenders = [
        (f"seed (fixed, padded to {longest}, no mask)", seed_params, sample,
         math.ceil(reviews_per_epoch / params.batch_size)),
        # What masking costs, for comparison: the project's batches with the other setting.
        (f"project ({params.batching}, mask_padding={not params.mask_padding})",
         dataclasses.replace(params, mask_padding=not params.mask_padding), epoch, len(epoch)),
        (f"project ({params.batching}, mask_padding={params.mask_padding})", params,
         epoch, len(epoch)),
    ]
    epoch_seconds = []
    for name, contender, batches, steps_per_epoch in contenders:
        seconds = seconds_per_pass(contender, vocabulary_size, batches)
        real_tokens = sum(int(np.count_nonzero(ids)) for ids, _ in batches)
        epoch_seconds.append(seconds * steps_per_epoch / len(batches))
        print(f"{name}: {len(batches)} steps in {seconds:.1f} s -> {epoch_seconds[-1]:.1f} s"
              f" per epoch, {real_tokens / seconds:,.0f} real tokens/s", flush=True)

    print(f"speedup over the seed with mask_padding={not params.mask_padding}:"
          f" {epoch_seconds[0] / epoch_seconds[1]:.2f}")
    print(f"speedup={epoch_seconds[0] / epoch_seconds[2]:.2f}")


if __name__ == "__main__":
    main()
