"""torch 2.13's ModuleInfo database (torch.testing._internal.common_modules.module_db) run side by side with tr.nn:
for every module class both have (but the recurrent ones: nn/test_recurrent_module_db_vs_torch.py and
bench/rnn_suite_probe.py), its samples (float32 and float64, training and eval; at most SAMPLES per mode,
spread over the list, to stay fast), its error samples and a call by torch's forward keywords go through
bench/module_suite_probe.py's comparisons (outputs' values, shapes and dtypes, gradients of the sum of the outputs
w.r.t. the inputs and parameters, buffers after the forward, state_dict keys, the error type torch's test expects).
Needs torch and expecttest (torch's test internals import it). The one finding left is not here's to fix: an
NLLLoss error sample whose weight is float16, a dtype this library does not have ("unclear")."""
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")
pytestmark = pytest.mark.filterwarnings("ignore")

from bench.module_suite_probe import findings, module_infos  # noqa: E402  (after the skips: it reads torch's tests)
from bench.rnn_suite_probe import MODULES as RECURRENT  # noqa: E402

SAMPLES = 3
# TransformerEncoder's samples construct it from torch's own layer object, which the probe does not rebuild as ours:
# tests/nn/test_transformer_vs_torch.py holds it against torch instead
NOT_HERE = set(RECURRENT) | {"TransformerEncoder"}
INFOS = [info for info in module_infos(torch)[0] if info.module_cls.__name__ not in NOT_HERE]
UNCLEAR = {"NLLLoss"}   # a float16 weight in its error samples


@pytest.mark.parametrize("info", INFOS, ids=[info.module_cls.__name__ for info in INFOS])
def test_module_db_samples_as_torch(info):
    for dtype in ("float32", "float64"):
        found, checked = findings(torch, info, dtype, SAMPLES)
        assert checked > 0
        if info.module_cls.__name__ in UNCLEAR:
            found = [(cls, what) for cls, what in found if cls != "unclear"]
        assert found == [], "\n".join(f"{cls}: {what}" for cls, what in found)
