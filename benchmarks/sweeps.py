"""The default learning-rate sweep's speed: ``python -m benchmarks --only sweep-default``.

The workload (:func:`benchmarks.workloads.default_sweep`) is timed on the engine's real sweep
path, :func:`nn_core.sweep.run_sweep`, end to end (tasks, tables, bootstrap):

- **1 proc**: every task in this process (``InlineExecutor``), the tasks captured on the way;
- **2 procs**: the same sweep on a local process pool of two workers
  (:class:`nn_core.schedule.LocalPool`, started and warmed before the clock starts), checked to
  give the same table.

It is measured against

- **PyTorch CPU**, the same runs one at a time (:mod:`benchmarks.torch_ref`: the same network,
  initial weights, batch order and ``torch.optim`` rule, float64, one thread, in the torch worker
  process). Training every run would take minutes, so a sample of the sweep's own runs, spread over
  the rules and learning rates, is timed and extrapolated by its time per step to the steps every
  run of the sweep took (diverged runs stop early in both engines). Rules without a
  ``torch.optim`` counterpart are not sampled; their steps are extrapolated at the same rate.
- **The floor**: the same steps' matrix products plus the hidden activations and their
  derivatives, each timed alone at the sizes of each task's lockstep group
  (:func:`benchmarks.floor.measure` with ``activations=True``), one BLAS thread as the tasks use.

Where the 1-proc time goes is measured by replaying the captured tasks through
:func:`nn_core.train.train_group` with its :class:`~nn_core.train.Timer`: lockstep arithmetic
(batches, forward, loss, backward, per-step bookkeeping), optimizer updates, recording (per-epoch
evaluation, statistics, snapshots) — and task overhead, the rest of the end-to-end time (building
each task's config, data and initial weights, rows, tables and bootstrap intervals).
"""

from __future__ import annotations

import dataclasses
import os
import time
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field

import numpy as np

from nn_core import blas, schedule
from nn_core import sweep as sweeps
from nn_core.config import ExperimentConfig, RunConfig
from nn_core.data import make as make_dataset
from nn_core.optimizers import RULES
from nn_core.train import Timer, build_architecture, initial_params, train_group

from . import floor, machine
from .workloads import Workload, with_training

TORCH_TARGET = 100.0  # ours (1 proc) at least this many times faster than the torch loop
FLOOR_TARGET = 3.0  # ours (1 proc) within this many times the floor
QUICK_SAMPLE = 4  # runs timed in torch with --quick (else one per rule torch.optim has)
POOL_WORKERS = 2
F64_TOLERANCE = 1e-8  # as benchmarks.suite: the same training in float64
CHAOS_FACTOR = 10.0  # |Δθ| within this many times a 1-ulp nudge's effect: a chaotic run

ARITHMETIC = ("batches", "forward", "loss", "backward", "bookkeeping")
RECORDING = ("evaluation", "recording", "progress")


# --- pure arithmetic (tests/test_benchmarks.py) -----------------------------------------------


def extrapolate(sample_seconds: float, sample_steps: int, total_steps: int) -> float:
    """Seconds for ``total_steps`` steps at the sample's rate (seconds per step)."""
    if sample_steps <= 0:
        raise ValueError("the sample took no steps")
    return sample_seconds / sample_steps * total_steps


def spread(items: list, n: int) -> list:
    """``n`` items evenly spaced over ``items`` (first and last included; all when n ≥ len)."""
    if n >= len(items):
        return list(items)
    if n == 1:
        return [items[0]]
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


