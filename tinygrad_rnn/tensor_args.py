"""The checks of the arguments Tensor's methods and the library's functions take, in torch's words and error types.

None of them needs the Tensor class: each takes Python values, numpy arrays (or, to compare dtypes, two
operands' .dtype) and returns the argument normalised (a dim made non-negative, a shape as a tuple of ints,
numpy's axis=/keepdims= read as torch's dim=/keepdim=) or raises the error torch raises for it, naming the
function, the argument, what was expected and what was given. tensor.py, tape.py and creation.py import
them; this module imports numpy alone.
"""
import numpy as np


# ----------------------------------------------------------------------------- flags
def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")


def _check_flag(fn, name, value):
    """A bool argument: a string such as "no" (truthy) or 0/1 is refused, as torch does."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{fn}: {name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def _check_requires_grad(fn, value):
    """requires_grad as a bool: a string "False" (truthy) or 0/1 is refused, as torch does."""
    return _check_flag(fn, "requires_grad", value)


# ----------------------------------------------------------------------------- dims
def _axis(axis, ndim):
    """Normalise an axis (or tuple of axes) to non-negative ints, refusing out-of-range ones."""
    if axis is None:
        return None
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, (bool, np.bool_)):
            raise TypeError(f"dim must be an int (or a tuple of ints), got {type(a).__name__} {a!r}")
        if not -ndim <= a < ndim:
            raise _dim_out_of_range(a, ndim)
    return tuple(int(a) % ndim for a in axes) if isinstance(axis, (tuple, list)) else int(axis) % ndim


def _dim_out_of_range(dim, ndim, fn=None):
    """torch's error for a dim outside [-ndim, ndim) (a 0-d tensor takes 0 and -1): an IndexError, as torch's."""
    lo, hi = (-ndim, ndim - 1) if ndim else (-1, 0)
    where = f"{fn}: " if fn else ""
    return IndexError(f"{where}Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})")


def _reduce_axis(dim, ndim):
    """A reduction's dim(s) as _axis gives them; dim=() and a 0-d tensor's dim 0 or -1 mean 'all' (None),
    as torch."""
    if isinstance(dim, (tuple, list)) and not dim:  # torch: an empty dim list reduces over all dims
        return None
    if ndim == 0 and dim is not None:
        for d in (dim if isinstance(dim, (tuple, list)) else (dim,)):
            if not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d not in (0, -1):
                raise _dim_out_of_range(d, 0)
        return None
    return _axis(tuple(dim) if isinstance(dim, list) else dim, ndim)


def _reduced_count(shape, axes):
    """How many elements each output of a reduction over `axes` (None: all) combines."""
    axes = range(len(shape)) if axes is None else (axes if isinstance(axes, tuple) else (axes,))
    return int(np.prod([shape[a] for a in axes]))


def _dim_args(fn, dim, keepdim, axis, keepdims):
    """torch's dim=/keepdim= and numpy's axis=/keepdims= name the same two arguments: take either spelling,
    refuse both at once (which one was meant would be a guess)."""
    if axis is not None:
        if isinstance(axis, (tuple, list)) and not axis:
            raise TypeError(f"{fn}: axis=() reduces no axis in numpy, but dim=() reduces all of them in torch; "
                            "pass dim=() or dim=None to reduce all, or skip the reduction")
        if dim is not None:
            raise TypeError(f"{fn}: got dim={dim!r} and axis={axis!r}, torch's and numpy's names of one argument; "
                            "pass one")
        dim = axis
    if keepdims is not None:
        if keepdim is not None:
            raise TypeError(f"{fn}: got keepdim={keepdim!r} and keepdims={keepdims!r}, torch's and numpy's names of "
                            "one argument; pass one")
        keepdim = keepdims
    if keepdim is not None and not isinstance(keepdim, (bool, np.bool_)):  # keepdim="False" is truthy
        raise TypeError(f"{fn}: keepdim must be True or False, got {type(keepdim).__name__} {keepdim!r}")
    return dim, bool(keepdim)


def _one_dim(fn, dim, axis, default):
    """The one dim of split/chunk/unbind/softmax/cat/stack, as dim= or axis=; `default` if neither."""
    dim, _ = _dim_args(fn, dim, None, axis, None)
    return default if dim is None else _int_dim(fn, dim)


def _int_dim(fn, dim, name="dim"):
    """Where torch takes one dim, a tuple is refused by name (it failed deep inside, or, in softmax, was taken
    as several dims, which torch does not have)."""
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{fn}: {name} must be an int, got {type(dim).__name__} {dim!r}")
    return dim


def _one_int_dim(fn, dim, ndim):
    """A dim argument that must be one int (a float, bool or tuple is refused by name), normalised; a 0-d
    tensor takes 0 or -1, as torch."""
    if not _is_int(dim):
        raise TypeError(f"{fn}: dim must be an int, got {type(dim).__name__} {dim!r}")
    if ndim == 0:
        if dim not in (0, -1):
            raise _dim_out_of_range(dim, 0, fn)
        return 0
    if not -ndim <= dim < ndim:
        raise _dim_out_of_range(dim, ndim, fn)
    return int(dim) % ndim


def _sizes_multiply_to(sizes, n):
    """Whether `sizes` (at most one -1, which takes what is left) multiply up to n, as unflatten asks."""
    known = int(np.prod([k for k in sizes if k != -1]))
    if -1 not in sizes:
        return known == n
    return list(sizes).count(-1) == 1 and known > 0 and n % known == 0


def _softmax_default(fn, dim, axis, ndim):
    """The dim of x.softmax() without one: -1 up to 2-D, where torch's implicit choice (F.softmax) agrees.
    Beyond, torch's method requires dim and F's implicit choice is dim 0 or 1, so neither is guessed."""
    if dim is None and axis is None and ndim > 2:
        raise TypeError(f"{fn}: pass dim= for a {ndim}-D tensor (torch's x.{fn}() requires it; its implicit "
                        f"choice in F.{fn} would be dim {0 if ndim == 3 else 1}, not the last)")
    return -1


# ----------------------------------------------------------------------------- shapes, sizes and indices
def _args_or_keyword(fn, args, name, value):
    """torch takes sizes or dims positionally or as one keyword (x.permute(dims=(1, 0)), zeros(size=(2,)))."""
    if value is None:
        return args
    if args:
        raise TypeError(f"{fn}: give {name} positionally or as {name}=, not both (got {args} and {value!r})")
    return (value,)


def _shape_args(fn, shape, size=None):
    shape = _args_or_keyword(fn, shape, "size", size)
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    for n in shape:
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
            raise TypeError(f"{fn}: sizes must be non-negative ints, got {shape!r}")
    return tuple(int(n) for n in shape)


def _broadcasts_to(shape, target):
    """Whether an operand of `shape` broadcasts to `target` without changing it (x += y keeps x's shape)."""
    if shape == target:
        return True
    return len(shape) <= len(target) and all(n == 1 or n == m for n, m in zip(reversed(shape), reversed(target)))


def _is_int(i):
    return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))


