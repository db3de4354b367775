"""The sidebar: choose a preset or edit the configuration, then run the comparison.

Widgets are seeded from the configuration in session state and every change is validated at
once by the engine's own parser; an invalid setting is explained next to its widget and the
Run button says why it is disabled. The pure helpers at the top (``parse_*``, ``runs_frame``,
``build_doc``) are unit-tested without Streamlit.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pandas as pd
import streamlit as st

from nn_core import PRESETS, ConfigError, ExperimentConfig, tabular
from nn_core.activations import ACTIVATIONS
from nn_core.data import make as make_data
from nn_core.datasets import BUNDLED, DATASETS
from nn_core.initializers import INITIALIZERS
from nn_core.optimizers import RULES
from nn_core.results import Results
from nn_core.training import build_architecture

from . import data_source, runner, state

W = "w_"  # prefix of every sidebar widget key (cleared when a new configuration is loaded)
RUNS_BASE_KEY = "lab_runs_base"
PAGE_KEY = "lab_page"
AUTORUN_KEY = "lab_autorun"
PARTIAL_KEY = "lab_partial"
UI_MAX_EPOCHS = 5000
UI_MAX_SAMPLES = 20000
UI_MAX_SEEDS = 10
RUN_COLUMNS = ["label", "optimizer", "batch_size", "lr", "options"]


# --- pure helpers ------------------------------------------------------------------------------


def parse_widths(text: str) -> list[int] | str:
    """'16, 16' -> [16, 16]; returns an error message instead when malformed."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        return "give at least one hidden-layer width, e.g. 16, 16"
    try:
        return [int(p) for p in parts]
    except ValueError:
        return f"widths must be whole numbers separated by commas, got {text!r}"


def _value(text: str) -> Any:
    text = text.strip()
    if "/" in text:  # betas as 0.9/0.999
        return [_value(t) for t in text.split("/")]
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_options(text: str) -> dict[str, Any] | str:
    """'momentum=0.9, betas=0.9/0.999, centered=true' -> dict; an error message if malformed."""
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in str(text or "").split(","))):
        if "=" not in part:
            return f"options are name=value pairs separated by commas, got {part!r}"
        key, value = part.split("=", 1)
        out[key.strip()] = _value(value)
    return out


def format_options(hyper: dict[str, Any]) -> str:
    def fmt(v):
        if isinstance(v, list | tuple):
            return "/".join(fmt(x) for x in v)
        if isinstance(v, bool):
            return str(v).lower()
        return f"{v:g}" if isinstance(v, float) else str(v)

    return ", ".join(f"{k}={fmt(v)}" for k, v in hyper.items() if k != "lr")


