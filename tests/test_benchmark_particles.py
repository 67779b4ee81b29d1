"""The liquid-argon study (benchmarks/particles.py): its pieces, and end to end."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from .models.test_checkpoint import KillAfter, Killed

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "particles.py"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("bench_particles", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_image_features_of_a_track_and_a_gap(study):
    img = np.zeros((1, 1, 20, 20), np.float32)
    img[0, 0, 10, 2:8] = 2.0  # a 6-pixel track along x ...
    img[0, 0, 10, 12:16] = 5.0  # ... a 3-pixel gap, then a brighter segment
    F = dict(zip(study.IMAGE_FEATURES, study.image_features(img, 0.5)[0], strict=True))
    assert F["charge"] == 6 * 2 + 4 * 5
    assert F["n_pixels"] == 10
    assert F["max_pixel"] == 5
    assert F["length"] == pytest.approx(13 * 0.5)
    assert F["width"] == pytest.approx(0, abs=1e-6)
    assert F["largest_gap"] == pytest.approx(5 * 0.5)  # pixel 7 to pixel 12
    assert F["n_clusters"] == 2
    assert F["main_cluster_fraction"] == pytest.approx(20 / 32)
    # 3 cm = 6 pixels from either end: 6 x 2 and 4 x 5, per cm
    assert F["start_charge_lo"] == pytest.approx(12 / 3)
    assert F["start_charge_hi"] == pytest.approx(20 / 3)
    empty = study.image_features(np.zeros((1, 1, 8, 8)), 0.5)[0]
    assert empty[0] == 0
    assert np.isnan(empty[3])


def test_electron_photon_accuracy_decides_between_the_two(study):
    y = np.array([0, 0, 2, 2, 1])
    proba = np.array(
        [
            [0.4, 0.5, 0.1, 0.0],  # a muon guess, but electron > photon: right
            [0.1, 0.0, 0.9, 0.0],  # wrong
            [0.0, 0.0, 0.6, 0.4],  # right
            [0.3, 0.0, 0.2, 0.5],  # wrong
            [0.9, 0.1, 0.0, 0.0],  # a muon: not counted
        ]
    )
    assert study.electron_photon(y, proba) == 0.5


def test_attribution_shares_at_the_start_and_the_vertex(study):
    pd = pytest.importorskip("pandas")
    img = np.zeros((2, 1, 20, 20), np.float32)
    img[0, 0, 10, 8:18] = 1.0  # a track that starts 5 pixels from the vertex
    attr = np.zeros_like(img)
    attr[0, 0, 10, 8] = 1.0  # on the first deposit
    attr[0, 0, 0, 19] = -1.0  # far from everything (the sign does not count)
    attr[0, 0, 10, 3] = 2.0  # on the vertex, in the gap
    info = pd.DataFrame({"vertex_x": [3.5, 3.5], "vertex_y": [10.5, 10.5]})
    shares = study.attribution_shares(img, attr, info, pixel_size=1.0, radius=3.0)
    assert shares["start"][0] == pytest.approx(1 / 4)
    assert shares["start_charge"][0] == pytest.approx(4 / 10)  # columns 8 to 11
    assert shares["vertex"][0] == pytest.approx(2 / 4)
    assert shares["vertex_area"][0] == pytest.approx(29 / 400)  # lattice points r <= 3
    assert all(np.isnan(v[1]) for v in shares.values())  # no charge


def test_gap_only_bound(study):
    pd = pytest.importorskip("pandas")
    y = np.array([0, 0, 2, 2, 2, 2, 2, 1])
    info = pd.DataFrame({"projected_gap": [0, 0, 0.4, 0.7, 3.0, 0.1, 1.0, 9.0]})
    bound = study.gap_only_bound(y, info, pixel_size=0.5)
    # the muon does not count; photons seen: gaps >= 0.5 cm (three), >= 1 cm (two)
    assert bound == {"1 px": pytest.approx(5 / 7), "2 px": pytest.approx(4 / 7)}


def test_unambiguous_scores_leave_the_flagged_images_out(study):
    pd = pytest.importorskip("pandas")
    y = np.array([0, 0, 2, 2, 1, 1])
    info = pd.DataFrame({"ambiguous": [False, False, True, False, False, True]})
    eye = np.eye(3)
    # seed 0 is wrong on the two flagged images only; seed 1 also on an electron
    seed0 = eye[[0, 0, 0, 2, 1, 2]]
    seed1 = eye[[0, 1, 0, 2, 1, 2]]
    u = study.unambiguous_scores(y, [seed0, seed1], info, n_boot=10)
    assert u["kept"] == pytest.approx(4 / 6)
    assert u["accuracy_per_seed"] == [1.0, 0.75]
    assert u["accuracy"] == pytest.approx(0.875)
    assert u["ambiguous_share"] == [0.0, 0.5, 0.5]  # classes 0, 1, 2
    assert u["efficiency"] == [0.75, 1.0, 1.0]
    table = "\n".join(study._unambiguous_table({"0.3*a+0.7*b": u}, list("emg")))
    assert "| 0.3\\*a+0.7\\*b | 0.875 ± 0.177 ± " in table  # not emphasis
    assert "e 0%, m 50%, g 50%" in table
    info["ambiguous"] = [False, False, True, True, False, False]  # every photon
    assert (
        study.unambiguous_scores(y, [seed0], info, n_boot=10)["efficiency"][2] is None
    )


def test_blend_weights(study):
    assert study.parse_blend("hgb+cnn@aug") == {"hgb": 0.5, "cnn@aug": 0.5}
    assert study.parse_blend("0.2*hgb+cnn+vgg") == pytest.approx(
        {"hgb": 0.2, "cnn": 0.4, "vgg": 0.4}
    )
    assert study.parse_blend("0.25*hgb+0.75*cnn") == {"hgb": 0.25, "cnn": 0.75}
    assert study.parse_blend("0.3 * hgb + cnn@aug") == pytest.approx(
        {"hgb": 0.3, "cnn@aug": 0.7}
    )
    for bad, match in (
        ("hgb", "two models"),
        ("hgb+hgb", "repeated"),
        ("hgb+", "empty"),
        ("x*hgb+cnn", "not a number"),
        ("0.6*hgb+0.6*cnn", "sum to 1"),
        ("1.2*hgb+cnn", "positive"),
        ("-0.5*hgb+1.5*cnn", "positive"),
    ):
        with pytest.raises(ValueError, match=match):
            study.parse_blend(bad)
    with pytest.raises(SystemExit):  # on the command line: refused at once
        study.parse_args(["--blend", "hgb"])


def test_blend_joins_one_seed_to_every_seed(study):
    trees = [np.array([[1.0, 0.0]])]
    nets = [np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]])]
    known = {"hgb": trees, "cnn": nets, "vgg": nets[:1] * 3}
    out = study.blend(known, {"hgb": 0.25, "cnn": 0.75})
    assert len(out) == 2
    np.testing.assert_allclose(out[0], [[0.25, 0.75]])
    np.testing.assert_allclose(out[1], [[0.625, 0.375]])
    with pytest.raises(ValueError, match="unequal numbers of seeds"):
        study.blend(known, {"cnn": 0.5, "vgg": 0.5})


def test_model_names(study):
    assert study._parse("resnet@aug@binary@5ep") == (
        "resnet",
        {
            "augment": True,
            "binary": True,
            "epochs": 5,
            "pool": 1,
            "unshuffle": 1,
            "tta": False,
            "bf16": False,
            "cosine": False,
        },
    )
    pipe = study.build("resnet@aug@binary", seed=0, epochs=2)
    assert pipe[-1].augment_flip is True
    assert pipe[-1].module == "resnet"
    assert len(pipe) == 2  # the binarisation, then the network
    with pytest.raises(ValueError, match="unknown model"):
        study.build("mlp", seed=0, epochs=1)
    with pytest.raises(ValueError, match="unknown suffix"):
        study.build("cnn@fast", seed=0, epochs=1)
    with pytest.raises(ValueError, match="unknown suffix"):
        study.build("cnn@pool", seed=0, epochs=1)  # no factor
    with pytest.raises(ValueError, match="of resnet, inception only"):
        study.build("vgg@unshuffle2", seed=0, epochs=1)
    for base in ("inception", "resnet"):
        net = study.build(f"{base}@unshuffle2", seed=0, epochs=1)[-1]
        assert net.module__pixel_unshuffle == 2
    net = study.build("cnn@aug@tta", seed=0, epochs=1)[-1]
    assert net.augment_predict is True
    assert study.build("cnn@aug", seed=0, epochs=1)[-1].augment_predict is False
    assert study._fit_key("cnn@aug@tta@20ep") == "cnn@aug@20ep"
    net = study.build("inception@bf16", seed=0, epochs=1)[-1]
    assert (net.precision, net.channels_last) == ("bf16", True)
    net = study.build("inception", seed=0, epochs=1)[-1]
    assert (net.precision, net.channels_last) == ("fp32", False)
    assert study._fit_key("inception@aug@bf16@tta") == "inception@aug@bf16"
    with pytest.raises(ValueError, match="@bf16 is an option of the networks"):
        study.build("hgb@bf16", seed=0, epochs=1)
    assert study.build("inception", seed=0, epochs=3)[-1].callbacks is None
    net = study.build("inception@cos@7ep", seed=0, epochs=3)[-1]
    ((_, schedule),) = net.callbacks
    assert (schedule.policy, schedule.kwargs["T_max"]) == ("CosineAnnealingLR", 7)
    for name in ("cnn@cos", "hgb@cos"):  # cnn has its cosine already
        with pytest.raises(ValueError, match="@cos is an option of the networks"):
            study.build(name, seed=0, epochs=1)
    for name in ("cnn@tta", "hgb@tta"):
        with pytest.raises(ValueError, match=r"@tta .* needs a network with @aug"):
            study.build(name, seed=0, epochs=1)


def test_pooled_images_are_the_same_particles_at_coarser_pixels(study):
    rng = np.random.default_rng(0)
    images = rng.random((3, 1, 8, 6)).astype(np.float32)
    pooled = study._sum_pool(images, 2)
    assert pooled.shape == (3, 1, 4, 3)
    assert pooled.dtype == np.float32
    # every 2 x 2 block summed: the charge is conserved, image by image
    np.testing.assert_allclose(pooled.sum(axis=(1, 2, 3)), images.sum(axis=(1, 2, 3)))
    np.testing.assert_allclose(pooled[1, 0, 2, 1], images[1, 0, 4:6, 2:4].sum())
    with pytest.raises(ValueError, match="multiples of 3"):
        study._sum_pool(images, 3)
    # the trees measure lengths in cm: a pooled image's pixel is twice as wide
    img = np.zeros((1, 1, 8, 8), np.float32)
    img[0, 0, 4, 0:8] = 1.0
    pipe = study.build("hgb@pool2", seed=0, epochs=1, pixel_size=0.5)
    features = pipe[:-1].fit_transform(img)
    length = features[0, list(study.IMAGE_FEATURES).index("length")]
    assert length == pytest.approx(3 * 1.0)  # 4 coarse pixels of 1 cm: 3 cm apart


@pytest.mark.slow
def test_small_run_end_to_end(study, tmp_path, monkeypatch):
    out = tmp_path / "out"
    argv = ["--small", "--output-dir", str(out), "--models", "hgb", "cnn@aug"]
    argv += ["--explain", "cnn@aug"]
    assert study.main(argv) == 0
    result = json.loads((out / "particles_4class_val.json").read_text())
    rows = {r["model"]: r for r in result["rows"]}
    assert set(rows) == {"hgb", "cnn@aug"}
    n_val = 4 * study.SMALL["n_val"]
    assert rows["hgb"]["n_eval"] == n_val
    assert rows["hgb"]["accuracy"] > 0.5  # four classes: chance is 1/4
    assert len(rows["cnn@aug"]["vs_gap"]["electron"]) == 7
    assert set(result["gap_only_bound"]) == {"1 px", "2 px"}
    assert 0.5 <= result["gap_only_bound"]["2 px"] <= result["gap_only_bound"]["1 px"]
    assert set(result["unambiguous"]) == {"hgb", "cnn@aug"}
    assert 0 < result["unambiguous"]["hgb"]["kept"] < 1
    model, explained = result["explained"]
    assert model == "cnn@aug"
    assert explained["n_images"] == 10  # five electrons, five photons
    shares = [v for v in explained.values() if isinstance(v, dict) and v["n"]]
    # both methods on the same images: those where neither map vanishes
    usable = 10 - explained["n_unusable"]
    assert usable > 0
    for method in ("gradient", "integrated_gradients"):
        assert (
            sum(v["n"] for k, v in explained.items() if k.startswith(method)) == usable
        )
    assert all(0 <= v["start"] <= 1 for v in shares)
    for figure in ("confusion", "gallery", "saliency"):
        assert (out / f"particles_4class_val_{figure}.png").stat().st_size > 0
    assert "Where cnn@aug looks" in (out / "particles_4class_val.md").read_text()
    train = sorted((out / "cache").glob("*train*.h5"))
    val = sorted((out / "cache").glob("*val*.h5"))
    assert len(train) == len(val) == 1  # one file per split, not one for all

    # a later run pairs its model with the earlier run's probabilities
    later = tmp_path / "later"
    argv = ["--small", "--output-dir", str(later), "--cache-dir", str(out / "cache")]
    argv += ["--models", "hgb@binary", "--compare", "cnn@aug,hgb@binary"]
    argv += ["--reuse", str(out / "particles_4class_val_probas.npz")]
    argv += ["--blend", "hgb+cnn@aug"]
    assert study.main(argv) == 0
    result = json.loads((later / "particles_4class_val.json").read_text())
    assert [r["model"] for r in result["rows"]] == ["hgb@binary", "hgb+cnn@aug"]
    assert result["reused"] == {"hgb": 1, "cnn@aug": 1}
    # the reused models are scored on the unambiguous images too
    assert set(result["unambiguous"]) == {
        "hgb",
        "cnn@aug",
        "hgb@binary",
        "hgb+cnn@aug",
    }
    with np.load(out / "particles_4class_val_probas.npz") as earlier:
        mean = (earlier["hgb"][0] + earlier["cnn@aug"][0]) / 2
        y = earlier["y"]
    assert result["rows"][1]["accuracy"] == pytest.approx(np.mean(mean.argmax(1) == y))

    def no_training(*args, **kwargs):
        raise AssertionError("trained before the blend was checked")

    monkeypatch.setattr(study, "build", no_training)
    with pytest.raises(SystemExit, match="neither run nor reused"):
        study.main([*argv[:-1], "hgb+vgg"])
    (diff,) = result["differences"]
    assert (diff["a"], diff["b"]) == ("cnn@aug", "hgb@binary")
    assert diff["accuracy"] == pytest.approx(
        rows["cnn@aug"]["accuracy"] - result["rows"][0]["accuracy"]
    )


@pytest.mark.slow
def test_a_network_and_its_tta_twin_share_one_fit(study, tmp_path, monkeypatch):
    fits = []

    def counted(est, *args, **kwargs):
        fits.append(est[-1].augment_predict)
        return study_fit(est, *args, **kwargs)

    study_fit = study.fit_and_predict
    monkeypatch.setattr(study, "fit_and_predict", counted)
    out = tmp_path / "out"
    argv = ["--small", "--output-dir", str(out), "--models", "cnn@aug@tta", "cnn@aug"]
    assert study.main(argv) == 0
    assert fits == [True]  # one fit, by the first of the twins
    rows = {
        r["model"]: r
        for r in json.loads((out / "particles_4class_val.json").read_text())["rows"]
    }
    assert rows["cnn@aug"]["train_s"] == rows["cnn@aug@tta"]["train_s"]
    with np.load(out / "particles_4class_val_probas.npz") as probas:
        plain, averaged = probas["cnn@aug"][0], probas["cnn@aug@tta"][0]
    assert np.abs(plain - averaged).max() > 1e-4  # predicted differently
    np.testing.assert_allclose(averaged.sum(axis=1), 1.0, atol=1e-5)


def test_reuse_needs_the_same_evaluation_images(study, tmp_path):
    path = tmp_path / "probas.npz"
    np.savez(path, y=np.array([0, 1, 2]), cnn=np.full((2, 3, 4), 0.25))
    reused = study.load_reused([path], np.array([0, 1, 2]))
    assert list(reused) == ["cnn"]
    assert len(reused["cnn"]) == 2  # two seeds
    with pytest.raises(SystemExit, match="not the probabilities of these"):
        study.load_reused([path], np.array([0, 2, 1]))


def test_reuse_with_a_tag_keeps_both_runs_of_one_model(study, tmp_path):
    y = np.array([0, 1, 2])
    early, late = tmp_path / "early.npz", tmp_path / "a=b.npz"
    np.savez(early, y=y, cnn=np.full((2, 3, 4), 0.25))
    np.savez(late, y=y, cnn=np.full((2, 3, 4), 0.5))
    both = study.load_reused([late, f"n4000={early}"], y)
    assert sorted(both) == ["cnn", "n4000/cnn"]  # a file named a=b.npz is a path
    np.testing.assert_allclose(both["cnn"], 0.5)
    np.testing.assert_allclose(both["n4000/cnn"], 0.25)
    assert list(study.load_reused([f"t={late}"], y)) == ["t/cnn"]
    # the same model twice: fine when equal, refused when the runs differ
    assert list(study.load_reused([early, early], y)) == ["cnn"]
    with pytest.raises(SystemExit, match="reused already, with other"):
        study.load_reused([early, late], y)
    with pytest.raises(SystemExit, match="empty tag"):
        study.load_reused([f"={early}"], y)
    with pytest.raises(SystemExit, match="holds '\\+'"):
        study.load_reused([f"a+b={early}"], y)
    with pytest.raises(SystemExit, match="no file"):
        study.load_reused([f"t={tmp_path / 'missing.npz'}"], y)


@pytest.mark.slow
def test_a_stopped_run_resumes_the_seeds_it_scored(study, tmp_path, monkeypatch):
    out = tmp_path / "out"
    argv = ["--small", "--output-dir", str(out), "--models", "hgb", "lenet5"]
    assert study.main(argv) == 0
    seeds = out / "particles_4class_val_seeds"
    assert sorted(p.name for p in seeds.glob("*.npz")) == [
        "hgb-seed0.npz",
        "lenet5-seed0.npz",
    ]
    with np.load(out / "particles_4class_val_probas.npz") as first:
        first = {k: first[k] for k in first.files}
    first_rows = json.loads((out / "particles_4class_val.json").read_text())["rows"]

    def no_training(*args, **kwargs):
        raise AssertionError("a stored seed was trained again")

    first_tuning = json.loads((out / "particles_4class_val.json").read_text())[
        "hgb_tuning"
    ]
    monkeypatch.setattr(study, "fit_and_predict", no_training)
    monkeypatch.setattr(study, "tune_hgb", no_training)  # nor is the grid searched
    assert study.main([*argv, "--resume"]) == 0
    with np.load(out / "particles_4class_val_probas.npz") as again:
        for key, value in first.items():
            np.testing.assert_array_equal(again[key], value)
    rows = json.loads((out / "particles_4class_val.json").read_text())["rows"]
    assert [r["train_s"] for r in rows] == [r["train_s"] for r in first_rows]
    tuning = json.loads((out / "particles_4class_val.json").read_text())["hgb_tuning"]
    assert tuning == first_tuning
    assert len(tuning["hgb"]) > 1
    # a model not stored yet is trained; other simulated images are refused
    with pytest.raises(AssertionError, match="trained again"):
        study.main([*argv, "lenet5@aug", "--resume"])
    with pytest.raises(SystemExit, match="data_seed 0, now 1"):
        study.main([*argv, "--resume", "--data-seed", "1"])


@pytest.mark.slow
def test_a_fit_stopped_mid_way_resumes_from_its_last_epoch(
    study, tmp_path, monkeypatch
):
    net = "inception@aug@3ep@cos"
    argv = ["--small", "--models", f"{net}@tta", "lenet5", net]

    # uninterrupted
    assert study.main([*argv, "--output-dir", str(tmp_path / "whole")]) == 0
    with np.load(tmp_path / "whole" / "particles_4class_val_probas.npz") as whole:
        whole = {k: whole[k] for k in whole.files}

    # killed after the network's second epoch, then in lenet5's fit
    build = study.build
    kill_at = {net: 2, "lenet5": 1}

    def killing_build(name, **kwargs):
        est = build(name, **kwargs)
        epoch = kill_at.pop(study._fit_key(name), None)
        if epoch is not None:
            callbacks = list(est[-1].callbacks or [])
            est[-1].set_params(callbacks=[*callbacks, ("kill", KillAfter(epoch))])
        return est

    monkeypatch.setattr(study, "build", killing_build)
    out = tmp_path / "stopped"
    argv = [*argv, "--output-dir", str(out), "--resume"]
    with pytest.raises(Killed):
        study.main(argv)
    seeds = out / "particles_4class_val_seeds"
    assert not list(seeds.glob("*.npz"))
    history = json.loads(
        (seeds / "checkpoints" / f"{net}-seed0" / "history.json").read_text()
    )
    assert len(history) == 2
    # the network finishes from epoch 3; its twin is stored with it, before
    # lenet5 (between the two in --models) is killed
    with pytest.raises(Killed):
        study.main(argv)
    assert sorted(p.name for p in seeds.glob("*.npz")) == [
        f"{net}-seed0.npz",
        f"{net}@tta-seed0.npz",
    ]
    assert study.main(argv) == 0
    with np.load(out / "particles_4class_val_probas.npz") as resumed:
        assert sorted(resumed.files) == sorted(whole)
        for key, value in whole.items():
            np.testing.assert_array_equal(resumed[key], value, err_msg=key)
