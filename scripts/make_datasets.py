"""Regenerate the bundled real datasets in ``data/`` from scikit-learn's packaged copies.

scikit-learn ships these five tables inside its wheel, so this script needs no network access. It
is *not* a dependency of the app (the app only reads the CSV files written here); install it
temporarily to run the script::

    .venv/bin/pip install scikit-learn
    .venv/bin/python scripts/make_datasets.py
    .venv/bin/pip uninstall -y scikit-learn

Every file has a header row, comma separators, ``\\n`` line endings and the target last. Class
targets are written as the source's class names (``setosa``, ``malignant``, ...) where it has
them, so the app's label encoding is what turns them into integers. Integer-valued columns are
written as integers (the digits' pixels are counts 0..16), which keeps the files small.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent.parent / "data"


def _snake(name: str) -> str:
    name = re.sub(r"\(cm\)", "", name)
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def _frame(data: np.ndarray, names, target_name: str, target) -> pd.DataFrame:
    df = pd.DataFrame(data, columns=[_snake(n) for n in names])
    for col in df:
        if np.all(df[col] == np.round(df[col])):
            df[col] = df[col].astype(np.int64)
    df[target_name] = target
    return df


def build() -> dict[str, pd.DataFrame]:
    from sklearn import datasets as sk

    iris = sk.load_iris()
    wine = sk.load_wine()
    cancer = sk.load_breast_cancer()
    digits = sk.load_digits()
    diabetes = sk.load_diabetes(scaled=False)  # the original units, not sklearn's rescaling
    names = lambda bunch: np.asarray(bunch.target_names)[bunch.target]  # noqa: E731
    target = diabetes.target.astype(np.int64) if np.all(diabetes.target % 1 == 0) else None
    return {
        "iris": _frame(iris.data, iris.feature_names, "species", names(iris)),
        "wine": _frame(wine.data, wine.feature_names, "cultivar", names(wine)),
        "breast_cancer": _frame(cancer.data, cancer.feature_names, "diagnosis", names(cancer)),
        "digits": _frame(digits.data, digits.feature_names, "digit", digits.target),
        "diabetes": _frame(
            diabetes.data,
            diabetes.feature_names,
            "progression",
            diabetes.target if target is None else target,
        ),
    }


def main() -> None:
    DATA.mkdir(exist_ok=True)
    for name, df in build().items():
        path = DATA / f"{name}.csv"
        df.to_csv(path, index=False, lineterminator="\n")
        print(f"{path.relative_to(DATA.parent)}: {len(df)} rows x {df.shape[1] - 1} features")


if __name__ == "__main__":
    main()
