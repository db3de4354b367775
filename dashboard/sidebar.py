"""The sidebar: choose a preset or edit the configuration, then run the comparison.

Widgets are seeded from the configuration in session state and every change is validated at
once by the engine's own parser; an invalid setting is explained next to its widget and the
Run button says why it is disabled. The pure helpers at the top (``parse_*``, ``runs_frame``,
``build_doc``) are unit-tested without Streamlit.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pandas as pd
import streamlit as st

from nn_core import PRESETS, ConfigError, ExperimentConfig, budget, tabular
from nn_core.activations import ACTIVATIONS
from nn_core.config import MAX_EPOCHS, MAX_SAMPLES, MAX_SEEDS, load_json
from nn_core.data import make as make_data
from nn_core.datasets import BUNDLED, DATASETS
from nn_core.initializers import INITIALIZERS
from nn_core.optimizers import RULES
from nn_core.results import Results
from nn_core.train import build_architecture

from . import compute, data_source, live_view, runner, state
from .live_job import PACES
from .text import md

W = "w_"  # prefix of every sidebar widget key (cleared when a new configuration is loaded)
RUNS_BASE_KEY = "lab_runs_base"
PAGE_KEY = "lab_page"
AUTORUN_KEY = "lab_autorun"
PARTIAL_KEY = "lab_partial"
# Widget ranges are the configuration's own, so a link's values are never clamped by a widget
# (the memory and work budget, not the widget, refuses what is too large to train).
UI_MAX_EPOCHS = MAX_EPOCHS
UI_MAX_SAMPLES = MAX_SAMPLES
UI_MAX_SEEDS = MAX_SEEDS
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


def _hyper_specs() -> dict[str, Any]:
    """Every hyperparameter name of every rule (but lr), in registry order, with its spec."""
    specs: dict[str, Any] = {}
    for rule in RULES.values():
        for h in rule.hyper:
            if h.name != "lr":
                specs.setdefault(h.name, h)
    return specs


HYPER_SPECS = _hyper_specs()


def _hyper_columns() -> list[str]:
    """One table column per hyperparameter; a pair (betas) is two columns ``betas.1``/``.2``."""
    cols = []
    for name, h in HYPER_SPECS.items():
        cols += [f"{name}.1", f"{name}.2"] if h.kind == "pair" else [name]
    return cols


HYPER_COLUMNS = _hyper_columns()
# Short headers so every column fits a laptop screen; each column's help gives the full name.
SHORT = {"weight_decay": "wd", "momentum": "mom", "dampening": "damp", "lr_decay": "lr decay",
         "initial_accumulator_value": "acc₀", "eps": "eps", "rho": "rho", "alpha": "alpha",
         "centered": "centered", "betas.1": "β₁", "betas.2": "β₂", "amsgrad": "amsgrad",
         "momentum_decay": "ψ"}  # fmt: skip
OTHER = "other"  # run settings the table has no column for, as name=value pairs
RUN_COLUMNS = ["label", "optimizer", "batch_size", "lr", *HYPER_COLUMNS, OTHER]
BOOL_TEXT = ("true", "false")


def _blank(value: Any) -> bool:
    """An empty cell: None, NaN, or text of only spaces (a row added with "+")."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return float(value) if isinstance(value, int | float) else value


