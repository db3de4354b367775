"""Where the training data comes from: a synthetic generator, a bundled real dataset, or the
user's uploaded CSV.

Synthetic and bundled data are fully described by the configuration (``dataset.name``). An
upload is not: its bytes, target column and task live under one plain session-state key
(``UPLOAD_KEY``) so they survive page switches (the upload widget itself is reset by Streamlit
when another page draws it), and the comparison is cached on a fingerprint of the file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

from nn_core import ExperimentConfig, budget, tabular
from nn_core.datasets import BUNDLED, DATASETS, Dataset

from . import text

UPLOAD_KEY = "lab_upload"
REFUSED_KEY = "lab_upload_refused"  # (file name, why) of the last file refused outright
WIDGET_KEY = "lab_upload_widget"  # a new upload widget after a refusal drops Streamlit's copy
SOURCE_KEY = "lab_source"
SOURCES = {"synthetic": "Synthetic", "bundled": "Bundled real data", "upload": "Upload a CSV"}


@dataclass(frozen=True)
class Upload:
    """An uploaded file and the choices made about it."""

    name: str
    raw: bytes
    target: str | None = None
    task: str = "auto"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()[:16]


def source_of(config: ExperimentConfig) -> str:
    chosen = st.session_state.get(SOURCE_KEY)
    if chosen == "upload" and st.session_state.get(UPLOAD_KEY) is not None:
        return "upload"
    return "bundled" if config.dataset.name in BUNDLED else "synthetic"


def shape(config: ExperimentConfig) -> budget.Shape:
    """The data's shape for the memory and work estimate, before anything is loaded: the
    configured synthetic or bundled data, or the session's upload (rows counted as its line
    breaks, inputs as its columns; the exact shape is checked again when it is loaded)."""
    upload: Upload | None = st.session_state.get(UPLOAD_KEY)
    if source_of(config) != "upload" or upload is None:
        return budget.shape_of(config)
    rows = max(upload.raw.count(b"\n"), 1)
    columns, _ = _columns(upload.digest, upload.raw)
    n_val = round(config.dataset.val_fraction * rows)
    sizes = (max(len(columns) - 1, 1), *config.network.hidden_layers, 10)
    return budget.Shape(rows - n_val, n_val, sizes)


def fingerprint(upload: Upload, config: ExperimentConfig) -> str:
    d = config.dataset
    return f"upload:{upload.digest}:{upload.target}:{upload.task}:{d.val_fraction}:{d.seed}"


def load(upload: Upload, config: ExperimentConfig) -> tuple[Dataset, tabular.DataReport]:
    """The uploaded file as a split, standardised dataset (raises ``tabular.DataError``)."""
    d = config.dataset
    return tabular.load_dataset(
        upload.raw,
        upload.target or "",
        upload.task,
        d.val_fraction,
        d.seed,
        dtype=config.training.dtype,
    )


@st.cache_data(max_entries=16, show_spinner=False)
def _columns(digest: str, _raw: bytes) -> tuple[list[str], str]:
    """(columns, "") or ([], why the file is refused): parsed once per file, not per rerun."""
    try:
        return tabular.read_columns(_raw), ""
    except tabular.DataError as exc:
        return [], exc.message


@st.cache_data(max_entries=16, show_spinner=False)
def _refusal(digest: str, target: str, task: str, _raw: bytes) -> str:
    """Why the loader refuses this file with this target and task ("" when it accepts it)."""
    problems = tabular.validate_csv(_raw, target, task)
    return problems[0].message if problems else ""


def render_upload() -> Upload | None:
    """The upload widgets; every refusal is shown next to the widget it concerns."""
    upload: Upload | None = st.session_state.get(UPLOAD_KEY)
    limit_mib = tabular.MAX_BYTES // 2**20
    widget = f"w_upload{st.session_state.get(WIDGET_KEY, '')}"
    file = st.file_uploader(
        f"CSV file (at most {limit_mib} MiB)",
        key=widget,  # no type filter: the loader explains what is wrong with any file
        help=f"Comma, semicolon or tab separated, at most {limit_mib} MiB, "
        f"{tabular.MAX_ROWS:,} rows and {tabular.MAX_COLUMNS} columns.",
        max_upload_size=limit_mib,  # the app's limit, also server.maxUploadSize
    )
    if file is not None and (upload is None or upload.raw != file.getvalue()):
        upload = Upload(file.name, file.getvalue())
        st.session_state[UPLOAD_KEY] = upload
    if upload is None:
        refused = st.session_state.get(REFUSED_KEY)
        if refused:
            st.error(f"{text.md(refused[0])}: {text.md(refused[1])}", icon="⚠️")
        st.caption("No file yet. Bad files are refused with a message; nothing else is lost.")
        return None
    st.caption(f"Using **{text.md(upload.name)}** ({len(upload.raw):,} bytes).")
    columns, why = _columns(upload.digest, upload.raw)
    if why:  # refused whatever the target: forget its bytes now, and the widget's copy (a
        # new widget key) on the next rerun; the refusal stays on screen until another file
        st.error(f"{text.md(upload.name)}: {text.md(why)}", icon="⚠️")
        st.session_state[UPLOAD_KEY] = None
        st.session_state[REFUSED_KEY] = (upload.name[:200], why)
        st.session_state[WIDGET_KEY] = st.session_state.get(WIDGET_KEY, 0) + 1
        return None
    st.session_state.pop(REFUSED_KEY, None)
    target = upload.target if upload.target in columns else columns[-1]
    target = st.selectbox("Target column", columns, index=columns.index(target), key="w_target")
    task = st.selectbox(
        "Task",
        list(tabular.TASKS),
        index=list(tabular.TASKS).index(upload.task),
        key="w_task",
        help="auto: classes for text or few distinct values",
    )
    upload = Upload(upload.name, upload.raw, target, task)
    st.session_state[UPLOAD_KEY] = upload
    why = _refusal(upload.digest, target, task, upload.raw)
    if why:
        st.error(text.md(why), icon="⚠️")
        return None
    if st.button("Remove file", key="w_upload_remove"):
        st.session_state[UPLOAD_KEY] = None
        st.session_state[SOURCE_KEY] = "synthetic"
        st.rerun()
    return upload


def synthetic_defaults(config: ExperimentConfig) -> dict:
    """Widget seeds for the synthetic generator (a bundled name keeps moons' defaults)."""
    d = config.dataset
    name = d.name if d.name in DATASETS else "moons"
    noise = d.noise if d.noise is not None else DATASETS[name].default_noise
    return {"ds_name": name, "ds_noise": float(noise), "ds_bundled": _first_bundled(d.name)}


def _first_bundled(name: str) -> str:
    return name if name in BUNDLED else next(iter(BUNDLED))
