"""device= as torch 2.13's factories take it, on the CPU (the only device here): "cpu", "cpu:0", tr.device("cpu")
and torch.device("cpu") everywhere torch's factories take device= (the tensor is made as without it), another
device a ValueError naming the factory (torch's CPU build fails there too), a name that is no device torch's
RuntimeError, a float torch's TypeError; tr.device as torch.device (type, index, str, repr, equality); x.device,
x.cpu(), x.to("cpu") consistent. main had no device= on the factories, no tr.device and no x.device."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def factories(m):
    x = m.ones(2, 3)
    return {
        "tensor": lambda **kw: m.tensor([1.0, 2.0], **kw), "zeros": lambda **kw: m.zeros(2, 3, **kw),
        "ones": lambda **kw: m.ones(2, **kw), "full": lambda **kw: m.full((2,), 1.5, **kw),
        "empty": lambda **kw: m.empty(2, **kw), "arange": lambda **kw: m.arange(3, **kw),
        "linspace": lambda **kw: m.linspace(0, 1, 3, **kw), "logspace": lambda **kw: m.logspace(0, 1, 3, **kw),
        "eye": lambda **kw: m.eye(2, **kw), "randn": lambda **kw: m.randn(2, **kw),
        "rand": lambda **kw: m.rand(2, **kw),
        "randint": lambda **kw: m.randint(0, 3, (2,), **kw), "randperm": lambda **kw: m.randperm(3, **kw),
        "zeros_like": lambda **kw: m.zeros_like(x, **kw), "ones_like": lambda **kw: m.ones_like(x, **kw),
        "full_like": lambda **kw: m.full_like(x, 2.0, **kw), "empty_like": lambda **kw: m.empty_like(x, **kw),
        "randn_like": lambda **kw: m.randn_like(x, **kw), "rand_like": lambda **kw: m.rand_like(x, **kw),
        "randint_like": lambda **kw: m.randint_like(x, 3, **kw), "normal": lambda **kw: m.normal(0.0, 1.0, (2,), **kw),
        "new_zeros": lambda **kw: x.new_zeros((2,), **kw), "new_ones": lambda **kw: x.new_ones((2,), **kw),
        "new_full": lambda **kw: x.new_full((2,), 1.0, **kw), "new_tensor": lambda **kw: x.new_tensor([1.0], **kw),
    }


NAMES = list(factories(torch))
CPUS = ["cpu", "cpu:0", "tr.device", "torch.device"]


def as_device(spec, m):
    return {"tr.device": lambda: m.device("cpu"), "torch.device": lambda: torch.device("cpu")}.get(spec, lambda: spec)()


@pytest.mark.parametrize("cpu", CPUS)
@pytest.mark.parametrize("name", NAMES)
def test_every_factory_takes_the_cpu_as_torchs(name, cpu):
    theirs = factories(torch)[name](device=as_device(cpu, torch))
    ours = factories(tr)[name](device=as_device(cpu, tr))
    assert (ours.shape, str(ours.dtype), str(ours.device)) == (tuple(theirs.shape), str(theirs.dtype).removeprefix(
        "torch."), str(theirs.device))
    assert ours.device == tr.device("cpu")


@pytest.mark.parametrize("name", NAMES)
def test_other_devices_are_refused_naming_the_factory(name):
    make = factories(tr)[name]
    for other in ("cuda", "cuda:1", tr.device("mps"), torch.device("cuda")):
        with pytest.raises(ValueError, match=rf"{name}\(\): device must be 'cpu'"):
            make(device=other)
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):   # torch's error and words
        make(device="gpu")
    with pytest.raises(TypeError):   # torch's TypeError for a value that names no device
        make(device=1.5)


def test_device_is_torchs():
    for args in [("cpu",), ("cpu", 0), ("cpu:1",), ("cuda",), ("cuda", 2), ("mps:0",)]:
        ours, theirs = tr.device(*args), torch.device(*args)
        assert (str(ours), repr(ours), ours.type, ours.index) == (str(theirs), repr(theirs), theirs.type, theirs.index)
    assert tr.device("cpu") == tr.device(tr.device("cpu")) and tr.device("cpu") != tr.device("cpu", 0)
    assert hash(tr.device("cpu")) == hash(tr.device("cpu"))
    for bad, error in [("foo", RuntimeError), ("cpu:x", RuntimeError), (3.0, TypeError)]:
        for m in (tr, torch):
            with pytest.raises(error):
                m.device(bad)


def test_a_tensors_device_cpu_and_to_agree():
    for m in (tr, torch):
        x = m.ones(2, requires_grad=True)
        assert str(x.device) == "cpu" and repr(x.device) == "device(type='cpu')" and x.is_cpu and not x.is_cuda
        assert x.cpu() is x and x.to("cpu") is x and x.to(m.device("cpu")) is x and x.to(device=x.device) is x
        assert (x * 2).device == x.device == m.device("cpu")
    np.testing.assert_array_equal(tr.ones(2).to(tr.device("cpu"), tr.float64).data, np.ones(2))


@pytest.mark.parametrize("index", [0, 1, -1])
def test_an_int_device_is_an_accelerator_index_as_torch_reads_it(index):
    """torch reads x.to(0), device=0 as an accelerator's index, and its CPU build refuses them with a RuntimeError
    (a negative index another); main read x.to(0) as a dtype (TypeError) and device=0 as a ValueError."""
    calls = [lambda m: m.ones(2).to(index), lambda m: m.ones(2).to(index, m.float64),
             lambda m: m.ones(2).to(device=index), lambda m: m.zeros(2, device=index),
             lambda m: m.nn.Linear(2, 2, device=index), lambda m: m.nn.Linear(2, 2).to(index),
             lambda m: m.ones(2).new_zeros((2,), device=index)]
    for call in calls:
        raises_as_torch(lambda c=call: c(torch), lambda c=call: c(tr), "index must not be negative" if index < 0 else
                        "Cannot access accelerator device")

