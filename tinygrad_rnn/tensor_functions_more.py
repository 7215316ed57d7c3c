"""torch's function forms of the Tensor methods of tensor_methods_more.py and of torch's aliases
(tr.nansum(x, 1) is x.nansum(1), tr.arccos(x) is x.arccos()).

Each function checks that its input is a Tensor, as torch's do, and calls the method: the method holds the
behaviour, so there is one place to read it.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .tensor import Tensor, _tensor_input, _times_alpha

__all__ = [
    "mode", "diagonal_scatter", "index_put", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "bitwise_left_shift", "bitwise_right_shift",
    "absolute", "arccos", "arcsin", "arctan", "arctan2", "arccosh", "arcsinh", "arctanh",
    "acosh", "asinh", "atanh", "multiply", "subtract", "true_divide", "negative", "positive",
    "greater", "greater_equal", "less", "less_equal", "not_equal", "swapdims", "swapaxes", "is_nonzero",
    "is_same_size", "is_signed", "is_complex", "is_conj", "is_neg", "conj", "resolve_conj", "resolve_neg",
    "nansum", "nanmean", "quantile", "nanquantile", "kthvalue", "aminmax", "cov", "corrcoef",
    "histc", "bincount", "unique_consecutive", "dist", "renorm", "tensor_split", "hsplit", "vsplit",
    "dsplit", "split_with_sizes", "rot90", "fliplr", "flipud", "diag_embed", "diagflat", "take",
    "masked_scatter", "select_scatter", "slice_scatter", "argwhere", "inner", "ger", "vdot", "float_power",
    "fmax", "fmin", "copysign", "heaviside", "logaddexp2", "logical_xor", "isneginf", "isposinf",
    "isreal", "deg2rad", "rad2deg", "frexp", "ldexp", "nextafter", "sinc", "hardshrink",
    "mvlgamma", "igamma", "igammac", "gcd", "lcm", "msort", "narrow_copy", "adjoint",
    "angle", "unsafe_split", "unsafe_chunk", "unsafe_split_with_sizes",
    "scatter_reduce", "index_reduce", "put", "histogram",
    "add", "sub", "mul", "neg", "pow", "remainder", "floor_divide", "eq", "ne", "lt", "le", "gt", "ge",
    "logical_and", "logical_or", "logical_not", "masked_fill", "masked_select", "nonzero", "clone", "detach", "t",
    "unflatten",
]


def absolute(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.absolute: `input.absolute(*args, **kwargs)`."""
    return _tensor_input("absolute", input).absolute(*args, **kwargs)


