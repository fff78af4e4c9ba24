"""params.yaml is validated in one place, with messages that name key, value and rule."""

from pathlib import Path

import pytest
import yaml

from stages.params import ParamsError, load_params, parse_params

ROOT = Path(__file__).resolve().parents[1]


def project_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


def with_value(section: str, key: str, value: object) -> dict:
    raw = project_params()
    raw[section][key] = value
    return raw


def test_project_params_are_valid_and_typed() -> None:
    params = load_params(ROOT / "params.yaml")
    assert params.vocab.size == 7635
    assert params.train.lstm_units == (32, 16)
    assert params.tokenize.padding == "pre" and params.tokenize.truncating == "post"
    assert isinstance(params.train.learning_rate, float)


def test_integers_are_accepted_where_numbers_are_expected() -> None:
    params = parse_params(with_value("train", "learning_rate", 1))
    assert params.train.learning_rate == 1.0 and isinstance(params.train.learning_rate, float)


@pytest.mark.parametrize(("section", "key", "value", "expected"), [
    ("tokenize", "max_length", -5, "tokenize.max_length = -5 is not allowed: expected a value"),
    ("tokenize", "padding", "middle",
     "tokenize.padding = 'middle' is not allowed: expected 'pre' or 'post'"),
    ("tokenize", "validation_fraction", 1.0, "tokenize.validation_fraction = 1.0"),
    ("tokenize", "validation_fraction", 0, "tokenize.validation_fraction = 0"),
    ("vocab", "size", 2, "vocab.size = 2 is not allowed"),
    ("vocab", "lowercase", "yes",
     "vocab.lowercase = 'yes' is not allowed: expected true or false"),
    ("train", "epochs", 0, "train.epochs = 0 is not allowed"),
    ("train", "epochs", 2.5, "train.epochs = 2.5 is not allowed: expected an integer"),
    ("train", "epochs", True, "train.epochs = True is not allowed: expected an integer"),
    ("train", "lstm_units", [], "train.lstm_units = [] is not allowed"),
    ("train", "lstm_units", 32, "train.lstm_units = 32 is not allowed: expected a list"),
    ("train", "batching", "sorted", "train.batching = 'sorted' is not allowed"),
    ("evaluate", "threshold", 1.5, "evaluate.threshold = 1.5 is not allowed"),
])
def test_bad_values_name_key_value_and_rule(section: str, key: str, value: object,
                                            expected: str) -> None:
    with pytest.raises(ParamsError) as error:
        parse_params(with_value(section, key, value))
    assert expected in str(error.value)
    assert "\n" not in str(error.value)


def test_unknown_keys_are_rejected_with_the_allowed_ones() -> None:
    raw = with_value("train", "epoch", 3)
    with pytest.raises(ParamsError, match=r"train\.epoch is not a known parameter.*train\.epochs"):
        parse_params(raw)
    raw = project_params() | {"trian": {}}
    with pytest.raises(ParamsError, match="trian is not a known parameter"):
        parse_params(raw)


def test_missing_keys_take_documented_defaults() -> None:
    params = parse_params({"train": {"epochs": 2}})
    assert params.train.epochs == 2
    assert params.train.batch_size == 256
    assert params.download.train_split == "train"
