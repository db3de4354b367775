"""nn_core: a pure-NumPy MLP engine that trains one network under many optimizers, side by side.

    from nn_core import ExperimentConfig, run_comparison
    results = run_comparison(ExperimentConfig.preset("default"))
    results.curves, results.gradients, results.histograms, results.summary
    results.to_csv("out/")

The package imports neither streamlit nor plotly. Its process-wide state is exactly this:
:data:`nn_core.schedule.LOCAL_POOL`, the local process pool used when ``run_comparison`` is given
no executor (empty until a comparison needs it, shut down at exit); the allocator tuning made on
import (:mod:`nn_core.allocator`: glibc keeps freed temporaries for the next training step;
``NN_CORE_MALLOC=default`` turns it off); and NumPy's BLAS set to one thread while a task trains
in-process (restored afterwards).
"""

from . import allocator
from .compare import Progress, run_comparison
from .config import ConfigError, ExperimentConfig, RunConfig
from .presets import PRESETS
from .results import Results
from .sweep import SweepConfig, run_sweep
from .tabular import DataError

allocator.tune()

__all__ = [
    "PRESETS",
    "ConfigError",
    "DataError",
    "ExperimentConfig",
    "Progress",
    "Results",
    "RunConfig",
    "SweepConfig",
    "run_comparison",
    "run_sweep",
]