def runs_frame(config: ExperimentConfig) -> pd.DataFrame:
    """The runs as the editor shows them: one row per run, one column per hyperparameter of
    any rule. A cell holds what the configuration sets; blank means the rule's default."""
    rows = []
    for r in config.runs:
        row: dict[str, Any] = {c: None for c in RUN_COLUMNS}
        row.update(label=r.label, optimizer=r.optimizer, batch_size=str(r.batch_size))
        row["lr"] = float(r.hyperparameters()["lr"])
        other = {}
        extra = {k: v for k, v in r.hyper.items() if k != "lr"}
        for key, value in extra.items():
            spec = HYPER_SPECS.get(key)
            if spec is None:
                other[key] = value
            elif spec.kind == "pair":
                row[f"{key}.1"], row[f"{key}.2"] = (float(v) for v in value)
            else:
                row[key] = _cell(value)
        # Settings of a run outside its hyperparameters (added to RunConfig later) pass through.
        known = {"label", "optimizer", "batch_size", "hyper"}
        for key, value in vars(r).items():
            if key not in known and value is not None:
                other[key] = value
        row[OTHER] = format_options(other) if other else None
        rows.append(row)
    # Numbered from 1, as every message numbers the runs ("run 2").
    frame = pd.DataFrame(rows, columns=RUN_COLUMNS, index=range(1, len(rows) + 1))
    for name, h in HYPER_SPECS.items():
        cols = [f"{name}.1", f"{name}.2"] if h.kind == "pair" else [name]
        for c in cols:
            frame[c] = frame[c].astype(object if h.kind == "bool" else "float64")
    return frame.astype({"label": object, "optimizer": object, "batch_size": object, OTHER: object})


def runs_and_rows(
    frame: pd.DataFrame,
) -> tuple[list[dict[str, Any]], list[str], list[int]]:
    """Rows of the runs table -> (config run dicts, error messages, the 1-based table row of
    each run). Blank cells mean "the default" (a row added with "+" has NaN or None there);
    fully blank rows are skipped, so the engine's ``runs[i]`` is table row ``rows[i]``."""
    runs, errors, numbers = [], [], []
    for i, row in enumerate(frame.to_dict("records"), start=1):
        if all(_blank(v) for v in row.values()):
            continue  # an empty row just added
        run: dict[str, Any] = {}
        label = row.get("label")
        if not _blank(label):
            run["label"] = str(label).strip()
        rule = "" if _blank(row.get("optimizer")) else str(row["optimizer"])
        run["optimizer"] = rule
        bs = "" if _blank(row.get("batch_size")) else str(row["batch_size"]).strip()
        if bs:
            run["batch_size"] = "full" if bs.lower() == "full" else _value(bs)
        if not _blank(row.get("lr")):
            run["lr"] = float(row["lr"])
        own = {h.name: h for h in RULES[rule].hyper} if rule in RULES else {}
        for name, h in HYPER_SPECS.items():
            cols = [f"{name}.1", f"{name}.2"] if h.kind == "pair" else [name]
            given = [c for c in cols if c in row and not _blank(row[c])]
            if not given:
                continue
            if rule in RULES and name not in own:
                errors.append(
                    f"run {i}: {rule} has no {name} (leave that cell blank; {rule} takes "
                    f"{', '.join(own)})"
                )
                continue
            if h.kind == "pair":
                default = own[name].default if name in own else h.default
                run[name] = [
                    float(row[c]) if not _blank(row.get(c)) else float(default[k])
                    for k, c in enumerate(cols)
                ]
            elif h.kind == "bool":
                text = str(row[name]).strip().lower()
                if text not in BOOL_TEXT:
                    errors.append(f"run {i}: {name} must be true or false, got {row[name]!r}")
                    continue
                run[name] = text == "true"
            else:
                run[name] = float(row[name])
        opts = parse_options("" if _blank(row.get(OTHER)) else row.get(OTHER))
        if isinstance(opts, str):
            errors.append(f"run {i}: {opts}")
        else:
            run.update(opts)
        if _blank(row.get("options")) is False and "options" in row:  # the old text column
            more = parse_options(row["options"])
            if isinstance(more, str):
                errors.append(f"run {i}: {more}")
            else:
                run.update(more)
        runs.append(run)
        numbers.append(i)
    return runs, errors, numbers


