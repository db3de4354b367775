"""Tabular data from CSV: the user's own file and the bundled real datasets, refused clearly.

One loader serves the command line, the bundled datasets and the dashboard's upload::

    X, y, report = load_csv("measurements.csv", target="species")   # or bytes, or an upload
    data = to_dataset(X, y, report, val_fraction=0.2, seed=0)        # a datasets.Dataset

What real files look like, and what is accepted:

- comma, semicolon or tab separators (sniffed from the header line); a UTF-8 (or UTF-16)
  byte-order mark; Windows or old-Mac line endings; Windows-1252 text when it is not UTF-8;
  decimal commas in semicolon- or tab-separated files; stray spaces around headers and values;
- missing values (empty, ``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ``?``, ``#N/A``, and
  numbers that are not finite or beyond ±1e100): a feature column missing in more than half of its
  rows is dropped, then every row still missing a value is dropped; both are reported;
- non-numeric feature columns: one-hot encoded when they have at most ``MAX_CATEGORIES``
  distinct values, otherwise dropped, as is a text column with a single value and a row-number
  column (unnamed, ``id`` or ``index`` holding 0..n-1 or 1..n); every drop is reported with its
  reason; constant numeric columns are kept (standardised to zeros) and listed;
- the target: text or boolean labels are label-encoded (codes follow the sorted names; for
  booleans false comes first) and the mapping is kept in ``report.class_names``.

The task is inferred unless given: classification for text labels, or for integer labels with at
most ``MAX_AUTO_CLASSES`` distinct values; regression for other numeric targets. Regression
targets are standardised with training statistics (:func:`to_dataset`), so the loss is in units
of the target's standard deviation and R² is unchanged.

Every refusal is a :class:`DataError` carrying a machine-readable ``code``, a one-line
``message`` and the ``field`` it concerns (``"file"``, ``"target"`` or ``"task"``), so the
dashboard can show it next to the right widget and the command line can print it in one line.
Nothing here imports streamlit or plotly, fetches anything, or keeps global mutable state.
"""

from __future__ import annotations

import codecs
import io
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import datasets

# --- limits (also stated in README.md) ---------------------------------------------------------

MAX_BYTES = 20 * 1024 * 1024  # file size: 20 MiB
MAX_ROWS = 100_000  # data rows, not counting the header
MAX_COLUMNS = 500  # columns in the file
MAX_FEATURES = 500  # feature columns after one-hot encoding
MAX_CELLS = 5_000_000  # rows × features after encoding (40 MB as float64)
MIN_ROWS = 10  # usable rows left after dropping missing values
MAX_NAME = 60  # characters of a column name (longer ones are cut) or a class label (refused)
MAX_CATEGORIES = 20  # a text feature with more distinct values is dropped, not one-hot encoded
MAX_AUTO_CLASSES = 20  # integer targets with at most this many values are inferred as classes
MAX_CLASSES = 100  # classification with more classes is refused
MAX_MISSING_SHARE = 0.5  # a feature column missing in more rows than this is dropped
MAX_ABS_VALUE = 1e100  # larger magnitudes count as missing (keeps statistics finite)

SEPARATORS = (",", ";", "\t")
TASKS = ("auto", "classification", "regression")
MISSING = frozenset(["", "na", "n/a", "nan", "-nan", "null", "none", "?", "#n/a", "<na>"])
_BOOLEAN_ORDERS = (("false", "true"), ("no", "yes"), ("f", "t"), ("n", "y"))
_SIGNATURES = (
    (b"PK\x03\x04", "a ZIP archive or an Excel workbook (.xlsx); export it as CSV"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls); export it as CSV"),
    (b"\x1f\x8b", "gzip-compressed; decompress it first"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
)


class DataError(ValueError):
    """A file or a choice the loader refuses.

    ``code`` is stable and machine-readable (``empty``, ``header_only``, ``not_text``,
    ``too_large``, ``too_many_rows``, ``too_many_columns``, ``malformed``, ``unreadable``,
    ``target_missing``, ``single_class``, ``too_many_classes``, ``target_not_numeric``,
    ``constant_target``, ``too_few_rows``, ``no_features``, ``too_many_features``,
    ``bad_task``); ``message`` is one line; ``field`` names the input at fault: ``"file"``,
    ``"target"`` or ``"task"``.
    """

    def __init__(self, code: str, message: str, field: str = "file"):
        message = " ".join(str(message).split())  # one line, whatever the column names hold
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "field": self.field}


