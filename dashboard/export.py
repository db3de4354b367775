"""Downloads: every table as CSV with the command line's columns, and a ZIP of everything.

Every CSV goes through :func:`nn_core.results.csv_text`, the command line's writer: text cells
that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return)
are prefixed with a single quote; numbers are untouched."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd

from nn_core import Results
from nn_core.results import csv_text, neutralised_json

TABLES = ("curves", "steps", "gradients", "histograms", "summary")


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return csv_text(frame).encode("utf-8")


def table_csv(results: Results, name: str) -> bytes:
    """One of the engine's tables exactly as ``python -m nn_core compare`` writes it."""
    if name not in TABLES:
        raise KeyError(f"unknown table {name!r}; allowed: {', '.join(TABLES)}")
    return csv_bytes(getattr(results, name))


def zip_bytes(results: Results, extra: dict[str, pd.DataFrame] | None = None) -> bytes:
    """config.json, every table, the CSV loader's data_report.json for an upload, and any extra
    tables (e.g. a landscape) in one ZIP."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", results.config.to_json())
        for name in TABLES:
            zf.writestr(f"{name}.csv", table_csv(results, name))
        if getattr(results, "data_report", None):
            zf.writestr("data_report.json", report_json(results.data_report))
        for name, frame in (extra or {}).items():
            zf.writestr(f"{name}.csv", csv_bytes(frame))
    return buf.getvalue()


def report_json(report: dict) -> str:
    """The CSV loader's report as the command line writes data_report.json."""
    return json.dumps(neutralised_json(report), indent=2)
