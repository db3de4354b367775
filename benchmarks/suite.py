"""Run the workloads on both engines in interleaved rounds and report medians."""

from __future__ import annotations

import argparse
import csv
import fnmatch
import importlib.util
import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from nn_core import blas, schedule

from . import floor, landscape, machine, sweeps
from .engines import Job, Outcome, TorchUnavailable, TorchWorker, has_one_by_one, run_ours
from .workloads import Workload, registry

MAX_COMPARISON_ROUNDS = 3  # the end-to-end preset runs take seconds each; 3 rounds suffice
F64_TOLERANCE = 1e-8
SMALL_BATCH = 64
SPEEDUP_TARGET = 3.0
PRESET_TARGET = 10.0  # the default preset with 3 seeds against torch
PRESET_WORKLOAD = "preset-3seeds"
FLOOR_TARGET = 2.0  # lockstep groups at batch >= FLOOR_BATCH: ours / GEMM-only floor
FLOOR_BATCH = 32
RECORDING_TARGET = 0.05
RECORDING_WORKLOADS = ("preset-1seed", "preset-3seeds")
NOISY = 1.5  # flag a variant whose slowest round took this many times its fastest
# A torch job is stopped after max(TORCH_LIMIT_MIN s, TORCH_LIMIT_FACTOR x ours in that round).
TORCH_LIMIT_MIN = 10.0
TORCH_LIMIT_FACTOR = 40.0


@dataclass(frozen=True)
class Variant:
    key: str
    label: str  # column heading
    engine: str
    recording: str = "lean"
    dtype: str = "float64"
    threads: int | None = None  # None: NumPy's default (ours only)
    one_by_one: bool = False
    one_process: bool = False


@dataclass
class Measurement:
    variant: Variant
    times: list[float] = field(default_factory=list)
    capped: list[bool] = field(default_factory=list)
    steps: int = 0
    thetas: list[np.ndarray] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def at_least(self) -> bool:
        """The median is only a lower bound (a round stopped at its limit reaches it)."""
        med = self.median
        return any(c and t <= med for t, c in zip(self.times, self.capped, strict=True))

    def add(self, out: Outcome) -> None:
        self.times.append(out.seconds)
        self.capped.append(out.capped)
        if not out.capped and not self.thetas:
            self.steps, self.thetas = out.steps, out.thetas


def variants(
    threads: int, comparison: bool, with_torch: bool, ours_1t: bool, one_by_one: bool
) -> list[Variant]:
    """Timed variants in the order of a round: nn_core's, then torch's."""
    out = [
        Variant("ours", "ours", "ours"),
        Variant("ours_full", "ours+rec", "ours", recording="full"),
    ]
    if comparison:
        out.append(Variant("ours_1p", "ours 1 proc", "ours", one_process=True))
    if comparison and one_by_one:
        out.append(Variant("ours_seq", "ours 1-by-1", "ours", one_by_one=True))
    if not comparison and ours_1t and threads != 1:
        out.append(Variant("ours_1t", "ours 1T", "ours", threads=1))
    if not with_torch:
        return out
    out.append(Variant("torch64", f"torch f64 {threads}T", "torch", threads=threads))
    if not comparison:  # the extra torch columns are cheap for single runs only
        if threads != 1:
            out.append(Variant("torch64_1t", "torch f64 1T", "torch", threads=1))
        # float32 at 1 thread: at these sizes torch's 2-thread timings swing wildly on a loaded
        # 2-core machine (OpenMP barriers wait for a descheduled thread), 1 thread does not.
        out.append(Variant("torch32", "torch f32 1T", "torch", "lean", "float32", 1))
    return out


