"""Numba kernels: whole-sequence fused RNN/GRU/LSTM forward and BPTT (fused_rnn.py), on numpy's BLAS (blas.py).

They are plain array functions; they import numpy, numba and llvmlite only, never the rest of tinygrad_rnn.

Numba's disk cache (cache=True) keys a file's compiled functions on that file's own timestamp, not on
the files whose functions they inline: fused_rnn.py's loops and the kernels tinygrad_rnn.compile
generates carry blas.py's gemm and vecmath.py's sigmoid/tanh inside their machine code. After an edit
of those (or an upgrade), the cached code would be stale and still run. `source_digest` names what the
code depends on, so that both can tell: fused_rnn.py drops its cache entries when the digest moves
(`drop_stale_cache`), and generated kernels carry it in their source, hence in their file name.
"""
import hashlib
import os

_HERE = os.path.dirname(os.path.abspath(__file__))


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
        directory = dispatcher._cache._cache_path   # Numba's own choice: __pycache__, or NUMBA_CACHE_DIR
    except AttributeError:  # not a caching dispatcher, or a Numba that names it differently
        return False
    stamp = os.path.join(directory, module_name + ".deps")
    try:
        with open(stamp) as f:
            if f.read() == digest:
                return False
    except OSError:
        pass
    try:
        for name in os.listdir(directory):
            if name.startswith(module_name + ".") and name.endswith((".nbi", ".nbc")):
                os.remove(os.path.join(directory, name))
        with open(stamp, "w") as f:
            f.write(digest)
    except OSError:
        return False
    return True
