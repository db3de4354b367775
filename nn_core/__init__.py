"""nn_core: a pure-NumPy MLP engine that trains one network under many optimizers, side by side.

    from nn_core import ExperimentConfig, run_comparison
    results = run_comparison(ExperimentConfig.preset("default"))
    results.curves, results.gradients, results.histograms, results.summary
    results.to_csv("out/")

The package imports neither streamlit nor plotly and keeps no global mutable state. The one
process-wide setting it makes is allocator tuning on import (:mod:`nn_core.allocator`: glibc keeps
freed temporaries for the next training step; ``NN_CORE_MALLOC=default`` turns it off).
"""

from . import allocator
from .config import ConfigError, ExperimentConfig, RunConfig
from .presets import PRESETS
from .results import Results
from .sweep import SweepConfig, run_sweep
from .tabular import DataError
from .training import Progress, run_comparison

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