def runs_from_frame(frame: pd.DataFrame) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of the runs table -> config run dicts, and error messages (row-numbered)."""
    runs, errors, _ = runs_and_rows(frame)
    return runs, errors


def name_runs(text: str, rows: list[int] | None = None) -> str:
    """The engine's ``runs[1]`` as the table's "run 2" (``rows`` maps run index -> table row,
    when blank rows were skipped), so every message uses one numbering."""

    def repl(m: re.Match) -> str:
        i = int(m.group(1))
        n = rows[i] if rows is not None and i < len(rows) else i + 1
        return f"run {n}"

    return re.sub(r"runs\[(\d+)\]", repl, text)


def rule_defaults_frame() -> pd.DataFrame:
    """Rules × hyperparameters: each rule's defaults (PyTorch's), blank where a rule has no
    such hyperparameter (a cell there is refused with a message)."""
    rows = []
    for r in RULES.values():
        row: dict[str, Any] = {"rule": r.name, "lr": r.defaults["lr"]}
        for name in HYPER_SPECS:
            value = r.defaults.get(name)
            if isinstance(value, tuple):
                value = "/".join(f"{v:g}" for v in value)
            elif isinstance(value, bool):
                value = str(value).lower()
            elif isinstance(value, float):
                value = f"{value:g}"
            row[name] = "—" if name not in r.defaults else value
        row["lr"] = f"{row['lr']:g}"
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.rename(columns={c: SHORT.get(c, c) for c in frame.columns if c != "betas"})


def validate(doc: dict[str, Any]) -> tuple[ExperimentConfig | None, ConfigError | None]:
    try:
        return ExperimentConfig.from_dict(doc), None
    except ConfigError as exc:
        return None, exc


# --- Streamlit --------------------------------------------------------------------------------

STICKY_KEY = "lab_sticky"  # plain key: {widget key: last value}, kept while pages change
ORIGIN_KEY = "lab_origin"  # the preset the settings were loaded from (even once modified)
RUNS_TABLE_KEY = "lab_runs_table"  # the runs table as last edited (valid or not)
RUN_ROWS_KEY = "lab_run_rows"  # table row of each configured run, for "run 2" in messages
SETUP_PAGE = "pages/0_setup.py"
LIVE_KEY = "lab_live"
PACE_KEY = "lab_live_pace"
SECTIONS = {"data": "Data", "network": "Network", "training": "Training", "runs": "Runs"}


def sticky(key: str, default: Any = None) -> str:
    """Make widget ``key`` keep its value for the whole session.

    Streamlit drops a widget's state when a page that does not draw it runs, and a widget drawn
    again on another page starts from its default. So the value is re-assigned before the widget
    is drawn (which makes Streamlit keep it), or restored from a plain session-state store when
    it was dropped. Call :func:`keep` with the widget's value after drawing it. Widgets using
    this take no ``value=``/``index=``/``default=`` argument: the default goes here."""
    store = st.session_state.setdefault(STICKY_KEY, {})
    if key in st.session_state:
        st.session_state[key] = st.session_state[key]
    else:
        st.session_state[key] = store.get(key, default)
    return key


def keep(key: str, value: Any) -> Any:
    st.session_state.setdefault(STICKY_KEY, {})[key] = value
    return value


def _keep_from_state(key: str) -> None:
    keep(key, st.session_state.get(key))


def _section(name: str, default_open: bool, force_open: bool = False):
    """A sidebar expander whose open/closed state survives reruns and page changes; a section
    holding an error is opened so the error stays next to its field."""
    key = f"lab_open_{name}"
    sticky(key, default_open)
    if force_open:
        st.session_state[key] = True
    box = st.expander(SECTIONS[name], key=key, on_change=_keep_from_state, args=(key,))
    keep(key, bool(st.session_state.get(key)))
    return box


def _seed_widgets(config: ExperimentConfig) -> None:
    """Give every widget its value from the configuration unless the user already set one."""
    for key, value in widget_seeds(config).items():
        st.session_state.setdefault(W + key, value)
    if RUNS_BASE_KEY not in st.session_state:
        table = st.session_state.get(RUNS_TABLE_KEY)
        if table is not None:  # renumbered 1…n: rows may have been added or deleted
            table = table.reset_index(drop=True).set_axis(range(1, len(table) + 1))
        st.session_state[RUNS_BASE_KEY] = table if table is not None else runs_frame(config)


def widget_seeds(config: ExperimentConfig) -> dict[str, Any]:
    """Each widget's value (key without the ``w_`` prefix) for ``config``."""
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
    return defaults


