"""A Tensor's in-place writes: x += y (-=, *=, /=, //=, %=), zero_, fill_, clamp_, scatter_, scatter_add_, the last
step of x[i] += y, the random fills (normal_, uniform_, exponential_, bernoulli_), and the version counter they
move.

The Tensor class (tensor.py) inherits these methods from InPlaceWrites, so `x.zero_()` is an ordinary method of
x; they live here because a first reading of the engine can skip them. An in-place write takes one of two roads:

  * Unrecorded (under no_grad(), or when no gradient is involved): the tensor's memory is written, as torch
    writes its storage, so its views (x[0], x.T, x.detach()) see the new values. The version of the leaf whose
    memory that is goes up (bump_version; views.py says which leaf): a graph recorded before the write that
    read the leaf refuses backward (tape.py checks the versions) rather than compute with the new values. A
    computed tensor (y = a * 2) has no version a node records; its write is noted on the nodes that made its
    memory instead (tape.py, _note_computed_write).
  * Recorded (grad mode on, a gradient involved): the tensor gets a new array, the result of the out-of-place
    operation, and becomes that result on the tape; graphs that read the old array keep reading it intact.
    What torch would do differently here (write a viewed tensor too) is refused, not approximated.

Where this module sits: tensor.py imports it to define the Tensor class, so this module does not import tensor.py
when it is loaded. It names the class as tape.py does: `tape.Tensor`, which tensor.py sets once, right after
defining it (set_tensor_class). Two helpers it shares with tensor.py's other methods (_fill_value with full(),
_index with x[i]) are imported from tensor.py when a method runs. tests/engine/test_layering.py holds it to that.
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from . import primitives as P
from . import random, tape
from .tape import _grad_mode, _note_computed_write, apply, carry_version, no_grad
from .tensor_args import DTypeNotImplementedError, _broadcasts_to, _check_flag
from .views import _VIEW_PRIMS, _check_writable, _is_view, _live_views_of, _memory_leaf, _same_elements

if TYPE_CHECKING:   # (for the annotations only: tensor.py is built on this module)
    from .tensor import Tensor


class InPlaceWrites:
    """The in-place methods of the Tensor class, which inherits them (see the module docstring)."""

    # -- the in-place operators: x op= y writes x itself, as torch's
    def __iadd__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._update(P.Add, o, "+=")
    def __isub__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._update(P.Sub, o, "-=")
    def __imul__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._update(P.Mul, o, "*=")
    def __itruediv__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._update(P.Div, o, "/=")
    def __ifloordiv__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._update(P.FloorDivide, o, "//=")
    def __imod__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._update(P.Remainder, o, "%=")

    def _update(self, prim, other, symbol):
        """x += y (-=, *=, /=, //=, %=): as in torch the tensor itself changes, so `p -= lr * p.grad` under
        no_grad() updates the model's parameter (Python's fallback, p = p - ..., would silently rebind a local
        name). The result is x's operator's, and must keep x's dtype and shape, as torch's (an int64 x += 1.5
        is refused, not truncated). See _in_place for what happens on the tape."""
        _check_no_partial_overlap(self, other, symbol)
        if self._updates_own_memory(prim, other):   # p -= lr * g under no_grad: no temporary array
            ufunc, operand = _IN_PLACE_UFUNCS[prim], _array(other)
            return self._write_own_memory(lambda a: ufunc(a, operand, out=a), symbol)
        return self._in_place(symbol, lambda: self._updated(prim, other, symbol), other)

    def _updated(self, prim, other, symbol):
        """x op= y's new value: x op y, except with y a float Tensor of the other float dtype (which x op y refuses:
        nothing is upcast silently) that torch promotes to: as torch, computed in float64 and cast back to x's
        dtype, so x keeps its dtype (a 0-d y beside a dimensioned x takes x's dtype instead, as in x op y)."""
        if (isinstance(other, tape.Tensor) and self._data.dtype.kind == "f" and other._data.dtype.kind == "f"
                and other._data.dtype != self._data.dtype and (other.ndim > 0 or self.ndim == 0)):
            wide = np.dtype(np.float64)
            return self.astype(wide)._binary(prim, other.astype(wide), symbol).astype(self.dtype)
        return self._binary(prim, other, symbol)

    # -- torch's in-place methods
    def zero_(self) -> Tensor:
        """Every element set to zero, in place."""
        if self._unrecorded_leaf():
            return self._write_own_memory(lambda a: a.fill(0), "zero_")
        return self._in_place("zero_", lambda: self._filled(0))

    def fill_(self, value: float | Tensor) -> Tensor:
        """Every element set to value (an int64 tensor truncates a float value toward zero, as torch)."""
        from .tensor import _fill_value  # (imported here: tensor.py is built on this module)
        if isinstance(value, tape.Tensor) and value.ndim != 0:   # (else _fill_value's TypeError, naming full())
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                               "dimensions.")
        if self._unrecorded_leaf() and not (isinstance(value, tape.Tensor) and value._requires_grad
                                            and _grad_mode.enabled):
            number = np.array(_fill_value(value, "fill_", "value")).astype(self.dtype)   # cast as _filled's
            return self._write_own_memory(lambda a: a.fill(number), "fill_")
        return self._in_place("fill_", lambda: self._filled(value), value)

    def _filled(self, value):
        """The tensor fill_(value) makes of this one. Recorded (_in_place runs this with grad mode on only then), it
        is where(True, value, self), as torch records fill_: this tensor's gradient is zero, a 0-d value Tensor's
        the sum of the result's, and the result requires grad if either does."""
        from .tensor import _fill_value  # (imported here: tensor.py is built on this module)
        number = _fill_value(value, "fill_", "value")
        if not _grad_mode.enabled:
            return tape.Tensor._make(np.full(self.shape, number).astype(self.dtype), False)
        if not isinstance(value, tape.Tensor):
            value = tape.Tensor._make(np.array(number).astype(self.dtype), False)
        elif value.dtype != self.dtype:
            value = value.astype(self.dtype)
        return apply(P.Where, value, self, tape.Tensor._make(np.array(True), False))

    def clamp_(self, min: float | None = None, max: float | None = None) -> Tensor:
        """clamp in place: each element below min set to min, above max to max."""
        bounds = [b for b in (min, max) if b is not None]
        if (self._data.dtype.kind == "f" and bounds and all(type(b) is float or type(b) is int for b in bounds)
                and self._unrecorded_leaf()):
            return self._write_own_memory(lambda a: _clip_into(a, min, max), "clamp_")
        return self._in_place("clamp_", lambda: self.clamp(min, max))

    clip_ = clamp_

    def scatter_(self, dim: int, index: Tensor, src: Tensor | float | None = None, *, value: float | None = None,
                 reduce: str | None = None) -> Tensor:
        """scatter in place, as torch's (refused on a tensor that requires grad under grad mode)."""
        _check_no_partial_overlap(self, src, "scatter_", identical_ok=False)
        return self._in_place("scatter_", lambda: self.scatter(dim, index, src, value=value, reduce=reduce), src)

    def scatter_add_(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        """scatter_add in place, as torch's (refused on a tensor that requires grad under grad mode)."""
        _check_no_partial_overlap(self, src, "scatter_add_", identical_ok=False)
        return self._in_place("scatter_add_", lambda: self.scatter_add(dim, index, src), src)

    def scatter_reduce_(self, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                        include_self: bool = True) -> Tensor:
        """scatter_reduce in place, as torch's (refused on a leaf that requires grad under grad mode)."""
        _check_no_partial_overlap(self, src, "scatter_reduce_", identical_ok=False)
        return self._in_place("scatter_reduce_", lambda: self.scatter_reduce(dim, index, src, reduce,
                                                                             include_self=include_self), src)

    def index_reduce_(self, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                      include_self: bool = True) -> Tensor:
        """index_reduce in place, as torch's."""
        _check_no_partial_overlap(self, source, "index_reduce_", identical_ok=False)
        return self._in_place("index_reduce_", lambda: self.index_reduce(dim, index, source, reduce,
                                                                         include_self=include_self), source)

    def put_(self, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
        """put in place, as torch's."""
        _check_no_partial_overlap(self, source, "put_", identical_ok=False)
        return self._in_place("put_", lambda: self.put(index, source, accumulate), source)

    # -- torch's in-place view methods: the tensor takes another shape (and strides) over the same memory
    def squeeze_(self, dim: int | Sequence[int] | None = None) -> Tensor:
        return self._view_in_place("squeeze_", lambda: self.squeeze(dim))

    def unsqueeze_(self, dim: int) -> Tensor:
        return self._view_in_place("unsqueeze_", lambda: self.unsqueeze(dim))

    def transpose_(self, dim0: int, dim1: int) -> Tensor:
        return self._view_in_place("transpose_", lambda: self.transpose(dim0, dim1))

    def swapdims_(self, dim0: int, dim1: int) -> Tensor:
        return self.transpose_(dim0, dim1)

    def swapaxes_(self, axis0: int, axis1: int) -> Tensor:
        return self.transpose_(axis0, axis1)

    def t_(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self._view_in_place("t_", self.t)

    def as_strided_(self, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None) -> Tensor:
        """In place: as_strided's view, read-only as as_strided's is here (a write after it is refused)."""
        return self._view_in_place("as_strided_", lambda: self.as_strided(size, stride, storage_offset))

    def _view_in_place(self, fn, make):
        """This tensor becomes make()'s view of its own memory, as torch's in-place view methods (x.t_(),
        x.unsqueeze_(0)): the values stay, the version goes up (a graph that saved them refuses its backward, as
        torch's counter makes it), views taken before keep their own shapes. Recorded (grad mode on, this tensor
        requiring grad), it becomes make()'s result on the tape; a leaf that requires grad is refused, as torch
        refuses every in-place operation on one. A computed tensor that requires grad, under no_grad(), is refused
        too: its node's gradient would have the old shape (torch's backward fails on it later)."""
        recorded = _grad_mode.enabled and self.requires_grad
        if _grad_mode.enabled and self._no_grad_view:
            raise RuntimeError(_NO_GRAD_VIEW_WRITE)
        if recorded:
            node = self._node
            if node is None:
                raise RuntimeError(f"a leaf Variable that requires grad is being used in an in-place operation "
                                   f"({fn}), as torch refuses it: update parameters inside `with tr.no_grad():`")
            if any(kept and self._slot in kept for kept in (node.retained, node.hooks)):
                raise RuntimeError(f"{fn} on a tensor with retain_grad() or a hook registered: write the "
                                   "out-of-place form, so that each shape has its own gradient")
        elif self._node is not None:
            raise RuntimeError(f"{fn} under no_grad() on a tensor computed with grad: its recorded operation would "
                               "give a gradient of the old shape; take the out-of-place view instead")
        version = self._version
        if _memory_leaf(self) is None:   # as _write: a computed tensor's memory has no version a node records
            _note_computed_write(self)
        self.bump_version()
        viewed = self._viewed
        if recorded:
            new = make()
        else:
            with no_grad():
                new = make()
        self._viewed = viewed   # (make() marks a leaf as viewed; it is this tensor itself, not a view of it)
        _check_view_of_own_memory(self, new, fn)
        self._data = new._data
        if recorded:
            self._node, self._slot, self._requires_grad = new._node, new._slot, new.requires_grad
            carry_version(self._node, version + 1)
        return self

    def __setitem__(self, index: Any, value: float | Tensor) -> None:
        """x[index] = value, torch's index_put_ (`p.data[h:2 * h] = 1.0`, `x[mask] = 0`, `out[t] = h`): value, a number
        or a Tensor broadcasting to x[index]'s shape (converted to x's dtype, as copy_ converts), written into x on
        copy_'s roads: into x's memory off the tape (a leaf, or under no_grad()), recorded as torch records it
        otherwise (x becomes the written tensor on the tape; value gets the gradient of what it wrote, x's old
        value the rest). It is also the last step of `x[i] += y`, where Python assigns x[i]'s result back to x[i]:
        the same elements, already written, so nothing is done."""
        from .tensor import _checked_index  # (imported here: tensor.py is built on this module)
        index = _checked_index(self, index, "x[index] = value")
        if isinstance(value, tape.Tensor) and P.is_basic_index(index):
            target = P.GetItem.forward(self._data, index)[0]
            if _same_elements(value._data, target):
                return
        value = _assigned_value(self, index, value)
        if self._unrecorded_leaf() and not (value._requires_grad and _grad_mode.enabled):
            self._write_own_memory(lambda a: a.__setitem__(index, _converted(value._data, a.dtype)), "index_put_")
            return
        self._in_place("index_put_", lambda: self._index_put(index, value), value)

    # -- torch's in-place arithmetic methods: the operators' road (x.mul_(y) is x *= y), or for a function of x alone
    # its out-of-place result written by _in_place; versions, views and refusals as for x += y
    def add_(self, other: Tensor | npt.ArrayLike, *, alpha: float = 1) -> Tensor:
        """x += alpha * other, as torch's add_ (an EMA's `p.mul_(0.99).add_(q, alpha=0.01)` under no_grad())."""
        return self._update(P.Add, other if alpha == 1 else _scaled(other, alpha), "+=")

    def sub_(self, other: Tensor | npt.ArrayLike, *, alpha: float = 1) -> Tensor:
        """x -= alpha * other, as torch's sub_."""
        return self._update(P.Sub, other if alpha == 1 or _is_mask(other) else _scaled(other, alpha), "-=")

    def mul_(self, other: Tensor | npt.ArrayLike) -> Tensor: return self._update(P.Mul, other, "*=")

    def div_(self, other: Tensor | npt.ArrayLike, *, rounding_mode: str | None = None) -> Tensor:
        """x /= other, or with rounding_mode ("trunc", "floor") the rounded quotient, as torch's div_."""
        if rounding_mode is None:
            return self._update(P.Div, other, "/=")
        _check_no_partial_overlap(self, other, "div_")
        return self._in_place("div_", lambda: self.div(other, rounding_mode=rounding_mode), other)

    def pow_(self, exponent: float | Tensor) -> Tensor:
        """x ** exponent in place, as torch's pow_ (int64 keeps int exponents only)."""
        _check_no_partial_overlap(self, exponent, "pow_")
        return self._in_place("pow_", lambda: self ** exponent, exponent)

    def neg_(self) -> Tensor: return self._in_place("neg_", lambda: -self)
    def abs_(self) -> Tensor: return self._in_place("abs_", self.abs)
    def exp_(self) -> Tensor: return self._in_place("exp_", self.exp)
    def log_(self) -> Tensor: return self._in_place("log_", self.log)
    def sqrt_(self) -> Tensor: return self._in_place("sqrt_", self.sqrt)
    def tanh_(self) -> Tensor: return self._in_place("tanh_", self.tanh)
    def sigmoid_(self) -> Tensor: return self._in_place("sigmoid_", self.sigmoid)
    def relu_(self) -> Tensor: return self._in_place("relu_", self.relu)
    def sin_(self) -> Tensor: return self._in_place("sin_", self.sin)
    def cos_(self) -> Tensor: return self._in_place("cos_", self.cos)
    def tan_(self) -> Tensor: return self._in_place("tan_", self.tan)
    def asin_(self) -> Tensor: return self._in_place("asin_", self.asin)
    def acos_(self) -> Tensor: return self._in_place("acos_", self.acos)
    def atan_(self) -> Tensor: return self._in_place("atan_", self.atan)
    def sinh_(self) -> Tensor: return self._in_place("sinh_", self.sinh)
    def asinh_(self) -> Tensor: return self._in_place("asinh_", self.asinh)
    def acosh_(self) -> Tensor: return self._in_place("acosh_", self.acosh)
    def atanh_(self) -> Tensor: return self._in_place("atanh_", self.atanh)
    def cosh_(self) -> Tensor: return self._in_place("cosh_", self.cosh)
    def floor_(self) -> Tensor: return self._in_place("floor_", self.floor)
    def ceil_(self) -> Tensor: return self._in_place("ceil_", self.ceil)
    def trunc_(self) -> Tensor: return self._in_place("trunc_", self.trunc)
    def fix_(self) -> Tensor: return self._in_place("fix_", self.fix)
    def frac_(self) -> Tensor: return self._in_place("frac_", self.frac)
    def sign_(self) -> Tensor: return self._in_place("sign_", self.sign)
    def sgn_(self) -> Tensor: return self._in_place("sgn_", self.sgn)
    def reciprocal_(self) -> Tensor: return self._in_place("reciprocal_", self.reciprocal)
    def rsqrt_(self) -> Tensor: return self._in_place("rsqrt_", self.rsqrt)
    def square_(self) -> Tensor: return self._in_place("square_", self.square)
    def erf_(self) -> Tensor: return self._in_place("erf_", self.erf)
    def exp2_(self) -> Tensor: return self._in_place("exp2_", self.exp2)
    def expm1_(self) -> Tensor: return self._in_place("expm1_", self.expm1)
    def log1p_(self) -> Tensor: return self._in_place("log1p_", self.log1p)
    def log2_(self) -> Tensor: return self._in_place("log2_", self.log2)
    def log10_(self) -> Tensor: return self._in_place("log10_", self.log10)
    def lgamma_(self) -> Tensor: return self._in_place("lgamma_", self.lgamma)
    def digamma_(self) -> Tensor: return self._in_place("digamma_", self.digamma)
    def erfc_(self) -> Tensor: return self._in_place("erfc_", self.erfc)
    def erfinv_(self) -> Tensor: return self._in_place("erfinv_", self.erfinv)
    def i0_(self) -> Tensor: return self._in_place("i0_", self.i0)
    def sinc_(self) -> Tensor: return self._in_place("sinc_", self.sinc)
    def deg2rad_(self) -> Tensor: return self._in_place("deg2rad_", self.deg2rad)
    def rad2deg_(self) -> Tensor: return self._in_place("rad2deg_", self.rad2deg)

    def polygamma_(self, n: int) -> Tensor:
        """In place: self.polygamma(n)."""
        return self._in_place("polygamma_", lambda: self.polygamma(n))

    def mvlgamma_(self, p: int) -> Tensor:
        """In place: self.mvlgamma(p)."""
        return self._in_place("mvlgamma_", lambda: self.mvlgamma(p))

    def round_(self, *, decimals: int = 0) -> Tensor:
        """In place: self.round(decimals=decimals)."""
        return self._in_place("round_", lambda: self.round(decimals=decimals))

    def logit_(self, eps: float | None = None) -> Tensor:
        """In place: self.logit(eps)."""
        return self._in_place("logit_", lambda: self.logit(eps))

    def nan_to_num_(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        """In place: self.nan_to_num(nan, posinf, neginf)."""
        return self._in_place("nan_to_num_", lambda: self.nan_to_num(nan, posinf, neginf))

    def cumsum_(self, dim: int, *, dtype: npt.DTypeLike | None = None) -> Tensor:
        """In place: self.cumsum(dim); dtype= may only name this tensor's own, as torch's."""
        _check_own_dtype(self, "cumsum_", dtype)
        return self._in_place("cumsum_", lambda: self.cumsum(dim))

    def cumprod_(self, dim: int, *, dtype: npt.DTypeLike | None = None) -> Tensor:
        """In place: self.cumprod(dim); dtype= may only name this tensor's own."""
        _check_own_dtype(self, "cumprod_", dtype)
        return self._in_place("cumprod_", lambda: self.cumprod(dim))

    # -- in place with other tensors: their gradients recorded too
    def _binary_in_place(self, fn, make, *others):
        """make()'s result written into this tensor, others read: refused where one shares part of its memory."""
        for other in others:
            _check_no_partial_overlap(self, other, fn)
        return self._in_place(fn, make, *others)

    def atan2_(self, other: Tensor) -> Tensor:
        return self._binary_in_place("atan2_", lambda: self.atan2(other), other)

    def hypot_(self, other: Tensor) -> Tensor:
        return self._binary_in_place("hypot_", lambda: self.hypot(other), other)

    def xlogy_(self, other: Tensor | float) -> Tensor:
        return self._binary_in_place("xlogy_", lambda: self.xlogy(other), other)

    def fmod_(self, other: Tensor | float) -> Tensor:
        return self._binary_in_place("fmod_", lambda: self.fmod(other), other)

    def remainder_(self, other: Tensor | float) -> Tensor: return self._update(P.Remainder, other, "%=")
    def floor_divide_(self, other: Tensor | float) -> Tensor: return self._update(P.FloorDivide, other, "//=")

    def lerp_(self, end: Tensor, weight: float | Tensor) -> Tensor:
        return self._binary_in_place("lerp_", lambda: self.lerp(end, weight), end, weight)

    def addcmul_(self, tensor1: Tensor, tensor2: Tensor, *, value: float = 1) -> Tensor:
        return self._binary_in_place("addcmul_", lambda: self.addcmul(tensor1, tensor2, value=value), tensor1,
                                     tensor2)

    def addcdiv_(self, tensor1: Tensor, tensor2: Tensor, *, value: float = 1) -> Tensor:
        return self._binary_in_place("addcdiv_", lambda: self.addcdiv(tensor1, tensor2, value=value), tensor1,
                                     tensor2)

    def addmm_(self, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
        return self._binary_in_place("addmm_", lambda: self.addmm(mat1, mat2, beta=beta, alpha=alpha), mat1, mat2)

    def addmv_(self, mat: Tensor, vec: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
        return self._binary_in_place("addmv_", lambda: self.addmv(mat, vec, beta=beta, alpha=alpha), mat, vec)

    def addr_(self, vec1: Tensor, vec2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
        return self._binary_in_place("addr_", lambda: self.addr(vec1, vec2, beta=beta, alpha=alpha), vec1, vec2)

    def baddbmm_(self, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
        return self._binary_in_place("baddbmm_", lambda: self.baddbmm(batch1, batch2, beta=beta, alpha=alpha),
                                     batch1, batch2)

    def addbmm_(self, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
        return self._binary_in_place("addbmm_", lambda: self.addbmm(batch1, batch2, beta=beta, alpha=alpha),
                                     batch1, batch2)

    def copysign_(self, other: Tensor | float) -> Tensor:
        return self._binary_in_place("copysign_", lambda: self.copysign(other), other)

    def float_power_(self, exponent: Tensor | float) -> Tensor:
        """In place: self.float_power(exponent), whose result is float64: a float32 tensor is refused, as torch's."""
        return self._binary_in_place("float_power_", lambda: self.float_power(exponent), exponent)

    def ldexp_(self, other: Tensor) -> Tensor:
        return self._binary_in_place("ldexp_", lambda: self.ldexp(other), other)

    def heaviside_(self, values: Tensor) -> Tensor:
        return self._binary_in_place("heaviside_", lambda: self.heaviside(values), values)

    def igamma_(self, other: Tensor) -> Tensor:
        return self._binary_in_place("igamma_", lambda: self.igamma(other), other)

    def igammac_(self, other: Tensor) -> Tensor:
        return self._binary_in_place("igammac_", lambda: self.igammac(other), other)

    def nextafter_(self, other: Tensor) -> Tensor:
        return self._binary_in_place("nextafter_", lambda: self.nextafter(other), other)

    def gcd_(self, other: Tensor) -> Tensor:
        return self._binary_in_place("gcd_", lambda: self.gcd(other), other)

    def lcm_(self, other: Tensor) -> Tensor:
        return self._binary_in_place("lcm_", lambda: self.lcm(other), other)

    # -- torch's aliases of in-place methods: the same functions under torch's other names
    absolute_, negative_, multiply_, subtract_ = abs_, neg_, mul_, sub_
    divide_ = true_divide_ = div_
    arcsin_, arccos_, arctan_, arctan2_ = asin_, acos_, atan_, atan2_
    arcsinh_, arccosh_, arctanh_ = asinh_, acosh_, atanh_

    def index_fill_(self, dim: int, index: Tensor, value: float | Tensor) -> Tensor:
        """In place: self.index_fill(dim, index, value)."""
        return self._in_place("index_fill_", lambda: self.index_fill(dim, index, value), value)

    def tril_(self, diagonal: int = 0) -> Tensor:
        """In place: self.tril(diagonal), on the in-place rules of the module docstring."""
        return self._in_place("tril_", lambda: self.tril(diagonal))

    def triu_(self, diagonal: int = 0) -> Tensor:
        """In place: self.triu(diagonal)."""
        return self._in_place("triu_", lambda: self.triu(diagonal))

    def masked_fill_(self, mask: Tensor | np.ndarray, value: float | Tensor) -> Tensor:
        """In place: self.masked_fill(mask, value); the mask broadcasts to self (never self to the mask)."""
        return self._in_place("masked_fill_", lambda: self.masked_fill(mask, value), value)

    def index_add_(self, dim: int, index: Tensor, source: Tensor, *, alpha: float = 1) -> Tensor:
        """In place: self.index_add(dim, index, source, alpha=alpha)."""
        return self._in_place("index_add_", lambda: self.index_add(dim, index, source, alpha=alpha), source)

    def index_copy_(self, dim: int, index: Tensor, source: Tensor) -> Tensor:
        """In place: self.index_copy(dim, index, source)."""
        return self._binary_in_place("index_copy_", lambda: self.index_copy(dim, index, source), source)

    # -- the comparisons in place, as torch's: x.lt_(y) writes x < y into x, 1 and 0 in x's dtype (True and False
    # in a mask); recorded, the result's gradient is 0 (torch's zeros_like), as copy_ of a value without one
    def eq_(self, other: Tensor | float) -> Tensor: return self._compare_in_place("eq_", "eq", other)
    def ne_(self, other: Tensor | float) -> Tensor: return self._compare_in_place("ne_", "ne", other)
    def lt_(self, other: Tensor | float) -> Tensor: return self._compare_in_place("lt_", "lt", other)
    def le_(self, other: Tensor | float) -> Tensor: return self._compare_in_place("le_", "le", other)
    def gt_(self, other: Tensor | float) -> Tensor: return self._compare_in_place("gt_", "gt", other)
    def ge_(self, other: Tensor | float) -> Tensor: return self._compare_in_place("ge_", "ge", other)
    not_equal_, less_, less_equal_, greater_, greater_equal_ = ne_, lt_, le_, gt_, ge_   # torch's aliases

    # -- the logical ones in place: torch records nothing for them. The values change and the version bumps, but
    # the tensor keeps its history (a gradient passes through as it did before the write; a graph that saved the
    # old values refuses its backward), and a leaf that requires grad may be written: a write under no_grad()
    def logical_and_(self, other: Tensor) -> Tensor:
        return self._logical_in_place("logical_and_", other, lambda: self.logical_and(other))

    def logical_or_(self, other: Tensor) -> Tensor:
        return self._logical_in_place("logical_or_", other, lambda: self.logical_or(other))

    def logical_xor_(self, other: Tensor) -> Tensor:
        return self._logical_in_place("logical_xor_", other, lambda: self.logical_xor(other))

    def logical_not_(self) -> Tensor:
        return self._logical_in_place("logical_not_", None, self.logical_not)

    def _logical_in_place(self, fn, other, make):
        with no_grad():
            return self._compare_in_place(fn, None, other, make)

    def _compare_in_place(self, fn, op, other, make=None):
        """The mask `self op other` (or make()'s) written into this tensor in its dtype; a mask that broadcasts
        beyond this tensor's shape refused, as torch's."""
        mask = self._compare(other, op) if make is None else make()
        if mask.shape != self.shape:
            raise RuntimeError(f"x.{fn}(): output with shape {tuple(self.shape)} doesn't match the broadcast shape "
                               f"{tuple(mask.shape)}; in place, x must keep its shape (as torch)")
        if isinstance(other, tape.Tensor):
            _check_no_partial_overlap(self, other, fn)
        return self._in_place(fn, lambda: self._copied(mask))

    def clamp_min_(self, min: float | Tensor) -> Tensor:
        if min is None:   # (clamp_() takes None for one side; here it is torch's TypeError)
            raise TypeError("clamp_min_(): min must be a number or a Tensor, got None (as torch)")
        return self.clamp_(min=min)

    def clamp_max_(self, max: float | Tensor) -> Tensor:
        if max is None:
            raise TypeError("clamp_max_(): max must be a number or a Tensor, got None (as torch)")
        return self.clamp_(max=max)

    def copy_(self, src: Tensor | npt.ArrayLike, non_blocking: bool = False) -> Tensor:
        """src's values written into this tensor, as torch's copy_: broadcast to its shape and converted to its dtype
        (a float into int64 truncated toward zero, nonzero into a mask True). Under no_grad() it loads a parameter
        (`p.copy_(t)`); recorded, as torch's, the gradient goes to src (summed to src's shape, in src's dtype) and
        none to the tensor's old value."""
        _check_flag("copy_", "non_blocking", non_blocking)   # (nothing runs asynchronously here)
        value = _copy_source(self, src)
        _check_no_partial_overlap(self, value, "copy_")
        if self._data.dtype.kind != "f":   # an int64 or mask tensor takes src's values, never a gradient
            value = value.detach()
        if self._unrecorded_leaf() and not (value._requires_grad and _grad_mode.enabled):
            return self._write_own_memory(lambda a: np.copyto(a, _converted(value._data, a.dtype)), "copy_")
        return self._in_place("copy_", lambda: self._copied(value), value)

    def _copied(self, value):
        """The tensor copy_(value) makes of this one. Recorded, where(True, value, self) (value in this tensor's
        dtype, a Cast with its gradient), as torch records copy_: value's gradient is the result's, summed back to
        its shape, and this tensor's old value gets zero."""
        if not _grad_mode.enabled:
            out = np.empty(self.shape, self.dtype)
            np.copyto(out, _converted(value._data, self.dtype))
            return tape.Tensor._make(out, False)
        value = value if value.dtype == self.dtype else value.astype(self.dtype)
        return apply(P.Where, value, self, tape.Tensor._make(np.array(True), False))

    # -- random values in place, as torch's: drawn from the library's generator (tr.manual_seed) or generator=
    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: np.random.Generator | None = None) -> Tensor:
        """Samples of N(mean, std^2) in place (a float tensor)."""
        return self._drawn("normal_", lambda dtype: random.normal("normal_", self.shape, dtype, mean, std, generator))

    def uniform_(self, from_: float = 0.0, to: float = 1.0, *, generator: np.random.Generator | None = None) -> Tensor:
        """Samples of U[from_, to) in place (torch's `from`, a Python keyword: pass it by position)."""
        return self._drawn("uniform_",
                           lambda dtype: random.uniform("uniform_", self.shape, dtype, from_, to, generator))

    def exponential_(self, lambd: float = 1.0, *, generator: np.random.Generator | None = None) -> Tensor:
        """Samples of the exponential distribution of rate lambd in place."""
        return self._drawn("exponential_",
                           lambda dtype: random.exponential("exponential_", self.shape, dtype, lambd, generator))

    def cauchy_(self, median: float = 0.0, sigma: float = 1.0, *,
                generator: np.random.Generator | None = None) -> Tensor:
        """Samples of the Cauchy distribution (median, scale sigma) in place."""
        return self._drawn("cauchy_",
                           lambda dtype: random.cauchy("cauchy_", self.shape, dtype, median, sigma, generator))

    def log_normal_(self, mean: float = 1.0, std: float = 2.0, *,
                    generator: np.random.Generator | None = None) -> Tensor:
        """Samples of exp(N(mean, std^2)) in place (torch's defaults: mean 1, std 2)."""
        return self._drawn("log_normal_",
                           lambda dtype: random.log_normal("log_normal_", self.shape, dtype, mean, std, generator))

    def geometric_(self, p: float, *, generator: np.random.Generator | None = None) -> Tensor:
        """Samples of the geometric distribution (trials up to the first success: 1, 2, ...) in place; float and
        int64 tensors, as torch's."""
        if self.dtype == np.bool_:
            raise DTypeNotImplementedError("geometric_: not implemented for a bool tensor (as torch)")
        return self._drawn("geometric_", lambda dtype: random.geometric("geometric_", self.shape, dtype, p, generator),
                           floats_only=False)

    def random_(self, from_: int | None = None, to: int | None = None, *,
                generator: np.random.Generator | None = None) -> Tensor:
        """Integers drawn uniformly in place, as torch's random_: random_(to) in [0, to), random_(from_, to) in
        [from_, to), random_() in [0, 2**24] for float32 (the mantissa's range; 2**53 for float64), [0, 2**63 - 1]
        for int64, [0, 1] for bool. `from` is a Python keyword: pass it by position."""
        if to is None:
            low, high = 0, from_
        else:
            low, high = (0 if from_ is None else from_), to
        if high is None:   # the dtype's own range
            kind = self.dtype.kind
            high = 2 ** (np.finfo(self.dtype).nmant + 1) + 1 if kind == "f" else 2 if kind == "b" else 2 ** 63
        return self._drawn("random_", lambda dtype: random.integers("random_", self.shape, dtype, low, high, generator),
                           floats_only=False)

    def bernoulli_(self, p: float | Tensor = 0.5, *, generator: np.random.Generator | None = None) -> Tensor:
        """1 with probability p (a number, or a Tensor of probabilities broadcasting to this shape), else 0, in
        place; float, int64 and bool tensors, as torch's."""
        if isinstance(p, tape.Tensor):
            if not _broadcasts_to(p.shape, self.shape):
                raise RuntimeError(f"bernoulli_: p of shape {tuple(p.shape)} does not broadcast to the tensor's shape "
                                   f"{tuple(self.shape)}")
            p = p._data
        return self._drawn("bernoulli_", lambda dtype: random.bernoulli("bernoulli_", self.shape, dtype, p, generator),
                           floats_only=False)

    def _drawn(self, fn, draw, floats_only=True):
        """draw(dtype)'s values written into this tensor, on fill_'s roads: a leaf's memory under no_grad(); a
        computed tensor recorded as torch records it (its gradient zero); a leaf that requires grad refused with
        grad mode on."""
        if floats_only and self.dtype.kind != "f":
            raise DTypeNotImplementedError(f"{fn}: random floats into a {self.dtype} tensor are not implemented (as "
                                           "torch)")
        values = draw(self.dtype)
        if self._unrecorded_leaf():
            return self._write_own_memory(lambda a: np.copyto(a, values), fn)
        return self._in_place(fn, lambda: self._copied(tape.Tensor._make(values, False)))

    # -- the two roads: into the tensor's memory (unrecorded), or a new array on the tape (recorded)
    def _in_place(self, fn, make, *others):
        """Write make()'s result into this tensor (_write says where: a leaf's memory, or a new array). With grad
        mode on and a gradient involved it is recorded, as torch records it: this tensor becomes make()'s result
        on the tape (a leaf that requires grad is refused, as torch refuses it); graphs that read its old value
        keep computing with it, where torch would refuse those that saved it. A view taken under no_grad() of a
        tensor that requires grad is refused with grad mode on, in torch's words."""
        if not _grad_mode.enabled:   # (the common case, p -= lr * g under no_grad(): no context to enter)
            return self._write(make(), fn)
        if self._no_grad_view:
            raise RuntimeError(_NO_GRAD_VIEW_WRITE)
        if not (self.requires_grad or any(getattr(o, "requires_grad", False) for o in others)):
            with no_grad():
                return self._write(make(), fn)
        _check_recordable_in_place(self, fn)
        version = self._version
        if _detached_leaf_memory(self):   # p.detach() written: p's memory, through, and p's version moves on
            self._writes_through, self._counter_leaf = True, self._base
        if self._writes_through:
            new = self._write_through(make, fn)
            if self._counter_leaf is not None:
                self._counter_leaf._writes += 1
        else:
            new = make()
            self._write(new, fn, recorded=True)
        self._node, self._slot, self._requires_grad = new._node, new._slot, new.requires_grad
        carry_version(self._node, version + 1)   # the same tensor to torch, written once more
        return self

    def _write(self, new, symbol, recorded=False):
        """Put `new`'s values into this tensor (in-place operators and methods): dtype and shape must stay.

        Unrecorded, the tensor's memory is written, as torch writes its storage: by the tensor, or by a view of it
        (x[0], x.T, and p[1:] of a parameter even when taken with grad mode on); the views see the new values.
        A leaf's version is bumped, so a graph recorded before that read it refuses backward (_check_saved_values)
        rather than compute with the new values. A computed tensor (y = a * 2, y.detach(), a view of y) has no
        version a node records: the write is noted on the nodes that made its memory (_note_computed_write), and a
        backward whose nodes saved those values before the write refuses, as torch's. A recorded write gives the
        tensor a new array, its result on the tape; the graphs that read the old one read it intact (the one just
        recorded reads this very Tensor)."""
        if new.dtype != self.dtype or new.shape != self.shape:
            _refuse_changed_result(self, new, symbol)
        if tape._write_checks:
            _check_write(self, new, symbol)
        if not recorded:
            _check_writable(self._data)
            self._data[...] = new._data
            if _memory_leaf(self) is None:   # a computed tensor's memory: no version a node checks, so note it
                _note_computed_write(self)
            self.bump_version()
            return self
        self._data = new._data
        self._base = None  # a new array: a view no longer (_note_view_bases)
        self._views_computed = False
        return self

    def _write_through(self, make, fn):
        """A recorded write of x.data (`p.data.copy_(w)`, w requiring grad), as torch's: the memory it shares with
        p is written (p sees the new values, and keeps its version and its place off the tape), and the .data
        tensor becomes make()'s result on the tape. The operation reads a copy of the old values, so that what its
        backward saved is not overwritten by the write."""
        memory = self._data
        _check_writable(memory)
        self._data = memory.copy()
        try:
            new = make()
        finally:
            self._data = memory
        if new.dtype != self.dtype or new.shape != self.shape:
            _refuse_changed_result(self, new, fn)
        if tape._write_checks:
            _check_write(self, new, fn)
        memory[...] = new._data
        return new

    # -- the unrecorded write of a leaf's own memory without a temporary array (an optimizer's p -= lr * g)
    def _unrecorded_leaf(self):
        """Whether an in-place write of this tensor goes straight into its memory (_write): a leaf that views
        no computed tensor, off the tape as far as the tensor goes (the caller looks at the operands). With grad
        mode on, a view taken under no_grad() of a tensor that requires grad goes to _in_place, which refuses it."""
        return (self._node is None and not self._views_computed
                and not (_grad_mode.enabled and (self._requires_grad or self._no_grad_view)))

    def _write_own_memory(self, write, symbol):
        """write(array) into this tensor's memory, the values _write would put there, without the temporary
        array of the general path (whose allocation and copy made an update of 1M elements up to 8x slower),
        and the base's version bumped, as _write's. symbol: the operation, for the write hooks."""
        _check_writable(self._data)
        if tape._write_checks:
            _check_write(self, None, symbol)
        write(self._data)
        self.bump_version()
        return self

    def _updates_own_memory(self, prim, other):
        """Whether x += y (-=, *=, /=) is the common unrecorded case numpy computes straight into x's memory,
        with the values _write would put there: a leaf of its own memory (not a computed tensor's: see _write),
        off the tape, and y a Python number or an array or Tensor of x's dtype whose shape is x's trailing
        dims (a bias row); int64 indices with a Python int (+ - *: int64, as torch's). Anything else takes
        _in_place's general path, with its dtype and shape rules and their errors."""
        kind = self._data.dtype.kind
        if prim not in _IN_PLACE_UFUNCS or kind not in "fi" or not self._unrecorded_leaf():
            return False
        if kind == "i":
            return type(other) is int and prim is not P.Div
        if type(other) is float or type(other) is int:
            return True
        if isinstance(other, tape.Tensor):
            if other._requires_grad and _grad_mode.enabled:
                return False
            other = other._data
        elif type(other) is not np.ndarray:
            return False
        return other.dtype == self._data.dtype and _broadcasts_to(other.shape, self._data.shape)

    # -- the version counter
    def bump_version(self) -> None:
        """Say that ._data was changed in place: graphs recorded before now refuse to backpropagate
        through this tensor (their saved values no longer match). Optimizers call it after a step. A view's
        version is that of the leaf whose memory it is (`x[0]`, `p[1:]`: _memory_leaf), which graphs check."""
        leaf = _memory_leaf(self)
        if leaf is None and self._counter_leaf is not None:   # p.detach() since written on the tape: p's counter
            self._counter_leaf._writes += 1
        (self if leaf is None else leaf)._writes += 1

    @property
    def _version(self) -> int:
        """torch's version counter: how many times the tensor's memory was written in place, one count for a
        tensor and the tensors that share its memory (its views, x.detach()), as torch's. A leaf's memory counts
        on the leaf (_writes: what the graphs that read it check); a computed tensor's on the node that made it
        (tape.computed_version: the writes noted there for the backward's check)."""
        leaf = _memory_leaf(self)
        return leaf._writes if leaf is not None else tape.computed_version(self)


# ----------------------------------------------------------------------------- the helpers and checks of the writes
# torch's RuntimeError, in its words
_NO_GRAD_VIEW_WRITE = ("A view was created in no_grad mode and is being modified inplace with grad mode enabled. "
                       "Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your "
                       "code by moving both the view and the inplace either both inside the no_grad block (if you "
                       "don't want the inplace to be tracked) or both outside (if you want the inplace to be tracked).")

# the in-place operators _updates_own_memory computes with numpy into the tensor's memory: their primitives'
# forwards are these ufuncs (a + b, a - b, a * b, a / b)
_IN_PLACE_UFUNCS = {P.Add: np.add, P.Sub: np.subtract, P.Mul: np.multiply, P.Div: np.divide}


def _array(x):
    """A Tensor's array, or x itself (a number or an array)."""
    return x._data if isinstance(x, tape.Tensor) else x


def _scaled(other, alpha):
    """add_'s and sub_'s alpha * other, as add() computes it (tensor.py's _times_alpha)."""
    from .tensor import _times_alpha  # (imported here: tensor.py is built on this module)
    return _times_alpha(other, alpha)


def _is_mask(x):
    """A mask Tensor or a bool: sub_ refuses it (as x -= mask does) before alpha would make it numbers."""
    return isinstance(x, (bool, np.bool_)) or isinstance(x, tape.Tensor) and x._data.dtype == bool


def _copy_source(x, src):
    """copy_'s src as a Tensor that broadcasts to x's shape: a Tensor, a number or an array (which take x's dtype
    in the write); anything else, and a shape that does not broadcast, refused in torch's words."""
    from .tensor import ShapeError  # (imported here: tensor.py is built on this module)
    if not isinstance(src, tape.Tensor):
        arr = np.asarray(src) if isinstance(src, (numbers.Number, np.ndarray, np.generic)) else None
        if arr is None or arr.dtype.kind not in "biuf":
            raise TypeError(f"copy_(): argument 'src' (position 1) must be Tensor, not {type(src).__name__}")
        src = tape.Tensor._make(arr, False)
    if not _broadcasts_to(src.shape, x.shape):
        raise ShapeError(f"copy_: the size of src {tuple(src.shape)} does not broadcast to the tensor's "
                         f"{tuple(x.shape)} (as torch: "
                         "the size of tensor a must match the size of tensor b at a non-singleton dimension)")
    return src


def _assigned_value(x, index, value):
    """x[index] = value's value as a Tensor: a number (a bool too) or a Tensor that broadcasts to x[index]'s shape,
    as torch's index_put_ takes it; anything else (an array, a list) refused in torch's words."""
    from .tensor import ShapeError  # (imported here: tensor.py is built on this module)
    if isinstance(value, (numbers.Number, np.number, np.bool_)):
        return tape.Tensor._make(_converted(np.asarray(value), x.dtype), False)
    if not isinstance(value, tape.Tensor):
        raise TypeError(f"x[index] = value: can't assign a {type(value).__module__}.{type(value).__qualname__} to a "
                        "tensor (as torch): value must be a number or a Tensor (tr.tensor(...) or tr.from_numpy(a))")
    shape = np.empty(x.shape, dtype=bool)[index].shape
    if not _broadcasts_to(value.shape, shape):
        raise ShapeError(f"x[index] = value: shape mismatch: value tensor of shape {list(value.shape)} cannot be "
                         f"broadcast to indexing result of shape {list(shape)} (as torch)")
    return value


def _converted(values, dtype):
    """values in dtype as copy_ converts them, as torch: nonzero (NaN too) is True in a mask, a float into int64 is
    truncated toward zero (numpy's cast)."""
    if dtype == values.dtype:
        return values
    if dtype.kind == "b":
        return values != 0
    with np.errstate(invalid="ignore"):   # (NaN or inf into int64: numpy's and torch's values alike undefined)
        return values.astype(dtype)

def _check_own_dtype(x, fn, dtype):
    """An in-place method's dtype=: None or x's own dtype (torch's RuntimeError for another)."""
    if dtype is not None and np.dtype(dtype) != x.dtype:
        raise RuntimeError(f"x.{fn}(dtype={np.dtype(dtype)}): Bad in-place call: input tensor dtype {x.dtype} and "
                           f"output tensor dtype {np.dtype(dtype)} should match (as torch)")


def _refuse_changed_result(x, new, symbol):
    """An in-place write whose result would change x's dtype or shape: torch's RuntimeError, in its words, naming the
    operator (`x += y`) or method (`x.sqrt_()`) and its out-of-place form."""
    operator = symbol.endswith("=")
    call = f"x {symbol} y" if operator else f"x.{symbol}()"
    fix = f"x = x {symbol[:-1]} y" if operator else f"x = x.{symbol[:-1]}()"
    if new.dtype != x.dtype:
        raise RuntimeError(f"{call}: result type {new.dtype} can't be cast to the desired output type {x.dtype} (as "
                           f"torch; write {fix} for a new tensor)")
    raise RuntimeError(f"{call}: output with shape {tuple(x.shape)} doesn't match the broadcast shape "
                       f"{tuple(new.shape)}; in place, "
                       "x must keep its shape (as torch)")

def _clip_into(a, lo, hi):
    """P.Clip's forward written into `a` (clamp_): the bound where a lies outside, in the same order (lo, then
    hi); a value inside keeps its bits (-0.0) and nan stays nan."""
    if lo is not None:
        np.copyto(a, a.dtype.type(lo), where=a < lo)
    if hi is not None:
        np.copyto(a, a.dtype.type(hi), where=a > hi)


def _check_view_of_own_memory(t, new, fn):
    """An in-place view method's new view: of t's own memory (never a copy), and told to the write hooks."""
    if new._data.size and not np.shares_memory(new._data, t._data):
        raise RuntimeError(f"{fn}: the view would be a copy (an internal error)")
    if tape._write_checks:
        _check_write(t, new, fn)


def _check_write(t, new, symbol):
    """The engine's write hooks (tape._write_checks) told that t takes new's values (new None: written straight
    into t's memory), before anything is written: one of them may refuse (the trace of a compiled cell)."""
    for check in tape._write_checks:
        check(t, new, symbol)


def _check_no_partial_overlap(x, operand, fn, identical_ok=True):
    """An in-place write of x whose operand (a Tensor or an array) shares some of x's memory (x += x.T, x[1:] +=
    x[:-1], x += x[0]) is refused in torch's words: element by element, a write would change values still to be
    read. The same memory read as the same elements (x += x, x *= x.detach()) is allowed, as torch allows it
    (scatter_ refuses that too, as torch's). torch computes in its loop's order where it cannot tell the overlap
    (x += x[:, :1], x += x[0].expand(...)); those are refused here, as numpy's order is not torch's."""
    other = _array(operand)
    if type(other) is not np.ndarray or (other.base is None and x._data.base is None and other is not x._data):
        return   # (two arrays that own their memory share none of it: an optimizer's p -= lr * g stops here)
    if not np.may_share_memory(x._data, other):
        return
    if (identical_ok and _same_elements(other, x._data)) or not np.shares_memory(x._data, other):
        return
    call = f"x {fn} y" if fn.endswith("=") else f"x.{fn}(dim, index, src)"
    raise RuntimeError("unsupported operation: some elements of the input tensor and the written-to tensor refer to a "
                       f"single memory location. Please clone() the tensor before performing the operation ({call}: "
                       "the operand shares part of x's memory; torch refuses it too).")


def _check_recordable_in_place(x, fn):
    """An in-place operation recorded on the tape: refused on a leaf that requires grad, in torch's words, and on
    a tensor whose gradient is kept (retain_grad) or hooked: which of its two values they meant would be a guess.
    Refused too on a view, on a leaf whose memory views share (_viewed), and on x.detach() of a tensor (the tensor
    is a view of that memory too): x becomes a new array on the tape, and those views would keep the old values,
    where torch's follow x. For the same reason, refused on a computed tensor while an array that shares its
    memory is alive (views._live_views_of: its views, recorded or not, and numpy()'s array); once they are
    dropped, the write runs. x.data is not refused for the memory it shares: it writes that memory (_write_through)."""
    if x.requires_grad and x.is_leaf:
        raise RuntimeError(f"a leaf Variable that requires grad is being used in an in-place operation ({fn}), "
                           "as torch refuses it: update parameters inside `with tr.no_grad():`")
    node = x._node
    if node is not None and any(kept and x._slot in kept for kept in (node.retained, node.hooks)):
        raise RuntimeError(f"{fn} in place on a tensor with retain_grad() or a hook registered: write the "
                           "out-of-place form (x = x + y) so that each value has its own gradient")
    if _is_view(x):
        _refuse_recorded_write_of_a_view(x, fn)
    if node is None and (x._viewed or x._base is not None or x._views_computed) and not _detached_leaf_memory(x):
        raise RuntimeError(f"{fn} in place, recorded with a gradient, on a tensor whose memory views or arrays share "
                           "(x[0], x.T, x.view(...), x.detach(), x.numpy(), the array given to from_numpy, "
                           "or a layer's reshape of x; or x = y.detach() of another tensor y): torch writes that "
                           "memory, and its views follow x onto the tape; that is not supported here. Write x = x + y "
                           "(out of place), or clone() x first")
    if node is not None and _live_views_of(x):
        raise RuntimeError(f"{fn} in place, recorded with a gradient, on a computed tensor whose memory a view or "
                           "an array taken before still shares (y[0], y.T, y.view(...), y.detach(), y.numpy(), or an "
                           "operation recorded since that saved such a view): torch writes that memory, the views see "
                           "the new values and their history is rebased onto the written tensor (CopySlices); that is "
                           "not supported here, where the views would keep the old values. Write y = y + 1 (out of "
                           "place), or take the views after the write, or of y.clone()")


def _detached_leaf_memory(x):
    """Whether x is p.detach() of a leaf p's memory (p, or a view of p taken off the tape), not yet written on the
    tape and with no view of its own: a recorded in-place write of x (`p.detach().copy_(w)`, w requiring grad) writes
    p's memory and puts x alone on the tape, as torch's; p stays a leaf, its version moves on (detach() shares p's
    counter, as torch's: x's later writes move it too, _counter_leaf). A view taken of x would follow x onto the tape
    in torch (its history rebased), so that write is still refused, as is a detach of a computed tensor."""
    return (x._detached and x._node is None and x._base is not None and not x._viewed and not x._views_computed
            and x._counter_leaf is None)


def _refuse_recorded_write_of_a_view(x, fn):
    """A recorded in-place write of a view (x[0], x.T, x.view(...)). torch refuses it on a view of a leaf that
    requires grad, and otherwise writes the tensor viewed too (its grad_fn becomes CopySlices); here the write
    would give the view a new value alone and leave that tensor as it was, a silent difference, so it is
    refused, naming the out-of-place forms."""
    edge = x._base if x._node is None else x._node.parents[0]
    while type(edge) is tuple and edge[0].prim in _VIEW_PRIMS:   # a view of a view: the tensor under them
        edge = edge[0].parents[0]
    if isinstance(edge, tape.Tensor) and edge.requires_grad:
        raise RuntimeError(f"a view of a leaf Variable that requires grad is being used in an in-place operation "
                           f"({fn}), as torch refuses it: update parameters inside `with tr.no_grad():`")
    raise RuntimeError(f"{fn} in place, recorded with a gradient, on a view (x[i], x.T, x.view(...)) of another "
                       "tensor: torch would write the viewed tensor too (CopySlices), which is not supported here; "
                       "compute the new tensor out of place (tr.where, tr.cat, masked_fill) or clone() the view "
                       "before writing it")
