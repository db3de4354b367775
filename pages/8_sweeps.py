"""Sweeps: every rule at its own best learning rate, confirmed on fresh seeds."""

import io
import json
import math
import zipfile

import pandas as pd
import streamlit as st

from dashboard import compute, data_source, export, sidebar, state
from dashboard import sweep_job as links
from dashboard.figures import sweeps as figs
from dashboard.figures.style import rule_color
from dashboard.page import download, setup
from dashboard.sweep_job import JOB_KEY, SweepJob
from dashboard.text import md
from nn_core import ConfigError, ExperimentConfig, tabular
from nn_core.optimizers import RULES
from nn_core.sweep import SWEEP_PRESETS, best_setting, summarise_settings

config, _results, _colors, big = setup("Sweeps")
rule_colors = {name: rule_color(name) for name in RULES}  # one colour per rule, every page
SETTINGS_KEY = links.SETTINGS_KEY

# The URL: ?sweep= restores the form (once per link); the page puts its settings back after a
# page switch dropped them, and the comparison's ?config=/?preset= with them, so the address
# bar always reproduces this page.
link_warning = links.apply_link(st.session_state, st.query_params)
if link_warning:
    st.warning(link_warning)
if "config" not in st.query_params and "preset" not in st.query_params:
    state.mirror_config(st.query_params, config, st.session_state.get(state.PRESET_KEY))
links.mirror_settings(st.session_state, st.query_params)

st.caption(
    "Comparing optimizers at one learning rate measures the rate, not the rule. A sweep trains "
    "every rule on one grid of learning rates with a few seeds, picks each rule's best rate by "
    "the **median** final validation loss (a run that ends NaN or above its start counts as "
    "worst), then reruns the best and the default rate on fresh seeds and reports medians with "
    "95 % bootstrap intervals. It uses the network, data (an uploaded file too) and epochs set "
    "in the sidebar; the talk demo uses its own."
)

job: SweepJob | None = st.session_state.get(JOB_KEY)
saved = {**links.DEFAULTS, "epochs": config.training.epochs}
saved.update(st.session_state.get(SETTINGS_KEY, {}))
lim = links.LIMITS

with st.form("sweep_form", border=True):
    c1, c2, c3, c4 = st.columns([3, 2, 1, 1])
    rules = c1.multiselect("Rules", list(RULES), default=saved["rules"])
    span = c2.select_slider(
        "Learning rates (log₁₀)", options=list(links.SPAN_OPTIONS), value=tuple(saved["span"])
    )
    points = c3.number_input("Points", *lim["points"], saved["points"])
    seeds = c4.number_input("Seeds", *lim["seeds"], saved["seeds"])
    c5, c6, c7 = st.columns([1, 1, 2])
    confirm = c5.number_input("Fresh seeds", *lim["confirm"], saved["confirm"])
    epochs = c6.number_input("Epochs", *lim["epochs"], min(saved["epochs"], lim["epochs"][1]))
    c7.markdown(" ")
    start = c7.form_submit_button("Run sweep", type="primary", disabled=bool(job and job.running))

talk = SWEEP_PRESETS["lr-too-small-too-large"]
if st.button(f"Talk demo: {talk.title}", help=talk.explanation, disabled=bool(job and job.running)):
    st.session_state[SETTINGS_KEY] = {
        "rules": list(talk.sweep.rules),
        "span": (round(math.log10(talk.sweep.lr_min)), round(math.log10(talk.sweep.lr_max))),
        "points": talk.sweep.lr_points,
        "seeds": talk.sweep.seeds,
        "confirm": talk.sweep.confirm_seeds,
        "epochs": talk.epochs,
    }
    links.mirror_settings(st.session_state, st.query_params)
    base = ExperimentConfig.preset(talk.comparison).with_training(epochs=talk.epochs)
    # a known, small sweep (about a second of training): here, in the job's thread, where
    # handing its tasks to worker processes would cost more than half as much again
    st.session_state[JOB_KEY] = SweepJob(base, talk.sweep).start()
    st.session_state["lab_sweep_note"] = talk.explanation
    st.rerun()


def uploaded_data():
    """The session's uploaded file as data (a sweep trains on it, as the comparison does), or
    None for the configured dataset; stops the page with the loader's message if it fails."""
    if data_source.source_of(config) != "upload":
        return None
    try:
        data, _ = data_source.load(st.session_state[data_source.UPLOAD_KEY], config)
    except tabular.DataError as exc:
        st.error(f"Cannot sweep on the uploaded file: {md(exc.message)}")
        st.stop()
    return data


if start:
    settings = {"rules": rules, "span": tuple(span), "points": int(points), "seeds": int(seeds),
                "confirm": int(confirm), "epochs": int(epochs)}  # fmt: skip
    st.session_state[SETTINGS_KEY] = settings
    try:
        sweep = links.sweep_config(settings)
        base = config.with_training(epochs=int(epochs))
    except ConfigError as exc:
        st.error(f"Cannot start this sweep: {exc}")
    else:
        links.mirror_settings(st.session_state, st.query_params)
        data = uploaded_data()
        where = compute.executor()
        if where is None:  # the scheduler named in the sidebar cannot be used: said why
            st.stop()
        st.session_state[JOB_KEY] = SweepJob(
            base, sweep, data, executor=compute.task_executor(where)
        ).start()
        st.session_state.pop("lab_sweep_note", None)
        st.rerun()