@dataclass(frozen=True)
class DataReport:
    """What the loader read, inferred, encoded and dropped (JSON-serialisable via ``to_dict``)."""

    source: str  # file name, or "upload"
    separator: str
    encoding: str  # "utf-8", "utf-8 with BOM", "utf-16", "windows-1252"
    rows_read: int  # data rows in the file
    rows_used: int
    rows_dropped: int  # rows dropped because a value was missing
    missing_by_column: dict[str, int]  # missing values per kept column, before dropping rows
    columns: tuple[str, ...]  # header names, spaces stripped
    target: str
    task: str  # "classification" | "regression"
    task_inferred: bool  # True when the task was "auto"
    task_reason: str
    class_names: tuple[str, ...]  # class code i is class_names[i]; () for regression
    class_counts: tuple[int, ...]
    feature_names: tuple[str, ...]  # after encoding; one-hot columns are "column=value"
    one_hot: dict[str, tuple[str, ...]]  # column -> its categories
    dropped_columns: dict[str, str]  # column -> why
    constant_columns: tuple[str, ...]  # kept, but the same in every row used
    renamed_columns: dict[str, str]  # header as written -> as used
    decimal_comma_columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return Path(self.source).stem or "upload"

    def notes(self) -> list[str]:
        """Human-readable lines: what was dropped or encoded, and why."""
        sep = {"\t": "tab", ",": "comma", ";": "semicolon"}.get(self.separator, self.separator)
        out = [
            f"read {self.rows_read} rows x {len(self.columns)} columns ({sep}-separated, "
            f"{self.encoding}); using {self.rows_used} rows x {len(self.feature_names)} features"
        ]
        if self.renamed_columns:
            pairs = [f"{k!r} -> {v!r}" for k, v in self.renamed_columns.items()]
            out.append(f"cleaned column names: {_names(pairs, limit=5, width=60)}")
        if self.rows_dropped:
            where = ", ".join(f"{c}: {k}" for c, k in self.missing_by_column.items() if k)
            out.append(f"dropped {self.rows_dropped} row(s) with missing values ({where})")
        for col, cats in self.one_hot.items():
            out.append(f"one-hot encoded {col} ({len(cats)} categories)")
        for col, why in self.dropped_columns.items():
            out.append(f"dropped column {col}: {why}")
        if self.constant_columns:
            out.append(
                f"{len(self.constant_columns)} column(s) hold one value in every row and carry "
                f"no information: {_names(self.constant_columns, limit=8)}"
            )
        if self.decimal_comma_columns:
            out.append(f"read decimal commas in {', '.join(self.decimal_comma_columns)}")
        out.append(f"task: {self.task} ({self.task_reason})")
        if self.class_names:
            out.append(
                "classes: " + ", ".join(f"{i} = {c}" for i, c in enumerate(self.class_names))
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["notes"] = self.notes()
        return d


# --- reading ------------------------------------------------------------------------------------


def _read_bytes(source: Any) -> tuple[bytes, str]:
    """The raw bytes (at most MAX_BYTES + 1 are read) and a display name."""
    limit = MAX_BYTES + 1
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), "upload"
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            with path.open("rb") as f:
                return f.read(limit), path.name
        except OSError as exc:
            raise DataError("unreadable", f"cannot read the file: {exc.strerror or exc}") from None
    name = Path(str(getattr(source, "name", "") or "upload")).name
    if hasattr(source, "getvalue"):  # io.BytesIO, io.StringIO, Streamlit's UploadedFile
        raw = source.getvalue()
    elif hasattr(source, "read"):
        raw = source.read(limit)
    else:
        raise TypeError(f"expected a path, bytes or a file object, got {type(source).__name__}")
    return (raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)), name


