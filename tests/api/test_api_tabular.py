"""Built-in tabular data (iris, wine, breast_cancer, moons, circles) and their preprocessing,
checked against scikit-learn pipelines fitted on the training split alone."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import datasets
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import qadl
from qadl.learn.data import stratified_split
from qadl.learn.tabular import TABULAR, Preprocess, tabular

LOADERS = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
}


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_sizes_are_those_of_sklearn(name):
    bunch = LOADERS[name]()
    assert TABULAR[name].features == bunch.data.shape[1]
    assert TABULAR[name].counts == tuple(np.bincount(bunch.target))


def test_preprocessing_is_fitted_on_the_training_split():
    """standardize -> pca -> scale equals sklearn's pipeline fitted on the train rows only."""
    steps = Preprocess(standardize=True, pca=3, scale=(0.0, math.pi))
    train, test = tabular("wine", test=0.3, seed=2, steps=steps)
    bunch = datasets.load_wine()
    train_idx, test_idx = stratified_split(bunch.target, 0.3, 2)
    pipe = make_pipeline(
        StandardScaler(), PCA(3, svd_solver="full"), MinMaxScaler((0, math.pi), clip=True)
    ).fit(bunch.data[train_idx])
    np.testing.assert_allclose(train.x, pipe.transform(bunch.data[train_idx]), atol=1e-10)
    np.testing.assert_allclose(test.x, pipe.transform(bunch.data[test_idx]), atol=1e-10)
    np.testing.assert_array_equal(test.y, bunch.target[test_idx])
    assert train.feature_range == (0.0, math.pi)
    assert train.x.min() == pytest.approx(0) and train.x.max() == pytest.approx(math.pi)
    assert test.x.min() >= 0 and test.x.max() <= math.pi  # clipped into the range
    assert train.meta["preprocess"] == ["standardize", "pca(3)", "scale(0, 3.14159)"]


def test_classes_are_relabelled_in_the_given_order():
    train, _ = tabular("iris", classes=(2, 0), test=0.2, seed=1)
    bunch = datasets.load_iris()
    keep = np.isin(bunch.target, (2, 0))
    raw_y = np.where(bunch.target[keep] == 2, 0, 1)
    train_idx, _ = stratified_split(raw_y, 0.2, 1)
    np.testing.assert_array_equal(train.y, raw_y[train_idx])
    np.testing.assert_allclose(train.x, bunch.data[keep][train_idx])
    assert train.num_classes == 2 and train.feature_range is None


@pytest.mark.parametrize("name", ["moons", "circles"])
def test_generated_sets_are_seeded(name):
    train, test = tabular(name, samples=60, noise=0.05, seed=4, test=0.25)
    make = datasets.make_moons if name == "moons" else datasets.make_circles
    x, y = make(n_samples=60, noise=0.05, random_state=4)
    train_idx, test_idx = stratified_split(y, 0.25, 4)
    np.testing.assert_allclose(train.x, x[train_idx])
    np.testing.assert_allclose(test.x, x[test_idx])
    assert (len(train), len(test)) == (45, 15)


def _program(tmp_path, data: str):
    path = tmp_path / "t.qadl"
    path.write_text(
        f"data d = {data}\n"
        "model clf(x: float[2]) on q[2] {\n    param θ[2]\n"
        "    ry(x[0] + θ[0]) q[0]\n    ry(x[1] + θ[1]) q[1]\n"
        "    readout probs(q[0]) -> classes 2\n}\n"
        "train clf on d.train { epochs 1 }\n"
    )
    return path


def test_program_data_and_check(tmp_path):
    """From a program: `program.data` preprocesses, `qadl check` refuses what cannot work."""
    path = _program(
        tmp_path, "builtin.breast_cancer(standardize = true, pca = 2, scale = [-1, 1], seed = 3)"
    )
    assert qadl.diagnose(path) == ()
    train, test = qadl.load(path).data("d")
    assert train.x.shape[1] == 2 and train.feature_range == (-1.0, 1.0)
    assert len(train) + len(test) == 569
    bad = _program(tmp_path, "builtin.circles(samples = 4, test = 0.75)")
    (diag,) = qadl.diagnose(bad)
    assert diag.code == "E0702" and "cannot split `d`" in diag.message
    wrong = _program(tmp_path, "builtin.iris(classes = [1, 1], pca = 2)")
    (diag,) = qadl.diagnose(wrong)
    assert diag.code == "E0853" and "a class twice" in diag.message
    unknown = _program(tmp_path, "builtin.moons(pca = 2, whiten = true)")
    (diag,) = qadl.diagnose(unknown)
    assert "whiten" in diag.message