def _forget_widgets() -> None:
    """Drop every sidebar widget value so the next render seeds them from the configuration;
    the runs table keeps its last edit (it may be on its way to valid)."""
    for key in [k for k in st.session_state if str(k).startswith(W)]:
        del st.session_state[key]
    st.session_state.pop(RUNS_BASE_KEY, None)


def load_config(config: ExperimentConfig, preset: str | None) -> None:
    """Replace the configuration (preset, import, link) and reseed every widget."""
    _forget_widgets()
    st.session_state.pop(RUNS_TABLE_KEY, None)
    st.session_state[ORIGIN_KEY] = preset
    state.set_config(st.session_state, st.query_params, config, preset)


def _on_preset() -> None:
    name = st.session_state[W + "preset"]
    load_config(ExperimentConfig.preset(name), name)
    st.session_state[W + "preset"] = name


def run_preset(name: str) -> None:
    """Load a preset and train it on this rerun (presentation mode: one click per demo)."""
    load_config(ExperimentConfig.preset(name), name)
    st.session_state[AUTORUN_KEY] = True


def preset_label(name: str) -> str:
    """A preset's short, readable name ("Vanishing sigmoid") for the preset box and the demo
    buttons; its full title heads its explanation in the main area."""
    short = {"default": "Seven optimizers", "relu-he-fix": "ReLU + He fix",
             "selu-self-normalizing": "SELU", "zero-init-symmetry": "Zero init",
             "adadelta-lr": "Adadelta lr"}  # fmt: skip
    return short.get(name, name.replace("-", " ").capitalize())


def origin() -> str | None:
    """The preset the current settings came from, whether or not they were modified since."""
    if ORIGIN_KEY not in st.session_state:
        st.session_state[ORIGIN_KEY] = st.session_state.get(state.PRESET_KEY)
    name = st.session_state.get(ORIGIN_KEY)
    return name if name in PRESETS else None


def modified() -> bool:
    """Whether the settings were changed since their preset was loaded."""
    return origin() is not None and st.session_state.get(state.PRESET_KEY) != origin()


def _doc_from_widgets(
    runs_table: pd.DataFrame, errors: dict[str, str], s: Any = None
) -> dict[str, Any]:
    s = st.session_state if s is None else s
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
    runs, run_errors, rows = runs_and_rows(runs_table)
    st.session_state[RUN_ROWS_KEY] = rows
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


def describe_error(error: ConfigError) -> str:
    """The engine's message with the table's run numbering ("run 2", not "runs[1]")."""
    return name_runs(str(error), st.session_state.get(RUN_ROWS_KEY))


def _error_at(error: ConfigError | None, errors: dict[str, str], *prefixes: str) -> None:
    for key, message in errors.items():
        if key.startswith(prefixes):
            st.error(md(message), icon="⚠️")
    if error is not None and error.path.startswith(prefixes):
        st.error(md(describe_error(error)), icon="⚠️")


def _previous_errors() -> set[str]:
    return set(st.session_state.get("lab_error_sections", ()))


def data_label(config: ExperimentConfig) -> str:
    """What the comparison trains on, in words (an uploaded file by its name)."""
    if data_source.source_of(config) == "upload":
        upload = st.session_state.get(data_source.UPLOAD_KEY)
        return f"your file {md(upload.name)}" if upload is not None else "an uploaded file"
    name = config.dataset.name
    if name in BUNDLED:
        return BUNDLED[name].label
    return DATASETS[name].label if name in DATASETS else name


