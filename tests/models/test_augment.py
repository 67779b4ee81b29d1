from __future__ import annotations

import math
import pickle

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from hepclf import CNNClassifier, CNNRegressor, load_model, save_model
from hepclf.models import augment_images
from hepclf.models._augment import _rotate_and_zoom, apply_symmetry, symmetries

from .conftest import SMALL, TINY, make_blob_images, prong_jets

torch = pytest.importorskip("torch")
nn = torch.nn


def asymmetric_images(n=64, size=6, channels=2, seed=0):
    """Random images with no symmetry, so every flip and turn gives a new image."""
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.random((n, channels, size, size)).astype(np.float32))


def dihedral(image, flips=((),), turns=(0,)):
    """The images a flip (about the given axes) then a quarter turn can make."""
    out = []
    for axes in flips:
        flipped = image.flip(axes) if axes else image
        out += [torch.rot90(flipped, k, dims=(-2, -1)) for k in turns]
    return out


def which(image, candidates):
    """Index of the candidate ``image`` equals exactly (None if none)."""
    for i, c in enumerate(candidates):
        if torch.equal(image, c):
            return i
    return None


# -- augment_images ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("flip", "axes"),
    [
        (True, ((), (-1,), (-2,), (-1, -2))),
        ("horizontal", ((), (-1,))),
        ("vertical", ((), (-2,))),
    ],
)
def test_flips_are_exact_mirror_images(flip, axes):
    x = asymmetric_images()
    out = augment_images(x, flip=flip, generator=torch.Generator().manual_seed(0))
    seen = [which(o, dihedral(i, flips=axes)) for i, o in zip(x, out, strict=True)]
    assert None not in seen
    assert set(seen) == set(range(len(axes)))  # every choice occurs in 64 images


def test_quarter_turns_are_exact():
    x = asymmetric_images()
    out = augment_images(x, rot90=True, generator=torch.Generator().manual_seed(0))
    seen = [which(o, dihedral(i, turns=range(4))) for i, o in zip(x, out, strict=True)]
    assert None not in seen
    assert set(seen) == {0, 1, 2, 3}
    with pytest.raises(ValueError, match="square images only, got 6 x 8"):
        augment_images(torch.zeros(2, 1, 6, 8), rot90=True)


def rolls(image, axes):
    """Every cyclic shift of ``image`` along ``axes`` (one axis or both)."""
    shifts = [range(image.shape[a]) if a in axes else (0,) for a in (-2, -1)]
    return [
        torch.roll(image, (i, j), dims=(-2, -1)) for i in shifts[0] for j in shifts[1]
    ]


@pytest.mark.parametrize(
    ("roll", "axes"), [("horizontal", (-1,)), ("vertical", (-2,)), (True, (-2, -1))]
)
def test_rolls_are_exact_cyclic_shifts(roll, axes):
    # a 6 x 8 image (not square: the shift along each axis has its own range)
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.random((200, 2, 6, 8)).astype(np.float32))
    out = augment_images(x, roll=roll, generator=torch.Generator().manual_seed(0))
    seen = [which(o, rolls(i, axes)) for i, o in zip(x, out, strict=True)]
    assert None not in seen
    n_shifts = math.prod(x.shape[a] for a in axes)
    # every shift occurs (48 of them for both axes: 200 draws miss one with
    # probability below 1e-2, and the seed is fixed)
    assert len(set(seen)) == n_shifts
    # every channel of an image moves together, and the pixel values are kept
    assert_array_equal(np.sort(out.numpy(), axis=None), np.sort(x.numpy(), axis=None))


