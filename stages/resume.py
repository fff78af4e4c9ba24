"""Resuming an interrupted train stage from its last finished epoch.

DVC deletes the train stage's outputs before it runs the stage again, so progress is kept in a
backup directory that no stage declares and DVC leaves alone (`data/train-backup/`):
- Keras's `BackupAndRestore` saves the weights, the optimizer's state (learning rate
  included) and the number of finished epochs after every epoch;
- `TrainingProgress` saves what that callback does not: every finished epoch's figures and
  duration, the DVCLive files drawn from them, and the state of early stopping and
  learning-rate reduction, with the best weights so far.

A backup is resumed only by a run with the same `train` params and the same tokenized data;
it stores a fingerprint of both and any other run discards it. The train stage deletes its
backup once the model is saved.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np

from stages.params import TrainParams

log = logging.getLogger("stages.resume")

# Keras's BackupAndRestore writes this beside its weights, holding the finished epochs.
KERAS_METADATA = "training_metadata.json"


def fingerprint(params: TrainParams, token_stats: Mapping[str, Any]) -> str:
    """What a backup must match to be resumed: the train params and the tokenized data.

    The tokenize stage's stats include every split's checksum, so new records change it.
    """
    identity = {"train": dataclasses.asdict(params), "tokenized": token_stats}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _write_json_atomically(path: Path, value: Any) -> None:
    """Write JSON so that a kill mid-write leaves the previous file, never half of one."""
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as stream:
        json.dump(value, stream, indent=1)
    os.replace(partial, path)


class TrainingProgress(keras.callbacks.Callback):
    """Records every finished epoch and the schedule's state, and restores them on resume.

    Place it after the DVCLive, early-stopping and learning-rate callbacks, so that it saves
    their state once they have updated it for the epoch, and restores it after they reset.
    """

    def __init__(self, backup: TrainingBackup, live_dir: Path,
                 early_stopping: keras.callbacks.EarlyStopping | None,
                 reduce_lr: keras.callbacks.ReduceLROnPlateau | None) -> None:
        super().__init__()
        self.backup = backup
        self.live_dir = live_dir
        self.early_stopping = early_stopping
        self.reduce_lr = reduce_lr
        self._started = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        state = self.backup.state
        if self.early_stopping is not None and "early_stopping" in state:
            vars(self.early_stopping).update(state["early_stopping"])
            self.early_stopping.best_weights = self.backup.best_weights()
        if self.reduce_lr is not None and "reduce_lr" in state:
            vars(self.reduce_lr).update(state["reduce_lr"])

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        seconds = time.perf_counter() - self._started
        log.info("epoch %d took %.1f s", epoch + 1, seconds)
        figures = {name: float(value) for name, value in (logs or {}).items()}
        self.backup.epochs.append({**figures, "seconds": round(seconds, 3)})

        state: dict[str, Any] = {"fingerprint": self.backup.fingerprint,
                                 "epochs": self.backup.epochs}
        if self.early_stopping is not None:
            stopping = self.early_stopping
            state["early_stopping"] = {"wait": stopping.wait, "best": stopping.best,
                                       "best_epoch": stopping.best_epoch,
                                       "stopped_epoch": stopping.stopped_epoch}
            if stopping.best_epoch == epoch and stopping.best_weights is not None:
                self.backup.save_best_weights(stopping.best_weights)
        if self.reduce_lr is not None:
            state["reduce_lr"] = {"wait": self.reduce_lr.wait, "best": self.reduce_lr.best,
                                  "cooldown_counter": self.reduce_lr.cooldown_counter}
        self.backup.save(state, self.live_dir)


class TrainingBackup:
    """The backup directory of one training run, shared by the callbacks that fill it."""

    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory = directory
        self.fingerprint = fingerprint
        self.state: dict[str, Any] = {}
        self.epochs: list[dict[str, float]] = []

    @property
    def _state_file(self) -> Path:
        return self.directory / "progress.json"

    @property
    def _live_copy(self) -> Path:
        return self.directory / "live"

    @property
    def _keras_dir(self) -> Path:
        return self.directory / "keras"

    def restore(self, live_dir: Path) -> int:
        """Load a matching backup, put its DVCLive files back, and return its finished epochs.

        Returns 0, having discarded whatever was there, when there is nothing to resume.
        """
        state = self._read_state()
        if state is None:
            self.discard()
            return 0
        self.state, self.epochs = state, state["epochs"]
        shutil.rmtree(live_dir, ignore_errors=True)
        shutil.copytree(self._live_copy, live_dir)
        log.info("resuming from the backup in %s after epoch %d", self.directory,
                 len(self.epochs))
        return len(self.epochs)

    def _read_state(self) -> dict[str, Any] | None:
        """The saved state when it can be resumed, with the reason logged when not."""
        if not self._state_file.exists():
            return None
        with self._state_file.open(encoding="utf-8") as stream:
            state = json.load(stream)
        if state.get("fingerprint") != self.fingerprint:
            log.info("discarding the backup in %s: it is of other train params or data",
                     self.directory)
            return None
        keras_epochs = 0
        if (self._keras_dir / KERAS_METADATA).exists():
            with (self._keras_dir / KERAS_METADATA).open(encoding="utf-8") as stream:
                keras_epochs = json.load(stream)["epoch"]
        if keras_epochs != len(state["epochs"]) or not self._live_copy.exists():
            # Killed between saving the weights and saving the figures of one epoch.
            log.warning("discarding the backup in %s: its weights and figures disagree",
                        self.directory)
            return None
        return state

    def callbacks(self, live_dir: Path,
                  schedule: list[keras.callbacks.Callback]) -> list[keras.callbacks.Callback]:
        """The callbacks that fill this backup; they go after DVCLive's and the schedule's."""
        early_stopping = next((c for c in schedule
                               if isinstance(c, keras.callbacks.EarlyStopping)), None)
        reduce_lr = next((c for c in schedule
                          if isinstance(c, keras.callbacks.ReduceLROnPlateau)), None)
        return [
            keras.callbacks.BackupAndRestore(str(self._keras_dir), delete_checkpoint=False),
            TrainingProgress(self, live_dir, early_stopping, reduce_lr),
        ]

    def save(self, state: dict[str, Any], live_dir: Path) -> None:
        """Save one finished epoch's state and a copy of the DVCLive files."""
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self._live_copy.with_name("live.partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(live_dir, partial)
        shutil.rmtree(self._live_copy, ignore_errors=True)
        os.replace(partial, self._live_copy)
        _write_json_atomically(self._state_file, state)

    def save_best_weights(self, weights: list[np.ndarray]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self.directory / "best.partial.npz"
        np.savez(partial, *weights)
        os.replace(partial, self.directory / "best.npz")

    def best_weights(self) -> list[np.ndarray] | None:
        path = self.directory / "best.npz"
        if not path.exists():
            return None
        with np.load(path) as saved:
            return [saved[f"arr_{index}"] for index in range(len(saved.files))]

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
