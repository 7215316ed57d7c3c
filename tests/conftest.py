import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# "ci": bounded examples so `make test` stays within minutes on 2 cores; no deadline, because a
# Numba kernel's first call compiles. "thorough": the same tests searching harder.
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