def measure(
    w: Workload, vs: list[Variant], rounds: int, quick: bool, torch: TorchWorker | None
) -> dict[str, Measurement]:
    def job(v: Variant, warmup: bool) -> Job:
        return Job(
            w.name, quick, v.engine, v.recording, v.dtype, v.threads, v.one_by_one, v.one_process,
            warmup,
        )  # fmt: skip

    for v in vs:  # untimed: first-call costs (torch's lazy initialisation, caches)
        j = job(v, warmup=True)
        run_ours(j) if v.engine == "ours" else torch.run(j)
    results = {v.key: Measurement(v) for v in vs}
    for _ in range(rounds):
        ours = None
        for v in vs:
            j = job(v, warmup=False)
            if v.engine == "ours":
                out = run_ours(j)
                ours = out.seconds if v.key == "ours" else ours
            else:
                out = torch.run(j, max(TORCH_LIMIT_MIN, TORCH_LIMIT_FACTOR * ours))
            results[v.key].add(out)
    return results


def max_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float | None:
    if not a or not b:
        return None
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b, strict=True))


# --- reporting --------------------------------------------------------------------------------

TORCH_KEYS = ("torch64", "torch64_1t", "torch32")


def _s(x: float | None, fmt: str = ".3f", at_least: bool = False) -> str:
    if x is None or np.isnan(x):
        return "—"
    return ("≥" if at_least else "") + format(x, fmt)


