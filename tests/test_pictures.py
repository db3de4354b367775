"""Pictures of data with more than two features (dashboard.figures.pictures): PCA against the
eigen-decomposition of the covariance, digits against the raw CSV, predictions against the
engine's own network class and the accuracy and R² recorded in training."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.figures import pictures
from dashboard.figures.style import PALETTE
from nn_core import ExperimentConfig, run_comparison
from nn_core.data import make
from nn_core.datasets import DATA_DIR
from nn_core.network import Network


def _config(dataset: str, epochs: int = 3, **net) -> ExperimentConfig:
    return ExperimentConfig.from_dict(
        {
            "dataset": {"name": dataset},
            "network": {"hidden_layers": [16], "activation": "tanh", **net},
            "training": {"epochs": epochs},
            "runs": [{"label": "Adam", "optimizer": "adam", "batch_size": 32, "lr": 0.01}],
        }
    )


@pytest.mark.parametrize("name", ["wine", "breast_cancer", "digits", "diabetes"])
def test_pca_matches_the_eigendecomposition_of_the_covariance(name):
    X = make(_config(name).dataset).X_train
    scores, comps, frac, mean = pictures.pca(X, 2)
    cov = np.cov(X, rowvar=False)  # an independent route: eigenvectors of the covariance
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    np.testing.assert_allclose(frac, vals[:2] / vals.sum(), rtol=1e-8)
    for k in range(2):
        assert abs(comps[k] @ vecs[:, k]) == pytest.approx(1.0, abs=1e-8)
        assert np.var(scores[:, k], ddof=1) == pytest.approx(vals[k], rel=1e-8)
        assert comps[k][np.argmax(np.abs(comps[k]))] > 0  # the sign convention
    np.testing.assert_allclose(mean, X.mean(axis=0))
    np.testing.assert_allclose(scores @ comps + mean, (X - mean) @ comps.T @ comps + mean)


def test_pca_figure_colours_classes_and_names_the_explained_variance():
    data = make(_config("iris").dataset)
    fig = pictures.pca_figure(data)
    _, _, frac, _ = pictures.pca(data.X_train, 2)
    assert f"{frac[0]:.1%}" in fig.layout.xaxis.title.text
    assert f"{frac[1]:.1%}" in fig.layout.yaxis.title.text
    for i, name in enumerate(data.class_names):
        trace = next(t for t in fig.data if t.name == name)
        assert trace.marker.color == PALETTE[i]
        assert len(trace.x) == int((data.y_train == i).sum())


def test_the_decision_regions_on_the_pca_plane_are_the_runs_predictions():
    results = run_comparison(_config("wine", epochs=5), parallel=False)
    data = results.data
    fig = pictures.pca_figure(data, results, "Adam", 0, grid=7)
    heat = next(t for t in fig.data if t.type == "heatmap")
    _, comps, _, mean = pictures.pca(data.X_train, 2)
    ga, gb = np.meshgrid(heat.x, heat.y)
    plane = mean + np.column_stack([ga.ravel(), gb.ravel()]) @ comps
    theta = results.snapshots[("Adam", 0)][1][-1].copy()
    expect = np.argmax(Network(results.arch, theta[None]).logits(plane)[0], axis=1).reshape(7, 7)
    np.testing.assert_array_equal(np.asarray(heat.z), expect)


def test_digit_images_are_rows_of_the_raw_csv():
    data = make(_config("digits").dataset)
    raw = np.loadtxt(DATA_DIR / "digits.csv", delimiter=",", skiprows=1)
    pixels, labels = raw[:, :64], raw[:, 64].astype(int)
    imgs = pictures.digit_images(data, data.X_val[:25])
    truth = data.y_val[:25]
    for img, label in zip(imgs, truth, strict=True):
        match = np.flatnonzero(np.abs(pixels - img.ravel()).max(axis=1) < 1e-9)
        assert match.size and set(labels[match]) == {int(label)}
    assert pictures.is_digits(data) and not pictures.is_digits(make(_config("wine").dataset))


def test_digit_predictions_are_the_runs_and_match_its_recorded_accuracy():
    results = run_comparison(_config("digits", epochs=2), parallel=False)
    data = results.data
    pred = pictures.predict(results, "Adam", 0, data.X_val)
    theta = results.snapshots[("Adam", 0)][1][-1].copy()
    logits = Network(results.arch, theta[None]).logits(data.X_val)[0]
    np.testing.assert_array_equal(pred, np.argmax(logits, 1))
    recorded = float(results.summary["final_val_accuracy"].iloc[0])
    assert np.mean(pred == data.y_val) == pytest.approx(recorded, abs=1e-12)
    fig = pictures.digits_figure(data, pred[: pictures.MAX_DIGITS])
    texts = [a.text for a in fig.layout.annotations]
    assert len(texts) == pictures.MAX_DIGITS
    right = int(np.sum(pred[: pictures.MAX_DIGITS] == data.y_val[: pictures.MAX_DIGITS]))
    assert sum(t.startswith("✓") for t in texts) == right


@pytest.mark.parametrize("name", ["diabetes", "sine"])
def test_regression_fit_is_in_target_units_and_matches_the_recorded_r2(name):
    results = run_comparison(_config(name, epochs=20), parallel=False)
    data = results.data
    pred = pictures.predict(results, "Adam", 0, data.X_train)
    actual = data.y_train[:, 0] * data.y_std + data.y_mean
    r2 = 1 - np.sum((actual - pred) ** 2) / np.sum((actual - actual.mean()) ** 2)
    recorded = float(results.summary["final_train_accuracy"].iloc[0])  # R², standardised units
    assert r2 == pytest.approx(recorded, rel=1e-9, abs=1e-9)
    fig = pictures.fit_figure(data, results, "Adam", 0)
    if data.n_features == 1:
        curve = next(t for t in fig.data if t.mode == "lines")
        xs = (np.asarray(curve.x) - data.mean[0]) / data.std[0]
        theta = results.snapshots[("Adam", 0)][1][-1].copy()
        logits = Network(results.arch, theta[None]).logits(xs[:, None])[0, :, 0]
        z = logits * data.y_std + data.y_mean
        np.testing.assert_allclose(curve.y, z, rtol=1e-10)
    else:
        line = next(t for t in fig.data if t.name.startswith("y = x"))
        assert list(line.x) == list(line.y)
        assert fig.layout.xaxis.title.text == "actual target"
