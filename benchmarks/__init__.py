"""Speed benchmarks: nn_core against PyTorch (CPU) on the same training, and recording's cost.

    python -m benchmarks                 # every workload, 5 interleaved rounds (a few minutes)
    python -m benchmarks --quick         # smoke run: short epochs, 1 round
    python -m benchmarks --only 'b32-*' --rounds 3 --csv bench.csv
    python -m benchmarks --list          # the workloads
    python -m benchmarks --only sweep-default   # the default learning-rate sweep (~2-3 min)
    python -m benchmarks.phases          # where nn_core's step time goes (forward, backward, ...)

Each workload is trained by nn_core and by a PyTorch loop doing the same training (same network,
initial weights, batch order, loss and optimizer rule; :mod:`benchmarks.torch_ref`), and the final
parameters of both are compared to prove it. torch is optional: without it only nn_core is timed.

Modules: :mod:`~benchmarks.workloads` (what is trained), :mod:`~benchmarks.engines` (one timed
job; torch in a worker process), :mod:`~benchmarks.torch_ref` (the torch loop),
:mod:`~benchmarks.floor` (the GEMM-only floor: the matrix products alone, timed at each
workload's sizes), :mod:`~benchmarks.suite` (rounds, tables, targets, CSV),
:mod:`~benchmarks.machine` (threads, versions, allocator, load), :mod:`~benchmarks.phases` (a
per-phase profile of one nn_core run), :mod:`~benchmarks.sweeps` (the default sweep through
``run_sweep``, 1 and 2 processes, against a sample of torch runs and the floor).
"""
