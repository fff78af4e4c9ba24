"""`train.strategy`: the same training on two replicas, in one process or in two workers."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Project, create_project

# Runs the train stage with the one CPU split into two logical devices, as if two GPUs.
TWO_CPU_DEVICES = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from stages.runner import run_stage
from stages.train import main
run_stage(main)
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_tfds_dir: Path) -> Project:
    """A project trained once with the default strategy, on one device."""
    project = create_project(tmp_path_factory.mktemp("distribute") / "project", tiny_tfds_dir)
    project.repro("train")
    return project


def metric_keys(project: Project) -> set[str]:
    metrics = json.loads((project.path / "data" / "train" / "metrics.json").read_text())
    return {f"{key}.{name}" if isinstance(value, dict) else key
            for key, value in metrics.items()
            for name in (value if isinstance(value, dict) else [None])}


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("localhost", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def test_mirrored_training_over_two_devices(trained: Project) -> None:
    default_keys = metric_keys(trained)
    trained.set_params(train={"strategy": "mirrored"})
    try:
        result = trained.run(sys.executable, "-c", TWO_CPU_DEVICES)
    finally:
        trained.run("git", "checkout", "params.yaml")
    assert "over 2 replicas" in result.stderr
    assert "MirroredStrategy with devices" in result.stderr and "CPU:1" in result.stderr
    assert metric_keys(trained) == default_keys
    assert (trained.path / "data" / "model.keras").stat().st_size > 0


def test_multi_worker_training_on_two_local_processes(trained: Project) -> None:
    default_keys = metric_keys(trained)
    trained.set_params(train={"strategy": "multi_worker"})
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(2)]}
    workers = []
    try:
        for index in range(2):
            config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
            env = {**trained.env, "TF_CONFIG": json.dumps(config)}
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "stages.train"], cwd=trained.path, env=env, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        outputs = [worker.communicate(timeout=240)[0] for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
        trained.run("git", "checkout", "params.yaml")

    for worker, output in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, output
        assert "over 2 replicas" in output and "epoch 1 took" in output
    # Worker 0 is the chief: it alone writes the stage's outputs.
    assert "wrote data/model.keras" in outputs[0]
    assert "wrote data/model.keras" not in outputs[1]
    assert metric_keys(trained) == default_keys
    assert not list((trained.path / "data").glob("train-backup*"))


def test_multi_worker_without_tf_config_says_what_is_missing(trained: Project) -> None:
    trained.set_params(train={"strategy": "multi_worker"})
    try:
        result = trained.run(sys.executable, "-m", "stages.train", check=False)
    finally:
        trained.run("git", "checkout", "params.yaml")
    assert result.returncode == 1
    assert "needs the TF_CONFIG environment variable" in result.stderr
    assert "Traceback" not in result.stderr