def split(
    phases: dict[str, float], replay_wall: float, train: float, total: float
) -> dict[str, float]:
    """``total`` (the 1-proc sweep) split into lockstep arithmetic, updates, recording and task
    overhead. ``train`` is the time the sweep spent in the training loop (its own clocks) and
    the rest is task overhead; ``train`` is shared out in the proportions of the Timer's
    ``phases`` over a replay of the loop that took ``replay_wall`` (the unlapped rest of the
    replay is the loop itself, counted as arithmetic)."""
    arith = sum(phases.get(p, 0.0) for p in ARITHMETIC)
    update = phases.get("update", 0.0)
    record = sum(phases.get(p, 0.0) for p in RECORDING)
    arith += max(replay_wall - arith - update - record, 0.0)
    scale = train / (arith + update + record) if arith + update + record > 0 else 0.0
    return {
        "lockstep arithmetic (forward, loss, backward, batches)": arith * scale,
        "optimizer updates": update * scale,
        "recording (per-epoch evaluation, statistics)": record * scale,
        "task overhead (task set-up, rows, tables, intervals)": max(total - train, 0.0),
    }


# --- the engine -------------------------------------------------------------------------------


class CapturingExecutor(Executor):
    """Runs each task at once in this process (as ``InlineExecutor``) and keeps the tasks."""

    def __init__(self):
        self.tasks: list[sweeps.Task] = []
        self.train_seconds = 0.0  # inside train_members, from the rows' own clocks
        self._inline = schedule.InlineExecutor()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        self.tasks.extend(a for a in args if isinstance(a, sweeps.Task))
        future = self._inline.submit(fn, *args, **kwargs)
        if future.exception() is None:  # a row's seconds: its task's training time / its runs
            self.train_seconds += sum(row["seconds"] for row in future.result())
        return future


def run_engine(w: Workload, executor: Executor) -> tuple[float, float, sweeps.SweepResults]:
    """(wall seconds, CPU seconds of this process, results) of the sweep on ``executor``."""
    start, cpu = time.perf_counter(), time.process_time()
    res = sweeps.run_sweep(w.config, w.sweep, executor=executor)
    return time.perf_counter() - start, time.process_time() - cpu, res


@dataclass
class Replay:
    """The captured tasks trained again through ``train_group`` with a Timer."""

    wall: float = 0.0  # seconds inside train_group, every task
    phases: dict[str, float] = field(default_factory=dict)
    run_steps: int = 0  # steps of every run (each stops at its divergence)
    groups: list[tuple[int, int, bool, int, int]] = field(default_factory=list)
    # per task: (runs, batch, one seed, group steps, evaluations)
    finals: dict[tuple[str, float, int], tuple[int, np.ndarray]] = field(default_factory=dict)
    # (rule, lr, seed) -> (steps, final θ) of every run, to check the torch sample against


def _members(task: sweeps.Task):
    """What :func:`nn_core.sweep.train_task` trains for ``task``: config, data, members."""
    config = sweeps._quiet_training(ExperimentConfig.from_json(task.config_json))
    data = task.data
    if data is None:
        data = make_dataset(config.dataset, dtype=np.dtype(config.training.dtype))
    members = [
        (RunConfig(f"r{i}", r.rule, task.batch_size, r.hyper(task.axis)), r.seed)
        for i, r in enumerate(task.runs)
    ]
    return config, data, members


def replay(tasks: list[sweeps.Task], nudge: bool = False) -> Replay:
    """Train ``tasks`` again through ``train_group`` with its Timer; ``nudge``: from initial
    weights moved by one ulp each (how far that moves a run's end measures its sensitivity)."""
    out = Replay()
    timer = Timer()
    with blas.limited(1):  # as train_task
        for task in tasks:
            config, data, members = _members(task)
            arch = build_architecture(config, data)
            theta0 = {s: initial_params(config, arch, s) for s in sorted({s for _, s in members})}
            if nudge:
                theta0 = {s: np.nextafter(t, np.inf) for s, t in theta0.items()}
            start = time.perf_counter()
            timer.lap("setup")  # the laps count from here
            records = train_group(config, members, data, arch, theta0, timer=timer)
            out.wall += time.perf_counter() - start
            out.run_steps += sum(r.steps for r in records)
            batch = records[0].batch_size
            # the group computes every row until its last run stops: its steps are the longest
            one_seed = len({s for _, s in members}) == 1
            steps = max(r.steps for r in records)
            evaluations = max(len(r.epochs) for r in records)
            out.groups.append((len(members), batch, one_seed, steps, evaluations))
            for run, rec in zip(task.runs, records, strict=True):
                out.finals[(run.rule, run.lr, run.seed)] = (rec.steps, rec.snapshots[-1])
    out.phases = {k: v for k, v in timer.seconds.items() if k != "setup"}
    return out