def plan_text(config: ExperimentConfig) -> str:
    """What pressing Run will do, in one line."""
    t = config.training
    n = len(config.runs)
    seeds = f" × {t.seeds} seeds" if t.seeds > 1 else ""
    return (
        f"Trains {n} run{'s' if n != 1 else ''}{seeds} for {t.epochs} epochs on "
        f"{data_label(config)}."
    )


def _runs_summary(config: ExperimentConfig) -> None:
    """The runs, read-only and narrow (the full editor is on the Setup page)."""
    lines = []
    for i, r in enumerate(config.runs, start=1):
        lr = r.hyperparameters()["lr"]
        lines.append(f"{i}. **{md(r.label)}** · {r.optimizer} · batch {r.batch_size} · lr {lr:g}")
    st.markdown("\n".join(lines))
    try:
        st.page_link(SETUP_PAGE, label="Edit runs in the full table (Setup page)")
    except Exception:  # a page run on its own has no navigation to link into
        st.caption("Edit the runs on the Setup page.")


def shown_columns(frame: pd.DataFrame) -> list[str]:
    """The editor's columns: the run's own, then the hyperparameters of the rules in the
    table (a filled cell keeps its column, so a refused value stays visible), then "other"."""
    rules = {str(r) for r in frame["optimizer"].dropna()}
    used = {h.name for r in rules if r in RULES for h in RULES[r].hyper}
    cols = []
    for name, h in HYPER_SPECS.items():
        names = [f"{name}.1", f"{name}.2"] if h.kind == "pair" else [name]
        filled = any(c in frame and frame[c].notna().any() for c in names)
        if name in used or filled:
            cols += names
    return ["label", "optimizer", "batch_size", "lr", *cols, OTHER]


def _rebase_runs() -> None:
    """Make the last edit the editor's new starting table (renumbered 1…n) and drop the
    editor's own record of edits: needed before the editor's columns change, which Streamlit
    may treat as a new widget (the edits are then kept in the base, not lost)."""
    table = st.session_state.get(RUNS_TABLE_KEY)
    if table is not None:
        table = table.reset_index(drop=True).set_axis(range(1, len(table) + 1))
        st.session_state[RUNS_BASE_KEY] = table
    st.session_state.pop(W + "runs", None)


def runs_editor(where) -> pd.DataFrame:
    """The full-width runs editor: every rule's hyperparameters as cells, blank = default."""
    column_config: dict[str, Any] = {
        # Pinned: scrolling right to a hyperparameter keeps the run's name and rule in view.
        "label": st.column_config.TextColumn(
            "label", help="Name in charts and exports", pinned=True
        ),
        "optimizer": st.column_config.SelectboxColumn(
            "rule", options=list(RULES), required=True, help="Optimizer rule", pinned=True
        ),
        "batch_size": st.column_config.TextColumn(
            "batch", help='"full" (GD), 1 (SGD) or k (mini-batch); blank = 32'
        ),
        "lr": st.column_config.NumberColumn(
            "lr", format="%g", min_value=0.0, help="Learning rate γ; blank = the rule's default"
        ),
        OTHER: st.column_config.TextColumn(
            "other", help="Run settings without a column, as name=value pairs"
        ),
    }
    for name, h in HYPER_SPECS.items():
        users = [r.name for r in RULES.values() if name in r.defaults]
        defaults = ", ".join(
            f"{r} {format_options({name: RULES[r].defaults[name]})}" for r in users
        )
        tip = f"{h.help}. Used by {', '.join(users)}; blank = default ({defaults})."
        if h.kind == "pair":
            for k in (1, 2):
                col = f"{name}.{k}"
                column_config[col] = st.column_config.NumberColumn(
                    SHORT.get(col, col), format="%g", help=f"{name}[{k - 1}]: {tip}", width=60
                )
        elif h.kind == "bool":
            column_config[name] = st.column_config.SelectboxColumn(
                SHORT.get(name, name), options=list(BOOL_TEXT), help=f"{name}: {tip}", width=70
            )
        else:
            column_config[name] = st.column_config.NumberColumn(
                SHORT.get(name, name), format="%g", help=f"{name}: {tip}", width=60
            )
    column_config["_index"] = st.column_config.NumberColumn("run", help="Run number", width=40)
    base = st.session_state[RUNS_BASE_KEY]
    with where:
        every = st.toggle(
            "Columns of every rule",
            key=sticky("lab_every_column", False),
            help="Off: only the hyperparameters of the rules in the table (and any filled cell)",
            on_change=_rebase_runs,
        )
        keep("lab_every_column", every)
        table = st.data_editor(
            base,
            column_order=None if every else shown_columns(base),
            key=W + "runs",
            num_rows="dynamic",
            hide_index=False,
            width="stretch",
            column_config=column_config,
            placeholder="–",
        )
        if not every and not set(shown_columns(table)) <= set(shown_columns(base)):
            st.session_state[RUNS_TABLE_KEY] = table  # a new rule: show its columns now
            _rebase_runs()
            st.rerun()
        c1, c2 = st.columns([1, 3])
        if c1.button("Duplicate last run", key=W + "dup") and len(table):
            last = table.iloc[[-1]].copy()
            last["label"] = str(last["label"].iloc[0]) + " (copy)"
            st.session_state.pop(W + "runs", None)
            st.session_state[RUNS_BASE_KEY] = pd.concat([table, last], ignore_index=True)
            st.session_state[RUNS_TABLE_KEY] = st.session_state[RUNS_BASE_KEY]
            st.rerun()
        c2.caption(
            "Runs are numbered as in every message (run 1, run 2, …). A blank cell (–) takes the "
            "rule's default; a value for a hyperparameter the rule does not have is refused. "
            "Hover a header for its full name."
        )
    return table


