"""Command line: ``python -m nn_core presets | datasets | compare | sweep | surface``.

Bad input (unknown preset, malformed or invalid config, a CSV file the loader refuses, unwritable
output folder, a Dask scheduler that cannot be reached) exits with code 2 and one line on stderr,
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from . import budget, datasets, optimizers, surfaces, tabular
from .config import MAX_CONFIG_BYTES, TASKS, ConfigError, ExperimentConfig, load_json
from .presets import PRESETS
from .results import neutralised_json, write_csv
from .schedule import SchedulerError
from .tabular import DataError

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of argparse's usage block
        raise UsageError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m nn_core", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("presets", help="list the named comparisons")
    sub.add_parser("datasets", help="list the synthetic and bundled datasets")
    c = sub.add_parser("compare", help="train a comparison and write CSV files")
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", help="a preset name (see `presets`)")
    src.add_argument("--config", type=Path, help="a configuration JSON file")
    c.add_argument("--out", type=Path, required=True, help="output folder")
    c.add_argument("--epochs", type=int, help="override training.epochs")
    c.add_argument("--seeds", type=int, help="override training.seeds")
    c.add_argument("--csv", type=Path, help="train on this CSV file instead of dataset.name")
    c.add_argument("--target", help="the CSV's target column (required with --csv)")
    c.add_argument("--task", choices=TASKS, help="override dataset.task")
    c.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="train on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786); "
        "default: $NN_CORE_SCHEDULER, else this machine (in-process or a local process pool)",
    )
    c.add_argument(
        "--quiet",
        action="store_true",
        help="no progress line (it is drawn only on a terminal anyway)",
    )
    c.add_argument(
        "--landscape",
        action="store_true",
        help="also write landscape.csv (a, b, loss) and path.csv: the loss on a plane through "
        "the common start and every run's projected path",
    )
    c.add_argument("--landscape-method", choices=landscape_methods(), default="pca")
    c.add_argument("--landscape-resolution", type=int, default=41, help="grid points per axis")
    c.add_argument("--landscape-seed", type=int, help="which seed's runs (default: the first)")
    _surface_parser(sub)
    _sweep_parser(sub)
    return p


def _sweep_parser(sub) -> None:
    w = sub.add_parser("sweep", help="tune every rule's learning rate and confirm on fresh seeds")
    src = w.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", help="a preset name: its network, data, batch size and epochs")
    src.add_argument("--config", type=Path, help='a configuration JSON file (a "sweep" section '
                     "is optional)")  # fmt: skip
    w.add_argument("--out", type=Path, required=True, help="output folder")
    w.add_argument("--rules", help="comma-separated rules (default: every rule)")
    w.add_argument("--lr-min", type=float)
    w.add_argument("--lr-max", type=float)
    w.add_argument("--lr-points", type=int)
    w.add_argument("--seeds", type=int, help="tuning seeds per grid point (default 3)")
    w.add_argument("--confirm-seeds", type=int, help="fresh seeds for best and default (10)")
    w.add_argument("--epochs", type=int, help="override training.epochs")
    w.add_argument("--target-loss", type=float, help="report epochs to this training loss")
    w.add_argument("--scheduler", help="a Dask scheduler address, tcp://HOST:PORT")
    w.add_argument("--workers", type=int, help="local processes (default: one per core)")
    w.add_argument("--resume", action="store_true", help="reuse the finished runs in --out")
    w.add_argument("--quiet", action="store_true", help="no progress line")


def landscape_methods() -> tuple[str, ...]:
    from .landscape import DIRECTIONS

    return DIRECTIONS


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _surface_parser(sub) -> None:
    s = sub.add_parser("surface", help="walk an optimizer on a 2-D test function")
    s.add_argument("--function", required=True, choices=list(surfaces.SURFACES))
    s.add_argument("--optimizer", required=True, choices=list(optimizers.RULES))
    s.add_argument("--start", nargs=2, type=float, metavar=("X", "Y"))
    s.add_argument("--steps", type=int, default=200)
    s.add_argument("--kappa", type=float, help="condition number of the bowl")
    s.add_argument("--out", type=Path, required=True, help="CSV file to write")
    # Every hyperparameter of every rule, with the configuration's (torch's) names.
    seen: dict[str, optimizers.HyperParam] = {}
    for rule in optimizers.RULES.values():
        for h in rule.hyper:
            seen.setdefault(h.name, h)
    for name, h in seen.items():
        flags = [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else [])
        if h.kind == "pair":
            s.add_argument(*flags, dest=name, nargs=2, type=float, help=h.help)
        elif h.kind == "bool":
            s.add_argument(*flags, dest=name, type=_bool, help=h.help + " (true/false)")
        else:
            s.add_argument(*flags, dest=name, type=float, help=h.help)
    s.set_defaults(hyper_names=list(seen))


def _read_document(path: Path) -> Any:
    """The parsed JSON document of a config file, read and parsed within bounds."""
    try:  # at most one byte more than a configuration may hold: /dev/zero is refused
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read config {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise UsageError(f"config {path} is larger than {MAX_CONFIG_BYTES // 1024} KiB (the limit)")
    try:
        return load_json(raw)
    except ConfigError as exc:
        raise ConfigError(exc.path, f"{exc.message} (in {path})") from None


def _load(args) -> ExperimentConfig:
    if args.preset is not None:
        config = ExperimentConfig.preset(args.preset)
    else:
        doc = _read_document(args.config)
        try:
            config = ExperimentConfig.from_dict(doc)
        except ConfigError as exc:
            raise ConfigError(exc.path, f"{exc.message} (in {args.config})") from None
    changes = {k: v for k, v in (("epochs", args.epochs), ("seeds", args.seeds)) if v is not None}
    if changes:
        config = config.with_training(**changes)
    if args.task is not None:
        doc = config.to_dict()
        doc["dataset"]["task"] = args.task
        config = ExperimentConfig.from_dict(doc)
    return config


def _data(args, config: ExperimentConfig):
    """The dataset and the loader's report for a CSV file or bundled data; (None, None) lets
    ``run_comparison`` generate synthetic data itself."""
    if (args.csv is None) != (args.target is None):
        raise UsageError("--csv FILE and --target COLUMN go together")
    ds, dtype = config.dataset, np.dtype(config.training.dtype)
    if args.csv is not None:
        try:
            return tabular.load_dataset(
                args.csv, args.target, ds.task, ds.val_fraction, ds.seed, dtype
            )
        except DataError as exc:
            raise DataError(exc.code, f"{args.csv}: {exc.message}", exc.field) from None
    if ds.name in datasets.BUNDLED:
        return tabular.load_bundled(ds, dtype)
    return None, None


def _progress_printer():
    def show(p):
        sys.stderr.write(
            f"\r{100 * p.fraction:5.1f}%  {p.run} ({p.seed_text}) epoch {p.epoch}/{p.epochs}"
            + (f"  ~{p.eta:.0f}s left" if p.eta is not None else "")
            + " " * 8
        )
        sys.stderr.flush()

    return show


def _list_datasets() -> None:
    print(f"{'name':14s} {'kind':10s} {'rows x features':18s} {'task':28s} description")
    for g in datasets.DATASETS.values():
        d = g.make(np.random.default_rng(0), 4, 0.0, 3)[0].shape[1]
        task = g.task if g.task == "regression" else "classification"
        if g.name in ("blobs", "spirals"):
            task += " (2-10 classes)"
        elif g.task == "classification":
            task += " (2 classes)"
        shape = f"n_samples x {d}"
        print(f"{g.name:14s} {'synthetic':10s} {shape:18s} {task:28s} {g.description}")
    for b in datasets.BUNDLED.values():
        task = f"{b.task} ({b.classes} classes)" if b.classes else b.task
        shape = f"{b.rows} x {b.features}"
        print(f"{b.name:14s} {'bundled':10s} {shape:18s} {task:28s} {b.description}")


def _compare(args) -> int:
    from .compare import run_comparison

    config = _load(args)
    data, report = _data(args, config)
    plan = budget.plan(config, budget.shape_of(config, data))  # refuses what cannot fit
    config = plan.config
    _check_writable(args.out)
    if plan.note:
        print(f"note: {plan.note}")
    show = not args.quiet and sys.stderr.isatty()
    results = run_comparison(
        config,
        progress=_progress_printer() if show else None,
        # bundled data is read again inside each task; only a CSV file travels with them
        data=data if args.csv is not None else None,
        executor=args.scheduler,
    )
    if show:
        sys.stderr.write("\n")
    paths = results.to_csv(args.out)
    if report is not None:
        (args.out / "data_report.json").write_text(
            json.dumps(neutralised_json(report.to_dict()), indent=2)
        )
        paths = [*paths, args.out / "data_report.json"]
        for line in report.notes():
            print(f"data: {line}")
    diverged = results.summary[results.summary["diverged"]]
    for _, row in diverged.iterrows():
        print(
            f"note: run {row['run']} (seed {row['seed']}) diverged at step "
            f"{int(row['diverged_step'])}"
        )
    if args.landscape:
        paths += _write_landscape(args, results)
    print(f"wrote {len(paths)} files to {args.out}")
    return 0


OUTPUT_FILES = (
    "config.json", "curves.csv", "steps.csv", "gradients.csv", "histograms.csv", "summary.csv",
    "data_report.json", "landscape.csv", "path.csv",
)  # fmt: skip


def _check_writable(out: Path) -> None:
    """Create ``out`` and prove a file can be written there *before* minutes of training: a
    read-only folder, a full disk or a read-only earlier output is refused now, in one line."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create output folder {out}: {exc.strerror or exc}") from None
    try:
        with tempfile.TemporaryFile(dir=out):
            pass
        for name in OUTPUT_FILES:
            path = out / name
            if path.exists() and (path.is_dir() or not os.access(path, os.W_OK)):
                raise PermissionError(f"{path} cannot be overwritten")
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise UsageError(f"cannot write to output folder {out}: {why}") from None


