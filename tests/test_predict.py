"""The predict command on the tiny project's export: inputs, outputs, bad input, odd reviews.

Most calls run `stages.predict.main` in this process, from the project root, to keep the suite
fast; a few run the real command to check what a user sees: exit status, stdout and stderr.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import Project

from stages import predict
from stages.runner import StageError, run_stage

AWKWARD_REVIEWS = (
    "A <i>wonderful</i> film.<br /><br />The cast is <b>brilliant</b> &amp; moving.",
    "Loved it 😍🍿🎬!!! 10/10 👍",
    "这部电影非常好看，演员的表演令人难忘。",
    "Un film épouvantable : j'ai détesté chaque minute.",
    "فيلم رائع جدا",
    "Dull\x00 film\x1b[31m with \u200b odd characters\x7f",
    "An argument that was not UTF-8: \udcff\udcfe",
)


@pytest.fixture(scope="module")
def test_split(exported: Project) -> pd.DataFrame:
    """The raw test reviews, each with the evaluate stage's probability of it."""
    data = exported.path / "data"
    reviews = pd.read_parquet(data / "raw" / "test.parquet")
    predictions = pd.read_parquet(data / "evaluate" / "predictions.parquet")
    return reviews.assign(probability=predictions.set_index("review_index")["probability"])


