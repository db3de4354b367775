"""Process-wide settings nn_core makes: the allocator on import, BLAS threads for a block."""

import platform
import subprocess
import sys

import pytest

import nn_core
from nn_core import allocator, blas

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def _tuned_in_child(env_value: str | None) -> str:
    env = {"PATH": "/usr/bin:/bin"}
    if env_value is not None:
        env["NN_CORE_MALLOC"] = env_value
    code = "import nn_core; print(nn_core.allocator.tune())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.skipif(not GLIBC, reason="the thresholds are a glibc setting")
def test_importing_nn_core_tunes_glibc_once():
    assert nn_core.allocator.tune() is True
    assert allocator.tune() is True  # idempotent
    assert _tuned_in_child(None) == "True"


def test_the_environment_can_leave_the_allocator_alone():
    assert _tuned_in_child("default") == "False"


def test_blas_threads_can_be_limited_for_a_block():
    if not blas.can_limit():
        pytest.skip("this NumPy's BLAS threads cannot be changed here")
    before, _ = blas.threads()
    with blas.limited(1):
        assert blas.threads()[0] == 1
    assert blas.threads()[0] == before
