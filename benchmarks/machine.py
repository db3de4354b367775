"""What the numbers were measured on: versions, cores, BLAS threads, load."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.util
import os
import platform
import re

import numpy as np

from nn_core import allocator

_PREFIXES = ("scipy_openblas", "openblas")
_SUFFIXES = ("64_", "")


@functools.cache
def _openblas(what: str):
    """(OpenBLAS's ``openblas_{what}_num_threads`` as a ctypes function, library name), or
    (None, "") when NumPy's BLAS is not an OpenBLAS this can find (Linux only)."""
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


def numpy_threads() -> tuple[int, str]:
    """(threads NumPy's BLAS uses by default, how this was found out)."""
    try:
        from threadpoolctl import threadpool_info

        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            return int(pools[0]["num_threads"]), f"threadpoolctl ({pools[0]['internal_api']})"
    except ImportError:
        pass
    get, lib = _openblas("get")
    if get is not None:
        return int(get()), f"OpenBLAS {lib}"
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var]), f"${var}"
    return os.cpu_count() or 1, "assumed = CPU count"


def can_limit_numpy_threads() -> bool:
    if importlib.util.find_spec("threadpoolctl") is not None:
        return True
    return _openblas("set")[0] is not None and _openblas("get")[0] is not None


@contextlib.contextmanager
def numpy_threads_limited(n: int | None):
    """Run the block with NumPy's BLAS on ``n`` threads (None: leave the default)."""
    if n is None:
        yield
        return
    if importlib.util.find_spec("threadpoolctl") is not None:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=n, user_api="blas"):
            yield
        return
    (get, _), (set_, _) = _openblas("get"), _openblas("set")
    if get is None or set_ is None:
        raise RuntimeError("cannot change NumPy's BLAS threads (no threadpoolctl, no OpenBLAS)")
    before = get()
    set_(n)
    try:
        yield
    finally:
        set_(before)


def load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "n/a"
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


def describe() -> list[str]:
    threads, source = numpy_threads()
    env = {v: os.environ[v] for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS") if v in os.environ}
    return [
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs ({platform.machine()})",
        f"numpy BLAS threads: {threads} [{source}]" + (f"; env {env}" if env else ""),
        f"load average at start: {load()}",
        "allocator: "
        + (
            "glibc thresholds raised by nn_core (nn_core/allocator.py)"
            if allocator.tune()
            else "left as it is (not glibc, or NN_CORE_MALLOC=default)"
        ),
    ]