def _write_landscape(args, results) -> list[Path]:
    from .landscape import compute

    try:
        land = compute(
            results,
            seed=args.landscape_seed,
            method=args.landscape_method,
            resolution=args.landscape_resolution,
        )
    except ValueError as exc:
        raise UsageError(f"landscape: {exc}") from None
    grid, path = args.out / "landscape.csv", args.out / "path.csv"
    write_csv(land.grid_frame(), grid)
    write_csv(land.paths, path)
    print(f"landscape: the plane captures {land.plane.explained:.1%} of the weights' movement")
    return [grid, path]


def _surface(args) -> int:
    hyper = {n: getattr(args, n) for n in args.hyper_names if getattr(args, n) is not None}
    try:
        df = surfaces.run_surface(
            args.function,
            args.optimizer,
            hyper,
            start=tuple(args.start) if args.start else None,
            steps=args.steps,
            kappa=args.kappa,
        )
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(args.out, index=False)
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc}") from None
    last = df.iloc[-1]
    end = "diverged" if last["diverged"] else f"loss {last['loss']:.6g}"
    print(
        f"{args.optimizer} on {args.function}: {int(last['step'])} steps, ({last['x']:.6g}, "
        f"{last['y']:.6g}), {end}; wrote {args.out}"
    )
    return 0