def _ints_first(index):
    """numpy and torch order x[1, :, idx] differently: numpy counts the int as an advanced index, and since a
    slice separates it from idx, puts idx's dimension first; torch applies ints first, as basic indexing, so
    the result is x[1][:, idx]. For an index with both ints and arrays, returns (the ints, the rest), applied
    one after the other; else None."""
    if not isinstance(index, tuple) or not any(_is_int(i) for i in index):
        return None
    if not any(isinstance(i, np.ndarray) for i in index):
        return None
    first = []
    for i in index:
        if _is_int(i) or i is Ellipsis:
            first.append(i)
        elif isinstance(i, np.ndarray) and i.dtype == bool:
            first.extend([slice(None)] * max(i.ndim, 1))
        elif i is not None:
            first.append(slice(None))
    return tuple(first), tuple(i for i in index if not _is_int(i))


def _int_tuple(fn, name, value):
    """roll's shifts or dims, an int or a sequence of ints, as a tuple of ints."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    for v in values:
        if not _is_int(v):
            raise TypeError(f"{fn}(): argument '{name}' must be an int or a tuple of ints, got {type(v).__name__} "
                            f"{v!r} (as torch)")
    return tuple(int(v) for v in values)


# ----------------------------------------------------------------------------- backward, var, to, matrix products
def _refuse_create_graph(fn, create_graph):
    raise ValueError(f"{fn}: create_graph must be False (higher-order gradients are not supported: the "
                     f"backward pass is not recorded on the tape), got {create_graph!r}")


def _legacy_unbiased(flag, others):
    """x.var(True): torch's overload var(unbiased) over all elements; with any other argument torch refuses
    a bool first argument (it is not a dim), so it is refused here too."""
    if any(v is not None for v in others):
        raise TypeError(f"var/std: a bool first argument is torch's legacy unbiased (x.var({bool(flag)})), which "
                        "takes no other argument; write x.var(dim, unbiased=..., keepdim=...) or correction=")
    return bool(flag)


def _given_once(name, keyword, positional):
    if keyword is not None:
        raise TypeError(f"to: {name} given twice, as {positional!r} and {name}={keyword!r}")
    return positional


class DTypeNotImplementedError(TypeError, NotImplementedError):
    """A function of floats given an integer or bool tensor, which torch refuses with a NotImplementedError ("not
    implemented for 'Long'": softmax, F.leaky_relu...) or a RuntimeError (mean, var, norm: "could not infer output
    dtype"): a TypeError, as the library's other dtype checks, and a NotImplementedError, which is a RuntimeError,
    so torch code's `except` of either catches it."""


class ArgumentValueError(ValueError, RuntimeError):
    """A value out of its range or choices where torch raises a RuntimeError (multinomial's probabilities and
    num_samples, label_smoothing outside [0, 1], one_hot's class values, init's a > b or std < 0, pad_sequence's
    padding_side): a ValueError, as the library's other range checks, and torch's RuntimeError."""


class _ProductDTypeError(TypeError, RuntimeError):
    """Matrix product operands of two dtypes: torch raises a RuntimeError, the library a TypeError for a dtype mix
    (tensor.py's module docstring): `except` of either catches this."""


def _check_product_dtypes(fn, a, b):
    """matmul's, mm's and bmm's operands must have one dtype, as torch's (an int64 or a mask is not read as numbers
    there, as it is in +)."""
    if a.dtype != b.dtype:
        raise _ProductDTypeError(f"{fn}: expected m1 and m2 to have the same dtype, but got: {a.dtype} != {b.dtype} "
                                 "(as torch: nothing is upcast silently, convert one with .astype())")


def _dims_list(name, dims):
    """movedim's source or destination as a list: one int or a sequence of ints (a float, bool... refused)."""
    items = [dims] if _is_int(dims) else dims
    if not isinstance(items, (tuple, list)) or not all(_is_int(d) for d in items):
        raise TypeError(f"movedim(): argument '{name}' must be an int or a tuple of ints, got {type(dims).__name__} "
                        f"{dims!r}")
    return [int(d) for d in items]


def _moved_dims(ndim, source, destination):
    """movedim's permutation: dim source[k] goes to place destination[k], the others fill the remaining places in
    their order. torch's checks, in its order: two ints or two sequences, as many of each, dims in range (a 0-d
    tensor's only dim is 0 or -1), no dim twice."""
    if _is_int(source) != _is_int(destination):
        raise TypeError(f"movedim(): source and destination must be two ints or two sequences of ints (as torch), got "
                        f"{type(source).__name__} {source!r} and {type(destination).__name__} {destination!r}")
    src, dst = _dims_list("source", source), _dims_list("destination", destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) should contain the same "
                           f"number of dims as destination ({dst} dims)")
    wrap = max(ndim, 1)
    for d in src + dst:
        if not -wrap <= d < wrap:
            raise _dim_out_of_range(d, ndim, "movedim")
    for name, given in (("source", src), ("destination", dst)):
        if len({d % wrap for d in given}) != len(given):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({given})")
    placed = dict(zip((d % wrap for d in dst), (d % wrap for d in src)))
    others = iter(d for d in range(ndim) if d not in placed.values())
    return [placed[i] if i in placed else next(others) for i in range(ndim)]