def _decode(raw: bytes) -> tuple[str, str]:
    """Text and the encoding used; refuses empty and binary input."""
    if len(raw) > MAX_BYTES:
        raise DataError("too_large", f"the file is larger than {MAX_BYTES // 2**20} MiB")
    for signature, what in _SIGNATURES:
        if raw.startswith(signature):
            raise DataError("not_text", f"the file is not a CSV text file: it looks like {what}")
    if raw.startswith(codecs.BOM_UTF8):
        raw, encodings = raw[3:], ["utf-8 with BOM"]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8", "windows-1252", "latin-1"]
    codec = {"utf-8 with BOM": "utf-8", "windows-1252": "cp1252"}
    for encoding in encodings:
        try:
            text = raw.decode(codec.get(encoding, encoding))
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DataError("not_text", f"the file is not valid {encodings[0]} text")
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise DataError("empty", "the file is empty")
    sample = text[:65536]
    controls = len(_CONTROL.findall(sample))
    if "\x00" in sample or controls > 0.01 * len(sample):
        raise DataError("not_text", "the file is not a CSV text file (it holds binary data)")
    return text, encoding


_QUOTED = re.compile(r'"[^"]*"')
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _sniff(text: str) -> str:
    """The separator: the candidate splitting the header into the most fields, preferring one
    that splits the following lines into as many."""
    lines = [ln for ln in text[:65536].split("\n")[:50] if ln.strip()]
    unquoted = [_QUOTED.sub("", ln) for ln in lines]
    best, best_score = ",", (False, 1)
    for sep in SEPARATORS:
        counts = [ln.count(sep) + 1 for ln in unquoted]
        if counts[0] < 2:
            continue
        consistent = sum(c == counts[0] for c in counts) >= 0.9 * len(counts)
        if (consistent, counts[0]) > best_score:
            best, best_score = sep, (consistent, counts[0])
    return best


def _limit_columns(n: int) -> None:
    if n > MAX_COLUMNS:
        raise DataError("too_many_columns", f"the file has {n} columns; the limit is {MAX_COLUMNS}")


def _parse(text: str) -> tuple[pd.DataFrame, str, dict[str, str]]:
    """All cells as stripped strings, the separator, and the headers that were renamed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    sep = _sniff(text)
    header_line = next(ln for ln in text.split("\n") if ln.strip())
    _limit_columns(_QUOTED.sub("", header_line).count(sep) + 1)
    try:
        # header=None: the first line fixes the number of fields, so a longer row is an error
        # instead of silently becoming an index; shorter rows are padded with "" (missing).
        df = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            dtype=str,
            na_filter=False,
            skipinitialspace=True,
            skip_blank_lines=True,
            nrows=MAX_ROWS + 2,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        raise DataError("empty", "the file is empty") from None
    except (pd.errors.ParserError, ValueError, OverflowError) as exc:
        why = _why(exc)
        raise DataError("malformed", f"the file is not a well-formed CSV table: {why}") from None
    _limit_columns(df.shape[1])
    if len(df) > MAX_ROWS + 1:
        raise DataError("too_many_rows", f"the file has more than {MAX_ROWS} rows (the limit)")
    df = df.fillna("")
    written = [str(v) for v in df.iloc[0]]
    for col in df.columns:
        df[col] = df[col].astype(str).str.strip()
    df = df.iloc[1:].reset_index(drop=True)
    if df.empty:
        raise DataError("header_only", "the file has a header but no data rows")
    names, renamed, seen = [], {}, set()
    for i, raw in enumerate(written):
        name = " ".join(raw.replace("\ufeff", "").split())[:MAX_NAME] or f"column_{i + 1}"
        base, k = name, 1
        while name in seen:
            k += 1
            name = f"{base}.{k}"
        seen.add(name)
        names.append(name)
        if name != raw:
            renamed[raw] = name
    df.columns = names
    return df, sep, renamed


def _why(exc: Exception) -> str:
    msg = " ".join(str(exc).split())
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        return f"line {m[2]} has {m[3]} fields but the header has {m[1]}"
    if "EOF inside string" in msg:
        return "a quoted field is never closed"
    return msg.removeprefix("Error tokenizing data. C error: ")[:200]


def read_table(source: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The file's cells as stripped strings under cleaned header names, after every file-level
    check (size, text, separator, shape). The dashboard uses ``.columns`` to offer a target.

    ``source`` is a path (``str`` or ``Path``), the file's bytes, or a file object (an upload).
    Returns the table and ``{"source", "separator", "encoding", "renamed"}``.
    """
    raw, name = _read_bytes(source)
    text, encoding = _decode(raw)
    df, sep, renamed = _parse(text)
    return df, {"source": name, "separator": sep, "encoding": encoding, "renamed": renamed}