# --- the floor --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepFloor:
    products: float  # seconds of every step's and evaluation's matrix products
    activations: float  # seconds of their activations and derivatives

    @property
    def seconds(self) -> float:
        return self.products + self.activations


def floor_of(w: Workload, groups: list[tuple[int, int, bool, int, int]]) -> SweepFloor:
    """The floor of the replayed groups, each group's sizes measured once."""
    data = w.data()
    arch = build_architecture(w.config, data)
    n_train, n_val = len(data.X_train), len(data.X_val)
    cache: dict[tuple[int, int, bool], floor.Floor] = {}
    products = acts = 0.0
    with blas.limited(1):
        for runs, batch, shared, steps, evaluations in groups:
            key = (runs, batch, shared)
            if key not in cache:
                cache[key] = floor.measure(
                    arch, runs, batch, shared, n_train, n_val, activations=True
                )
            f = cache[key]
            products += f.seconds(steps, evaluations)
            acts += f.act_seconds(steps, evaluations)
    return SweepFloor(products, acts)


# --- PyTorch: a sample of the runs, one at a time ----------------------------------------------


@dataclass(frozen=True)
class TorchSample:
    """Runs of the sweep for the torch worker (:mod:`benchmarks.engines`): each trained alone
    by :func:`benchmarks.torch_ref.train` at one thread, float64."""

    config_json: str
    batch_size: int | str
    runs: tuple[tuple[str, float, int], ...]  # (rule, lr, seed)

    def run_torch(self, torch_ref) -> tuple[float, int, float, list[tuple[int, np.ndarray]]]:
        """(seconds, steps, CPU seconds of the worker process) summed over the runs, and each
        run's (steps, final θ in nn_core's layout); θ₀ is made before each run's clocks start."""
        torch_ref.set_threads(1)
        config = sweeps._quiet_training(ExperimentConfig.from_json(self.config_json))
        data = make_dataset(config.dataset, dtype=np.dtype(config.training.dtype))
        arch = build_architecture(config, data)
        seconds, steps, cpu, finals = 0.0, 0, 0.0, []
        for rule, lr, seed in self.runs:
            run = RunConfig(f"{rule} lr={lr:g}", rule, self.batch_size, {"lr": lr})
            theta0 = initial_params(config, arch, seed)
            c0 = time.process_time()
            theta, sec, n = torch_ref.train(config, run, seed, data, arch, theta0, "float64")
            cpu += time.process_time() - c0
            seconds += sec
            steps += n
            finals.append((n, theta))
        return seconds, steps, cpu, finals


def torch_sample(tasks: list[sweeps.Task], n: int | None = None) -> TorchSample:
    """One run of every rule torch.optim has, spread over the learning rates: rule i of k takes
    the run at fraction (i + ½)/k of its own runs (tuning runs by rate, then confirmation runs),
    so the sample climbs from the smallest rates to the confirmation runs. ``n``: keep that
    many of those, evenly spread."""
    by_rule: dict[str, list[tuple[str, float, int]]] = {}
    for t in tasks:
        for r in t.runs:
            if RULES[r.rule].torch is not None:
                by_rule.setdefault(r.rule, []).append((r.rule, r.lr, r.seed))
    k = len(by_rule)
    picked = [runs[int((i + 0.5) * len(runs) / k)] for i, runs in enumerate(by_rule.values())]
    if n is not None:
        picked = spread(picked, n)
    return TorchSample(tasks[0].config_json, tasks[0].batch_size, tuple(picked))


# --- the measurement --------------------------------------------------------------------------


