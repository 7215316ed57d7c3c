"""Session 21's audit of tr.Tensor against torch 2.13: each test runs the same call in both libraries
(lib = tr, lib = torch) and compares values, dtypes, gradients and, for bad input, the error's type.
Skipped without torch."""
import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def outcome(call):
    """(the result as a numpy array, its dtype's name) or the type of the exception call() raised."""
    try:
        out = call()
    except Exception as e:  # noqa: BLE001 - the type is the outcome compared
        return type(e)
    arr = out.detach().numpy() if hasattr(out, "detach") else np.asarray(out)
    return arr, str(out.dtype).replace("torch.", "")


def same_outcome(call):
    ours, theirs = outcome(lambda: call(tr)), outcome(lambda: call(torch))
    if isinstance(theirs, type):
        assert ours is theirs, f"torch raised {theirs.__name__}, tinygrad_rnn {ours}"
    else:
        assert not isinstance(ours, type), f"torch returned {theirs}, tinygrad_rnn raised {ours.__name__}"
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
        assert ours[1] == theirs[1]


# ----------------------------------------------------------------------------- a dim out of range
DIM_CALLS = {
    "sum": lambda lib, x, d: x.sum(d), "mean": lambda lib, x, d: x.mean(d), "prod": lambda lib, x, d: x.prod(d),
    "amax": lambda lib, x, d: x.amax(d), "max": lambda lib, x, d: x.max(d)[0], "argmax": lambda lib, x, d: x.argmax(d),
    "var": lambda lib, x, d: x.var(d), "std": lambda lib, x, d: x.std(d), "norm": lambda lib, x, d: x.norm(dim=d),
    "logsumexp": lambda lib, x, d: x.logsumexp(d), "any": lambda lib, x, d: (x > 0).any(d),
    "softmax": lambda lib, x, d: x.softmax(d), "log_softmax": lambda lib, x, d: x.log_softmax(d),
    "cumsum": lambda lib, x, d: x.cumsum(d), "sort": lambda lib, x, d: x.sort(d)[0],
    "argsort": lambda lib, x, d: x.argsort(d), "topk": lambda lib, x, d: x.topk(1, d)[0],
    "cat": lambda lib, x, d: lib.cat([x, x], d), "stack": lambda lib, x, d: lib.stack([x, x], d + 1),
    "squeeze": lambda lib, x, d: x.squeeze(d), "unsqueeze": lambda lib, x, d: x.unsqueeze(d + 1),
    "transpose": lambda lib, x, d: x.transpose(0, d), "permute": lambda lib, x, d: x.permute(d, 0),
    "flatten": lambda lib, x, d: x.flatten(0, d), "flip": lambda lib, x, d: x.flip(d),
    "split": lambda lib, x, d: x.split(1, d)[0], "chunk": lambda lib, x, d: x.chunk(2, d)[0],
    "unbind": lambda lib, x, d: x.unbind(d)[0], "size": lambda lib, x, d: np.asarray(x.size(d)),
    "gather": lambda lib, x, d: x.gather(d, lib.tensor([[0]])),
    "scatter": lambda lib, x, d: x.scatter(d, lib.tensor([[0]]), 1.0),
}


@pytest.mark.parametrize("name", sorted(DIM_CALLS))
@pytest.mark.parametrize("d", [2, -3, 5, 1, -2])
def test_a_dim_out_of_range_is_an_index_error_as_torch(name, d):
    """torch raises IndexError ("Dimension out of range") for a dim outside [-ndim, ndim); here it was a
    ValueError. In-range dims (1, -2) must give torch's values."""
    same_outcome(lambda lib: DIM_CALLS[name](lib, lib.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]]), d))


def test_a_zero_dim_tensor_takes_dims_0_and_minus_1_only():
    for d in (0, -1, 1, -2):
        same_outcome(lambda lib, d=d: lib.tensor(2.0).sum(d))
        same_outcome(lambda lib, d=d: lib.tensor(2.0).unsqueeze(d))


@pytest.mark.parametrize("dims", [(0, 0), (0,), (0, 1, 2), (1, 0)])
def test_permute_refuses_what_torch_refuses_with_its_type(dims):
    same_outcome(lambda lib: lib.tensor([[1.0, 2.0, 3.0]]).permute(*dims))
