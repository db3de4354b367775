"""Live training (nn_core.live, dashboard.live_job): a comparison trained one epoch of every
group at a time gives the same tables as one trained without live updates; Pause, Step, Play and
Cancel do what they say; the recorded seconds leave out pauses; two live jobs at once (two
dashboard sessions) each get their own runs; BLAS limits from overlapping threads nest."""

import threading
import time

import pytest

from dashboard import runner
from dashboard.live_job import LiveJob
from nn_core import ExperimentConfig, blas, run_comparison
from nn_core.live import LiveComparison
from tests.conftest import small_config
from tests.test_executors import assert_same, comparison


def run_live(config, data=None) -> LiveComparison:
    live = LiveComparison(config, data)
    while live.advance():
        pass
    return live


@pytest.mark.parametrize(
    "config",
    [
        comparison(),  # three lockstep groups, three seeds
        small_config(  # dropout, L2, a schedule, clipping, histograms every 2nd epoch
            network={"dropout": 0.2, "l2": 1e-3},
            training={"epochs": 5, "seeds": 2, "clip_norm": 1.0, "histogram_every": 2},
            runs=[
                {"label": "GD", "optimizer": "sgd", "batch_size": "full", "lr": 0.1},
                {
                    "label": "Step",
                    "optimizer": "momentum",
                    "batch_size": 8,
                    "lr": 0.05,
                    "schedule": {"kind": "step", "step_size": 2, "gamma": 0.5},
                },
                {"label": "Adam", "optimizer": "adam", "batch_size": 8, "lr": 0.01},
            ],
        ),
        ExperimentConfig.preset("exploding-init"),  # runs that diverge part-way
    ],
    ids=["groups-and-seeds", "dropout-l2-schedule-clip", "exploding-init"],
)
def test_a_live_comparison_ends_with_the_same_tables_as_one_trained_without_it(config):
    live = run_live(config)
    assert live.done
    assert live.epoch == config.training.epochs or not any(g.active for g in live.groups)
    assert_same(live.results(), run_comparison(config, executor="inline"))


def test_every_run_has_the_same_epochs_after_each_advance():
    config = comparison()
    live = LiveComparison(config)
    for epoch in range(1, 4):
        live.advance()
        view = live.results()
        assert view.cancelled  # not finished: marked so wherever it is drawn
        per_run = view.curves.groupby(["run", "seed"])["epoch"].max()
        assert (per_run == epoch).all()
    assert live.epoch == 3 and not live.done


def test_stop_keeps_the_finished_epochs_and_marks_the_runs_incomplete():
    config = comparison()
    live = LiveComparison(config)
    live.advance()
    live.advance()
    live.stop()
    assert live.done and not live.advance()
    res = live.results()
    assert res.cancelled
    assert res.curves["epoch"].max() == 2
    assert not res.summary["completed"].any()
    full = run_comparison(config, executor="inline")
    cols = ["run", "seed", "epoch", "split", "loss", "accuracy"]
    head = full.curves[full.curves["epoch"] <= 2][cols].reset_index(drop=True)
    assert head.equals(res.curves[cols].reset_index(drop=True))


def test_cancel_within_an_epoch_stops_there(monkeypatch):
    config = small_config(training={"epochs": 3, "seeds": 1})
    live = LiveComparison(config)
    asked = []

    def cancel():
        asked.append(1)
        return True

    monkeypatch.setattr("nn_core.live.CHECK_SECONDS", 0.0)  # ask at every step
    live.advance(cancel)
    assert asked and live.stopped
    res = live.results()
    last = res.curves.groupby("run")["epoch"].max()
    assert last["GD"] <= 1  # one step per epoch: asked only once the epoch is done
    assert (last.drop("GD") == 0).all()  # stopped mid-epoch: the unfinished epoch is not kept
    assert not res.summary["completed"].any()