@dataclass
class SweepMeasurement:
    workload: Workload
    one_proc: float
    one_proc_cpu: float  # CPU seconds of this process during one_proc (less sensitive to load)
    train_seconds: float  # of one_proc, inside the training loop
    two_procs: float | None  # None: the pool was not measured
    same_tables: bool | None
    tasks: int
    replay: Replay
    floor: SweepFloor
    torch_sampled: int = 0
    torch_sample_steps: int = 0
    torch_sample_seconds: float = 0.0
    torch_sample_cpu: float = 0.0
    torch_check: str = ""  # the sample's steps and final θ against ours
    load: str = ""  # the machine's load average at the start and at the end
    busy: bool = False  # the 1-minute load average exceeded the cores at the start or the end
    torch_note: str = ""
    seconds: float = 0.0  # the whole measurement
    captured: list[sweeps.Task] = field(default_factory=list)  # the 1-proc sweep's tasks

    @property
    def torch_total(self) -> float | None:
        if not self.torch_sample_steps:
            return None
        return extrapolate(
            self.torch_sample_seconds, self.torch_sample_steps, self.replay.run_steps
        )

    @property
    def torch_total_cpu(self) -> float | None:
        if not self.torch_sample_steps:
            return None
        return extrapolate(self.torch_sample_cpu, self.torch_sample_steps, self.replay.run_steps)


def _comparable(res: sweeps.SweepResults):
    return res.runs.drop(columns=["seconds"]), res.best


def measure(w: Workload, torch=None, quick: bool = False, pool: bool = True) -> SweepMeasurement:
    """Time ``w`` (a ``sweep`` workload) as the module docstring says; ``torch`` is a
    :class:`benchmarks.engines.TorchWorker` or None."""
    t_start = time.perf_counter()
    load_start, busy = machine.load(), _busy()
    warm = with_training(w.config, epochs=1)
    sweeps.run_sweep(warm, sweeps.SweepConfig(rules=w.sweep.rules, lr_points=1, confirm_seeds=0))
    capture = CapturingExecutor()
    one_proc, one_proc_cpu, res1 = run_engine(w, capture)
    two, same = None, None
    if pool and schedule.cores() >= POOL_WORKERS:
        local = schedule.LocalPool(POOL_WORKERS)
        try:
            ex = local.executor()
            ex.submit(sweeps.train_task, capture.tasks[0]).result()  # workers up and imported
            two, _, res2 = run_engine(w, ex)
            a, b = _comparable(res1), _comparable(res2)
            same = all(x.equals(y) for x, y in zip(a, b, strict=True))
        finally:
            local.shutdown()
    rep = replay(capture.tasks)
    out = SweepMeasurement(
        w, one_proc, one_proc_cpu, capture.train_seconds, two, same, len(capture.tasks), rep,
        floor_of(w, rep.groups), captured=capture.tasks,
    )  # fmt: skip
    if torch is None:
        out.torch_note = "torch not available: no PyTorch comparison"
    else:
        sample = torch_sample(capture.tasks, QUICK_SAMPLE if quick else None)
        # untimed: the same runs for one epoch (torch's lazy initialisation, each rule's first
        # call); the first torch step otherwise costs tens of milliseconds
        short = with_training(ExperimentConfig.from_json(sample.config_json), epochs=1)
        torch.run(dataclasses.replace(sample, config_json=short.to_json()))
        seconds, steps, cpu, finals = torch.run(sample)
        nudged = replay(sample_tasks(capture.tasks, sample), nudge=True)
        out.torch_check = check(sample, finals, rep, nudged)
        out.torch_sampled = len(sample.runs)
        out.torch_sample_seconds, out.torch_sample_steps = seconds, steps
        out.torch_sample_cpu = cpu
    out.seconds = time.perf_counter() - t_start
    out.load = f"{load_start} at the start, {machine.load()} at the end"
    out.busy = busy or _busy()
    return out


def sample_tasks(tasks: list[sweeps.Task], sample: TorchSample) -> list[sweeps.Task]:
    """The sampled runs, each as a task of its own (a run trains alike alone or in a group)."""
    picked = set(sample.runs)
    return [
        dataclasses.replace(t, runs=(r,))
        for t in tasks
        for r in t.runs
        if (r.rule, r.lr, r.seed) in picked
    ]


