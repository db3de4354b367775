"""Downloads: every table as CSV with the command line's columns, and a ZIP of everything."""

from __future__ import annotations

import io
import zipfile

import pandas as pd

from nn_core import Results

TABLES = ("curves", "steps", "gradients", "histograms", "summary")


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def table_csv(results: Results, name: str) -> bytes:
    """One of the engine's tables exactly as ``python -m nn_core compare`` writes it."""
    if name not in TABLES:
        raise KeyError(f"unknown table {name!r}; allowed: {', '.join(TABLES)}")
    return csv_bytes(getattr(results, name))


def zip_bytes(results: Results, extra: dict[str, pd.DataFrame] | None = None) -> bytes:
    """config.json, every table, and any extra tables (e.g. a landscape) in one ZIP."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", results.config.to_json())
        for name in TABLES:
            zf.writestr(f"{name}.csv", table_csv(results, name))
        for name, frame in (extra or {}).items():
            zf.writestr(f"{name}.csv", csv_bytes(frame))
    return buf.getvalue()