def test_file_data_takes_the_same_steps(tmp_path):
    """`file(...)` with standardize/pca/scale: fitted on the file's training split only."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 3)) * [1.0, 5.0, 0.2] + [0.0, 3.0, -1.0]
    y = (x[:, 0] + x[:, 2] > -1.0).astype(int)
    rows = "\n".join(",".join(f"{v:.9f}" for v in r) + f",{c}" for r, c in zip(x, y, strict=True))
    (tmp_path / "pts.csv").write_text(rows + "\n")
    path = _program(
        tmp_path, 'file("pts.csv", test = 0.25, seed = 2, standardize = true, pca = 2, '
        "scale = [0, π])"
    )
    assert qadl.diagnose(path) == ()
    train, test = qadl.load(path).data("d")
    read = np.loadtxt(tmp_path / "pts.csv", delimiter=",")
    train_idx, test_idx = stratified_split(read[:, -1].astype(int), 0.25, 2)
    pipe = make_pipeline(
        StandardScaler(), PCA(2, svd_solver="full"), MinMaxScaler((0, math.pi), clip=True)
    ).fit(read[train_idx, :3])
    np.testing.assert_allclose(train.x, pipe.transform(read[train_idx, :3]), atol=1e-9)
    np.testing.assert_allclose(test.x, pipe.transform(read[test_idx, :3]), atol=1e-9)
    assert train.feature_range == (0.0, math.pi)


def test_file_of_states_takes_no_steps(tmp_path):
    states = np.zeros((12, 4), dtype=complex)
    states[np.arange(12), np.arange(12) % 4] = 1.0
    np.savez(tmp_path / "s.npz", states=states, y=np.arange(12) % 2)
    path = _program(tmp_path, 'file("s.npz", pca = 2)')
    codes = [d.code for d in qadl.diagnose(path)]
    assert codes[0] == "E0855"


def test_digits_take_the_steps(tmp_path):
    """`builtin.digits(pca = k, ...)`: the images' PCA, fitted on the training images."""
    from qadl.learn.data import digits

    path = _program(
        tmp_path, "builtin.digits(classes = [3, 5], size = 8x8, normalize = none, "
        "standardize = true, pca = 2, scale = [0, π], seed = 4)"
    )
    assert qadl.diagnose(path) == ()
    train, test = qadl.load(path).data("d")
    raw_train, raw_test = digits(classes=(3, 5), size=(8, 8), normalize="none", seed=4)
    pipe = make_pipeline(
        StandardScaler(), PCA(2, svd_solver="full"), MinMaxScaler((0, math.pi), clip=True)
    ).fit(raw_train.x)
    np.testing.assert_allclose(train.x, pipe.transform(raw_train.x), atol=1e-9)
    np.testing.assert_allclose(test.x, pipe.transform(raw_test.x), atol=1e-9)
    assert train.image_shape is None and train.feature_range == (0.0, math.pi)


def test_digits_options_refused(tmp_path):
    path = tmp_path / "p.qadl"
    path.write_text(
        "data d = builtin.digits(classes = [0, 1], size = 2x2, pca = 5)\n"
        "model clf(x: float[5]) on q[1] {\n    param θ[1]\n"
        "    ry(x[0] + x[1] + x[2] + x[3] + x[4] + θ[0]) q[0]\n"
        "    readout probs(q[0]) -> classes 2\n}\n"
        "train clf on d.train { epochs 1 }\n"
    )
    (diag,) = qadl.diagnose(path)
    assert diag.code == "E0854" and "4 features" in diag.message
    crop = _program(tmp_path, "builtin.digits(classes = [0, 1], size = 4x4, crop = 2)")
    (diag,) = qadl.diagnose(crop)  # it used to be accepted and ignored
    assert diag.code == "E0510" and "no option `crop`" in diag.message