def render(page: str, runs_area=None) -> tuple[ExperimentConfig, Results | None]:
    """Draw the sidebar; returns (the valid configuration, the session's latest results).

    ``runs_area`` (the Setup page's main area) receives the full runs editor; elsewhere the
    sidebar lists the runs. Streamlit resets a widget when the same key is drawn by another
    page, so on a page change every widget is reseeded from the configuration (the source of
    truth, always the last valid settings) and the runs table from its last edit."""
    config = state.ensure_config(st.session_state, st.query_params)
    if st.session_state.get(PAGE_KEY) != page:
        _forget_widgets()
        st.session_state.pop(W + "runs", None)
        st.session_state[PAGE_KEY] = page
    _seed_widgets(config)
    sb = st.sidebar
    with sb:
        sticky(state.PRESENTATION_KEY, False)
        keep(
            state.PRESENTATION_KEY,
            st.toggle(
                "Presentation mode",
                key=state.PRESENTATION_KEY,
                help="Large type, the demos one click away, settings hidden: for projectors.",
            ),
        )
        names = list(PRESETS)
        current = origin()
        st.session_state.setdefault(W + "preset", current if current in names else names[0])
        st.selectbox(
            "Preset",
            names,
            key=W + "preset",
            format_func=preset_label,
            on_change=_on_preset,
            help="Ready comparisons for teaching and talks; choosing one replaces the settings.",
        )
        modified_slot = st.empty()
        run_area = st.container()  # filled below, once the settings are validated
        errors: dict[str, str] = {}  # shown in their section and block the run
        blockers: list[str] = []  # already explained by their widget; block the run
        slots = {}
        had_errors = _previous_errors()
        with _section("data", False, "dataset" in had_errors):
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
                st.slider("Noise", 0.0, 10.0, step=0.01, key=W + "ds_noise")
                if st.session_state[W + "ds_name"] in ("blobs", "spirals"):
                    st.number_input("Classes", 2, 10, key=W + "ds_classes")
            elif source == "bundled":
                st.selectbox(
                    "Dataset",
                    list(BUNDLED),
                    key=W + "ds_bundled",
                    format_func=lambda n: BUNDLED[n].label,
                )
            else:
                if data_source.render_upload() is None:  # its widgets showed why
                    blockers.append("upload a valid CSV file and choose its target column")
                st.caption(
                    "A shared link holds the settings but not the file: whoever opens it "
                    f"trains on {DATASETS[config.dataset.name].label} "
                    "instead, until they upload the file too."
                    if config.dataset.name in DATASETS
                    else "A shared link holds the settings but not the uploaded file."
                )
            st.slider("Validation fraction", 0.0, 0.9, step=0.05, key=W + "ds_val")
            st.number_input("Data seed", 0, 2**31 - 1, key=W + "ds_seed")
        with _section("network", False, "network" in had_errors):
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
        with _section("training", False, "training" in had_errors):
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
            st.number_input("Clip gradient norm (0 = off)", 0.0, 1e12, key=W + "tr_clip")
            st.number_input(
                "Per-step epochs",
                0,
                MAX_EPOCHS,
                key=W + "tr_step_epochs",
                help="Record the loss at every step of the first N epochs",
            )
            compute.settings()
        if runs_area is None:
            with _section("runs", False, "runs" in had_errors):
                slots["runs"] = st.empty()
                _runs_summary(config)
            runs_table = st.session_state[RUNS_BASE_KEY]
            if st.session_state.get(RUNS_TABLE_KEY) is not None:
                runs_table = st.session_state[RUNS_TABLE_KEY]
        else:
            slots["runs"] = runs_area.empty()
            runs_table = runs_editor(runs_area)
            st.session_state[RUNS_TABLE_KEY] = runs_table
        # only the fields the user changed replace the configuration's (a link keeps the rest)
        seeded = {W + k: v for k, v in widget_seeds(config).items()}
        unchanged = _doc_from_widgets(runs_frame(config), {}, seeded)
        doc = state.edited_doc(
            st.session_state, config, _doc_from_widgets(runs_table, errors), unchanged
        )
        new_config, error = validate(doc)
        budget_note = ""
        if new_config is not None:  # refuse what cannot fit; thin snapshots to fit
            shape = data_source.shape(new_config)
            new_config, error, budget_note = state.within_budget(new_config, shape)
        for section, slot in slots.items():
            with slot.container():
                _error_at(error, errors, section)
        st.session_state["lab_error_sections"] = [
            s for s in slots if any(k.startswith(s) for k in errors) or (
                error is not None and error.path.startswith(s))
        ]  # fmt: skip
        valid = new_config is not None and not errors and not blockers
        if valid and new_config != config:
            keep_name = st.session_state.get(ORIGIN_KEY)
            same = keep_name in PRESETS and new_config == ExperimentConfig.preset(keep_name)
            state.set_config(
                st.session_state,
                st.query_params,
                new_config,
                keep_name if same else None,
                edited=True,
            )
            config = new_config
        if modified():
            modified_slot.caption(
                f"**Modified**: these settings are no longer the {origin()} preset."
            )
        problems = [*errors.values(), *blockers]
        if error is not None:
            problems.append(describe_error(error))
        reason = "" if valid else "; ".join(problems)
        with run_area:
            clicked = st.button(
                "Run comparison",
                type="primary",
                disabled=not valid,
                help=md(reason) if reason else "Train every run for every seed",
                width="stretch",
                key=W + "run",
            )
            if reason:
                st.caption(f"Run is disabled until this is fixed: {md(reason)}")
            else:
                st.caption(plan_text(config) + (f" {budget_note}" if budget_note else ""))
            # after Run and what it will do, which must stay in view at 1280×720
            live = keep(
                LIVE_KEY,
                st.toggle(
                    "Watch it train (live)",
                    key=sticky(LIVE_KEY, False),
                    help="Train here in the background and draw the loss curves, boundaries "
                    "and gradient heat map as epochs finish, with Pause, Step and Cancel. "
                    "The numbers are the same as a run without it.",
                ),
            )
            if live:
                keep(
                    PACE_KEY,
                    st.select_slider(
                        "Pace",
                        list(PACES),
                        key=sticky(PACE_KEY, 30),
                        format_func=PACES.get,
                        help="Slow motion for a talk: at most this many epochs a second. "
                        "The recorded seconds count only training.",
                    ),
                )
        _import_export(config)
    if st.session_state.pop(AUTORUN_KEY, False) and valid:
        clicked = True
    if clicked:
        if st.session_state.get(LIVE_KEY):
            _start_live(config)
        else:
            live_view.discard()
            _run(config)
    _recover_partial()
    live_view.keep_finished()
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
                imported = ExperimentConfig.from_dict(load_json(upload.getvalue()))
            except ConfigError as exc:
                st.error(f"Not imported: {md(exc)}", icon="⚠️")
            else:
                if imported != config:
                    load_config(imported, None)
                    st.rerun()


