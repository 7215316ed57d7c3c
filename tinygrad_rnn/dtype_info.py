"""tr.finfo and tr.iinfo: torch's machine limits of a dtype (`tr.finfo(x.dtype).eps`, `tr.finfo(x.dtype).min` as a
mask's fill, `tr.iinfo(tr.int64).max`), with torch's attribute names, Python numbers and reprs. The numbers are
numpy's, which are IEEE's and the same as torch's."""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["finfo", "iinfo"]


def _numpy_dtype(fn: str, dtype) -> np.dtype:
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{fn}(): argument 'type' must be a dtype, not {type(dtype).__name__}") from None


class finfo:
    """torch.finfo(dtype=None): bits, eps, max, min, tiny (= smallest_normal) and resolution of a float dtype (the
    default dtype when None), as Python numbers; dtype its name ("float32")."""

    def __init__(self, type: npt.DTypeLike | None = None) -> None:
        from .tensor import get_default_dtype  # (late: tensor.py's Tensor is not needed to read a dtype)
        dtype = np.dtype(get_default_dtype()) if type is None else _numpy_dtype("finfo", type)
        if dtype.kind != "f":
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            f"'{dtype.name}' (tr.finfo, as torch's)")
        info = np.finfo(dtype)
        self.bits, self.dtype = int(info.bits), dtype.name
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)   # torch's: a Python float, not numpy's rounded to the dtype

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """torch.iinfo(dtype): bits, max and min of an integer dtype (int64 here), as Python ints; dtype its name."""

    def __init__(self, type: npt.DTypeLike) -> None:
        dtype = _numpy_dtype("iinfo", type)
        if dtype == np.bool_:
            raise TypeError("torch.bool is not supported by torch.iinfo (tr.iinfo, as torch's)")
        if dtype.kind not in "iu":
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle "
                            f"'{dtype.name}' (tr.iinfo, as torch's)")
        info = np.iinfo(dtype)
        self.bits, self.max, self.min, self.dtype = int(info.bits), int(info.max), int(info.min), dtype.name

    def __repr__(self) -> str:
        return f"iinfo(min={float(self.min):g}, max={float(self.max):g}, dtype={self.dtype})"