def read_columns(source: Any) -> list[str]:
    """Column names of a CSV (for a target picker); raises :class:`DataError` like the loader."""
    return list(read_table(source)[0].columns)


# --- columns ------------------------------------------------------------------------------------


def _numbers(values: pd.Series, missing: pd.Series, decimal_comma: bool):
    """Floats (NaN where missing or out of range) when every present value is a number, else
    None; and whether decimal commas were read."""
    present = values.where(~missing)
    x = pd.to_numeric(present, errors="coerce")
    if x[~missing].isna().any() and decimal_comma:
        x = pd.to_numeric(present.str.replace(",", ".", regex=False), errors="coerce")
        if x[~missing].isna().any():
            return None, False
        used_comma = True
    elif x[~missing].isna().any():
        return None, False
    else:
        used_comma = False
    x = np.array(x.to_numpy(dtype=float, na_value=np.nan), dtype=float)  # a writable copy
    with np.errstate(invalid="ignore"):
        x[~(np.abs(x) <= MAX_ABS_VALUE)] = np.nan
    return x, used_comma


def _is_row_number(name: str, x: np.ndarray) -> bool:
    key = name.lower()
    if not (key in ("id", "index") or key.startswith(("column_", "unnamed:"))):
        return False
    if np.isnan(x).any():
        return False
    return bool(np.array_equal(x, np.arange(len(x))) or np.array_equal(x, np.arange(1, len(x) + 1)))