def _table(headers: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(
            c.ljust(wd) if i < left else c.rjust(wd)
            for i, (c, wd) in enumerate(zip(cells, widths, strict=True))
        )

    return [line(headers), "  ".join("-" * wd for wd in widths), *(line(r) for r in rows)]


@dataclass
class Row:
    workload: Workload
    rounds: int
    m: dict[str, Measurement]
    floor: floor.WorkloadFloor | None = None

    def over_floor(self) -> float | None:
        return None if self.floor is None else self.med("ours") / self.floor.seconds

    def med(self, key: str) -> float | None:
        return self.m[key].median if key in self.m else None

    def ratio(self, key: str, base: str = "ours") -> float | None:
        """Median time of ``key`` over median time of ``base`` (torch/ours > 1: ours faster)."""
        t, b = self.med(key), self.med(base)
        return None if t is None or b is None else t / b

    def speedups(self) -> tuple[float | None, float | None, float | None]:
        """torch/ours as (equal threads, torch at its faster setting vs ours at NumPy's
        default, each engine at its faster setting)."""
        torch64 = [self.med(k) for k in ("torch64", "torch64_1t") if k in self.m]
        if not torch64:
            return None, None, None
        ours = [self.med(k) for k in ("ours", "ours_1t") if k in self.m]
        return self.ratio("torch64"), min(torch64) / self.med("ours"), min(torch64) / min(ours)

    def overhead(self) -> float:
        """Median over rounds of (full / lean) − 1: each round's two runs are adjacent in time,
        so the ratio cancels most of the machine's drift."""
        lean, full = self.m["ours"].times, self.m["ours_full"].times
        return statistics.median(f / g for f, g in zip(full, lean, strict=True)) - 1.0

    def diff(self, key: str) -> float | None:
        if key not in self.m:
            return None
        return max_diff(self.m[key].thetas, self.m["ours"].thetas)


def report(rows: list[Row], threads: int, torch_note: str) -> list[str]:
    present = {k: r.m[k].variant.label for r in rows for k in r.m}
    torch_keys = [k for k in TORCH_KEYS if k in present]
    extra_ours = [k for k in ("ours_1t", "ours_1p", "ours_seq") if k in present]
    heads = ["workload", "batch", "rule", "steps", "rounds", "ours", "µs/step"]
    heads += [present[k] for k in extra_ours]
    for k in torch_keys:
        heads += [present[k], "t/o"]
    body = []
    for r in rows:
        w, ours = r.workload, r.m["ours"]
        cells = [w.name, w.batch, w.optimizer, str(ours.steps), str(r.rounds)]
        cells += [_s(ours.median), _s(1e6 * ours.median / ours.steps, ".1f")]
        cells += [_s(r.med(k)) for k in extra_ours]
        for k in torch_keys:
            bound = k in r.m and r.m[k].at_least
            cells += [_s(r.med(k), at_least=bound), _s(r.ratio(k), ".2f", bound) + "x" * (k in r.m)]
        body.append(cells)
    out = ["", "Training time in seconds, median of the rounds (ours = nn_core, lean recording)"]
    out += [""]
    out += _table(heads, body, left=3)
    out += [
        "",
        f"Threads: ours = NumPy at its default {threads} BLAS threads; 'ours 1T' = NumPy "
        "limited to 1 BLAS thread; 'torch f64 nT' = torch float64 after torch.set_num_threads(n).",
        "t/o = torch's median / ours' median; > 1 means nn_core is faster. " + torch_note,
    ]
    if "ours_1p" in present:
        out.append(
            "Comparisons: 'ours' hands its tasks to the local process pool when that is "
            "estimated to pay (nn_core/schedule.py choose); 'ours 1 proc' = "
            "run_comparison(executor='inline'), every task in this process."
        )
    if "ours_seq" in present:
        out.append(
            "'ours 1-by-1' = run_comparison(lockstep=False, executor='inline'): the runs trained "
            "one after another instead of in lockstep groups."
        )
    if any(m.at_least for r in rows for m in r.m.values()):
        out.append(
            f"≥: some rounds hit the time limit (max({TORCH_LIMIT_MIN:g} s, "
            f"{TORCH_LIMIT_FACTOR:g}x ours)) and were stopped; the median is a lower bound."
        )

    floors = [r for r in rows if r.floor is not None]
    if floors:
        out += ["", "GEMM-only floor: the matrix products alone, at the workload's sizes", ""]
        heads = ["workload", "groups (runs@batch)", "ours (s)", "floor (s)", "GFLOP/s"]
        body = [
            [r.workload.name, r.floor.groups, _s(r.med("ours")), _s(r.floor.seconds),
             _s(r.floor.gflops, ".1f"), _s(r.over_floor(), ".2f") + "x"]
            for r in floors
        ]  # fmt: skip
        out += _table([*heads, "ours/floor"], body, left=2)
        out += [
            "",
            "floor = FLOPs of every product of training (forward, weight gradient, backward) and "
            "of the per-epoch evaluation, divided by the product rate measured on this machine "
            "at exactly those sizes and layouts (benchmarks/floor.py), summed over the lockstep "
            "groups. Activations, the loss, the update and Python come on top of it.",
        ]

    out += ["", "Recording overhead (ours: lean vs full recording, same training)", ""]
    rec_rows = [
        [r.workload.name, _s(r.med("ours")), _s(r.med("ours_full")), f"{100 * r.overhead():+.1f}%",
         _s(max_diff(r.m["ours_full"].thetas, r.m["ours"].thetas), ".1e")]
        for r in rows
    ]  # fmt: skip
    heads = ["workload", "lean (s)", "full (s)", "overhead", "max|Δθ| full vs lean"]
    out += _table(heads, rec_rows)
    out += [
        "",
        "lean: step_epochs=0, histogram_every=10^6, one final snapshot; full: the TrainingConfig "
        "defaults (step losses for 2 epochs, gradient stats + histograms and a snapshot every "
        "epoch). Both evaluate train/val loss every epoch. overhead = median over rounds of "
        "full/lean - 1 (the two run back to back in each round).",
    ]

    noisy = [
        f"{r.workload.name} {m.variant.label}: {min(m.times):.3f}-{max(m.times):.3f}s"
        for r in rows
        for m in r.m.values()
        if len(m.times) > 1 and max(m.times) > NOISY * min(m.times)
    ]
    if noisy:
        out += ["", f"Unsteady timings (slowest round > {NOISY:g}x the fastest; medians shown):"]
        out += ["  " + ", ".join(noisy[i : i + 3]) for i in range(0, len(noisy), 3)]

    if torch_keys:
        out += ["", "Same training? Final parameters, torch vs nn_core (float64)", ""]
        heads = ["workload", "steps equal", *(f"max|Δθ| {present[k]}" for k in torch_keys)]
        heads += ["verdict"]
        ver = []
        for r in rows:
            done = [k for k in torch_keys if k in r.m and r.m[k].thetas]
            eq = all(r.m[k].steps == r.m["ours"].steps for k in done)
            d64 = [r.diff(k) for k in ("torch64", "torch64_1t") if k in done]
            if not d64:
                verdict = "unchecked (every round stopped)"
            else:
                verdict = "same" if eq and max(d64) < F64_TOLERANCE else "DIFFERENT"
            cells = [r.workload.name, ("yes" if eq else "NO") if done else "—"]
            cells += [_s(r.diff(k), ".1e") for k in torch_keys]
            ver.append([*cells, verdict])
        out += _table(heads, ver)
        out += [
            "",
            f"verdict: same when the step counts match and float64 differs by < {F64_TOLERANCE:g} "
            "(the float32 column is torch float32 against nn_core float64, for scale only).",
        ]
    return out


def targets(rows: list[Row], has_torch: bool) -> list[str]:
    out = ["", "Targets"]
    by_name = {r.workload.name: r for r in rows}

    def speed_line(title: str, chosen: list[Row], need: float) -> str:
        if not has_torch:
            return f"{title}: SKIP (torch missing)"
        if not chosen:
            return f"{title}: SKIP (no such workload selected)"
        sp = {r.workload.name: r.speedups() for r in chosen}
        judged = sorted((v[1], n) for n, v in sp.items())
        same = min((v[0], n) for n, v in sp.items())
        best = min((v[2], n) for n, v in sp.items())
        verdict = "PASS" if judged[0][0] >= need else "MISS"
        bounds = any(r.m[k].at_least for r in chosen for k in TORCH_KEYS if k in r.m)
        return (
            f"{title}: {verdict} — smallest torch/ours {judged[0][0]:.2f}x ({judged[0][1]}), "
            "ours at NumPy's default threads vs torch float64 at its faster thread setting; "
            f"at equal threads: {same[0]:.2f}x ({same[1]}); each engine at its faster setting: "
            f"{best[0]:.2f}x ({best[1]}). All: "
            + ", ".join(f"{n} {x:.2f}x" for x, n in judged)
            + (" (some torch times are lower bounds, see ≥ above)" if bounds else "")
        )

    small = [
        r for r in rows if r.workload.kind == "run" and r.workload.batch_size() <= SMALL_BATCH
        and not r.workload.is_full_batch()
    ]  # fmt: skip
    full = [r for r in rows if r.workload.is_full_batch()]
    title = f"batch <= {SMALL_BATCH}: ours >= {SPEEDUP_TARGET:g}x faster than torch"
    out.append(speed_line(title, small, SPEEDUP_TARGET))
    out.append(speed_line("full batch: ours no slower than torch", full, 1.0))

    title = f"default preset, 3 seeds: ours >= {PRESET_TARGET:g}x faster than torch"
    preset = [by_name[PRESET_WORKLOAD]] if PRESET_WORKLOAD in by_name else []
    out.append(speed_line(title, preset, PRESET_TARGET))

    title = f"lockstep at batch >= {FLOOR_BATCH}: within {FLOOR_TARGET:g}x of the GEMM-only floor"
    lock = [
        r for r in rows if r.floor is not None
        and (r.workload.lockstep_batch() or 0) >= FLOOR_BATCH
    ]  # fmt: skip
    if lock:
        worst = max(lock, key=Row.over_floor)
        verdict = "PASS" if worst.over_floor() <= FLOOR_TARGET else "MISS"
        out.append(
            f"{title}: {verdict} — worst {worst.over_floor():.2f}x ({worst.workload.name}). All: "
            + ", ".join(f"{r.workload.name} {r.over_floor():.2f}x" for r in lock)
        )
    else:
        out.append(f"{title}: SKIP (no lockstep workload selected)")

    title = f"recording overhead <= {100 * RECORDING_TARGET:.0f}%"
    if not rows:
        out.append(f"{title}: SKIP (nothing measured)")
        return out
    # Judged on the default preset as the dashboard runs it (the worse of 1 and 3 seeds);
    # without it, on the worst workload.
    presets = [by_name[n] for n in RECORDING_WORKLOADS if n in by_name]
    judged = max(presets or rows, key=Row.overhead)
    why = "the default preset, the worse of 1 and 3 seeds" if presets else "the largest"
    verdict = "PASS" if judged.overhead() <= RECORDING_TARGET else "MISS"
    over = [f"{r.workload.name} {100 * r.overhead():.1f}%" for r in rows
            if r.overhead() > RECORDING_TARGET]  # fmt: skip
    out.append(
        f"{title}: {verdict} — {100 * judged.overhead():.1f}% on {judged.workload.name} ({why}); "
        + (f"above {100 * RECORDING_TARGET:.0f}%: " + ", ".join(over) if over else
           "every workload is below it")
    )  # fmt: skip
    return out


def write_csv(path: str, rows: list[Row], sweep_rows: list[list[str]] = ()) -> None:
    cols = [
        "workload", "kind", "batch", "optimizer", "steps", "engine", "variant", "recording",
        "dtype", "threads", "rounds", "median_s", "min_s", "max_s", "times_s", "stopped_rounds",
        "torch_over_ours", "max_abs_diff_vs_ours",
    ]  # fmt: skip
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(cols)
        for r in rows:
            for key, m in r.m.items():
                v = m.variant
                is_torch = v.engine == "torch"
                diff = r.diff(key) if key != "ours" else None
                out.writerow([
                    r.workload.name, r.workload.kind, r.workload.batch, r.workload.optimizer,
                    r.m["ours"].steps, v.engine, v.label, "" if is_torch else v.recording,
                    v.dtype, v.threads or "default", len(m.times), f"{m.median:.6f}",
                    f"{min(m.times):.6f}", f"{max(m.times):.6f}",
                    ";".join(f"{t:.6f}" for t in m.times), sum(m.capped),
                    f"{r.ratio(key):.4f}" if is_torch else "",
                    "" if diff is None else f"{diff:.3e}",
                ])  # fmt: skip
        out.writerows(sweep_rows)


# --- entry point ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="nn_core against PyTorch (CPU) on the same training, and the cost of "
        "nn_core's recording.",
    )
    p.add_argument("--rounds", type=int, default=None, help="timed rounds (default 5; 1 quick)")
    p.add_argument("--quick", action="store_true", help="short epochs and 1 round: a smoke run")
    p.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only these workloads (comma-separated or repeated; shell patterns allowed)",
    )
    p.add_argument("--csv", metavar="PATH", help="also write every measurement as CSV")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = p.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 5
    if args.rounds < 1:
        p.error("--rounds must be >= 1")
    return args


