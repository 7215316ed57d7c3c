"""What the generated kernels (tinygrad_rnn/compile) run on: numpy's BLAS from compiled code (blas.py), the
vectorizable sigmoid/tanh (vecmath.py), the buffer pool (workspace.py) and the thread splitting (runtime.py).

They are plain array functions; they import numpy, numba and llvmlite only, never the rest of tinygrad_rnn.

Every kernel is compiled through `njit` below, which is numba.njit with the package's cache policy:
  * Numba's disk cache is used where Numba finds a writable place for it (NUMBA_CACHE_DIR, else the
    package's __pycache__, else the user's cache directory). Where it finds none (a read-only install,
    a service user without a writable home), the kernels are compiled in memory, with one warning
    saying so, instead of numba.njit(cache=True) failing the import.
  * A cache file that cannot be read (truncated, overwritten, from a broken disk) is discarded with a
    warning naming it, and the kernel compiled again, instead of the unpickling error reaching the
    first forward.
  * Under NUMBA_DISABLE_JIT=1 the kernels are plain Python functions (for stepping through them in a
    debugger), as numba.njit makes them.

Numba's disk cache keys a file's compiled functions on that file's own contents, not on the files whose
functions they inline: the kernels tinygrad_rnn.compile generates carry vecmath.py's sigmoid/tanh inside
their machine code, and call blas.py's and scalar.py's helpers by name with the arguments shared.py passes.
After an edit of those (or an upgrade), the cached code would be stale and still run. `source_digest`
names what the code depends on: generated kernels carry it in their source, hence in their file name; a
hand-written module can drop its cache entries when the digest moves (`drop_stale_cache`, used by the
benchmark's peer of the 0.1 kernels).
"""
import glob
import hashlib
import os
import warnings

import numba
from numba.core import sigutils
from numba.core.caching import FunctionCache
from numba.core.ccallback import CFunc
from numba.core.dispatcher import Dispatcher

__all__ = ["njit", "cfunc", "before_loading", "source_digest", "drop_stale_cache", "KernelCacheWarning"]

_HERE = os.path.dirname(os.path.abspath(__file__))


class KernelCacheWarning(RuntimeWarning):
    """Numba's disk cache could not be used (no writable location) or a cache file was unreadable."""


class _CheckedCache(FunctionCache):
    """Numba's per-function disk cache, except that a cache which cannot be read or written is
    discarded (its index and data files deleted, one warning naming them) instead of raising: the
    kernel is then compiled as if there had been no cache, and written to it afresh."""

    def load_overload(self, sig, target_context):
        _run_before_loading()
        try:
            return super().load_overload(sig, target_context)
        except Exception as e:  # any unpickling or rebuilding error: the files are not what Numba wrote
            self._discard(e, "could not be read")
            return None

    def save_overload(self, sig, data):
        try:
            super().save_overload(sig, data)
        except Exception as e:  # the kernel is compiled and in use; only the next process pays a compile
            self._discard(e, "could not be written")

    def _discard(self, error, what):
        base = os.path.join(self._cache_path, self._impl.filename_base)
        index = base + ".nbi"
        for path in [index] + glob.glob(glob.escape(base) + ".*.nbc"):
            try:
                os.remove(path)
            except OSError:
                pass
        # Not deduplicated: the files are gone now, so the same damage cannot be met twice.
        warnings.warn(f"tinygrad_rnn: Numba's cache file {index} (or one of its .nbc data files) {what} "
                      f"({type(error).__name__}: {error}); it was discarded and the kernel is compiled again",
                      KernelCacheWarning, stacklevel=4)


_before_loading = []   # what must run before the first function is loaded from the disk cache (before_loading)


def before_loading(fn):
    """Run fn() once, before this process loads its first function from Numba's disk cache: cached machine code
    may call a function by a name that must then be bound (kernels/shared.py: gemm's work, the products, the
    generated code's row helpers)."""
    _before_loading.append(fn)
    return fn


def _run_before_loading():
    while _before_loading:
        _before_loading.pop(0)()   # (popped first: fn may load cached code itself)


_no_cache_warned = False


def _warn_no_cache(fn, error):
    """Once per process: every kernel fails the same way, and one sentence says it all."""
    global _no_cache_warned
    if _no_cache_warned:
        return
    _no_cache_warned = True
    where = os.environ.get("NUMBA_CACHE_DIR")
    warnings.warn(f"tinygrad_rnn: Numba found no writable cache directory for {fn.__code__.co_filename} "
                  f"(NUMBA_CACHE_DIR is {repr(where) if where else 'not set'}; the package's __pycache__ and "
                  f"the user cache directory under HOME are not writable either), so the kernels are compiled "
                  f"in memory, again in every process. Set NUMBA_CACHE_DIR to a writable directory to cache "
                  f"them. (Numba: {error})", KernelCacheWarning, stacklevel=4)   # at the kernel's definition


def _use_checked_cache(compiled, fn):
    """What cache=True does (Dispatcher.enable_caching, CFunc.enable_caching), with the checked cache
    class, and without failing where no cache location is writable."""
    try:
        compiled._cache = _CheckedCache(fn)
    except RuntimeError as e:   # "cannot cache function ...: no locator available"
        _warn_no_cache(fn, e)


def njit(**options):
    """numba.njit(cache=True, **options), with the cache policy in the module docstring, and without the C
    wrapper Numba makes beside each function only for passing it to jitted code as a first-class function
    value, which nothing here does (no_cfunc_wrapper: a generated kernel's cold compile is about 0.1 s
    shorter, its four functions' wrappers no longer optimised and compiled to machine code)."""
    def decorate(fn):
        dispatcher = numba.njit(**{"no_cfunc_wrapper": True, **options})(fn)
        if isinstance(dispatcher, Dispatcher):   # else NUMBA_DISABLE_JIT=1 made it fn itself
            _use_checked_cache(dispatcher, fn)
        return dispatcher
    return decorate


def cfunc(sig):
    """numba.cfunc(sig, cache=True), with the same cache policy. Like numba.cfunc it compiles at once."""
    def decorate(fn):
        callback = CFunc(fn, sigutils.normalize_signature(sig), locals={}, options={})
        _use_checked_cache(callback, fn)
        callback.compile()
        return callback
    return decorate


def source_digest(*paths):
    """A short sha256 of these source files' bytes (paths relative to this package)."""
    h = hashlib.sha256()
    for path in paths:
        with open(os.path.join(_HERE, path), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def drop_stale_cache(dispatcher, module_name, digest):
    """Delete Numba's cache files of `module_name` (all in the directory Numba chose for `dispatcher`)
    unless the digest stored there equals `digest`; then store it. Best effort: a cache that cannot be
    read or written is left to Numba, which then compiles in memory."""
    try:
        directory = dispatcher._cache._cache_path   # Numba's own choice: NUMBA_CACHE_DIR, __pycache__, ...
    except AttributeError:  # no disk cache (none writable, NUMBA_DISABLE_JIT), or a Numba that names it differently
        return False
    stamp = os.path.join(directory, module_name + ".deps")
    try:
        with open(stamp, "rb") as f:        # bytes: a garbled stamp is only a mismatch, never a decode error
            if f.read() == digest.encode():
                return False
    except OSError:
        pass
    try:
        for name in os.listdir(directory):
            if name.startswith(module_name + ".") and name.endswith((".nbi", ".nbc")):
                os.remove(os.path.join(directory, name))
        with open(stamp, "wb") as f:
            f.write(digest.encode())
    except OSError:
        return False
    return True