def _training_data(config: ExperimentConfig):
    """(data, its fingerprint, its report) for an uploaded file, (None, "", None) for the
    configured dataset; None (after saying why) when the file cannot be trained on."""
    if data_source.source_of(config) != "upload":
        return None, "", None
    upload = st.session_state[data_source.UPLOAD_KEY]
    try:
        data, report = data_source.load(upload, config)
    except tabular.DataError as exc:
        st.error(f"Not trained: {md(exc.message)}")
        return None
    _, refusal, _ = state.within_budget(config, budget.shape_of(config, data))
    if refusal is not None:  # the file's exact shape, now that it is loaded
        st.error(f"Not trained: {md(refusal)}")
        return None
    report = report.to_dict()
    report["file"] = upload.name
    return data, data_source.fingerprint(upload, config), report


def _results_name(data) -> str | None:
    """What the session's history calls a comparison trained now."""
    if data is not None:
        return f"upload: {st.session_state[data_source.UPLOAD_KEY].name}"
    name = st.session_state.get(state.PRESET_KEY)
    if name is None and origin() is not None:
        name = f"{origin()} (modified)"  # not the preset's title: it is not the preset
    return name


def _start_live(config: ExperimentConfig) -> None:
    """Train live in a process of its own, relayed to this session (see dashboard.live_view
    and dashboard.live_job)."""
    prepared = _training_data(config)
    if prepared is None:
        return
    data, fingerprint, report = prepared
    config = budget.plan(config, budget.shape_of(config, data)).config  # as runner.run does
    pace = float(st.session_state.get(PACE_KEY) or 0)
    live_view.start(config, data, fingerprint, report, _results_name(data), pace)


