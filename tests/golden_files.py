"""The committed PyTorch golden files, and the script that makes them, for the oracle tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"


def make_golden():
    """tests/golden/make_golden.py as a module (its torch code imports torch when called)."""
    if "make_golden" not in sys.modules:
        spec = importlib.util.spec_from_file_location("make_golden", GOLDEN / "make_golden.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["make_golden"] = module
        spec.loader.exec_module(module)
    return sys.modules["make_golden"]