def arccos(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.arccos: `input.arccos(*args, **kwargs)`."""
    return _tensor_input("arccos", input).arccos(*args, **kwargs)


def arcsin(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.arcsin: `input.arcsin(*args, **kwargs)`."""
    return _tensor_input("arcsin", input).arcsin(*args, **kwargs)


def arctan(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.arctan: `input.arctan(*args, **kwargs)`."""
    return _tensor_input("arctan", input).arctan(*args, **kwargs)


def arctan2(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.arctan2: `input.arctan2(*args, **kwargs)`."""
    return _tensor_input("arctan2", input).arctan2(*args, **kwargs)


def arccosh(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.arccosh: `input.arccosh(*args, **kwargs)`."""
    return _tensor_input("arccosh", input).arccosh(*args, **kwargs)


def arcsinh(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.arcsinh: `input.arcsinh(*args, **kwargs)`."""
    return _tensor_input("arcsinh", input).arcsinh(*args, **kwargs)


def arctanh(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.arctanh: `input.arctanh(*args, **kwargs)`."""
    return _tensor_input("arctanh", input).arctanh(*args, **kwargs)


def acosh(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.acosh: `input.acosh(*args, **kwargs)`."""
    return _tensor_input("acosh", input).acosh(*args, **kwargs)


def asinh(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.asinh: `input.asinh(*args, **kwargs)`."""
    return _tensor_input("asinh", input).asinh(*args, **kwargs)


def atanh(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.atanh: `input.atanh(*args, **kwargs)`."""
    return _tensor_input("atanh", input).atanh(*args, **kwargs)


def multiply(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.multiply: `input.multiply(*args, **kwargs)`."""
    return _tensor_input("multiply", input).multiply(*args, **kwargs)


def subtract(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.subtract: `input.subtract(*args, **kwargs)`."""
    return _tensor_input("subtract", input).subtract(*args, **kwargs)


def true_divide(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.true_divide: `input.true_divide(*args, **kwargs)`."""
    return _tensor_input("true_divide", input).true_divide(*args, **kwargs)


def negative(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.negative: `input.negative(*args, **kwargs)`."""
    return _tensor_input("negative", input).negative(*args, **kwargs)


def positive(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.positive: `input.positive(*args, **kwargs)`."""
    return _tensor_input("positive", input).positive(*args, **kwargs)


def greater(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.greater: `input.greater(*args, **kwargs)`."""
    return _tensor_input("greater", input).greater(*args, **kwargs)


def greater_equal(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.greater_equal: `input.greater_equal(*args, **kwargs)`."""
    return _tensor_input("greater_equal", input).greater_equal(*args, **kwargs)


def less(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.less: `input.less(*args, **kwargs)`."""
    return _tensor_input("less", input).less(*args, **kwargs)


def less_equal(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.less_equal: `input.less_equal(*args, **kwargs)`."""
    return _tensor_input("less_equal", input).less_equal(*args, **kwargs)


def not_equal(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.not_equal: `input.not_equal(*args, **kwargs)`."""
    return _tensor_input("not_equal", input).not_equal(*args, **kwargs)


def swapdims(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.swapdims: `input.swapdims(*args, **kwargs)`."""
    return _tensor_input("swapdims", input).swapdims(*args, **kwargs)


def swapaxes(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.swapaxes: `input.swapaxes(*args, **kwargs)`."""
    return _tensor_input("swapaxes", input).swapaxes(*args, **kwargs)


def is_nonzero(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.is_nonzero: `input.is_nonzero(*args, **kwargs)`."""
    return _tensor_input("is_nonzero", input).is_nonzero(*args, **kwargs)


def is_same_size(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.is_same_size: `input.is_same_size(*args, **kwargs)`."""
    return _tensor_input("is_same_size", input).is_same_size(*args, **kwargs)


def is_signed(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.is_signed: `input.is_signed(*args, **kwargs)`."""
    return _tensor_input("is_signed", input).is_signed(*args, **kwargs)


def is_complex(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.is_complex: `input.is_complex(*args, **kwargs)`."""
    return _tensor_input("is_complex", input).is_complex(*args, **kwargs)


def is_conj(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.is_conj: `input.is_conj(*args, **kwargs)`."""
    return _tensor_input("is_conj", input).is_conj(*args, **kwargs)


def is_neg(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.is_neg: `input.is_neg(*args, **kwargs)`."""
    return _tensor_input("is_neg", input).is_neg(*args, **kwargs)


def conj(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.conj: `input.conj(*args, **kwargs)`."""
    return _tensor_input("conj", input).conj(*args, **kwargs)


def resolve_conj(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.resolve_conj: `input.resolve_conj(*args, **kwargs)`."""
    return _tensor_input("resolve_conj", input).resolve_conj(*args, **kwargs)


def resolve_neg(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.resolve_neg: `input.resolve_neg(*args, **kwargs)`."""
    return _tensor_input("resolve_neg", input).resolve_neg(*args, **kwargs)


def nansum(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.nansum: `input.nansum(*args, **kwargs)`."""
    return _tensor_input("nansum", input).nansum(*args, **kwargs)


def nanmean(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.nanmean: `input.nanmean(*args, **kwargs)`."""
    return _tensor_input("nanmean", input).nanmean(*args, **kwargs)


def quantile(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.quantile: `input.quantile(*args, **kwargs)`."""
    return _tensor_input("quantile", input).quantile(*args, **kwargs)


def nanquantile(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.nanquantile: `input.nanquantile(*args, **kwargs)`."""
    return _tensor_input("nanquantile", input).nanquantile(*args, **kwargs)


def kthvalue(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.kthvalue: `input.kthvalue(*args, **kwargs)`."""
    return _tensor_input("kthvalue", input).kthvalue(*args, **kwargs)


def aminmax(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.aminmax: `input.aminmax(*args, **kwargs)`."""
    return _tensor_input("aminmax", input).aminmax(*args, **kwargs)


def cov(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.cov: `input.cov(*args, **kwargs)`."""
    return _tensor_input("cov", input).cov(*args, **kwargs)


def corrcoef(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.corrcoef: `input.corrcoef(*args, **kwargs)`."""
    return _tensor_input("corrcoef", input).corrcoef(*args, **kwargs)


def histc(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.histc: `input.histc(*args, **kwargs)`."""
    return _tensor_input("histc", input).histc(*args, **kwargs)


def bincount(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.bincount: `input.bincount(*args, **kwargs)`."""
    return _tensor_input("bincount", input).bincount(*args, **kwargs)


def unique_consecutive(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.unique_consecutive: `input.unique_consecutive(*args, **kwargs)`."""
    return _tensor_input("unique_consecutive", input).unique_consecutive(*args, **kwargs)


def dist(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.dist: `input.dist(*args, **kwargs)`."""
    return _tensor_input("dist", input).dist(*args, **kwargs)


def renorm(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.renorm: `input.renorm(*args, **kwargs)`."""
    return _tensor_input("renorm", input).renorm(*args, **kwargs)


def tensor_split(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.tensor_split: `input.tensor_split(*args, **kwargs)`."""
    return _tensor_input("tensor_split", input).tensor_split(*args, **kwargs)


def hsplit(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.hsplit: `input.hsplit(*args, **kwargs)`."""
    return _tensor_input("hsplit", input).hsplit(*args, **kwargs)


def vsplit(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.vsplit: `input.vsplit(*args, **kwargs)`."""
    return _tensor_input("vsplit", input).vsplit(*args, **kwargs)


def dsplit(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.dsplit: `input.dsplit(*args, **kwargs)`."""
    return _tensor_input("dsplit", input).dsplit(*args, **kwargs)


def split_with_sizes(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.split_with_sizes: `input.split_with_sizes(*args, **kwargs)`."""
    return _tensor_input("split_with_sizes", input).split_with_sizes(*args, **kwargs)


def rot90(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.rot90: `input.rot90(*args, **kwargs)`."""
    return _tensor_input("rot90", input).rot90(*args, **kwargs)


def fliplr(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.fliplr: `input.fliplr(*args, **kwargs)`."""
    return _tensor_input("fliplr", input).fliplr(*args, **kwargs)


def flipud(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.flipud: `input.flipud(*args, **kwargs)`."""
    return _tensor_input("flipud", input).flipud(*args, **kwargs)


def diag_embed(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.diag_embed: `input.diag_embed(*args, **kwargs)`."""
    return _tensor_input("diag_embed", input).diag_embed(*args, **kwargs)


def diagflat(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.diagflat: `input.diagflat(*args, **kwargs)`."""
    return _tensor_input("diagflat", input).diagflat(*args, **kwargs)


def take(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.take: `input.take(*args, **kwargs)`."""
    return _tensor_input("take", input).take(*args, **kwargs)


def scatter_reduce(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.scatter_reduce: `input.scatter_reduce(*args, **kwargs)`."""
    return _tensor_input("scatter_reduce", input).scatter_reduce(*args, **kwargs)


def index_reduce(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.index_reduce: `input.index_reduce(*args, **kwargs)`."""
    return _tensor_input("index_reduce", input).index_reduce(*args, **kwargs)


def put(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.put: `input.put(*args, **kwargs)`."""
    return _tensor_input("put", input).put(*args, **kwargs)


def histogram(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.histogram: `input.histogram(*args, **kwargs)`."""
    return _tensor_input("histogram", input).histogram(*args, **kwargs)


def masked_scatter(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.masked_scatter: `input.masked_scatter(*args, **kwargs)`."""
    return _tensor_input("masked_scatter", input).masked_scatter(*args, **kwargs)


def select_scatter(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.select_scatter: `input.select_scatter(*args, **kwargs)`."""
    return _tensor_input("select_scatter", input).select_scatter(*args, **kwargs)


def slice_scatter(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.slice_scatter: `input.slice_scatter(*args, **kwargs)`."""
    return _tensor_input("slice_scatter", input).slice_scatter(*args, **kwargs)


def argwhere(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.argwhere: `input.argwhere(*args, **kwargs)`."""
    return _tensor_input("argwhere", input).argwhere(*args, **kwargs)


def inner(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.inner: `input.inner(*args, **kwargs)`."""
    return _tensor_input("inner", input).inner(*args, **kwargs)


def ger(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.ger: `input.ger(*args, **kwargs)`."""
    return _tensor_input("ger", input).ger(*args, **kwargs)


def vdot(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.vdot: `input.vdot(*args, **kwargs)`."""
    return _tensor_input("vdot", input).vdot(*args, **kwargs)


def float_power(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.float_power: `input.float_power(*args, **kwargs)`."""
    return _tensor_input("float_power", input).float_power(*args, **kwargs)


def fmax(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.fmax: `input.fmax(*args, **kwargs)`."""
    return _tensor_input("fmax", input).fmax(*args, **kwargs)


def fmin(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.fmin: `input.fmin(*args, **kwargs)`."""
    return _tensor_input("fmin", input).fmin(*args, **kwargs)


def copysign(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.copysign: `input.copysign(*args, **kwargs)`."""
    return _tensor_input("copysign", input).copysign(*args, **kwargs)


def heaviside(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.heaviside: `input.heaviside(*args, **kwargs)`."""
    return _tensor_input("heaviside", input).heaviside(*args, **kwargs)


def logaddexp2(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.logaddexp2: `input.logaddexp2(*args, **kwargs)`."""
    return _tensor_input("logaddexp2", input).logaddexp2(*args, **kwargs)


def logical_xor(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.logical_xor: `input.logical_xor(*args, **kwargs)`."""
    return _tensor_input("logical_xor", input).logical_xor(*args, **kwargs)


def isneginf(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.isneginf: `input.isneginf(*args, **kwargs)`."""
    return _tensor_input("isneginf", input).isneginf(*args, **kwargs)


def isposinf(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.isposinf: `input.isposinf(*args, **kwargs)`."""
    return _tensor_input("isposinf", input).isposinf(*args, **kwargs)


def isreal(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.isreal: `input.isreal(*args, **kwargs)`."""
    return _tensor_input("isreal", input).isreal(*args, **kwargs)


def deg2rad(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.deg2rad: `input.deg2rad(*args, **kwargs)`."""
    return _tensor_input("deg2rad", input).deg2rad(*args, **kwargs)


def rad2deg(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.rad2deg: `input.rad2deg(*args, **kwargs)`."""
    return _tensor_input("rad2deg", input).rad2deg(*args, **kwargs)


def frexp(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.frexp: `input.frexp(*args, **kwargs)`."""
    return _tensor_input("frexp", input).frexp(*args, **kwargs)


def ldexp(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.ldexp: `input.ldexp(*args, **kwargs)`."""
    return _tensor_input("ldexp", input).ldexp(*args, **kwargs)


def nextafter(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.nextafter: `input.nextafter(*args, **kwargs)`."""
    return _tensor_input("nextafter", input).nextafter(*args, **kwargs)


def sinc(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.sinc: `input.sinc(*args, **kwargs)`."""
    return _tensor_input("sinc", input).sinc(*args, **kwargs)


def hardshrink(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.hardshrink: `input.hardshrink(*args, **kwargs)`."""
    return _tensor_input("hardshrink", input).hardshrink(*args, **kwargs)


def mvlgamma(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.mvlgamma: `input.mvlgamma(*args, **kwargs)`."""
    return _tensor_input("mvlgamma", input).mvlgamma(*args, **kwargs)


def igamma(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.igamma: `input.igamma(*args, **kwargs)`."""
    return _tensor_input("igamma", input).igamma(*args, **kwargs)


def igammac(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.igammac: `input.igammac(*args, **kwargs)`."""
    return _tensor_input("igammac", input).igammac(*args, **kwargs)


def gcd(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.gcd: `input.gcd(*args, **kwargs)`."""
    return _tensor_input("gcd", input).gcd(*args, **kwargs)


def lcm(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.lcm: `input.lcm(*args, **kwargs)`."""
    return _tensor_input("lcm", input).lcm(*args, **kwargs)


def msort(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.msort: `input.msort(*args, **kwargs)`."""
    return _tensor_input("msort", input).msort(*args, **kwargs)


def narrow_copy(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.narrow_copy: `input.narrow_copy(*args, **kwargs)`."""
    return _tensor_input("narrow_copy", input).narrow_copy(*args, **kwargs)


def adjoint(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.adjoint: `input.adjoint(*args, **kwargs)`."""
    return _tensor_input("adjoint", input).adjoint(*args, **kwargs)


def angle(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.angle: `input.angle(*args, **kwargs)`."""
    return _tensor_input("angle", input).angle(*args, **kwargs)


def unsafe_split(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.unsafe_split: `input.unsafe_split(*args, **kwargs)`."""
    return _tensor_input("unsafe_split", input).unsafe_split(*args, **kwargs)


def unsafe_chunk(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.unsafe_chunk: `input.unsafe_chunk(*args, **kwargs)`."""
    return _tensor_input("unsafe_chunk", input).unsafe_chunk(*args, **kwargs)


def unsafe_split_with_sizes(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.unsafe_split_with_sizes: `input.unsafe_split_with_sizes(*args, **kwargs)`."""
    return _tensor_input("unsafe_split_with_sizes", input).unsafe_split_with_sizes(*args, **kwargs)


def mode(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.mode: `input.mode(*args, **kwargs)`."""
    return _tensor_input("mode", input).mode(*args, **kwargs)


def diagonal_scatter(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.diagonal_scatter: `input.diagonal_scatter(*args, **kwargs)`."""
    return _tensor_input("diagonal_scatter", input).diagonal_scatter(*args, **kwargs)


def index_put(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.index_put: `input.index_put(*args, **kwargs)`."""
    return _tensor_input("index_put", input).index_put(*args, **kwargs)


def bitwise_and(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.bitwise_and: `input.bitwise_and(*args, **kwargs)`."""
    return _tensor_input("bitwise_and", input).bitwise_and(*args, **kwargs)


def bitwise_or(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.bitwise_or: `input.bitwise_or(*args, **kwargs)`."""
    return _tensor_input("bitwise_or", input).bitwise_or(*args, **kwargs)


def bitwise_xor(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.bitwise_xor: `input.bitwise_xor(*args, **kwargs)`."""
    return _tensor_input("bitwise_xor", input).bitwise_xor(*args, **kwargs)


def bitwise_not(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.bitwise_not: `input.bitwise_not(*args, **kwargs)`."""
    return _tensor_input("bitwise_not", input).bitwise_not(*args, **kwargs)


def bitwise_left_shift(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.bitwise_left_shift: `input.bitwise_left_shift(*args, **kwargs)`."""
    return _tensor_input("bitwise_left_shift", input).bitwise_left_shift(*args, **kwargs)


def bitwise_right_shift(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.bitwise_right_shift: `input.bitwise_right_shift(*args, **kwargs)`."""
    return _tensor_input("bitwise_right_shift", input).bitwise_right_shift(*args, **kwargs)

# -- the function forms of the Tensor's own methods and operators (torch.add(x, y) is x.add(y)); add, sub, mul, div,
# floor_divide, pow and remainder take a number first too, as torch's: the reflected operator's result (torch.pow(2, x)
# is 2 ** x, torch.sub(5.0, x, alpha=2) is 5.0 - 2 * x)
def add(input: Tensor | float, other: Any, *args: Any, alpha: float = 1, **kwargs: Any) -> Any:
    """As torch.add: `input.add(other, alpha=alpha)`; a number as input: `input + alpha * other`."""
    if _number_first(input, other):
        return (other if alpha == 1 else _times_alpha(other, alpha)).__radd__(input)
    return _tensor_input("add", input).add(other, *args, alpha=alpha, **kwargs)


def sub(input: Tensor | float, other: Any, *args: Any, alpha: float = 1, **kwargs: Any) -> Any:
    """As torch.sub: `input.sub(other, alpha=alpha)`; a number as input: `input - alpha * other`."""
    if _number_first(input, other):
        if other._data.dtype == bool:   # refused as torch refuses it, before alpha makes the mask numbers
            return input - other
        return (other if alpha == 1 else _times_alpha(other, alpha)).__rsub__(input)
    return _tensor_input("sub", input).sub(other, *args, alpha=alpha, **kwargs)


def mul(input: Tensor | float, other: Any, *args: Any, **kwargs: Any) -> Any:
    """As torch.mul: `input.mul(other)`; a number as input: `input * other`."""
    if _number_first(input, other) and not args and not kwargs:
        return input * other
    return _tensor_input("mul", input).mul(other, *args, **kwargs)


def neg(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.neg: `input.neg(*args, **kwargs)`."""
    return _tensor_input("neg", input).neg(*args, **kwargs)


def floor_divide(input: Tensor | float, other: Any, *args: Any, **kwargs: Any) -> Any:
    """As torch.floor_divide: `input.floor_divide(other)`; a number as input: `input // other`."""
    if _number_first(input, other) and not args and not kwargs:
        return input // other
    return _tensor_input("floor_divide", input).floor_divide(other, *args, **kwargs)


def eq(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.eq: `input.eq(*args, **kwargs)`."""
    return _tensor_input("eq", input).eq(*args, **kwargs)


def ne(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.ne: `input.ne(*args, **kwargs)`."""
    return _tensor_input("ne", input).ne(*args, **kwargs)


def lt(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.lt: `input.lt(*args, **kwargs)`."""
    return _tensor_input("lt", input).lt(*args, **kwargs)


def le(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.le: `input.le(*args, **kwargs)`."""
    return _tensor_input("le", input).le(*args, **kwargs)


def gt(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.gt: `input.gt(*args, **kwargs)`."""
    return _tensor_input("gt", input).gt(*args, **kwargs)


def ge(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.ge: `input.ge(*args, **kwargs)`."""
    return _tensor_input("ge", input).ge(*args, **kwargs)


def logical_and(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.logical_and: `input.logical_and(*args, **kwargs)`."""
    return _tensor_input("logical_and", input).logical_and(*args, **kwargs)


def logical_or(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.logical_or: `input.logical_or(*args, **kwargs)`."""
    return _tensor_input("logical_or", input).logical_or(*args, **kwargs)


def logical_not(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.logical_not: `input.logical_not(*args, **kwargs)`."""
    return _tensor_input("logical_not", input).logical_not(*args, **kwargs)


def masked_fill(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.masked_fill: `input.masked_fill(*args, **kwargs)`."""
    return _tensor_input("masked_fill", input).masked_fill(*args, **kwargs)


def masked_select(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.masked_select: `input.masked_select(*args, **kwargs)`."""
    return _tensor_input("masked_select", input).masked_select(*args, **kwargs)


def nonzero(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.nonzero: `input.nonzero(*args, **kwargs)`."""
    return _tensor_input("nonzero", input).nonzero(*args, **kwargs)


def clone(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.clone: `input.clone(*args, **kwargs)`."""
    return _tensor_input("clone", input).clone(*args, **kwargs)


def detach(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.detach: `input.detach(*args, **kwargs)`."""
    return _tensor_input("detach", input).detach(*args, **kwargs)


def t(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.t: `input.t(*args, **kwargs)`."""
    return _tensor_input("t", input).t(*args, **kwargs)


def unflatten(input: Tensor, *args: Any, **kwargs: Any) -> Any:
    """As torch.unflatten: `input.unflatten(*args, **kwargs)`."""
    return _tensor_input("unflatten", input).unflatten(*args, **kwargs)


def pow(input: Tensor | float, exponent: Tensor | float) -> Tensor:
    """As torch.pow: `input ** exponent`, a number as the base too (`tr.pow(2, x)`)."""
    if _number_first(input, exponent):
        return input ** exponent
    return _tensor_input("pow", input).pow(exponent)


def remainder(input: Tensor | float, other: Tensor | float) -> Tensor:
    """As torch.remainder: `input % other` with the divisor's sign, a number as the dividend too (no derivative
    then, as torch's)."""
    if _number_first(input, other):
        return input % other
    return _tensor_input("remainder", input).remainder(other)


def _number_first(input, other):
    """A Python or numpy number (a bool too: torch reads it as 1 or 0) where torch's function takes a number as its
    first argument, before a Tensor."""
    return not isinstance(input, Tensor) and isinstance(other, Tensor) and isinstance(input, (numbers.Real, np.generic))