def check(sample: TorchSample, finals, rep: Replay, nudged: Replay | None = None) -> str:
    """Whether torch trained the sample as nn_core did: equal step counts, and the largest
    |Δθ| of the final parameters where both are finite (a diverged run's are not).

    A run agrees when |Δθ| < F64_TOLERANCE, or, with ``nudged`` (ours again from initial
    weights one ulp away), when |Δθ| is within CHAOS_FACTOR times how far that nudge moves our
    own end: at large rates training is chaotic, and the two engines' last-bit differences
    (the gradient's rounding, which Adam's division by √v + ε magnifies up to lr/ε) grow like
    any other. Such runs are counted and named as chaotic."""
    same_steps, diffs, chaotic, differ = True, [], [], []
    for key, (n, theta) in zip(sample.runs, finals, strict=True):
        ours_n, ours = rep.finals[key]
        same_steps &= n == ours_n
        finite = np.isfinite(theta) & np.isfinite(ours)
        if not finite.all():
            continue
        delta = float(np.max(np.abs(theta - ours)))
        diffs.append(delta)
        if delta < F64_TOLERANCE:
            continue
        moved = float(np.max(np.abs(nudged.finals[key][1] - ours))) if nudged else 0.0
        if delta <= CHAOS_FACTOR * moved:
            chaotic.append(f"{key[0]} at lr {key[1]:.3g} (1 ulp of θ₀ moves ours by {moved:.1e})")
        else:
            differ.append(key)
    worst = max(diffs) if diffs else float("nan")
    verdict = "same" if same_steps and diffs and not differ else "DIFFERENT"
    note = f"; {len(chaotic)} chaotic: {', '.join(chaotic)}" if chaotic else ""
    return (
        f"steps equal: {'yes' if same_steps else 'NO'}; max|Δθ| over the {len(diffs)} finite "
        f"runs {worst:.1e}{note}: {verdict}"
    )


def csv_rows(m: SweepMeasurement) -> list[list[str]]:
    """The measurement as rows of ``python -m benchmarks --csv`` (its columns, in order): ours on
    one process and on the pool, the torch loop (extrapolated from its sample: "variant" says
    so) and the floor; ``torch_over_ours`` is set on the torch row, against one process."""
    w, steps = m.workload, m.replay.run_steps
    batch = str(w.config.runs[0].batch_size)
    rules = f"{len(w.sweep.rules)} rules"

    def row(engine: str, variant: str, seconds: float, ratio: str = "") -> list[str]:
        return [
            w.name, w.kind, batch, rules, str(steps), engine, variant, "sweep", "float64", "1",
            "1", f"{seconds:.6f}", f"{seconds:.6f}", f"{seconds:.6f}", f"{seconds:.6f}", "0",
            ratio, "",
        ]  # fmt: skip

    out = [row("ours", "1 proc (run_sweep inline)", m.one_proc)]
    if m.two_procs is not None:
        out.append(row("ours", f"{POOL_WORKERS} procs (local pool)", m.two_procs))
    if m.torch_total is not None:
        variant = f"one at a time, extrapolated from {m.torch_sampled} runs"
        out.append(row("torch", variant, m.torch_total, f"{m.torch_total / m.one_proc:.4f}"))
    out.append(row("floor", "products + activations", m.floor.seconds))
    return out


def _busy() -> bool:
    try:
        return os.getloadavg()[0] > schedule.cores()
    except OSError:
        return False


# --- the report -------------------------------------------------------------------------------


