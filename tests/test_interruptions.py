"""A killed train stage resumes from its last finished epoch; a second `dvc repro` is refused.

The train stage is really killed (SIGKILL, mid-epoch), the way a lost machine or the kernel's
out-of-memory killer would stop it, and DVC's own output says what ran.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import Project, create_project

EPOCHS = 40


@pytest.fixture(scope="module")
def tokenized(tmp_path_factory: pytest.TempPathFactory, tiny_tfds_dir: Path) -> Project:
    """A project reproduced up to the tokenize stage, set to train every one of 40 epochs."""
    project = create_project(tmp_path_factory.mktemp("interrupted") / "project", tiny_tfds_dir)
    project.set_params(train={"epochs": EPOCHS, "early_stopping_patience": 0})
    project.commit("train 40 epochs")
    project.repro("tokenize")
    return project


def train_process(project: Project) -> int:
    """The pid of the train stage's Python process running in `project`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            directory = os.readlink(entry / "cwd")
        except OSError:  # exited meanwhile, or not ours to read
            continue
        is_python = Path(command[0].decode()).name.startswith("python")
        if is_python and b"stages.train" in command and directory == str(project.path):
            return int(entry.name)
    raise AssertionError("no train stage is running")


def wait_for_line(process: subprocess.Popen[str], text: str, seen: list[str]) -> None:
    """Read the process's output until a line contains `text`."""
    assert process.stdout is not None
    for line in process.stdout:
        seen.append(line)
        if text in line:
            return
    raise AssertionError(f"never printed {text!r}:\n{''.join(seen)}")


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs Linux's /proc")
def test_killed_training_resumes_from_its_last_finished_epoch(tokenized: Project) -> None:
    data = tokenized.path / "data"
    killed_run = tokenized.start(sys.executable, "-m", "dvc", "repro")
    seen: list[str] = []
    # Epoch 3 has ended, so epoch 2's snapshot is complete; epoch 3's may not be.
    wait_for_line(killed_run, "epoch 3 took", seen)
    os.kill(train_process(tokenized), signal.SIGKILL)
    remaining, _ = killed_run.communicate(timeout=120)
    assert killed_run.returncode != 0, "".join(seen) + remaining
    assert "failed to reproduce 'train'" in remaining

    # The backup holds the finished epochs; the stage's outputs were never written.
    finished = len(json.loads((data / "train-backup" / "progress.json").read_text())["epochs"])
    assert 2 <= finished < EPOCHS
    assert not (data / "model.keras").exists()

    resumed = tokenized.dvc("repro")
    assert f"after epoch {finished}" in resumed.stderr
    assert f"Epoch {finished + 1}/{EPOCHS}" in resumed.stdout
    assert "Epoch 1/" not in resumed.stdout

    # One run's worth of figures: every epoch once, in order, and the backup cleared.
    metrics = json.loads((data / "train" / "metrics.json").read_text())
    assert metrics["epochs_run"] == EPOCHS and metrics["step"] == EPOCHS - 1
    curve = pd.read_csv(data / "train" / "plots" / "metrics" / "eval" / "loss.tsv", sep="\t")
    assert list(curve["step"]) == list(range(EPOCHS))
    assert not (data / "train-backup").exists()
    assert tokenized.dvc("status").stdout.strip().endswith("up to date.")


def test_a_second_repro_fails_fast_while_one_runs(tokenized: Project) -> None:
    tokenized.set_params(train={"seed": 7})
    first = tokenized.start(sys.executable, "-m", "dvc", "repro")
    seen: list[str] = []
    wait_for_line(first, "Running stage 'train'", seen)

    second = tokenized.dvc("repro", check=False)
    assert first.poll() is None, "the first run ended before the second was refused"
    assert second.returncode != 0
    # DVC locks the outputs of the running stages: the second run stops at the first of them.
    assert "is busy, it is being blocked by" in second.stderr
    assert "Running stage" not in second.stdout

    rest, _ = first.communicate(timeout=300)
    assert first.returncode == 0, "".join(seen) + rest
    metrics = json.loads((tokenized.path / "data" / "train" / "metrics.json").read_text())
    assert metrics["epochs_run"] == EPOCHS
    assert tokenized.dvc("status").stdout.strip().endswith("up to date.")
