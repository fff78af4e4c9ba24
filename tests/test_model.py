"""The reference network, built from params."""

import dataclasses

import numpy as np

from stages.model import build_model
from stages.params import TrainParams


def test_reference_model_has_the_seed_labs_parameter_count() -> None:
    model = build_model(7635, TrainParams())
    assert model.count_params() == 526_017
    bilstms = [layer for layer in model.layers if layer.name.startswith("bilstm")]
    assert [layer.forward_layer.units for layer in bilstms] == [32, 16]
    assert bilstms[0].forward_layer.return_sequences
    assert not bilstms[1].forward_layer.return_sequences


def test_one_bilstm_per_entry_of_lstm_units() -> None:
    params = dataclasses.replace(TrainParams(), lstm_units=(8, 8, 4), embedding_dim=16,
                                 dense_units=8)
    model = build_model(100, params)
    assert sum(layer.name.startswith("bilstm") for layer in model.layers) == 3
    probabilities = model.predict(np.ones((3, 11), dtype=np.int32), verbose=0)
    assert probabilities.shape == (3, 1)
    assert np.all((probabilities > 0) & (probabilities < 1))
