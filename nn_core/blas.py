"""How many threads NumPy's BLAS uses, and limiting them for a block of code.

Every task of a comparison (:mod:`nn_core.schedule`) runs with a single-threaded BLAS, so that
the numbers do not depend on where it ran and worker processes do not fight over cores. NumPy
ships OpenBLAS; when ``threadpoolctl`` is installed it is used, otherwise OpenBLAS's own
``*_set_num_threads`` is found with ctypes (Linux). Where neither is available the functions
change nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.util
import os
import re
import threading

_PREFIXES = ("scipy_openblas", "openblas")
_SUFFIXES = ("64_", "")


@functools.cache
def _openblas(what: str):
    """(OpenBLAS's ``openblas_{what}_num_threads`` as a ctypes function, library name), or
    (None, "") when NumPy's BLAS is not an OpenBLAS this can find (Linux only)."""
    import numpy  # noqa: F401  (loads the BLAS library this looks for)

    try:
        with open("/proc/self/maps") as fh:
            libs = sorted(set(re.findall(r"\S*openblas\S*\.so\S*", fh.read())))
        for path in libs:
            lib = ctypes.CDLL(path)
            for prefix in _PREFIXES:
                for suffix in _SUFFIXES:
                    fn = getattr(lib, f"{prefix}_{what}_num_threads{suffix}", None)
                    if fn is not None:
                        fn.restype = ctypes.c_int if what == "get" else None
                        return fn, os.path.basename(path)
    except OSError:
        pass
    return None, ""


def threads() -> tuple[int, str]:
    """(threads NumPy's BLAS uses now, how this was found out)."""
    if importlib.util.find_spec("threadpoolctl") is not None:
        from threadpoolctl import threadpool_info

        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            return int(pools[0]["num_threads"]), f"threadpoolctl ({pools[0]['internal_api']})"
    get, lib = _openblas("get")
    if get is not None:
        return int(get()), f"OpenBLAS {lib}"
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var]), f"${var}"
    return os.cpu_count() or 1, "assumed = CPU count"


def can_limit() -> bool:
    if importlib.util.find_spec("threadpoolctl") is not None:
        return True
    return _openblas("set")[0] is not None and _openblas("get")[0] is not None


def set_threads(n: int) -> bool:
    """Set NumPy's BLAS threads for the rest of the process; False when this cannot be done."""
    if importlib.util.find_spec("threadpoolctl") is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n, user_api="blas")
        return True
    set_ = _openblas("set")[0]
    if set_ is None:
        return False
    set_(n)
    return True


# BLAS's thread count belongs to the whole process, so blocks that overlap in time (threads of
# one dashboard server: two sessions training live) share one limit: the first to enter saves
# the count, the last to leave restores it; until then every block keeps the limit.
_LIMIT_LOCK = threading.Lock()
_LIMIT = {"holders": 0, "before": 0}


@contextlib.contextmanager
def limited(n: int | None):
    """Run the block with NumPy's BLAS on ``n`` threads (None: leave the default). Blocks that
    overlap in several threads all ask for the same ``n`` (1, for reproducible numbers)."""
    if n is None or not can_limit():
        yield
        return
    with _LIMIT_LOCK:
        if _LIMIT["holders"] == 0:
            _LIMIT["before"] = threads()[0]
            set_threads(n)
        _LIMIT["holders"] += 1
    try:
        yield
    finally:
        with _LIMIT_LOCK:
            _LIMIT["holders"] -= 1
            if _LIMIT["holders"] == 0:
                set_threads(_LIMIT["before"])