def test_a_roll_of_an_unrolled_image_is_the_event_turned():
    # EnergyEncoder(geometry="unrolled") bins the azimuth into npix columns:
    # turning every hit by k bins (2 pi k / npix) shifts the image by k columns
    from hepclf import EnergyEncoder

    rng = np.random.default_rng(2)
    n, npix = 4, 16
    radius = rng.uniform(100, 700, (n, 30))
    phi = rng.uniform(-np.pi, np.pi, (n, 30))
    charge = rng.uniform(1, 5, (n, 30))
    layer = rng.integers(0, 43, (n, 30)).astype(float)

    def hits(phi):
        return np.stack(
            [radius * np.cos(phi), radius * np.sin(phi), charge, layer], axis=-1
        )

    enc = EnergyEncoder(encoding="per_hit", geometry="unrolled", npix=npix)
    image = enc.fit_transform(hits(phi))
    # every hit moved to the centre of its azimuth bin (half a bin off the
    # edges, so float rounding cannot change a bin): the same image
    centred = (np.floor((phi + np.pi) / (2 * np.pi) * npix) + 0.5) * (
        2 * np.pi / npix
    ) - np.pi
    assert_allclose(enc.transform(hits(centred)), image)
    for k in (1, 5):
        turned = enc.transform(hits(centred + 2 * np.pi * k / npix))
        assert_allclose(turned, np.roll(image, k, axis=-1))


def test_all_off_is_the_identity_and_input_is_untouched():
    x = asymmetric_images()
    before = x.clone()
    out = augment_images(x)
    assert_array_equal(out.numpy(), x.numpy())
    assert out is not x
    augment_images(
        x, flip=True, roll=True, rot90=True, rotation=10, zoom=0.1, noise=0.1
    )
    assert torch.equal(x, before)