# ----------------------------------------------------------------------------- devices
_type_of = type   # (device's argument is named type, as torch's)
# torch 2.13's device types (its RuntimeError lists them): a name among these is a device, only "cpu" is one here
_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia",
                 "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


class device:
    """torch.device: `device("cpu")`, `device("cpu", 0)`, `device("cpu:0")` or a device; .type, .index, torch's
    str and repr, equality and hash. Any of torch's device types can be named (device("cuda") as torch code
    writes it), but only the CPU's tensors exist: a factory or .to() given another device refuses it."""

    def __init__(self, type: "str | device", index: "int | None" = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device(): type must be a str such as 'cpu' or a device, got {_type_of(type).__name__}")
        name, _, number = type.partition(":")
        if name not in _DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of device string: "
                               f"{type}")
        if number:
            if not number.isdigit() or index is not None:
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(number)
        if index is not None and (not _is_int(index) or index < 0):
            raise RuntimeError(f"Device index must be a non-negative int, got {index!r}")
        self.type, self.index = name, None if index is None else int(index)

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


def refuse_device_index(index):
    """A bare int as a device: torch reads it as an accelerator's index (x.to(0), zeros(2, device=0)), and on a
    CPU-only build refuses it with these RuntimeErrors; so does tinygrad_rnn, which runs on the CPU only."""
    if index < 0:
        raise RuntimeError(f"Device index must not be negative, got {index} (as torch)")
    raise RuntimeError(f"Cannot access accelerator device when none is available: device {index} names an "
                       "accelerator's index (as torch reads it); tinygrad_rnn runs on the CPU only, device='cpu'")


def check_device(fn, value):
    """A factory's device=: None, "cpu", "cpu:N", device("cpu") (or torch's own device of type cpu, by duck typing).
    Another device is a ValueError (tinygrad_rnn runs on the CPU only), an int (an accelerator's index) torch's
    RuntimeError (refuse_device_index), a value that names none torch's TypeError."""
    if value is None:
        return
    if isinstance(value, str) or isinstance(value, device):
        name = device(value).type
    elif _type_of(value).__name__ == "device" and isinstance(getattr(value, "type", None), str):
        name = value.type   # torch.device
    elif _is_int(value):
        refuse_device_index(value)
    else:
        raise TypeError(f"{fn}(): argument 'device' must be a device or a str such as 'cpu', got "
                        f"{_type_of(value).__name__}")
    if name != "cpu":
        raise ValueError(f"{fn}(): device must be 'cpu' (tinygrad_rnn runs on the CPU only), got {value!r}")
