"""Which backups an interrupted train stage resumes from, and what it restores."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from stages.params import TrainParams
from stages.resume import TrainingBackup, fingerprint

STATS = {"splits": {"train": {"records": {"bytes": 10, "sha256": "ab"}}}}


def small_model(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(keras.optimizers.Adam(0.01), "mse")
    return model


def saved_backup(directory: Path, epochs: int) -> tuple[keras.Model, Path]:
    """A backup after `epochs` finished epochs, as the train stage's callback leaves it."""
    model = small_model(seed=1)
    model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=epochs, verbose=0)
    live = directory.parent / "live"
    live.mkdir()
    (live / "metrics.json").write_text(json.dumps({"step": epochs - 1}))
    backup = TrainingBackup(directory, fingerprint(TrainParams(), STATS))
    for epoch in range(epochs):
        backup.epochs.append({"val_loss": 0.5 - epoch / 100, "seconds": 1.0})
        state = {"fingerprint": backup.fingerprint, "epochs": backup.epochs}
        backup.save(model, live, state, best_weights=model.get_weights())
    return model, live


def test_matching_backup_restores_weights_optimizer_and_live_files(tmp_path: Path) -> None:
    saved, live = saved_backup(tmp_path / "backup", epochs=3)
    (live / "metrics.json").write_text("left by the killed run")
    assert [path.name for path in (tmp_path / "backup").glob("epoch-*")] == ["epoch-3"]

    model = small_model(seed=2)
    backup = TrainingBackup(tmp_path / "backup", fingerprint(TrainParams(), STATS))
    assert backup.restore(model, live) == 3
    for restored, expected in zip(model.get_weights(), saved.get_weights(), strict=True):
        np.testing.assert_array_equal(restored, expected)
    assert int(model.optimizer.iterations) == int(saved.optimizer.iterations) > 0
    assert json.loads((live / "metrics.json").read_text()) == {"step": 2}
    best = backup.best_weights()
    assert best is not None and len(best) == len(saved.get_weights())


@pytest.mark.parametrize("change", [
    {"params": dataclasses.replace(TrainParams(), learning_rate=0.01)},
    {"stats": {"splits": {"train": {"records": {"bytes": 10, "sha256": "cd"}}}}},
])
def test_backup_of_other_params_or_data_is_discarded(tmp_path: Path, change: dict) -> None:
    _, live = saved_backup(tmp_path / "backup", epochs=2)
    other = fingerprint(change.get("params", TrainParams()), change.get("stats", STATS))
    backup = TrainingBackup(tmp_path / "backup", other)
    assert backup.restore(small_model(seed=2), live) == 0
    assert not (tmp_path / "backup").exists()


def test_a_snapshot_cut_short_by_a_kill_is_ignored(tmp_path: Path) -> None:
    saved, live = saved_backup(tmp_path / "backup", epochs=2)
    # Killed while writing the next epoch's snapshot, before progress.json named it.
    partial = tmp_path / "backup" / "epoch-3"
    partial.mkdir()
    (partial / "model.weights.h5").write_bytes(b"half a file")

    model = small_model(seed=2)
    backup = TrainingBackup(tmp_path / "backup", fingerprint(TrainParams(), STATS))
    assert backup.restore(model, live) == 2
    np.testing.assert_array_equal(model.get_weights()[0], saved.get_weights()[0])