def test_seeded_by_the_generator():
    x = asymmetric_images()
    kwargs = {
        "flip": True,
        "roll": True,
        "rot90": True,
        "rotation": 10.0,
        "zoom": 0.2,
        "noise": 0.1,
    }
    a = augment_images(x, **kwargs, generator=torch.Generator().manual_seed(3))
    b = augment_images(x, **kwargs, generator=torch.Generator().manual_seed(3))
    c = augment_images(x, **kwargs, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_rotation_and_zoom_geometry():
    x = asymmetric_images(n=3, size=8)
    one, zero = torch.ones(3), torch.zeros(3)
    assert_allclose(_rotate_and_zoom(x, zero, one).numpy(), x.numpy(), atol=1e-6)
    half_turn = _rotate_and_zoom(x, zero + math.pi, one)
    assert_allclose(half_turn.numpy(), x.flip((-1, -2)).numpy(), atol=1e-5)
    quarter = _rotate_and_zoom(x, zero + math.pi / 2, one).numpy()
    turns = [torch.rot90(x, k, dims=(-2, -1)).numpy() for k in (1, 3)]
    assert min(np.abs(quarter - t).max() for t in turns) < 1e-5


def centroid(image):
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (cols * image).sum() / image.sum()


def test_rotation_on_a_rectangular_image_turns_pixel_distances():
    # a 2x2 spot 4 pixels right of the centre of a 10 x 16 image, turned by
    # 90 degrees, lands 4 pixels above or below the centre (the aspect ratio
    # of the normalised coordinates must not stretch it)
    x = torch.zeros(1, 1, 10, 16)
    x[0, 0, 4:6, 11:13] = 1.0  # centre of the image: (4.5, 7.5)
    out = _rotate_and_zoom(x, torch.tensor([math.pi / 2]), torch.tensor([1.0]))
    row, col = centroid(out[0, 0].numpy())
    assert col == pytest.approx(7.5, abs=1e-3)
    assert abs(row - 4.5) == pytest.approx(4.0, abs=1e-3)
    assert out.sum().item() == pytest.approx(4.0, rel=1e-4)  # nothing cut off
    # zoom by 1.5 about the centre: 1.5 times the distance
    out = _rotate_and_zoom(x, torch.tensor([0.0]), torch.tensor([1.5]))
    row, col = centroid(out[0, 0].numpy())
    assert (row, col) == pytest.approx((4.5, 7.5 + 6.0), abs=1e-3)


def test_random_rotation_and_zoom_stay_in_range():
    # a spot 5 pixels from the centre ends 5 * [0.8, 1.2] pixels from it, at
    # most 30 degrees away
    x = torch.zeros(200, 1, 21, 21)
    x[:, 0, 9:12, 14:17] = 1.0
    out = augment_images(
        x, rotation=30.0, zoom=0.2, generator=torch.Generator().manual_seed(0)
    )
    rows, cols = np.indices((21, 21))
    images = out[:, 0].numpy()
    mass = images.sum(axis=(1, 2))
    dy = (rows * images).sum(axis=(1, 2)) / mass - 10
    dx = (cols * images).sum(axis=(1, 2)) / mass - 10
    radius, angle = np.hypot(dx, dy), np.degrees(np.arctan2(dy, dx))
    assert radius.min() > 5 * 0.8 - 0.2
    assert radius.max() < 5 * 1.2 + 0.2
    assert np.abs(angle).max() < 31.0
    assert np.abs(angle).max() > 25.0  # the range is used
    assert radius.max() - radius.min() > 1.0


def test_gaussian_noise():
    x = torch.zeros(100, 1, 20, 20)
    out = augment_images(x, noise=0.3, generator=torch.Generator().manual_seed(0))
    assert out.std().item() == pytest.approx(0.3, rel=0.02)
    assert abs(out.mean().item()) < 0.01


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"flip": "diagonal"}, "flip must be"),
        ({"rotation": -1.0}, "rotation must be"),
        ({"zoom": 1.0}, "zoom must be"),
        ({"noise": -0.1}, "noise must be"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        augment_images(torch.zeros(2, 1, 4, 4), **kwargs)
    with pytest.raises(ValueError, match="shape"):
        augment_images(torch.zeros(2, 4, 4))


# -- in the estimators ---------------------------------------------------------------


class Recorder(nn.Module):
    """A linear model that keeps every batch it sees, in training and in eval mode."""

    def __init__(self, in_channels=1, image_size=6, n_classes=2):
        super().__init__()
        height, width = (
            (image_size, image_size) if np.isscalar(image_size) else image_size
        )
        self.linear = nn.Linear(in_channels * height * width, n_classes)
        self.seen = {True: [], False: []}

    def forward(self, x):
        self.seen[self.training].append(x.detach().cpu().clone())
        return self.linear(x.flatten(1))


def recorder(cls=CNNClassifier, **kwargs):
    params = {
        "max_epochs": 2,
        "batch_size": 1000,
        "random_state": 0,
        "iterator_train__shuffle": False,
        **kwargs,
    }
    return cls(Recorder, **params)


@pytest.mark.parametrize("cls", [CNNClassifier, CNNRegressor])
def test_augmentation_on_training_batches_only(cls):
    from skorch.dataset import ValidSplit

    x = asymmetric_images(n=40)
    y = np.arange(40) % 2
    net = recorder(
        cls, augment_flip=True, augment_rot90=True, train_split=ValidSplit(4)
    ).fit(x.numpy(), y)
    seen_train = torch.cat(net.module_.seen[True])
    # the training batches: every image is a flip and turn of a training image
    # (ValidSplit(4), neither stratified nor shuffled, holds out the first
    # fold of KFold(4): the first quarter), and some are not the image itself
    train, valid = x[10:], x[:10]
    assert len(seen_train) == 2 * len(train)
    variants = [
        which(s, dihedral(i, flips=((), (-1,), (-2,), (-1, -2)), turns=range(4)))
        for s, i in zip(seen_train, torch.cat([train, train]), strict=True)
    ]
    assert None not in variants
    assert len(set(variants)) > 4
    # validation loss (and the classifier's accuracy): the images as they are
    assert len(net.module_.seen[False]) >= 2
    for batch in net.module_.seen[False]:
        assert_array_equal(batch.numpy(), valid.numpy())
    # prediction: the images as they are
    net.module_.seen[False].clear()
    net.predict(x.numpy())
    assert_array_equal(torch.cat(net.module_.seen[False]).numpy(), x.numpy())


def test_rolls_through_the_estimator_on_training_batches_only():
    # 6 x 8 images rolled along the width: the training batches hold cyclic
    # shifts of the training images, prediction sees the images as they are
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.random((40, 1, 6, 8)).astype(np.float32))
    net = recorder(augment_roll="horizontal").fit(x.numpy(), np.arange(40) % 2)
    seen = torch.cat(net.module_.seen[True])
    pairs = zip(seen, torch.cat([x, x]), strict=True)  # two epochs, not shuffled
    shifts = [which(s, rolls(i, (-1,))) for s, i in pairs]
    assert None not in shifts
    assert len(set(shifts)) > 4
    net.module_.seen[False].clear()
    net.predict(x.numpy())
    assert_array_equal(torch.cat(net.module_.seen[False]).numpy(), x.numpy())


