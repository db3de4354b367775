"""Keep NumPy's short-lived arrays on the heap instead of fresh pages from the kernel (glibc).

Each training step allocates and frees the same few temporaries (pre-activations, deltas,
gradients of every run in a lockstep group). Under glibc's default settings an array of more than
128 KiB is either mapped fresh with ``mmap`` or, once the threshold has adapted, carved from the
top of the heap, which ``free`` hands back to the kernel as soon as more than twice that size is
free there. Either way the next step touches brand-new pages, and the kernel zero-fills them one
page fault at a time: measured on a 64-128-64-10 network, 5 runs at batch 128, that made the
forward pass 2.4x and the backward pass 1.9x slower than its arithmetic.

:func:`tune` raises both thresholds once per process (``mallopt``), so freed temporaries stay in
the heap for the next step. The cost is memory the process keeps after a large computation
instead of returning at once: at most ``TRIM_THRESHOLD`` of free heap. Arrays above
``MMAP_THRESHOLD`` (e.g. a whole large dataset) are still mapped and returned as usual.

Set ``NN_CORE_MALLOC=default`` in the environment to leave glibc's settings alone. On other C
libraries and platforms :func:`tune` does nothing.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 128 * 1024 * 1024

_state: dict[str, bool] = {}


def tune() -> bool:
    """Apply the thresholds once; return whether they are in effect in this process."""
    if "tuned" not in _state:
        _state["tuned"] = _apply()
    return _state["tuned"]


def _apply() -> bool:
    if os.environ.get("NN_CORE_MALLOC", "").lower() == "default":
        return False
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    return mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
