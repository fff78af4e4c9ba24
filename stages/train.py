"""Train stage: fit the bidirectional-LSTM sentiment model on the tokenized train split.

Reads the train and validation records only (the test split is the evaluate stage's alone),
fits the network described by the `train` params, and writes the model to `data/model.keras`.
Per-epoch loss and accuracy on train and validation go through DVCLive to `data/train/`, where
`dvc plots show` draws them and `dvc exp show` lists them.
"""

from __future__ import annotations

import json
import logging
import sys
import time

import keras
import numpy as np
import tensorflow as tf
from dvclive import Live
from dvclive.keras import DVCLiveCallback

from stages import paths
from stages.batches import review_batches
from stages.model import build_model, compile_model
from stages.params import TrainParams, load_params
from stages.records import read_records
from stages.runner import run_stage
from stages.vocab import read_vocabulary

log = logging.getLogger("stages.train")

# What early stopping and learning-rate reduction watch.
MONITOR = "val_loss"


class EpochTimer(keras.callbacks.Callback):
    """Logs how long each epoch took and keeps the total."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._started)
        log.info("epoch %d took %.1f s", epoch + 1, self.seconds[-1])


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


def load_batches(split: str, params: TrainParams, shuffle: bool) -> tf.data.Dataset:
    """Batches of one tokenized split, batched as the params and the tokenize stage say."""
    with paths.TOKEN_STATS.open(encoding="utf-8") as stream:
        token_stats = json.load(stream)
    return review_batches(
        read_records(paths.records(split)),
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


def best_epoch(history: keras.callbacks.History, params: TrainParams) -> dict[str, float]:
    """The epoch whose weights are saved, with its validation figures."""
    losses = history.history[MONITOR]
    epoch = int(np.argmin(losses)) if params.early_stopping_patience else len(losses) - 1
    return {"epoch": epoch + 1,
            "val_loss": round(losses[epoch], 6),
            "val_accuracy": round(history.history["val_accuracy"][epoch], 6)}


def main() -> None:
    params: TrainParams = load_params().train
    make_deterministic(params.seed)

    # Train on the train split, select and monitor on the validation split.
    train_batches = load_batches("train", params, shuffle=True)
    validation_batches = load_batches("validation", params, shuffle=False)

    # Build the network for this vocabulary.
    vocabulary_size = len(read_vocabulary(paths.VOCABULARY))
    model = compile_model(build_model(vocabulary_size, params), params)
    model.summary(print_fn=lambda line, *_: log.info("%s", line))
    log.info("%d parameters; %s batches of %d for %d epochs", model.count_params(),
             params.batching, params.batch_size, params.epochs)

    # Fit, logging every epoch's figures through DVCLive.
    timer = EpochTimer()
    with Live(dir=str(paths.TRAIN_LIVE), dvcyaml=False, save_dvc_exp=False) as live:
        history = model.fit(
            train_batches, validation_data=validation_batches, epochs=params.epochs,
            callbacks=[DVCLiveCallback(live=live), timer, *schedule(params)], shuffle=False,
            verbose=1 if sys.stdout.isatty() else 2)

        # The summary beside the last epoch's figures: what was kept and what it cost.
        live.summary["best"] = best_epoch(history, params)
        live.summary["epochs_run"] = len(timer.seconds)
        live.summary["parameters"] = model.count_params()
        live.summary["train_seconds"] = round(sum(timer.seconds), 1)
        log.info("keeping epoch %d: %s", live.summary["best"]["epoch"], live.summary["best"])

    model.save(paths.MODEL)
    log.info("wrote %s after %.0f s of training; peak memory %s", paths.MODEL,
             sum(timer.seconds), peak_memory())


if __name__ == "__main__":
    run_stage(main)
