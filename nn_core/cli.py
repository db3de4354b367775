"""Command line: ``python -m nn_core presets | compare``.

Bad input (unknown preset, malformed or invalid config, unwritable output folder) exits with
code 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import ConfigError, ExperimentConfig
from .presets import PRESETS

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
    c = sub.add_parser("compare", help="train a comparison and write CSV files")
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", help="a preset name (see `presets`)")
    src.add_argument("--config", type=Path, help="a configuration JSON file")
    c.add_argument("--out", type=Path, required=True, help="output folder")
    c.add_argument("--epochs", type=int, help="override training.epochs")
    c.add_argument("--seeds", type=int, help="override training.seeds")
    c.add_argument(
        "--quiet",
        action="store_true",
        help="no progress line (it is drawn only on a terminal anyway)",
    )
    return p


def _load(args) -> ExperimentConfig:
    if args.preset is not None:
        config = ExperimentConfig.preset(args.preset)
    else:
        try:
            text = args.config.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read config {args.config}: {exc}") from None
        config = ExperimentConfig.from_json(text)
    changes = {k: v for k, v in (("epochs", args.epochs), ("seeds", args.seeds)) if v is not None}
    return config.with_training(**changes) if changes else config


def _progress_printer():
    def show(p):
        sys.stderr.write(
            f"\r{100 * p.fraction:5.1f}%  {p.run} (seed {p.seed}) epoch {p.epoch}/{p.epochs}"
            + (f"  ~{p.eta:.0f}s left" if p.eta is not None else "")
            + " " * 8
        )
        sys.stderr.flush()

    return show


def main(argv: list[str] | None = None) -> int:
    from .training import run_comparison

    try:
        args = _parser().parse_args(argv)
        if args.command == "presets":
            for p in PRESETS.values():
                print(f"{p.name:24s} {p.title}")
            return 0
        config = _load(args)
        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create output folder {args.out}: {exc}") from None
        show = not args.quiet and sys.stderr.isatty()
        results = run_comparison(config, progress=_progress_printer() if show else None)
        if show:
            sys.stderr.write("\n")
        paths = results.to_csv(args.out)
        diverged = results.summary[results.summary["diverged"]]
        for _, row in diverged.iterrows():
            print(f"note: run {row['run']} (seed {row['seed']}) diverged at step "
                  f"{int(row['diverged_step'])}")  # fmt: skip
        print(f"wrote {len(paths)} files to {args.out}")
        return 0
    except (UsageError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