def test_without_augmentation_the_module_sees_the_images(blobs):
    x = asymmetric_images(n=40)
    net = recorder().fit(x.numpy(), np.arange(40) % 2)
    assert_array_equal(torch.cat(net.module_.seen[True]).numpy(), torch.cat([x, x]))


def test_noise_reaches_training_batches():
    x = torch.zeros(40, 1, 6, 6)
    net = recorder(augment_noise=0.5).fit(x.numpy(), np.arange(40) % 2)
    seen = torch.cat(net.module_.seen[True])
    assert seen.std().item() == pytest.approx(0.5, rel=0.1)
    assert not torch.equal(seen[:40], seen[40:])  # new noise every epoch


def tiny_clf(**kwargs):
    params = {"max_epochs": 3, "batch_size": 32, "random_state": 0, **TINY, **kwargs}
    return CNNClassifier(**params)


AUGMENTED = {
    "augment_flip": True,
    "augment_roll": "vertical",
    "augment_rot90": True,
    "augment_rotation": 10.0,
    "augment_zoom": 0.1,
    "augment_noise": 0.05,
}


def test_predictions_do_not_depend_on_augmentation_settings(blobs):
    X, y = blobs
    clf = tiny_clf(**AUGMENTED).fit(X, y)
    proba = clf.predict_proba(X)
    clf.set_params(**{**dict.fromkeys(AUGMENTED, 0.0), "augment_flip": False})
    assert_array_equal(clf.predict_proba(X), proba)
    # the augmentation did change the training
    plain = tiny_clf().fit(X, y)
    assert np.abs(plain.predict_proba(X) - proba).max() > 1e-3


def test_augmented_fits_are_reproducible(blobs):
    X, y = blobs
    first = tiny_clf(**AUGMENTED).fit(X, y).predict_proba(X)
    assert_array_equal(tiny_clf(**AUGMENTED).fit(X, y).predict_proba(X), first)
    other_seed = tiny_clf(**AUGMENTED, random_state=1).fit(X, y).predict_proba(X)
    assert not np.array_equal(other_seed, first)


def test_grid_search_tunes_augmentation(blobs):
    X, y = blobs
    search = GridSearchCV(
        tiny_clf(max_epochs=1),
        {"augment_noise": [0.0, 0.2], "augment_flip": [True]},
        cv=2,
    ).fit(X[:200], y[:200])
    assert [p["augment_noise"] for p in search.cv_results_["params"]] == [0.0, 0.2]
    assert search.best_estimator_.augment_flip is True
    assert clone(tiny_clf(augment_noise=0.2)).get_params()["augment_noise"] == 0.2


def test_persistence_with_augmentation(blobs, tmp_path):
    X, y = blobs
    clf = tiny_clf(max_epochs=1, **AUGMENTED).fit(X, y)
    expected = clf.predict_proba(X)
    save_model(clf, tmp_path / "clf.hepclf")
    loaded = load_model(tmp_path / "clf.hepclf")
    joblib.dump(clf, tmp_path / "clf.joblib")
    for other in (loaded, joblib.load(tmp_path / "clf.joblib")):
        assert {k: other.get_params()[k] for k in AUGMENTED} == AUGMENTED
        assert_array_equal(other.predict_proba(X), expected)


def test_augmentation_needs_image_input():
    X, y = prong_jets(n=40)
    clf = CNNClassifier(
        "particle_transformer", max_epochs=1, augment_flip=True, **SMALL
    )
    with pytest.raises(ValueError, match=r"augment_flip=True.* takes 'particles'"):
        clf.fit(X, y)
    clf.set_params(augment_flip=False)
    clf.fit(X, y)  # fine without


