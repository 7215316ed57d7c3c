"""The end-to-end benchmark cases (bench/models.py) train the same model in every library: the same
losses over the first steps (forward, backward, clipping and Adam all agree), so their times compare
like with like. Each library runs in a child process, as in the benchmark (JAX's threads in this
process would make a later fork() unsafe)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO as ROOT

CHILD = """
import json, sys
from bench import models
tiny = models.Model(vocab=7, embed=3, hidden=5, layers=2, steps=6, batch=4)
weights, ids, targets = models.make_inputs(tiny, seed=3)
try:
    runner = models.LIBRARIES[sys.argv[1]](tiny, weights, ids, targets)
except ImportError:
    print(json.dumps(None)); sys.exit()
print(json.dumps([runner.step() for _ in range(3)]))
"""


def losses(library):
    env = dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", CHILD, library], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=600).stdout
    result = json.loads(out.strip().splitlines()[-1])
    if result is None:
        pytest.skip(f"{library} not installed")
    return result


@pytest.mark.parametrize("library", ["tinygrad_rnn", "jax"])
def test_libraries_train_the_same_model_as_torch(library):
    want = losses("torch")
    got = losses(library)
    assert want[0] != want[-1]                      # the steps do change the weights
    np.testing.assert_allclose(got, want, rtol=1e-4)