note = st.session_state.get("lab_sweep_note")
if note:
    st.info(note)


def partial_settings(job: SweepJob) -> pd.DataFrame:
    rows = [r for r in job.store.snapshot() if r.get("phase") == "tune"]
    return summarise_settings(pd.DataFrame(rows)) if rows else pd.DataFrame()


# polled twice a second only while a sweep trains (an idle page sends nothing)
@st.fragment(run_every=0.5 if job is not None and job.running else None)
def live() -> None:
    job = st.session_state.get(JOB_KEY)
    if job is None or not job.running:
        if job is not None and st.session_state.get("lab_sweep_was_running"):
            st.session_state["lab_sweep_was_running"] = False
            st.rerun()
        return
    st.session_state["lab_sweep_was_running"] = True
    p = job.progress
    done, total = (p.done, p.total) if p else (0, job.sweep.n_runs())
    eta = f", about {p.eta:.0f} s left" if p and p.eta is not None else ""
    phase = "tuning" if not p or p.phase == "tune" else "confirming on fresh seeds"
    st.progress(done / max(total, 1), text=f"{phase}: {done} of {total} runs{eta}")
    if st.button("Cancel sweep", key="sweep_cancel"):
        job.cancel()
    settings = partial_settings(job)
    if not settings.empty:
        st.plotly_chart(
            figs.sensitivity(settings, pd.DataFrame(columns=["rule"]), rule_colors, big),
            key="sweep_live_chart",
        )


live()

if job is not None and not job.running:
    if job.error:
        st.error(f"The sweep stopped: {job.error}")
    res = job.results
    if res is not None:
        if res.cancelled:
            st.warning(
                f"Cancelled: {len(res.runs)} finished runs are kept; the charts show what finished."
            )
        edges = res.best[res.best.edge]
        for _, row in edges.iterrows():
            st.warning(
                f"{row['rule']}: the best rate {row['best_lr']:.3g} is on the edge of the grid; "
                "extend the range to be sure it is the best."
            )
    if res is not None and res.sensitivity.empty:
        st.info("No run of this sweep finished, so there is nothing to draw yet.")
    elif res is not None:
        st.plotly_chart(figs.sensitivity(res.sensitivity, res.best, rule_colors, big))
        left, right = st.columns(2)
        setting = left.segmented_control(
            "Curves at", ["best", "default"], default="best", key="sweep_setting",
            format_func={"best": "tuned rates", "default": "default rates"}.get,
        ) or "best"  # fmt: skip
        if not res.curves.empty:
            left.plotly_chart(figs.best_curves(res.curves, setting, rule_colors, big))
        if not res.best.empty:
            right.markdown(" ")
            right.plotly_chart(figs.tuned_vs_default(res.best, rule_colors, big))
        st.plotly_chart(figs.heatmap(res.sensitivity, big))
        table = res.best.assign(
            rank=res.best["rank"].astype(str),
            edge=res.best.edge.map({True: "yes", False: "no"}),
            tuned_epochs_to_target=res.best.tuned_epochs_to_target.map(
                lambda v: "not reached" if not math.isfinite(v) else f"{v:g}"
            ),
        )
        st.dataframe(table, hide_index=True)
        tuned = {r: best_setting(res.sensitivity, r) for r in res.sweep.rules}
        if st.button("Use these learning rates in the comparison"):
            runs = []
            for run in config.runs:
                hyper = dict(run.hyper)
                if tuned.get(run.optimizer):
                    hyper["lr"] = tuned[run.optimizer][0]
                runs.append({"label": run.label, "optimizer": run.optimizer,
                             "batch_size": run.batch_size, **hyper})  # fmt: skip
            doc = {**config.to_dict(), "runs": runs}
            sidebar.load_config(ExperimentConfig.from_dict(doc), None)
            st.success("The comparison's runs now use each rule's tuned learning rate.")
        c1, c2, c3, c4 = st.columns(4)
        download(c1, "sweep.csv", lambda: export.csv_bytes(res.runs), "sweep.csv",
                 "dl_sweep")  # fmt: skip
        download(c2, "best.csv", lambda: export.csv_bytes(res.best), "best.csv",
                 "dl_best")  # fmt: skip
        download(c3, "curves.csv", lambda: export.csv_bytes(res.curves), "curves.csv",
                 "dl_sweep_curves")  # fmt: skip

        def zipped() -> bytes:
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                doc = {**res.config.to_dict(), "sweep": res.sweep.to_dict(),
                       "versions": res.versions}  # fmt: skip
                zf.writestr("config.json", json.dumps(doc, indent=2))
                for name in ("runs", "best", "curves"):
                    frame = getattr(res, name)
                    name = "sweep" if name == "runs" else name
                    zf.writestr(f"{name}.csv", export.csv_bytes(frame))
            return buf.getvalue()

        download(c4, "Everything (ZIP)", zipped, "sweep.zip", "dl_sweep_zip")
elif job is None:
    st.info(
        "No sweep yet in this session: choose rules and a range and press **Run sweep**, or "
        "start the talk demo."
    )