def runs_frame(config: ExperimentConfig) -> pd.DataFrame:
    rows = []
    for r in config.runs:
        hp = r.hyperparameters()
        rows.append(
            {
                "label": r.label,
                "optimizer": r.optimizer,
                "batch_size": str(r.batch_size),
                "lr": float(hp["lr"]),
                "options": format_options(r.hyper),
            }
        )
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def runs_from_frame(frame: pd.DataFrame) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of the runs table -> config run dicts, and error messages (row-numbered)."""
    runs, errors = [], []
    for i, row in enumerate(frame.to_dict("records"), start=1):
        if all(pd.isna(v) or v == "" for v in row.values()):
            continue  # an empty row just added
        run: dict[str, Any] = {}
        if isinstance(row.get("label"), str) and row["label"].strip():
            run["label"] = row["label"].strip()
        run["optimizer"] = row.get("optimizer") or ""
        bs = str(row.get("batch_size") or "").strip()
        if bs:
            run["batch_size"] = "full" if bs.lower() == "full" else _value(bs)
        if row.get("lr") is not None and not pd.isna(row.get("lr")):
            run["lr"] = float(row["lr"])
        opts = parse_options(row.get("options") or "")
        if isinstance(opts, str):
            errors.append(f"run {i}: {opts}")
        else:
            run.update(opts)
        runs.append(run)
    return runs, errors


def validate(doc: dict[str, Any]) -> tuple[ExperimentConfig | None, ConfigError | None]:
    try:
        return ExperimentConfig.from_dict(doc), None
    except ConfigError as exc:
        return None, exc


def rule_defaults_text() -> str:
    lines = []
    for r in RULES.values():
        hp = r.defaults
        lines.append(f"- **{r.name}**: lr={hp.pop('lr'):g}, {format_options(hp)}".rstrip(", "))
    return "\n".join(lines)


# --- Streamlit --------------------------------------------------------------------------------


def _seed_widgets(config: ExperimentConfig) -> None:
    """Give every widget its value from the configuration unless the user already set one."""
    d, n, t = config.dataset, config.network, config.training
    acts = n.activations
    defaults = {
        **data_source.synthetic_defaults(config),
        "ds_source": data_source.source_of(config),
        "ds_n": d.n_samples,
        "ds_classes": d.classes,
        "ds_val": d.val_fraction,
        "ds_seed": d.seed,
        "net_widths": ", ".join(str(w) for w in n.hidden_layers),
        "net_act": acts[0],
        "net_per_layer": "" if len(set(acts)) == 1 else ", ".join(acts),
        "net_init": n.initializer,
        "net_scale": float(n.init_scale) if n.init_scale is not None else 0.0,
        "net_gain_auto": n.gain == "auto",
        "net_gain": 1.0 if n.gain == "auto" else float(n.gain),
        "net_dropout": n.dropout,
        "net_l2": n.l2,
        "tr_epochs": t.epochs,
        "tr_seeds": t.seeds,
        "tr_base_seed": t.base_seed,
        "tr_clip": float(t.clip_norm or 0.0),
        "tr_step_epochs": t.step_epochs,
    }
    for key, value in defaults.items():
        st.session_state.setdefault(W + key, value)
    if RUNS_BASE_KEY not in st.session_state:
        st.session_state[RUNS_BASE_KEY] = runs_frame(config)


def _forget_widgets() -> None:
    """Drop every sidebar widget value so the next render seeds them from the configuration."""
    for key in [k for k in st.session_state if str(k).startswith(W)]:
        del st.session_state[key]
    st.session_state.pop(RUNS_BASE_KEY, None)


def load_config(config: ExperimentConfig, preset: str | None) -> None:
    """Replace the configuration (preset, import, link) and reseed every widget."""
    _forget_widgets()
    state.set_config(st.session_state, st.query_params, config, preset)


def _on_preset() -> None:
    name = st.session_state[W + "preset"]
    load_config(ExperimentConfig.preset(name), name)
    st.session_state[W + "preset"] = name


def run_preset(name: str) -> None:
    """Load a preset and train it on this rerun (presentation mode: one click per demo)."""
    load_config(ExperimentConfig.preset(name), name)
    st.session_state[AUTORUN_KEY] = True


def _doc_from_widgets(runs_table: pd.DataFrame, errors: dict[str, str]) -> dict[str, Any]:
    s = st.session_state
    widths = parse_widths(s[W + "net_widths"])
    if isinstance(widths, str):
        errors["network.hidden_layers"] = widths
        widths = [1]
    per_layer = [a.strip() for a in s[W + "net_per_layer"].split(",") if a.strip()]
    init = s[W + "net_init"]
    network: dict[str, Any] = {
        "hidden_layers": widths,
        "activation": per_layer or s[W + "net_act"],
        "initializer": init,
        "gain": "auto" if s[W + "net_gain_auto"] else s[W + "net_gain"],
        "dropout": s[W + "net_dropout"],
        "l2": s[W + "net_l2"],
    }
    if INITIALIZERS[init].uses_scale:
        network["init_scale"] = s[W + "net_scale"] or INITIALIZERS[init].default_scale
    runs, run_errors = runs_from_frame(runs_table)
    if run_errors:
        errors["runs"] = "; ".join(run_errors)
    clip = s[W + "tr_clip"]
    return {
        "dataset": {
            "name": s[W + "ds_bundled"] if s[W + "ds_source"] == "bundled" else s[W + "ds_name"],
            "n_samples": s[W + "ds_n"],
            "noise": s[W + "ds_noise"],
            "classes": s[W + "ds_classes"],
            "val_fraction": s[W + "ds_val"],
            "seed": s[W + "ds_seed"],
        },
        "network": network,
        "training": {
            "epochs": s[W + "tr_epochs"],
            "seeds": s[W + "tr_seeds"],
            "base_seed": s[W + "tr_base_seed"],
            "clip_norm": clip if clip > 0 else None,
            "step_epochs": s[W + "tr_step_epochs"],
        },
        "runs": runs,
        "title": st.session_state[state.CONFIG_KEY].title,
    }


def _error_at(error: ConfigError | None, errors: dict[str, str], *prefixes: str) -> None:
    for key, message in errors.items():
        if key.startswith(prefixes):
            st.error(message, icon="⚠️")
    if error is not None and error.path.startswith(prefixes):
        st.error(f"{error.path}: {error.message}", icon="⚠️")


def render(page: str) -> tuple[ExperimentConfig, Results | None]:
    """Draw the sidebar; returns (the valid configuration, the session's latest results).

    Streamlit resets a widget when the same key is drawn by another page, so on a page change
    every widget is reseeded from the configuration (the source of truth, always the last valid
    settings)."""
    config = state.ensure_config(st.session_state, st.query_params)
    if st.session_state.get(PAGE_KEY) != page:
        _forget_widgets()
        st.session_state[PAGE_KEY] = page
    _seed_widgets(config)
    sb = st.sidebar
    with sb:
        st.toggle(
            "Presentation mode",
            key=state.PRESENTATION_KEY,
            help="Large type, thick lines, fewer controls: for projectors.",
        )
        names = list(PRESETS)
        current = st.session_state.get(state.PRESET_KEY)
        st.session_state.setdefault(W + "preset", current if current in names else names[0])
        st.selectbox(
            "Preset",
            names,
            key=W + "preset",
            format_func=lambda n: f"{n} — {PRESETS[n].title}",
            on_change=_on_preset,
            help="Ready comparisons for teaching and talks; choosing one replaces the settings.",
        )
        if current in PRESETS:
            st.caption(PRESETS[current].explanation)
        presenting = st.session_state.get(state.PRESENTATION_KEY, False)
        errors: dict[str, str] = {}  # shown in their section and block the run
        blockers: list[str] = []  # already explained by their widget; block the run
        slots = {}
        with st.expander("Data", expanded=False):
            slots["dataset"] = st.empty()
            source = st.radio(
                "Source",
                list(data_source.SOURCES),
                key=W + "ds_source",
                format_func=data_source.SOURCES.get,
                horizontal=True,
            )
            st.session_state[data_source.SOURCE_KEY] = source
            if source == "synthetic":
                st.selectbox(
                    "Dataset",
                    list(DATASETS),
                    key=W + "ds_name",
                    format_func=lambda n: DATASETS[n].label,
                )
                st.number_input("Samples", 20, UI_MAX_SAMPLES, step=50, key=W + "ds_n")
                st.slider("Noise", 0.0, 2.0, step=0.01, key=W + "ds_noise")
                if st.session_state[W + "ds_name"] in ("blobs", "spirals"):
                    st.number_input("Classes", 2, 10, key=W + "ds_classes")
            elif source == "bundled":
                st.selectbox(
                    "Dataset",
                    list(BUNDLED),
                    key=W + "ds_bundled",
                    format_func=lambda n: BUNDLED[n].label,
                )
            elif data_source.render_upload() is None:  # its widgets showed why
                blockers.append("upload a valid CSV file and choose its target column")
            st.slider("Validation fraction", 0.0, 0.5, step=0.05, key=W + "ds_val")
            st.number_input("Data seed", 0, 2**31 - 1, key=W + "ds_seed")
        with st.expander("Network", expanded=False):
            slots["network"] = st.empty()
            st.text_input(
                "Hidden layer widths",
                key=W + "net_widths",
                help="Comma-separated, 1–20 layers of 1–512 units, e.g. 16, 16",
            )
            st.selectbox(
                "Activation",
                list(ACTIVATIONS),
                key=W + "net_act",
                format_func=lambda n: ACTIVATIONS[n].label,
            )
            st.text_input(
                "Per-layer activations (optional)",
                key=W + "net_per_layer",
                help="Comma-separated names, one per hidden layer; overrides the "
                "activation above. Names: " + ", ".join(ACTIVATIONS),
            )
            st.selectbox(
                "Initializer",
                list(INITIALIZERS),
                key=W + "net_init",
                format_func=lambda n: INITIALIZERS[n].label,
            )
            init = INITIALIZERS[st.session_state[W + "net_init"]]
            if init.uses_scale:
                st.number_input(
                    "a (uniform) or σ (normal); 0 = default",
                    0.0,
                    100.0,
                    step=0.1,
                    key=W + "net_scale",
                )
            if init.uses_gain:
                st.checkbox("Gain from the activation (calculate_gain)", key=W + "net_gain_auto")
                if not st.session_state[W + "net_gain_auto"]:
                    st.number_input("Gain", 0.0, 100.0, step=0.1, key=W + "net_gain")
            st.slider("Dropout", 0.0, 0.9, step=0.05, key=W + "net_dropout")
            st.number_input("L2 penalty λ", 0.0, 10.0, step=1e-4, format="%.4f", key=W + "net_l2")
        with st.expander("Training", expanded=False):
            slots["training"] = st.empty()
            st.number_input("Epochs", 1, UI_MAX_EPOCHS, key=W + "tr_epochs")
            st.number_input(
                "Seeds",
                1,
                UI_MAX_SEEDS,
                key=W + "tr_seeds",
                help="Repeat every run with this many seeds: mean ± spread bands",
            )
            st.number_input("First seed", 0, 2**31 - 1, key=W + "tr_base_seed")
            st.number_input("Clip gradient norm (0 = off)", 0.0, 1e6, key=W + "tr_clip")
            st.number_input(
                "Per-step epochs",
                0,
                50,
                key=W + "tr_step_epochs",
                help="Record the loss at every step of the first N epochs",
            )
        with st.expander("Runs", expanded=not presenting):
            slots["runs"] = st.empty()
            runs_table = st.data_editor(
                st.session_state[RUNS_BASE_KEY],
                key=W + "runs",
                num_rows="dynamic",
                hide_index=True,
                width="stretch",
                column_config={
                    "label": st.column_config.TextColumn("label", required=True),
                    "optimizer": st.column_config.SelectboxColumn(
                        "rule", options=list(RULES), required=True
                    ),
                    "batch_size": st.column_config.TextColumn(
                        "batch", help='"full" (GD), 1 (SGD) or k (mini-batch)'
                    ),
                    "lr": st.column_config.NumberColumn("lr", format="%g", min_value=0.0),
                    "options": st.column_config.TextColumn(
                        "options", help="name=value pairs, e.g. momentum=0.9, betas=0.9/0.999"
                    ),
                },
            )
            if st.button("Duplicate last run", key=W + "dup"):
                last = runs_table.iloc[[-1]].copy()
                last["label"] = last["label"] + " (copy)"
                st.session_state.pop(W + "runs", None)
                st.session_state[RUNS_BASE_KEY] = pd.concat([runs_table, last], ignore_index=True)
                st.rerun()
            with st.popover("Defaults of each rule (PyTorch)"):
                st.markdown(rule_defaults_text())
        doc = _doc_from_widgets(runs_table, errors)
        new_config, error = validate(doc)
        for section, slot in slots.items():
            with slot.container():
                _error_at(error, errors, section)
        valid = new_config is not None and not errors and not blockers
        if valid and new_config != config:
            keep = st.session_state.get(state.PRESET_KEY)
            keep = keep if keep in PRESETS and new_config == ExperimentConfig.preset(keep) else None
            state.set_config(st.session_state, st.query_params, new_config, keep)
            config = new_config
        problems = [*errors.values(), *blockers] + ([str(error)] if error is not None else [])
        reason = "" if valid else "; ".join(problems)
        clicked = st.button(
            "Run comparison",
            type="primary",
            disabled=not valid,
            help=reason or "Train every run for every seed",
            width="stretch",
            key=W + "run",
        )
        if reason:
            st.caption(f"Run is disabled until this is fixed: {reason}")
        _import_export(config)
    if st.session_state.pop(AUTORUN_KEY, False) and valid:
        clicked = True
    if clicked:
        _run(config)
    _recover_partial()
    return config, st.session_state.get(state.RESULTS_KEY)


def _import_export(config: ExperimentConfig) -> None:
    with st.expander("Import / export configuration", expanded=False):
        st.download_button(
            "Export config.json",
            config.to_json(),
            "config.json",
            mime="application/json",
            key=W + "export",
        )
        upload = st.file_uploader("Import config.json", type=["json"], key=W + "import")
        if upload is not None:
            try:
                imported = ExperimentConfig.from_json(upload.getvalue().decode("utf-8-sig"))
            except (ConfigError, UnicodeDecodeError) as exc:
                st.error(f"Not imported: {exc}", icon="⚠️")
            else:
                if imported != config:
                    load_config(imported, None)
                    st.rerun()


def _run(config: ExperimentConfig) -> None:
    """Train with a progress bar; a click anywhere (e.g. Cancel) interrupts and keeps what
    finished (recovered by :func:`_recover_partial` on the next run of the script)."""
    data, fingerprint, report = None, "", None
    if data_source.source_of(config) == "upload":
        upload = st.session_state[data_source.UPLOAD_KEY]
        try:
            data, report = data_source.load(upload, config)
        except tabular.DataError as exc:
            st.error(f"Not trained: {exc.message}")
            return
        fingerprint = data_source.fingerprint(upload, config)
    area = st.empty()  # cleared when training ends
    with area.container():
        st.button("Cancel", key=W + "cancel", help="Stop and keep the runs that finished")
        bar = st.progress(0.0, text="Starting…")
    last = [0.0]

    def progress(p):
        now = time.perf_counter()
        if now - last[0] < 0.1 and p.done_steps < p.total_steps:
            return  # throttle redraws
        last[0] = now
        eta = f" · about {p.eta:.0f} s left" if p.eta is not None and p.eta >= 1 else ""
        bar.progress(
            min(p.fraction, 1.0),
            text=f"Training **{p.run}** ({p.seed_text}) · epoch {p.epoch}/{p.epochs}{eta}",
        )

    partial: list = []
    st.session_state[PARTIAL_KEY] = (config, partial, data)
    _, results, _ = runner.run(config, data, fingerprint, progress=progress, partial=partial)
    st.session_state.pop(PARTIAL_KEY, None)
    if report is not None:
        results.data_report = report.to_dict()
    name = f"upload: {data.name}" if data is not None else st.session_state.get(state.PRESET_KEY)
    state.remember(st.session_state, results, name)
    area.empty()


def _recover_partial() -> None:
    """If the last training was interrupted, keep the runs that finished as the results."""
    pending = st.session_state.pop(PARTIAL_KEY, None)
    if pending is None:
        return
    config, records, data = pending
    if not records:
        st.session_state[state.NOTICE_KEY] = "Training cancelled before any run finished."
        return
    if data is None:
        data = make_data(config.dataset, dtype=config.training.dtype)
    arch = build_architecture(config, data)
    results = Results.from_records(config, data, arch, list(records), cancelled=True)
    state.remember(st.session_state, results, None)
    st.session_state[state.NOTICE_KEY] = (
        f"Training cancelled: kept the {len(records)} run(s) that finished."
    )