def _label(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 2**53 else f"{v:g}"


def _names(columns, limit: int = 20, width: int = 40) -> str:
    cols = [c if len(c) <= width else c[: width - 3] + "..." for c in columns]
    more = f", ... ({len(cols) - limit} more)" if len(cols) > limit else ""
    return ", ".join(cols[:limit]) + more


def _find_target(columns: list[str], target: str) -> str:
    want = " ".join(str(target).split())
    if want in columns:
        return want
    folded = [c for c in columns if c.casefold() == want.casefold()]
    if len(folded) == 1:
        return folded[0]
    hint = ""
    if all(_is_number(c) for c in columns):
        hint = " (the first row is read as the header; this file seems to have none)"
    raise DataError(
        "target_missing",
        f"target column {want!r} not found; columns: {_names(columns)}{hint}",
        "target",
    )


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


# --- the loader ---------------------------------------------------------------------------------


def load_csv(
    source: Any, target: str, task: str = "auto"
) -> tuple[np.ndarray, np.ndarray, DataReport]:
    """Read, check and encode a CSV file for training.

    Returns ``X`` (n, d) float64 features, ``y`` (n,) int64 class codes (classification) or
    float64 targets (regression), and a :class:`DataReport`. Raises :class:`DataError`.
    ``task`` is ``"auto"``, ``"classification"`` or ``"regression"``.
    """
    if task not in TASKS:
        raise DataError("bad_task", f"unknown task {task!r}; allowed: {', '.join(TASKS)}", "task")
    df, meta = read_table(source)
    columns = list(df.columns)
    target = _find_target(columns, target)
    if len(columns) < 2:
        raise DataError(
            "no_features", f"the file has no feature column besides the target {target!r}"
        )
    comma = meta["separator"] != ","
    n_read = len(df)

    # Target: missing marks, numeric view.
    t_values = df[target]
    t_missing = t_values.str.lower().isin(MISSING).to_numpy()
    t_numbers, _ = _numbers(t_values, pd.Series(t_missing, index=df.index), comma)
    if t_numbers is not None:
        t_missing = t_missing | np.isnan(t_numbers)

    # Features: numeric or text; columns mostly missing go first, then rows still missing.
    dropped: dict[str, str] = {}
    numeric: dict[str, np.ndarray] = {}
    text: dict[str, pd.Series] = {}
    missing: dict[str, np.ndarray] = {}
    decimal_cols = []
    for col in columns:
        if col == target:
            continue
        values = df[col]
        miss = values.str.lower().isin(MISSING)
        x, used_comma = _numbers(values, miss, comma)
        m = miss.to_numpy() if x is None else np.isnan(x)
        share = m.mean()
        if share > MAX_MISSING_SHARE:
            dropped[col] = f"missing in {share:.0%} of rows"
            continue
        if x is not None and _is_row_number(col, x):
            dropped[col] = "a row number, not a feature"
            continue
        missing[col] = m
        if x is None:
            text[col] = values
        else:
            numeric[col] = x
            if used_comma:
                decimal_cols.append(col)
    missing_by_column = {target: int(t_missing.sum())}
    missing_by_column.update((c, int(m.sum())) for c, m in missing.items())
    keep = ~t_missing
    for m in missing.values():
        keep &= ~m
    n_used = int(keep.sum())
    if n_used < MIN_ROWS:
        dropped_note = f" ({n_read - n_used} dropped for missing values)" if n_used < n_read else ""
        raise DataError(
            "too_few_rows",
            f"only {n_used} usable rows{dropped_note}; at least {MIN_ROWS} are needed",
        )

    # Encode the features on the rows kept.
    blocks, feature_names, one_hot, constant = [], [], {}, []
    for col in columns:
        if col in numeric:
            x = numeric[col][keep]
            if np.all(x == x[0]):
                constant.append(col)  # kept: harmless once standardised (a blank pixel, say)
            blocks.append(x[:, None])
            feature_names.append(col)
        elif col in text:
            v = text[col].to_numpy(dtype=object)[keep]
            cats = sorted(set(v))
            if len(cats) < 2:
                dropped[col] = "a single value"
            elif len(cats) > MAX_CATEGORIES:
                dropped[col] = (
                    f"text with {len(cats)} distinct values (one-hot limit {MAX_CATEGORIES})"
                )
            else:
                codes = np.searchsorted(np.array(cats, dtype=object), v)
                blocks.append(np.eye(len(cats))[codes])
                feature_names.extend(f"{col}={c}" for c in cats)
                one_hot[col] = tuple(cats)
    if len(constant) == len(blocks):
        why = [f"{c} (constant)" for c in constant] + [f"{c} ({w})" for c, w in dropped.items()]
        raise DataError(
            "no_features", f"no usable feature column remains: {_names(why, limit=5, width=90)}"
        )
    if len(feature_names) > MAX_FEATURES:
        raise DataError(
            "too_many_features",
            f"{len(feature_names)} features after one-hot encoding; the limit is {MAX_FEATURES}",
        )
    if n_used * len(feature_names) > MAX_CELLS:
        raise DataError(
            "too_large",
            f"{n_used} rows x {len(feature_names)} features exceeds the limit of "
            f"{MAX_CELLS:,} values",
        )
    X = np.hstack(blocks).astype(np.float64)

    y, task_used, reason, class_names, counts = _encode_target(
        t_values.to_numpy(dtype=object)[keep],
        None if t_numbers is None else t_numbers[keep],
        target,
        task,
    )
    report = DataReport(
        source=meta["source"],
        separator=meta["separator"],
        encoding=meta["encoding"],
        rows_read=n_read,
        rows_used=n_used,
        rows_dropped=n_read - n_used,
        missing_by_column=missing_by_column,
        columns=tuple(columns),
        target=target,
        task=task_used,
        task_inferred=task == "auto",
        task_reason=reason,
        class_names=class_names,
        class_counts=counts,
        feature_names=tuple(feature_names),
        one_hot=one_hot,
        dropped_columns=dropped,
        constant_columns=tuple(constant),
        renamed_columns=meta["renamed"],
        decimal_comma_columns=tuple(decimal_cols),
    )
    return X, y, report


def _encode_target(labels: np.ndarray, numbers: np.ndarray | None, target: str, task: str):
    """(y, task, reason, class_names, class_counts) for the kept rows."""
    if task == "auto":
        if numbers is None:
            task, reason = "classification", "inferred: the target holds text labels"
        else:
            distinct = np.unique(numbers)
            if len(distinct) <= MAX_AUTO_CLASSES and np.all(distinct == np.round(distinct)):
                task = "classification"
                reason = f"inferred: {len(distinct)} distinct integer labels"
            else:
                task = "regression"
                reason = f"inferred: numeric target with {len(distinct)} distinct values"
    else:
        reason = "as configured"

    if task == "regression":
        if numbers is None:
            raise DataError(
                "target_not_numeric",
                f"target {target!r} holds text, so it cannot be a regression target",
                "task",
            )
        if np.all(numbers == numbers[0]):
            raise DataError(
                "constant_target", f"target {target!r} has a single value; nothing to learn"
            )
        return numbers.astype(np.float64), task, reason, (), ()

    if numbers is not None:
        values, codes = np.unique(numbers, return_inverse=True)
        names = tuple(_label(v) for v in values)
    else:
        lowered = np.array([str(v).lower() for v in labels], dtype=object)
        uniq = sorted(set(lowered))
        order = next((o for o in _BOOLEAN_ORDERS if set(uniq) <= set(o)), None)
        if order is not None:  # booleans: false first, spelt as first written
            uniq = [o for o in order if o in uniq]
            first = {low: str(lab) for low, lab in zip(lowered[::-1], labels[::-1], strict=True)}
            names = tuple(first[u] for u in uniq)
            codes = pd.Categorical(lowered, categories=uniq).codes
        else:
            names = tuple(sorted({str(v) for v in labels}))
            codes = pd.Categorical(labels.astype(str), categories=names).codes
    long = next((n for n in names if len(n) > MAX_NAME), None)
    if long is not None:  # shown in legends and tables: a 100 000-character label freezes a tab
        raise DataError(
            "long_class_label",
            f"target {target!r} has a class label of {len(long):,} characters "
            f"({long[:20]!r}…); the limit is {MAX_NAME}",
            "target",
        )
    if len(names) < 2:
        raise DataError(
            "single_class",
            f"target {target!r} has only one class ({names[0]!r}); classification needs two",
            "target",
        )
    if len(names) > MAX_CLASSES:
        raise DataError(
            "too_many_classes",
            f"target {target!r} has {len(names)} classes; the limit is {MAX_CLASSES} "
            "(choose another target, or the regression task for a numeric one)",
            "target",
        )
    counts = tuple(int(c) for c in np.bincount(codes, minlength=len(names)))
    return codes.astype(np.int64), task, reason, names, counts


def validate_csv(source: Any, target: str | None = None, task: str = "auto") -> list[DataError]:
    """The loader's checks as data for a form: ``[]`` when the file (and, given a target, the
    whole load) is accepted, else the errors (``e.field`` says which widget, ``e.to_dict()``)."""
    try:
        if target is None:
            read_table(source)
        else:
            load_csv(source, target, task)
    except DataError as exc:
        return [exc]
    return []


# --- to a Dataset ---------------------------------------------------------------------------------


def to_dataset(
    X: np.ndarray,
    y: np.ndarray,
    report: DataReport,
    val_fraction: float = 0.2,
    seed: int = 0,
    dtype=np.float64,
    name: str | None = None,
) -> datasets.Dataset:
    """Split (stratified for classes, seeded like the synthetic data) and standardise."""
    regression = report.task == "regression"
    return datasets.prepare(
        name or report.name,
        X,
        y,
        not regression,
        val_fraction,
        np.random.default_rng([seed, 1]),
        feature_names=report.feature_names,
        class_names=report.class_names,
        dtype=dtype,
        standardize_target=regression,
    )


def load_dataset(
    source: Any,
    target: str,
    task: str = "auto",
    val_fraction: float = 0.2,
    seed: int = 0,
    dtype=np.float64,
) -> tuple[datasets.Dataset, DataReport]:
    """:func:`load_csv` then :func:`to_dataset`."""
    X, y, report = load_csv(source, target, task)
    return to_dataset(X, y, report, val_fraction, seed, dtype), report


def load_bundled(cfg, dtype=np.float64) -> tuple[datasets.Dataset, DataReport]:
    """A bundled real dataset (``cfg.name`` in ``datasets.BUNDLED``) from ``data/``, through the
    same loader as a user's file. ``cfg`` is a ``DatasetConfig``: ``val_fraction``, ``seed`` and
    ``task`` apply; ``n_samples``, ``noise`` and ``classes`` do not."""
    spec = datasets.BUNDLED[cfg.name]
    path = datasets.DATA_DIR / spec.file
    try:
        X, y, report = load_csv(path, spec.target, cfg.task)
    except DataError as exc:
        raise DataError(
            exc.code, f"bundled dataset {cfg.name} ({path}): {exc}", exc.field
        ) from None
    return to_dataset(X, y, report, cfg.val_fraction, cfg.seed, dtype, name=cfg.name), report
