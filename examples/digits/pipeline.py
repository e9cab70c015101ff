"""Train and evaluate a classifier on scikit-learn's bundled digits data (no download).

    pip install 'mlrig[examples]'
    python examples/digits/pipeline.py                        # the active stack
    mlrig pipeline run examples/digits/pipeline.py:digits --config examples/digits/run.yaml

Four steps: load the 1,797 8x8 images, split them, train a logistic regression, evaluate
it. The arrays are stored with the numpy materializer; the model is a small dataclass with
a materializer of its own (its weights as a numpy ``.npz``), so nothing is pickled.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Annotated

import numpy as np

from mlrig import pipeline, step
from mlrig.runtime.materializers import register


@dataclass
class LinearModel:
    """What a fitted multinomial logistic regression needs to predict."""

    coef: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray

    def predict(self, x: np.ndarray) -> np.ndarray:
        scores = x @ self.coef.T + self.intercept
        return np.asarray(self.classes[np.argmax(scores, axis=1)])


@register
class LinearModelMaterializer:
    """A ``LinearModel`` as an ``.npz`` of its three arrays (no pickle)."""

    name = "examples.linear_model"
    version = "1"
    types = (LinearModel,)

    def save(self, value: LinearModel) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, coef=value.coef, intercept=value.intercept, classes=value.classes)
        return buffer.getvalue()

    def load(self, data: bytes, data_type: str) -> LinearModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            return LinearModel(arrays["coef"], arrays["intercept"], arrays["classes"])


@step
def load_digits() -> tuple[Annotated[np.ndarray, "images"], Annotated[np.ndarray, "labels"]]:
    from sklearn.datasets import load_digits as bundled

    data = bundled()
    print(f"loaded {len(data.target)} images")
    return data.data / 16.0, data.target


@step
def split(images: np.ndarray, labels: np.ndarray, test_size: float = 0.25, seed: int = 0) -> (
    tuple[
        Annotated[np.ndarray, "x_train"], Annotated[np.ndarray, "x_test"],
        Annotated[np.ndarray, "y_train"], Annotated[np.ndarray, "y_test"],
    ]
):
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_size, random_state=seed, stratify=labels)
    return x_train, x_test, y_train, y_test


@step
def train(x_train: np.ndarray, y_train: np.ndarray, c: float = 1.0,
          max_iter: int = 500) -> Annotated[LinearModel, "model"]:
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression(C=c, max_iter=max_iter).fit(x_train, y_train)
    return LinearModel(fitted.coef_, fitted.intercept_, fitted.classes_)


@step
def evaluate(model: LinearModel, x_test: np.ndarray, y_test: np.ndarray) -> Annotated[
    float, "accuracy"
]:
    accuracy = float((model.predict(x_test) == y_test).mean())
    print(f"accuracy: {accuracy:.4f}")
    return accuracy


@pipeline
def digits() -> None:
    images, labels = load_digits()
    x_train, x_test, y_train, y_test = split(images, labels)
    model = train(x_train, y_train)
    evaluate(model, x_test, y_test)


if __name__ == "__main__":
    digits()