def select(names: list[str] | None, quick: bool) -> list[Workload]:
    all_w = registry(quick)
    if not names:
        return list(all_w.values())
    patterns = [p.strip() for n in names for p in n.split(",") if p.strip()]
    if patterns == ["landscape"]:  # the landscape section alone (printed after the tables)
        return []
    chosen = [w for w in all_w.values() if any(fnmatch.fnmatchcase(w.name, p) for p in patterns)]
    if not chosen:
        raise SystemExit(f"--only matched no workload; choose from: {', '.join(all_w)}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for w in registry(args.quick).values():
            print(f"{w.name:20} {w.kind:10} epochs={w.config.training.epochs:<5} {w.description}")
        return 0
    chosen = select(args.only, args.quick)
    t_start = time.perf_counter()
    threads, _ = blas.threads()
    ours_1t = blas.can_limit()
    one_by_one = has_one_by_one()
    print("nn_core vs PyTorch (CPU): the same training on both engines")
    for line in machine.describe():
        print("  " + line)
    schedule.LOCAL_POOL.warm()  # as the dashboard does on its first page
    print(
        "  local process pool for comparisons: "
        + (
            f"{schedule.LOCAL_POOL.workers} workers, started ahead as the dashboard does"
            if schedule.LOCAL_POOL.workers > 1
            else "one core: comparisons train in-process"
        )
    )

    torch = None
    if importlib.util.find_spec("torch") is None:
        torch_note = "torch: not installed — PyTorch columns skipped (pip install torch)."
    else:
        try:
            torch = TorchWorker()
            torch_note = (
                f"torch {torch.version} runs in a separate process (default "
                f"{torch.default_threads} threads; set to {threads} to match NumPy, and 1)."
            )
        except TorchUnavailable as exc:
            torch_note = f"torch: cannot be imported ({exc}) — PyTorch columns skipped."
    print("  " + torch_note)
    print(
        f"  {args.rounds} interleaved round(s) per workload (end-to-end comparisons: at most "
        f"{MAX_COMPARISON_ROUNDS}), after one untimed 1-epoch warm-up per variant"
    )
    if args.quick:
        print("  --quick: a smoke run; its timings are too short to compare engines")
    print()

    rows: list[Row] = []
    failed: list[str] = []
    sweep_lines: list[str] = []
    sweep_rows: list[list[str]] = []
    try:
        for w in chosen:
            if w.kind == "sweep":  # its own measurement and report (benchmarks/sweeps.py)
                try:
                    sm = sweeps.measure(w, torch, args.quick)
                except Exception as exc:
                    failed.append(f"{w.name}: {type(exc).__name__}: {exc}")
                    print(f"  {w.name:20} FAILED — {failed[-1]}", flush=True)
                    continue
                sweep_lines += sweeps.report(sm, args.quick)
                sweep_rows += sweeps.csv_rows(sm)
                print(
                    f"  {w.name:20} ours 1 proc {sm.one_proc:.3f}s"
                    + (f", 2 procs {sm.two_procs:.3f}s" if sm.two_procs is not None else "")
                    + f"  [{sm.seconds:.0f}s]",
                    flush=True,
                )
                continue
            comparison = w.kind == "comparison"
            rounds = min(args.rounds, MAX_COMPARISON_ROUNDS) if comparison else args.rounds
            refs = w.references
            vs = variants(
                threads, comparison, torch is not None and refs, ours_1t, one_by_one and refs
            )
            t0 = time.perf_counter()
            try:
                m = measure(w, vs, rounds, args.quick, torch)
            except Exception as exc:  # one broken workload must not lose the others' results
                failed.append(f"{w.name}: {type(exc).__name__}: {exc}")
                print(f"  {w.name:20} FAILED — {failed[-1]}", flush=True)
                continue
            rows.append(Row(w, rounds, m, floor.of_workload(w.config, w.data())))
            summary = ", ".join(
                f"{x.variant.label} {'≥' * x.at_least}{x.median:.3f}s" for x in m.values()
            )
            print(f"  {w.name:20} {summary}  [{time.perf_counter() - t0:.0f}s]", flush=True)
    finally:
        if torch is not None:
            torch.close()

    for line in report(rows, threads, torch_note) if rows else []:
        print(line)
    for line in targets(rows, torch is not None):
        print(line)
    for line in sweep_lines:
        print(line)
    if not args.only or any("landscape" in n for n in args.only):
        print()
        for line in landscape.measure(rounds=1 if args.quick else 5):
            print(line)
    if args.csv:
        write_csv(args.csv, rows, sweep_rows)
        print(f"\nCSV written to {args.csv}")
    if failed:
        print("\nFAILED workloads (not in the tables):")
        for line in failed:
            print("  " + line)
    print(f"\nload average at end: {machine.load()}")
    print(f"total benchmark time: {time.perf_counter() - t_start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
