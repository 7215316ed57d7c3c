"""Module and Parameter, and the simple layers: Linear, Embedding, Dropout.

A Module finds its parameters and children by looking at its attributes (as torch.nn does), so a
user's cell is a class with a few Parameters and a forward: nothing to register by hand.
"""
import numpy as np

from .. import random
from ..tensor import DEFAULT_DTYPE, FLOAT_DTYPES, Tensor
from . import functional as F


class Parameter(Tensor):
    """A Tensor that requires grad and that a Module reports in parameters()."""

    def __init__(self, data, dtype=None):
        super().__init__(data, requires_grad=True, dtype=dtype)

    def __repr__(self):
        return "Parameter(" + super().__repr__()[len("Tensor("):]


def check_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def uniform(shape, bound, dtype):
    """U(-bound, bound) from the library's generator (tr.manual_seed makes it reproducible)."""
    return Parameter(random.generator().uniform(-bound, bound, size=shape).astype(dtype))


def _is_module_list(value):
    """Whether a list or tuple attribute holds children: only when every item is a Module."""
    return bool(value) and all(isinstance(v, Module) for v in value)


class Module:
    training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- discovery: attributes that are Parameters, Modules, or lists/tuples of Modules.
    # zero_grad() walks them every training step, so each module keeps the names of its attributes
    # that may hold any (set by __setattr__) and the walk never scans plain settings. A list or
    # tuple is looked into at walk time, so appending a Module to a registered list is seen.
    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        holders = self.__dict__.get("_holders")
        if holders is None:
            holders = {}
            object.__setattr__(self, "_holders", holders)
        if isinstance(value, (Parameter, Module, list, tuple)):
            holders[name] = None  # a dict as an ordered set: attribute order, as vars() has it
        elif name in holders:
            del holders[name]

    def __delattr__(self, name):
        object.__delattr__(self, name)
        self.__dict__.get("_holders", {}).pop(name, None)

    def _members(self):
        """(own parameters, children) as lists of (name, value), in attribute order."""
        params, children = [], []
        attrs = self.__dict__
        for name in attrs.get("_holders", ()):
            value = attrs[name]
            if isinstance(value, Parameter):
                params.append((name, value))
            elif isinstance(value, Module):
                children.append((name, value))
            elif _is_module_list(value):
                children.extend((f"{name}.{i}", v) for i, v in enumerate(value))
        return params, children

    def named_children(self):
        return iter(self._members()[1])

    def children(self):
        return [m for _, m in self._members()[1]]

    def named_parameters(self, prefix=""):
        """(dotted name, Parameter) for this module's parameters, then each child's; each Parameter once."""
        found = []
        self._collect_parameters(prefix, found, set())
        return iter(found)

    def _collect_parameters(self, prefix, found, seen):
        params, children = self._members()
        for name, p in params:
            if id(p) not in seen:
                seen.add(id(p))
                found.append((prefix + name, p))
        for name, child in children:
            child._collect_parameters(prefix + name + ".", found, seen)

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def modules(self):
        yield self
        for child in self.children():
            yield from child.modules()

    def zero_grad(self):
        """Set every parameter's .grad to None. Once per training step, so it walks the registered
        attributes directly instead of building named_parameters' list (a parameter shared by two
        modules is visited twice, which is harmless here)."""
        attrs = self.__dict__
        for name in attrs.get("_holders", ()):
            value = attrs[name]
            if isinstance(value, Parameter):
                value.grad = None
            elif isinstance(value, Module):
                value.zero_grad()
            elif _is_module_list(value):
                for child in value:
                    child.zero_grad()

    def train(self, mode=True):
        for m in self.modules():
            m.training = mode
        return self

    def eval(self):
        return self.train(False)

    # -- state
    def state_dict(self):
        """name -> a copy of the parameter's array (a checkpoint must not change under training)."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state, strict=True):
        """Copy arrays into the parameters in place (optimisers keep their references).

        Checks names (all of them if strict), shapes and dtypes, and reports every difference at
        once. Accepts anything array-like as values (torch tensors converted with .numpy())."""
        own = dict(self.named_parameters())
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {unexpected}")
        arrays = {}
        for name in sorted(set(own) & set(state)):
            value = state[name]
            value = value.numpy() if hasattr(value, "numpy") and not isinstance(value, np.ndarray) else value
            value = np.asarray(value)
            p = own[name]
            if value.shape != p.shape:
                problems.append(f"{name}: shape expected {p.shape}, got {value.shape}")
            elif value.dtype != p.dtype:
                problems.append(f"{name}: dtype expected {p.dtype}, got {value.dtype}")
            else:
                arrays[name] = value
        if problems:
            raise ValueError(f"load_state_dict for {type(self).__name__} failed: " + "; ".join(problems))
        for name, value in arrays.items():
            own[name].data[...] = value
            own[name].bump_version()
        return {"missing_keys": missing, "unexpected_keys": unexpected}

    def __repr__(self):
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}({extra}\n" + "\n".join(lines) + "\n)"

    def extra_repr(self):
        return ""


class Sequential(Module):
    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class Linear(Module):
    """y = x W^T + b, W (out_features, in_features); torch's initialisation U(-1/sqrt(in), 1/sqrt(in))."""

    def __init__(self, in_features, out_features, bias=True, dtype=DEFAULT_DTYPE):
        dtype = check_dtype(dtype)
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / np.sqrt(in_features) if in_features > 0 else 0.0
        self.weight = uniform((out_features, in_features), bound, dtype)
        self.bias = uniform((out_features,), bound, dtype) if bias else None

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"Linear: input must be a Tensor, got {type(x).__name__}")
        if x.shape[-1:] != (self.in_features,):
            raise ValueError(f"Linear: input.shape[-1] must equal in_features: expected {self.in_features}, "
                             f"got {x.shape[-1] if x.ndim else 'a scalar'}")
        if x.dtype != self.weight.dtype:
            raise TypeError(f"Linear: input dtype {x.dtype} does not match the parameters' {self.weight.dtype}")
        y = x @ self.weight.T
        return y + self.bias if self.bias is not None else y

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """Rows of a (num_embeddings, embedding_dim) table picked by integer ids; initialised N(0, 1) as torch.
    padding_idx (as torch): that row starts at zero and gets no gradient, so it stays what it is set to."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, *, dtype=DEFAULT_DTYPE):
        dtype = check_dtype(dtype)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = F._padding_index(padding_idx, num_embeddings)
        self.weight = Parameter(random.generator().standard_normal((num_embeddings, embedding_dim)).astype(dtype))
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, indices):
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}" + (
            f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


class Dropout(Module):
    def __init__(self, p=0.5):
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training, random.generator())

    def extra_repr(self):
        return f"p={self.p}"
