"""``Dataset`` and the built-in digits: shapes, normalisation, stratification, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.learn.data import Dataset, digits, split_problem


def test_digits_shapes_and_l2_normalisation() -> None:
    train, test = digits(classes=(1, 9), size=(16, 16), normalize="l2", test=0.2, seed=7)
    assert train.x.shape[1] == 256 and test.x.shape[1] == 256
    assert train.image_shape == (16, 16) and train.feature_range == (0.0, 1.0)
    assert len(train) + len(test) == 182 + 180  # sklearn has 182 ones and 180 nines
    np.testing.assert_allclose(np.linalg.norm(train.x, axis=1), 1.0)
    assert train.x.min() >= 0.0 and train.x.max() <= 1.0
    assert set(np.unique(train.y)) == {0, 1} and train.num_classes == 2


def test_digits_split_is_stratified_and_reproducible() -> None:
    train, test = digits(test=0.25, seed=3)
    frac_train = train.class_counts() / len(train)
    frac_test = test.class_counts() / len(test)
    np.testing.assert_allclose(frac_train, frac_test, atol=0.02)
    assert abs(len(test) / (len(train) + len(test)) - 0.25) < 0.01
    again_train, _ = digits(test=0.25, seed=3)
    np.testing.assert_array_equal(train.x, again_train.x)
    other_train, _ = digits(test=0.25, seed=4)
    assert not np.array_equal(train.y, other_train.y) or not np.array_equal(train.x, other_train.x)


def test_digits_range_normalisation_crop_and_label_order() -> None:
    train, _ = digits(classes=(9, 1, 7), size=(8, 8), normalize="range", crop=(0, 0, 4, 8))
    assert train.x.shape[1] == 64 and train.num_classes == 3
    assert train.x.min() == pytest.approx(0.0) and train.x.max() == pytest.approx(1.0)
    raw, _ = digits(classes=(9,), size=(8, 8), normalize="none", test=0.0)
    assert raw.x.max() == 16.0 and len(raw) == 180


def test_resize_keeps_the_image() -> None:
    """Upsampling 8x8 -> 16x16 bilinearly keeps the corners and the mean roughly."""
    small, _ = digits(classes=(1,), size=(8, 8), normalize="none", test=0.0)
    big, _ = digits(classes=(1,), size=(16, 16), normalize="none", test=0.0)
    a, b = small.x[0].reshape(8, 8), big.x[0].reshape(16, 16)
    assert b[0, 0] == a[0, 0] and b[-1, -1] == a[-1, -1]
    assert abs(a.mean() - b.mean()) < 1.0


def test_dataset_take_concat_and_validation() -> None:
    data = Dataset(x=np.arange(6.0).reshape(3, 2), y=[0, 1, 1], num_classes=2)
    part = data.take([2, 0])
    np.testing.assert_array_equal(part.y, [1, 0])
    np.testing.assert_array_equal(part.x, [[4, 5], [0, 1]])
    both = data.concat(part)
    assert len(both) == 5 and both.num_features == 2
    with pytest.raises(ValueError, match="labels"):
        Dataset(x=np.zeros((2, 2)), y=[0, 2], num_classes=2)
    with pytest.raises(ValueError, match="needs"):
        Dataset(y=[0], num_classes=2)
    quantum = Dataset(states=np.eye(4)[:2], y=[0, 1], num_classes=2)
    assert quantum.num_qubits == 2 and quantum.x is None


def test_per_sample_meta_follows_the_samples() -> None:
    data = Dataset(
        x=np.zeros((3, 1)),
        y=[0, 1, 0],
        num_classes=2,
        meta={"V": np.array([4.0, 0.5, 4.5]), "seed": 7, "grid": np.ones(5)},
    )
    part = data.take([2, 1])
    np.testing.assert_array_equal(part.meta["V"], [4.5, 0.5])
    assert part.meta["seed"] == 7 and part.meta["grid"].shape == (5,)
    both = part.concat(data)
    np.testing.assert_array_equal(both.meta["V"], [4.5, 0.5, 4.0, 0.5, 4.5])


def test_split_problem_agrees_with_scikit_learn() -> None:
    """`split_problem` (no scikit-learn import, used by `qadl check`) refuses exactly the
    label vectors that scikit-learn's stratified split refuses."""
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(3)
    refused = 0
    for _ in range(300):
        counts = rng.integers(1, 7, size=rng.integers(1, 5))
        y = np.repeat(np.arange(counts.size), counts)
        test = float(rng.choice([0.1, 0.2, 0.25, 0.5, 0.8]))
        try:
            train_test_split(np.arange(y.size), test_size=test, random_state=0, stratify=y)
            splits = True
        except ValueError:
            splits = False
        assert (split_problem(y, test) is None) == splits, (counts, test)
        refused += not splits
    assert 30 < refused < 270  # both outcomes were exercised