def report(m: SweepMeasurement, quick: bool = False) -> list[str]:
    w, sw, rep = m.workload, m.workload.sweep, m.replay
    no_torch = [r for r in sw.rules if RULES[r].torch is None]
    out = [
        "",
        f"Learning-rate sweep: {w.name}",
        f"  {w.description}",
        f"  {len(sw.rules)} rules (every rule nn_core.optimizers.RULES has: "
        f"{', '.join(sw.rules)}); {m.tasks} tasks; {rep.run_steps} run-steps",
    ]
    if quick:
        out.append(
            "  --quick: scaled down (5 rates, 1 seed, 2 confirmation seeds, 2 epochs); the "
            "full workload is 25 rates x 3 seeds + 10 confirmation seeds, 60 epochs"
        )
    out += [
        "",
        f"  ours, 1 process (run_sweep, every task inline):   {m.one_proc:8.3f} s"
        f"  = {1e6 * m.one_proc / rep.run_steps:.2f} µs per run-step; CPU time "
        f"{m.one_proc_cpu:.3f} s",
    ]
    if m.two_procs is not None:
        out.append(
            f"  ours, {POOL_WORKERS} processes (local pool, warm):            {m.two_procs:8.3f} s"
            f"  speed-up of a second process {m.one_proc / m.two_procs:.2f}x; same tables: "
            + ("yes" if m.same_tables else "NO")
        )
    else:
        out.append("  ours, 2 processes: not measured (one core)")
    torch_total = m.torch_total
    if torch_total is not None:
        out.append(
            f"  PyTorch CPU, runs one at a time:                  {torch_total:8.1f} s  "
            f"EXTRAPOLATED from {m.torch_sampled} sampled runs ({m.torch_sample_steps} steps, "
            f"{m.torch_sample_seconds:.2f} s) to the sweep's {rep.run_steps} run-steps; "
            f"by CPU time {m.torch_total_cpu:.1f} s"
        )
        out.append(
            "    (torch 1 thread, float64, the same network, θ₀, batch order and torch.optim "
            f"rule; {m.torch_check}; sampled over the rules and rates"
            + (f"; {', '.join(no_torch)}: no torch.optim rule, not sampled" if no_torch else "")
            + ")"
        )
    else:
        out.append(f"  PyTorch CPU: {m.torch_note}")
    f = m.floor
    out.append(
        f"  floor (products {f.products:.3f} s + activations and derivatives "
        f"{f.activations:.3f} s): {f.seconds:8.3f} s"
    )
    out += [
        "",
        "  where the 1-process time goes (task overhead: the sweep's time outside its training "
        "loop; the loop's time shared out as train_group's Timer splits a replay of the same "
        "tasks)",
    ]
    parts = split(rep.phases, rep.wall, m.train_seconds, m.one_proc)
    for name, sec in parts.items():
        out.append(f"    {name:56} {sec:7.3f} s {100 * sec / m.one_proc:5.1f}%")
    out.append(f"    (of the arithmetic, the floor's products and activations: {f.seconds:.3f} s)")
    out += ["", "  Targets"]
    if torch_total is not None:
        ratio = torch_total / m.one_proc
        verdict = "not judged (--quick)" if quick else "PASS" if ratio >= TORCH_TARGET else "MISS"
        line = f"    >= {TORCH_TARGET:g}x faster than the torch loop: {verdict} — {ratio:.1f}x"
        line += " (1 proc)"
        if m.two_procs is not None:
            line += f", {torch_total / m.two_procs:.1f}x ({POOL_WORKERS} procs)"
        line += f"; by CPU time {m.torch_total_cpu / m.one_proc_cpu:.1f}x (1 proc)"
        out.append(line + " (torch time extrapolated)")
    else:
        out.append(f"    >= {TORCH_TARGET:g}x faster than the torch loop: SKIP (no torch)")
    over = m.one_proc / f.seconds
    verdict = "not judged (--quick)" if quick else "PASS" if over <= FLOOR_TARGET else "MISS"
    line = f"    within {FLOOR_TARGET:g}x of the floor: {verdict} — 1 proc / floor = {over:.2f}x"
    if m.two_procs is not None:
        line += f"; {POOL_WORKERS} procs / floor = {m.two_procs / f.seconds:.2f}x"
    out.append(line)
    line = f"  (the sweep measurement took {m.seconds:.0f} s; load average {m.load}"
    if m.busy:
        line += (
            f": above {schedule.cores()} cores, other work shared them and the wall times, the "
            "2-process one most, are inflated; CPU times are less affected"
        )
    out.append(line + ")")
    return out
