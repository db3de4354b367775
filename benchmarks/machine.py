"""What the numbers were measured on: versions, cores, BLAS threads, load."""

from __future__ import annotations

import os
import platform

import numpy as np

from nn_core import allocator, blas


def load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "n/a"
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


def describe() -> list[str]:
    threads, source = blas.threads()
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
