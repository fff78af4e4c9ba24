"""Typed, validated view of `params.yaml`.

Every stage reads its settings through `load_params()`, which checks the whole file before any
work starts: an unknown key, a value of the wrong type or one out of range raises `ParamsError`
with a one-line message naming the key, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

PARAMS_FILE = Path("params.yaml")

# The ids that every vocabulary reserves; padding fills with PAD_ID.
PAD_TOKEN, UNK_TOKEN = "[PAD]", "[UNK]"
PAD_ID = 0
RESERVED_TOKENS = (PAD_TOKEN, UNK_TOKEN)

Side = Literal["pre", "post"]
Batching = Literal["fixed", "bucket"]
Strategy = Literal["default", "mirrored", "multi_worker"]


class ParamsError(ValueError):
    """A value in params.yaml that the pipeline cannot use."""


def _bounds(low: float | None = None, high: float | None = None, *, open_low: bool = False,
            open_high: bool = False) -> dict[str, Any]:
    """Field metadata that `_check_range` enforces."""
    return {"low": low, "high": high, "open_low": open_low, "open_high": open_high}


@dataclass(frozen=True)
class DownloadParams:
    """Which tfds splits of imdb_reviews become the raw train and test tables."""

    train_split: str = "train"
    test_split: str = "test"


@dataclass(frozen=True)
class VocabParams:
    """How the WordPiece vocabulary is learned, or which existing one is used."""

    size: int = field(default=7635, metadata=_bounds(len(RESERVED_TOKENS) + 1))
    lowercase: bool = True
    file: str | None = None


@dataclass(frozen=True)
class TokenizeParams:
    """How reviews become fixed-length token ids, and how validation is held out."""

    max_length: int | None = field(default=None, metadata=_bounds(1))
    padding: Side = "pre"
    truncating: Side = "post"
    validation_fraction: float = field(
        default=0.1, metadata=_bounds(0, 1, open_low=True, open_high=True))
    seed: int = 42


@dataclass(frozen=True)
class TrainParams:
    """The network's shape and how it is fitted."""

    embedding_dim: int = field(default=64, metadata=_bounds(1))
    lstm_units: tuple[int, ...] = (32, 16)
    dense_units: int = field(default=64, metadata=_bounds(1))
    dropout: float = field(default=0.5, metadata=_bounds(0, 1, open_high=True))
    learning_rate: float = field(default=0.0005, metadata=_bounds(0, open_low=True))
    clipnorm: float | None = field(default=1.0, metadata=_bounds(0, open_low=True))
    epochs: int = field(default=20, metadata=_bounds(1))
    batch_size: int = field(default=256, metadata=_bounds(1))
    shuffle_buffer: int = field(default=10000, metadata=_bounds(1))
    seed: int = 42
    batching: Batching = "bucket"
    mask_padding: bool = True
    early_stopping_patience: int = field(default=3, metadata=_bounds(0))
    reduce_lr_patience: int = field(default=1, metadata=_bounds(0))
    strategy: Strategy = "default"

    def __post_init__(self) -> None:
        if not self.lstm_units or any(units < 1 for units in self.lstm_units):
            raise ParamsError(
                f"train.lstm_units = {list(self.lstm_units)!r} is not allowed: "
                "expected a non-empty list of positive integers, e.g. [32, 16]")


@dataclass(frozen=True)
class EvaluateParams:
    """How test-split probabilities become hard labels."""

    threshold: float = field(default=0.5, metadata=_bounds(0, 1, open_low=True, open_high=True))


@dataclass(frozen=True)
class Params:
    """All sections of params.yaml."""

    download: DownloadParams
    vocab: VocabParams
    tokenize: TokenizeParams
    train: TrainParams
    evaluate: EvaluateParams


def load_params(path: Path = PARAMS_FILE) -> Params:
    """Read and validate every section of the params file."""
    try:
        with path.open(encoding="utf-8") as stream:
            raw = yaml.safe_load(stream)
    except FileNotFoundError:
        raise ParamsError(f"{path} not found: run the stage from the project root") from None
    except yaml.YAMLError as error:
        raise ParamsError(f"{path} is not valid YAML: {error}") from None
    return parse_params(raw or {})


def parse_params(raw: Any) -> Params:
    """Build `Params` from the parsed YAML mapping, rejecting anything unusable."""
    if not isinstance(raw, dict):
        raise ParamsError("params.yaml must be a mapping of sections")
    sections = {f.name: f.type for f in dataclasses.fields(Params)}
    hints = typing.get_type_hints(Params)
    _reject_unknown("", raw, sections)
    return Params(**{name: _parse_section(name, hints[name], raw.get(name) or {})
                     for name in sections})


def _parse_section(name: str, cls: type, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise ParamsError(f"{name} = {raw!r} is not allowed: expected a mapping of keys")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _reject_unknown(f"{name}.", raw, fields)
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in raw.items():
        values[key] = _coerce(f"{name}.{key}", value, hints[key])
        _check_range(f"{name}.{key}", values[key], fields[key].metadata)
    return cls(**values)


def _reject_unknown(prefix: str, raw: dict[str, Any], known: typing.Iterable[str]) -> None:
    unknown = sorted(set(raw) - set(known))
    if unknown:
        key = f"{prefix}{unknown[0]}"
        raise ParamsError(f"{key} is not a known parameter: allowed keys are "
                          + ", ".join(f"{prefix}{k}" for k in known))


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Return `value` as type `hint`, or raise ParamsError saying what was expected."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [arg for arg in args if arg is not type(None)]
        return _coerce(key, value, inner)
    if origin is Literal:
        if value in args:
            return value
        allowed = " or ".join(repr(arg) for arg in args)
        raise ParamsError(f"{key} = {value!r} is not allowed: expected {allowed}")
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ParamsError(f"{key} = {value!r} is not allowed: expected a list")
        return tuple(_coerce(key, item, args[0]) for item in value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is bool and not isinstance(value, bool):
        raise ParamsError(f"{key} = {value!r} is not allowed: expected true or false")
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        expected = {int: "an integer", float: "a number", str: "a string"}[hint]
        raise ParamsError(f"{key} = {value!r} is not allowed: expected {expected}")
    return value


def _check_range(key: str, value: Any, bounds: typing.Mapping[str, Any]) -> None:
    if not bounds or value is None:
        return
    low, high = bounds["low"], bounds["high"]
    too_low = low is not None and (value <= low if bounds["open_low"] else value < low)
    too_high = high is not None and (value >= high if bounds["open_high"] else value > high)
    if too_low or too_high:
        left = "(" if bounds["open_low"] else "["
        right = ")" if bounds["open_high"] else "]"
        span = f"{left}{'' if low is None else low}, {'' if high is None else high}{right}"
        if high is None:
            span = f"{'>' if bounds['open_low'] else '>='} {low}"
        raise ParamsError(f"{key} = {value!r} is not allowed: expected a value {span}")