def test_rot90_needs_square_images():
    X, y = make_blob_images(n=40, size=16)
    with pytest.raises(ValueError, match=r"square images only.*16 x 12"):
        tiny_clf(augment_rot90=True).fit(X[..., :12], y)
    tiny_clf(augment_flip=True, max_epochs=1).fit(X[..., :12], y)


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("augment_flip", "diagonal"),
        ("augment_roll", "sideways"),
        ("augment_rot90", "yes"),
        ("augment_rotation", 200.0),
        ("augment_zoom", 1.0),
        ("augment_noise", -0.1),
    ],
)
def test_bad_augmentation_parameters(blobs, param, value):
    X, y = blobs
    with pytest.raises(InvalidParameterError, match=param):
        tiny_clf(**{param: value}).fit(X, y)


# -- augment_predict: predictions averaged over the exact symmetries ----------------


@pytest.mark.parametrize(
    ("flip", "rot90", "flips", "turns", "n"),
    [
        (True, True, ((), (-1,), (-2,), (-1, -2)), range(4), 8),
        ("horizontal", True, ((), (-1,)), range(4), 8),
        ("vertical", True, ((), (-2,)), range(4), 8),
        (True, False, ((), (-1,), (-2,), (-1, -2)), (0,), 4),
        ("horizontal", False, ((), (-1,)), (0,), 2),
        (False, True, ((),), range(4), 4),
        (False, False, ((),), (0,), 1),
    ],
)
def test_symmetries_are_what_the_augmentation_draws_from(flip, rot90, flips, turns, n):
    image = asymmetric_images(n=1)[0]
    transforms = symmetries(flip, rot90)
    assert len(transforms) == n
    assert transforms[0] == (0, ())  # the identity first
    made = [apply_symmetry(image, t) for t in transforms]
    drawn = dihedral(image, flips=flips, turns=turns)
    # each image the augmentation can draw, exactly once
    assert sorted(which(m, drawn) is not None for m in made) == [True] * n
    assert len({which(m, made) for m in drawn}) == n


def symmetric_copies(X, flip=True, rot90=True):
    x = torch.from_numpy(np.asarray(X))
    return [apply_symmetry(x, t).numpy().copy() for t in symmetries(flip, rot90)]


@pytest.mark.parametrize(
    ("flip", "rot90"), [(True, True), ("horizontal", False), (False, True)]
)
def test_averaged_probabilities_are_the_mean_over_the_symmetries(blobs, flip, rot90):
    X, y = blobs
    clf = tiny_clf(augment_flip=flip, augment_rot90=rot90).fit(X, y)
    plain = clf.predict_proba(X)
    copies = [clf.predict_proba(c) for c in symmetric_copies(X, flip, rot90)]
    clf.set_params(augment_predict=True)
    averaged = clf.predict_proba(X)
    assert_allclose(averaged, np.mean(copies, axis=0), rtol=0, atol=1e-6)
    assert_allclose(averaged.sum(axis=1), 1.0, rtol=0, atol=1e-6)
    assert np.abs(averaged - plain).max() > 1e-3  # the average is not the image alone
    # exactly invariant: every symmetric copy of the images gets the same answer
    for copy in symmetric_copies(X, flip, rot90):
        assert_allclose(clf.predict_proba(copy), averaged, rtol=0, atol=1e-6)
    assert_array_equal(clf.predict(X), clf.classes_[averaged.argmax(axis=1)])


def test_averaged_regression_is_the_mean_over_the_symmetries(blobs):
    X, _ = blobs
    target = X.sum(axis=(1, 2, 3))  # invariant under every flip and turn
    reg = CNNRegressor(
        max_epochs=2, random_state=0, augment_flip=True, augment_rot90=True, **TINY
    ).fit(X, target)
    copies = [reg.predict(c) for c in symmetric_copies(X)]
    reg.set_params(augment_predict=True)
    averaged = reg.predict(X)
    assert_allclose(averaged, np.mean(copies, axis=0), rtol=1e-5, atol=1e-4)
    assert np.abs(averaged - copies[0]).max() > 1e-3