def _sweep(args) -> int:
    from . import sweep as sweeps

    if args.preset is not None:
        doc = ExperimentConfig.preset(args.preset).to_dict()
    else:
        doc = _read_document(args.config)
    if not isinstance(doc, dict):
        raise UsageError("the configuration must be a JSON object")
    section = dict(doc.get("sweep") or {}) if isinstance(doc.get("sweep") or {}, dict) else None
    if section is None:
        raise ConfigError("sweep", "must be an object")
    flags = {
        "rules": args.rules,
        "lr_min": args.lr_min,
        "lr_max": args.lr_max,
        "lr_points": args.lr_points,
        "seeds": args.seeds,
        "confirm_seeds": args.confirm_seeds,
        "target_loss": args.target_loss,
    }
    section.update({k: v for k, v in flags.items() if v is not None})
    config, sweep = sweeps.load_document({**doc, "sweep": section})
    if args.epochs is not None:
        config = config.with_training(epochs=args.epochs)
    _check_writable(args.out)
    store_path = args.out / "runs.jsonl"
    try:
        if not args.resume and store_path.exists():
            store_path.unlink()
        store = sweeps.Store(store_path)
    except OSError as exc:
        raise UsageError(f"cannot write to output folder {args.out}: {exc}") from None
    reused = len(store.rows)
    show = not args.quiet and sys.stderr.isatty()
    with _sweep_executor(args) as executor:
        results = sweeps.run_sweep(
            config, sweep, executor=executor, store=store,
            progress=_sweep_progress() if show else None,
        )  # fmt: skip
    if show:
        sys.stderr.write("\n")
    paths = results.to_csv(args.out)
    if reused:
        print(f"resumed: {reused} finished runs reused from {store_path}")
    for _, row in results.best.iterrows():
        edge = "  (best on the grid's edge: extend the grid)" if row["edge"] else ""
        print(
            f"{row['rank']:2d}. {row['rule']:9s} best lr {row['best_lr']:.3g}: "
            f"{row['tuned_median']:.4g} [{row['tuned_low']:.4g}, {row['tuned_high']:.4g}]; "
            f"default lr {row['default_lr']:.3g}: {row['default_median']:.4g}{edge}"
        )
    print(f"wrote {len(paths)} files to {args.out}")
    return 0


def _sweep_executor(args):
    """Dask when a scheduler is named, else the local pool (nn_core.schedule.LocalPool: worker
    processes started by a fork server, never forked from this one), or in-process with one
    worker."""
    import contextlib
    import os

    from . import schedule

    address = args.scheduler or os.environ.get(schedule.ENV_SCHEDULER)
    if address:
        try:
            cluster = schedule.connect(address)
        except schedule.SchedulerError as exc:
            raise UsageError(str(exc)) from None

        @contextlib.contextmanager
        def on_cluster():
            try:
                yield cluster.executor
            finally:
                cluster.close()

        return on_cluster()
    workers = args.workers or schedule.cores()
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    if workers == 1:
        return contextlib.nullcontext(schedule.InlineExecutor())
    pool = schedule.LocalPool(workers)

    @contextlib.contextmanager
    def on_pool():
        try:
            yield pool.executor()
        finally:
            pool.shutdown()

    return on_pool()


def _sweep_progress():
    def show(p):
        eta = f"  ~{p.eta:.0f}s left" if p.eta is not None else ""
        sys.stderr.write(
            f"\r{p.phase:7s} {p.done}/{p.total} runs  {p.rate:.1f} runs/s{eta}" + " " * 8
        )
        sys.stderr.flush()

    return show


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command == "presets":
            for p in PRESETS.values():
                print(f"{p.name:24s} {p.title}")
            return 0
        if args.command == "datasets":
            _list_datasets()
            return 0
        if args.command == "surface":
            return _surface(args)
        if args.command == "sweep":
            return _sweep(args)
        return _compare(args)
    except (UsageError, ConfigError, DataError, SchedulerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