def _run(config: ExperimentConfig) -> None:
    """Train with a progress bar; a click anywhere (e.g. Cancel) interrupts and keeps what
    finished (recovered by :func:`_recover_partial` on the next run of the script)."""
    prepared = _training_data(config)
    if prepared is None:
        return
    data, fingerprint, report = prepared
    where = compute.executor()
    if where is None:
        return
    area = st.empty()  # cleared when training ends
    with area.container():
        st.button("Cancel", key=W + "cancel", help="Stop and keep the runs that finished")
        bar = st.progress(0.0, text="Starting…")
        live_view.blank_chart(W + "warm_charts")
    last = [0.0]

    def progress(p):
        now = time.perf_counter()
        if now - last[0] < 0.1 and p.done_steps < p.total_steps:
            return  # throttle redraws
        last[0] = now
        eta = f" · about {p.eta:.0f} s left" if p.eta is not None and p.eta >= 1 else ""
        bar.progress(
            min(p.fraction, 1.0),
            text=f"Training **{md(p.run)}** ({p.seed_text}) · epoch {p.epoch}/{p.epochs}{eta}",
        )

    partial: list = []
    st.session_state[PARTIAL_KEY] = (config, partial, data)
    _, results, _ = runner.run(
        config, data, fingerprint, progress=progress, partial=partial, executor=where
    )
    st.session_state.pop(PARTIAL_KEY, None)
    if report is not None:
        results.data_report = report
    state.remember(st.session_state, results, _results_name(data))
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
