"""Train stage: fit the bidirectional-LSTM sentiment model on the tokenized train split.

Reads the train and validation records only (the test split is the evaluate stage's alone),
fits the network described by the `train` params, and writes the model to `data/model.keras`.
Per-epoch loss and accuracy on train and validation go through DVCLive to `data/train/`, where
`dvc plots show` draws them and `dvc exp show` lists them.

Every finished epoch is backed up, so a run that is killed resumes where it stopped when
`dvc repro` runs again (see `stages/resume.py`); `train.strategy` spreads training over
several devices or machines (see `stages/distribute.py`).
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from dvclive import Live
from dvclive.keras import DVCLiveCallback

from stages import paths
from stages.batches import review_batches
from stages.distribute import (make_strategy, prepare_for_multi_worker, shard_by_batch,
                               worker_outputs)
from stages.model import build_model, compile_model
from stages.params import TrainParams, load_params
from stages.records import read_split, read_token_stats
from stages.resume import TrainingBackup, fingerprint
from stages.runner import run_stage
from stages.vocab import read_vocabulary

log = logging.getLogger("stages.train")

# What early stopping and learning-rate reduction watch.
MONITOR = "val_loss"


def peak_memory() -> str:
    """This process's peak resident memory, where the OS reports it."""
    try:
        import resource
    except ImportError:  # not on Windows
        return "unknown"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"


def make_deterministic(seed: int) -> None:
    """Same seed, same machine, same weights: seed every generator and pin op order."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def load_batches(split: str, params: TrainParams, shuffle: bool,
                 token_stats: dict) -> tf.data.Dataset:
    """Batches of one tokenized split, batched as the params and the tokenize stage say."""
    return review_batches(
        read_split(split, token_stats),
        batching=params.batching, batch_size=params.batch_size,
        padding=token_stats["padding"],
        shuffle_buffer=params.shuffle_buffer if shuffle else None, seed=params.seed)


def schedule(params: TrainParams) -> list[keras.callbacks.Callback]:
    """Early stopping and learning-rate reduction, both watching the validation loss.

    Validation loss rather than accuracy: on a few thousand reviews it moves smoothly, while
    accuracy jumps by whole reviews and would pick a lucky epoch. When training stops, the
    weights of the epoch with the lowest validation loss are restored.
    """
    callbacks: list[keras.callbacks.Callback] = []
    if params.early_stopping_patience:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=MONITOR, patience=params.early_stopping_patience,
            restore_best_weights=True, verbose=1))
    if params.reduce_lr_patience:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor=MONITOR, factor=0.5, patience=params.reduce_lr_patience, verbose=1))
    return callbacks


def best_epoch(epochs: list[dict[str, float]], params: TrainParams) -> dict[str, float]:
    """The epoch whose weights are saved, with its validation figures."""
    losses = [figures[MONITOR] for figures in epochs]
    epoch = int(np.argmin(losses)) if params.early_stopping_patience else len(losses) - 1
    return {"epoch": epoch + 1,
            "val_loss": round(losses[epoch], 6),
            "val_accuracy": round(epochs[epoch]["val_accuracy"], 6)}


def main() -> None:
    params: TrainParams = load_params().train
    strategy = make_strategy(params.strategy)
    make_deterministic(params.seed)

    # Train on the train split, select and monitor on the validation split.
    token_stats = read_token_stats()
    train_batches = shard_by_batch(load_batches("train", params, True, token_stats))
    validation_batches = shard_by_batch(load_batches("validation", params, False, token_stats))

    # Build the network for this vocabulary, its variables placed by the strategy.
    vocabulary_size = len(read_vocabulary(paths.VOCABULARY))
    with strategy.scope():
        model = compile_model(build_model(vocabulary_size, params), params)
    prepare_for_multi_worker(model, strategy)
    model.summary(print_fn=lambda line, *_: log.info("%s", line))
    log.info("%d parameters; %s batches of %d over %d replicas for %d epochs",
             model.count_params(), params.batching, params.batch_size,
             strategy.num_replicas_in_sync, params.epochs)

    with tempfile.TemporaryDirectory(prefix="train-worker-") as scratch:
        outputs = worker_outputs(strategy, Path(scratch))

        # Pick up where an interrupted run of the same params and data stopped.
        backup = TrainingBackup(outputs.backup, fingerprint(params, token_stats))
        finished = backup.restore(model, outputs.live)
        # A run killed after early stopping ended it only has its model left to save.
        first_epoch = params.epochs if backup.stopped_early else finished

        # Fit, logging every epoch's figures through DVCLive and backing up after each.
        callbacks = schedule(params)
        with Live(dir=str(outputs.live), dvcyaml=False, save_dvc_exp=False,
                  resume=finished > 0) as live:
            model.fit(
                train_batches, validation_data=validation_batches, epochs=params.epochs,
                initial_epoch=first_epoch,
                callbacks=[DVCLiveCallback(live=live), *callbacks,
                           backup.callback(outputs.live, callbacks)],
                shuffle=False, verbose=1 if sys.stdout.isatty() else 2)

            # The summary beside the last epoch's figures: what was kept and what it cost.
            live.summary["best"] = best_epoch(backup.epochs, params)
            live.summary["epochs_run"] = len(backup.epochs)
            live.summary["parameters"] = model.count_params()
            live.summary["train_seconds"] = round(
                sum(figures["seconds"] for figures in backup.epochs), 1)
            log.info("keeping epoch %d: %s", live.summary["best"]["epoch"],
                     live.summary["best"])

        model.save(outputs.model)
        backup.discard()
    log.info("wrote %s after %.0f s of training; peak memory %s", outputs.model,
             live.summary["train_seconds"], peak_memory())


if __name__ == "__main__":
    run_stage(main)