def test_the_recorded_seconds_leave_out_the_time_between_epochs():
    config = small_config(training={"epochs": 3, "seeds": 1})
    live = LiveComparison(config)
    pause = 0.4
    while live.advance():
        time.sleep(pause)
    seconds = live.results().curves["seconds"].max()
    assert seconds < pause  # three epochs of a tiny network, two pauses of 0.4 s left out
    assert live.seconds < 2 * pause


def test_blas_limits_from_overlapping_threads_nest():
    if not blas.can_limit():
        pytest.skip("this NumPy's BLAS thread count cannot be changed here")
    default, _ = blas.threads()
    inside, go = threading.Event(), threading.Event()
    seen = {}

    def other():
        with blas.limited(1):
            inside.set()
            go.wait(10)
            seen["other"] = blas.threads()[0]

    t = threading.Thread(target=other)
    t.start()
    inside.wait(10)
    with blas.limited(1):
        pass  # leaves while the other thread is still inside
    seen["after first exit"] = blas.threads()[0]
    go.set()
    t.join(10)
    assert seen == {"after first exit": 1, "other": 1}
    assert blas.threads()[0] == default


# --- the dashboard's job ----------------------------------------------------------------------


def wait_until(condition, timeout=60.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def test_step_trains_one_epoch_then_pauses_and_play_finishes_like_a_plain_run():
    config = comparison()
    job = LiveJob(config).start(playing=False)
    wait_until(lambda: job.waiting and job.view is not None)
    assert job.epoch == 0
    for expected in (1, 2):
        job.step()
        wait_until(lambda: job.waiting and job.epoch == expected)  # noqa: B023
    time.sleep(0.2)
    assert job.epoch == 2 and job.running  # paused: nothing more trained
    job.play()
    job.wait(60)
    assert not job.running and not job.error
    _, plain, _ = runner.run(config, executor="inline", cache=runner.ResultCache())
    assert_same(job.results, plain)


def test_cancel_keeps_what_was_trained():
    config = comparison(epochs=400)
    job = LiveJob(config, pace=20).start()
    wait_until(lambda: job.epoch >= 2)
    job.cancel()
    job.wait(30)
    res = job.results
    assert not job.running and res.cancelled
    assert 2 <= res.curves["epoch"].max() < 400


def test_two_live_jobs_at_once_each_train_their_own_runs():
    a_config = comparison(epochs=20)
    b_config = ExperimentConfig.preset("relu-he-fix").with_training(epochs=20)
    a, b = LiveJob(a_config, pace=10).start(), LiveJob(b_config, pace=10).start()  # ≥ 2 s each
    wait_until(lambda: a.epoch >= 1 and b.epoch >= 1)
    assert a.epoch < 20 and b.epoch < 20  # both move while the other trains
    a.wait(60)
    b.wait(60)
    assert set(a.results.curves["run"]) == {r.label for r in a_config.runs}
    assert set(b.results.curves["run"]) == {r.label for r in b_config.runs}
    assert_same(b.results, run_comparison(b_config, executor="inline"))
    assert_same(a.results, run_comparison(a_config, executor="inline"))


def test_a_failing_comparison_reports_an_error_instead_of_dying_silently():
    config = comparison()
    job = LiveJob(config, data="not a dataset").start()
    job.wait(30)
    assert not job.running and job.error and job.results is None


def test_the_training_process_ends_when_its_session_is_gone():
    """A paused live comparison whose parent closed its end of the pipe (a session gone, a
    server stopped) does not stay behind."""
    from nn_core.live import serve
    from nn_core.schedule import LocalPool

    ctx = LocalPool.context()
    mine, theirs = ctx.Pipe()
    process = ctx.Process(target=serve, args=(theirs, comparison(epochs=50), None, False, 0))
    process.start()
    theirs.close()
    first = mine.recv()
    assert first[0] == "progress" and first[1]["epoch"] == 0
    while not mine.recv()[1]["waiting"]:  # started paused: it says so and waits
        pass
    assert process.is_alive()
    mine.close()
    process.join(30)
    assert not process.is_alive() and process.exitcode == 0
