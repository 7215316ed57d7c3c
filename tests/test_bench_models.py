"""The end-to-end benchmark cases (bench/models.py) train the same model in every library: the same
losses over the first steps (forward, backward, clipping and Adam all agree), so their times compare
like with like."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import models  # noqa: E402

TINY = models.Model(vocab=7, embed=3, hidden=5, layers=2, steps=6, batch=4)


def losses(library, n=3):
    weights, ids, targets = models.make_inputs(TINY, seed=3)
    try:
        runner = models.LIBRARIES[library](TINY, weights, ids, targets)
    except ImportError:
        pytest.skip(f"{library} not installed")
    return [runner.step() for _ in range(n)]


@pytest.mark.parametrize("library", ["tinygrad_rnn", "jax"])
def test_libraries_train_the_same_model_as_torch(library):
    want = losses("torch")
    got = losses(library)
    assert want[0] != want[-1]                      # the steps do change the weights
    np.testing.assert_allclose(got, want, rtol=1e-4)
