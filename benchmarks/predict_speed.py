"""Benchmark: how fast `stages.predict` classifies raw reviews with the exported model.

Two figures on the real test split (`data/raw/test.parquet`, after `dvc repro`):
  - throughput: reviews per second of `stages.predict.classify` (batched by length, as the
    command does) over the first `--reviews` test reviews (default 5,000; 0 takes all), in this
    process, after one untimed warm-up batch;
  - start-up: seconds from launching `python -m stages.predict` on one review in a fresh process
    to its exit (interpreter start, imports, loading the export, the first prediction), the
    median of `--startups` runs.
It also times one review of `--long-review` characters alone. Targets on 2 CPU cores: at least
500 reviews/s and at most 10 s start-up. The last two lines are `reviews_per_second=<float>`
and `startup_seconds=<float>`.

Run from the project root after `dvc repro`:

    python -m benchmarks.predict_speed
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from stages import paths
from stages.predict import DEFAULT_BATCH_SIZE, ExportedModel, classify

log = logging.getLogger("benchmarks.predict_speed")

STARTUP_REVIEW = "A wonderful film: the cast is brilliant and the story moving."


def time_startup(model: Path) -> float:
    """Wall seconds of one `python -m stages.predict` run on one review, start to exit."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "stages.predict", "--model", str(model),
                    STARTUP_REVIEW], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=paths.EXPORT,
                        help=f"the exported model (default {paths.EXPORT})")
    parser.add_argument("--reviews", type=int, default=5000,
                        help="first test reviews to classify (default 5000; 0: all)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help=f"most reviews per batch (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--startups", type=int, default=3,
                        help="fresh processes to time start-up on (default 3)")
    parser.add_argument("--long-review", type=int, default=100_000,
                        help="characters of the one long review timed alone (default 100000)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    # The reviews: the start of the real test split, as raw text.
    reviews = pd.read_parquet(paths.raw_split("test"), columns=["text"])["text"].tolist()
    if args.reviews:
        reviews = reviews[:args.reviews]
    characters = sum(len(review) for review in reviews)
    model = ExportedModel(args.model)

    # Throughput, after one untimed batch: first calls pay one-off set-up costs.
    model(reviews[:args.batch_size])
    started = time.perf_counter()
    results = classify(model, reviews, threshold=0.5, batch_size=args.batch_size)
    seconds = time.perf_counter() - started
    reviews_per_second = len(reviews) / seconds
    print(f"throughput: {len(reviews)} test reviews ({characters / len(reviews):,.0f} characters"
          f" on average) in {seconds:.1f} s, batches of up to {args.batch_size}:"
          f" {reviews_per_second:,.0f} reviews/s; {results['label'].eq('positive').mean():.1%}"
          " called positive")

    # One very long review, made of test reviews end to end, scored alone.
    long_review = " ".join(reviews)[:args.long_review]
    started = time.perf_counter()
    model([long_review])
    print(f"one review of {len(long_review):,} characters: {time.perf_counter() - started:.1f} s")

    # Start-up of the command in fresh processes.
    startups = [time_startup(args.model) for _ in range(args.startups)]
    print("start-up to first prediction (fresh `python -m stages.predict`): "
          + ", ".join(f"{s:.1f} s" for s in startups))

    print(f"reviews_per_second={reviews_per_second:.1f}")
    print(f"startup_seconds={statistics.median(startups):.2f}")


if __name__ == "__main__":
    main()