def test_fit_scores_validation_on_the_images_as_they_are():
    from skorch.dataset import ValidSplit

    x = asymmetric_images(n=40)
    net = recorder(
        augment_flip=True,
        augment_rot90=True,
        augment_predict=True,
        train_split=ValidSplit(4),
    ).fit(x.numpy(), np.arange(40) % 2)
    # validation loss and accuracy during fit: the held-out quarter as it is
    for batch in net.module_.seen[False]:
        assert_array_equal(batch.numpy(), x[:10].numpy())
    # predict: the eight symmetric copies, one forward pass each
    net.module_.seen[False].clear()
    net.predict_proba(x.numpy())
    seen = net.module_.seen[False]
    assert len(seen) == 8
    for batch, copy in zip(seen, symmetric_copies(x.numpy()), strict=True):
        assert_array_equal(batch.numpy(), copy)


def test_augment_predict_round_trips_and_is_tuned(blobs, tmp_path):
    X, y = blobs
    clf = tiny_clf(max_epochs=1, augment_flip=True, augment_rot90=True)
    clf.set_params(augment_predict=True).fit(X, y)
    expected = clf.predict_proba(X)
    save_model(clf, tmp_path / "clf.hepclf")
    joblib.dump(clf, tmp_path / "clf.joblib")
    for other in (
        load_model(tmp_path / "clf.hepclf"),
        joblib.load(tmp_path / "clf.joblib"),
    ):
        assert other.augment_predict is True
        assert_array_equal(other.predict_proba(X), expected)
    search = GridSearchCV(
        tiny_clf(max_epochs=1, augment_flip=True),
        {"augment_predict": [False, True]},
        scoring="neg_log_loss",
        cv=2,
    ).fit(X[:200], y[:200])
    plain, averaged = search.cv_results_["mean_test_score"]
    assert abs(plain - averaged) > 1e-4  # the candidates predicted differently


def test_a_net_pickled_before_augment_predict_predicts_as_before(blobs):
    X, y = blobs
    clf = tiny_clf(max_epochs=1, augment_flip=True).fit(X, y)
    expected = clf.predict_proba(X)
    del clf.augment_predict  # as in a pickle written before it existed
    old = pickle.loads(pickle.dumps(clf))
    assert_array_equal(old.predict_proba(X), expected)


def test_averaging_leaves_nothing_on_the_estimator(blobs):
    X, y = blobs
    clf = tiny_clf(max_epochs=1, augment_flip=True, augment_predict=True).fit(X, y)
    before = set(vars(clf))
    clf.predict_proba(X)
    assert set(vars(clf)) == before

    # an error inside an averaged predict leaves the net as it was
    def broken(x, **kwargs):
        raise RuntimeError("broken module")

    clf.infer = broken
    with pytest.raises(RuntimeError, match="broken module"):
        clf.predict_proba(X)
    del clf.infer
    assert set(vars(clf)) == before
    # the real nonlinearity is back after the averaged predict
    assert clf.get_predict_nonlinearity()(torch.zeros(1, 2)).sum().item() == 1.0


def test_augment_predict_needs_a_symmetry(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match=r"augment_predict=True .* but both are off"):
        tiny_clf(augment_predict=True).fit(X, y)
    # switched on after a fit without flips or turns: refused at predict
    clf = tiny_clf(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match=r"augment_predict=True .* but both are off"):
        clf.set_params(augment_predict=True).predict_proba(X)
    with pytest.raises(InvalidParameterError, match="augment_predict"):
        tiny_clf(augment_predict="yes").fit(X, y)


def test_augment_predict_with_quarter_turns_needs_square_images():
    X, y = make_blob_images(n=40, size=16)
    clf = tiny_clf(augment_flip=True, max_epochs=1).fit(X[..., :12], y)
    clf.set_params(augment_rot90=True, augment_predict=True)
    with pytest.raises(
        ValueError,
        match=r"augment_predict=True with augment_rot90=True turns square images only, "
        r"but the training images are 16 x 12",
    ):
        clf.predict_proba(X[..., :12])