@pytest.fixture
def in_project(exported: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """Run in-process calls from the project root, where the defaults point."""
    monkeypatch.chdir(exported.path)
    return exported


def run_command(project: Project, *args: str,
                stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m stages.predict ARGS` in the project, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "stages.predict", *args], cwd=project.path,
                          env=project.env, input=stdin, text=True, capture_output=True,
                          check=False)


def printed(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    """The lines `main(ARGS)` prints."""
    predict.main(list(args))
    return capsys.readouterr().out.splitlines()


def label_of(probability: float, threshold: float = 0.5) -> str:
    return "positive" if probability >= threshold else "negative"


def test_reviews_as_arguments_get_the_evaluate_stages_probabilities(
        exported: Project, test_split: pd.DataFrame) -> None:
    chosen = test_split.iloc[[0, 41, 79]]
    result = run_command(exported, "--json", *chosen["text"])
    assert result.returncode == 0, result.stderr

    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["index"] for row in rows] == [0, 1, 2]
    np.testing.assert_allclose([row["probability"] for row in rows], chosen["probability"],
                               rtol=0, atol=1e-5)
    assert [row["label"] for row in rows] == [label_of(p) for p in chosen["probability"]]
    assert all(row["reason"] is None for row in rows)
    for row, review in zip(rows, chosen["text"], strict=True):
        assert len(row["excerpt"]) <= predict.EXCERPT_WIDTH
        assert row["excerpt"].split()[:3] == review.split()[:3]


def test_stdin_gives_one_review_per_line_and_blank_ones_are_skipped(
        exported: Project, test_split: pd.DataFrame) -> None:
    first, second = test_split["text"].iloc[[3, 4]]
    assert "\n" not in first + second
    result = run_command(exported, "-", stdin=f"{first}\n\n \t \n{second}\n")
    assert result.returncode == 0, result.stderr

    rows = result.stdout.splitlines()
    assert len(rows) == 4
    for row, index in ((rows[0], 3), (rows[3], 4)):
        probability = test_split["probability"].iloc[index]
        assert row.split()[-2:] == [label_of(probability), f"{probability:.4f}"]
    assert rows[1].split()[:3] == ["(empty)", "skipped", "-"]
    assert rows[1].endswith("(empty review)") and rows[2].endswith("(only whitespace)")


def test_a_missing_model_exits_1_with_one_line_saying_what_to_run(exported: Project) -> None:
    result = run_command(exported, "--model", "nowhere", "A wonderful film.")
    assert result.returncode == 1
    assert result.stdout == ""
    # The project's own log lines; TensorFlow's start-up chatter aside.
    errors = [line for line in result.stderr.splitlines() if " stages" in line]
    assert len(errors) == 1
    assert "no exported model in nowhere" in errors[0] and "dvc repro export" in errors[0]


def test_file_reviews_come_back_in_order_with_the_full_table(
        in_project: Project, test_split: pd.DataFrame, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    table = pd.DataFrame({"id": range(6), "text": [*test_split["text"].iloc[:5], ""]})
    table.to_csv(tmp_path / "reviews.csv", index=False)
    lines = printed(capsys, "--file", str(tmp_path / "reviews.csv"), "--column", "text",
                    "--output", str(tmp_path / "results.parquet"))
    assert len(lines) == 6

    results = pd.read_parquet(tmp_path / "results.parquet")
    assert list(results.columns) == ["index", "review", "label", "probability", "reason"]
    assert list(results["index"]) == list(range(6))
    assert list(results["review"]) == list(table["text"])
    np.testing.assert_allclose(results["probability"][:5], test_split["probability"][:5],
                               rtol=0, atol=1e-5)
    assert list(results["label"][:5]) == [label_of(p) for p in test_split["probability"][:5]]
    assert results.loc[5, "label"] == "skipped" and results.loc[5, "reason"] == "empty review"
    assert np.isnan(results.loc[5, "probability"])


def test_the_whole_test_split_from_parquet_matches_the_evaluate_stage(
        in_project: Project, test_split: pd.DataFrame, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # Small batches: reviews are regrouped by length and must come back in input order.
    printed(capsys, "--file", "data/raw/test.parquet", "--batch-size", "16",
            "--output", str(tmp_path / "results.csv"))
    results = pd.read_csv(tmp_path / "results.csv")
    assert len(results) == len(test_split)
    np.testing.assert_allclose(results["probability"], test_split["probability"],
                               rtol=0, atol=1e-5)
    predicted = pd.read_parquet(in_project.path / "data" / "evaluate" / "predictions.parquet")
    assert list(results["label"] == "positive") == list(predicted["predicted"] == 1)


def test_awkward_reviews_are_classified_each_as_if_alone(
        in_project: Project, test_split: pd.DataFrame,
        capsys: pytest.CaptureFixture[str]) -> None:
    long_review = " ".join(test_split["text"].tolist() * 20)[:100_000]
    reviews = [*AWKWARD_REVIEWS, long_review, "   "]
    rows = [json.loads(line) for line in printed(capsys, "--json", *reviews)]
    assert [row["index"] for row in rows] == list(range(len(reviews)))
    assert rows[-1]["label"] == "skipped" and rows[-1]["probability"] is None

    probabilities = [row["probability"] for row in rows[:-1]]
    assert all(0 <= p <= 1 for p in probabilities)
    model = predict.ExportedModel(in_project.path / "data" / "export")
    alone = [model([review])[0] for review in reviews[:-1]]
    np.testing.assert_allclose(probabilities, alone, rtol=0, atol=1e-5)

    # Excerpts stay on one short line, without markup or control characters.
    assert rows[0]["excerpt"].startswith("A wonderful film. The cast is brilliant")
    assert all(len(row["excerpt"]) <= predict.EXCERPT_WIDTH for row in rows)
    assert all(row["excerpt"].isprintable() for row in rows)


def test_the_threshold_comes_from_params_yaml_else_one_half(
        exported: Project, test_split: pd.DataFrame, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Two reviews whose probabilities have the widest gap between neighbours.
    ordered = test_split.sort_values("probability", ignore_index=True)
    below = int(np.argmax(np.diff(ordered["probability"])))
    pair = ordered.iloc[[below, below + 1]]
    midway = float(pair["probability"].mean())
    args = ("--model", str(exported.path / "data" / "export"), *pair["text"])

    def labels(*extra: str) -> list[str]:
        return [line.split()[-2] for line in printed(capsys, *extra, *args)]

    params = yaml.safe_load((exported.path / "params.yaml").read_text(encoding="utf-8"))
    params["evaluate"]["threshold"] = midway
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert labels() == ["negative", "positive"]
    assert labels("--threshold", "0") == ["positive", "positive"]

    (tmp_path / "params.yaml").unlink()
    assert labels() == [label_of(p) for p in pair["probability"]]


def test_a_missing_or_corrupt_model_says_to_run_dvc_repro_export(
        in_project: Project, tmp_path: Path) -> None:
    with pytest.raises(StageError, match=r"no exported model in .*nowhere.*dvc repro export"):
        predict.main(["--model", str(tmp_path / "nowhere"), "A wonderful film."])

    export = in_project.path / "data" / "export"
    for broken, damage in (("graph", "saved_model.pb"), ("weights", "variables")):
        copy = tmp_path / broken
        shutil.copytree(export, copy)
        for file in [copy / damage, *(copy / damage).glob("*")]:
            if file.is_file():
                file.write_bytes(b"not what TensorFlow wrote")
        with pytest.raises(StageError, match=r"cannot load the exported model .*dvc repro export"):
            predict.main(["--model", str(copy), "A wonderful film."])


def test_a_missing_column_names_the_available_ones(in_project: Project, tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    pd.DataFrame({"id": [1], "review_text": ["Great."]}).to_csv(path, index=False)
    with pytest.raises(StageError, match=r"no column 'text'; its columns are: id, review_text"):
        predict.main(["--file", str(path)])


@pytest.mark.parametrize("name, content, message", [
    ("missing.csv", None, r"missing.csv does not exist"),
    ("broken.parquet", b"PAR1 this is not a Parquet file", r"cannot read .*broken.parquet as"
                                                            r" Parquet"),
    ("latin1.csv", "text\nun film épatant\n".encode("latin-1"), r"cannot read .*latin1.csv as"
                                                                 r" CSV"),
    ("folder.csv", "folder", r"cannot read .*folder.csv"),
    ("reviews.txt", b"text\nGreat.\n", r"cannot tell the format of .*reviews.txt"),
    ("header-only.csv", b"text\n", r"header-only.csv holds no reviews"),
])
def test_unreadable_files_are_named_with_the_reason(in_project: Project, tmp_path: Path,
                                                    name: str, content: bytes | str | None,
                                                    message: str) -> None:
    path = tmp_path / name
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(StageError, match=message):
        predict.main(["--file", str(path)])


@pytest.mark.parametrize("args, message", [
    ([], r"no reviews given"),
    (["-", "-"], r"`-` .* only once"),
    (["--file", "data/raw/test.parquet", "Great."], r"not both"),
    (["--output", "results.json", "Great."], r"cannot tell the format of results.json"),
    (["--output", "no/such/folder/results.csv", "Great."], r"no/such/folder is not a folder"),
])
def test_bad_arguments_stop_before_any_work(in_project: Project, args: list[str],
                                            message: str) -> None:
    with pytest.raises(StageError, match=message):
        predict.main(["--model", "no-model-here", *args])


def test_nothing_to_classify_exits_non_zero(in_project: Project,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    with pytest.raises(SystemExit) as stopped:
        run_stage(lambda: predict.main(["-"]))
    assert stopped.value.code == 1

    # Only blank reviews: each reported, then a failure.
    with pytest.raises(SystemExit) as stopped:
        run_stage(lambda: predict.main(["", "  "]))
    assert stopped.value.code == 1
    rows = capsys.readouterr().out.splitlines()
    assert [row.split()[1] for row in rows] == ["skipped", "skipped"]


def test_long_reviews_are_batched_apart_and_every_review_once() -> None:
    lengths = [50, 100_000, 30, 70, 60, 40, 2_000, 55, 65]
    batches = predict.plan_batches(lengths, batch_size=3, max_characters=5_000)
    order = [position for batch in batches for position in batch]
    assert sorted(order) == list(range(len(lengths)))
    assert [lengths[p] for p in order] == sorted(lengths)
    assert [1] in batches
    assert all(len(batch) <= 3 for batch in batches)
    assert all(len(batch) * max(lengths[p] for p in batch) <= 5_000
               for batch in batches if len(batch) > 1)
