"""Tests of the liquid-argon particle gun (make_particle_images) and _argon."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from hepclf.datasets import make_particle_images
from hepclf.datasets._argon import (
    MICHEL_MAX,
    MUON_MASS,
    PROTON_MASS,
    bethe_dedx,
    kinetic_energy,
    michel_energies,
    range_table,
)

FIVE = ("electron", "muon", "photon", "pion", "proton")


def momentum_at(kinetic, mass):
    """Momentum (MeV/c) of kinetic energy ``kinetic`` (MeV)."""
    return float(np.sqrt(kinetic * (kinetic + 2 * mass)))


def clean(n, classes, **kw):
    """Images without detector effects: no noise, threshold, diffusion, selection."""
    settings = {
        "npix": 64,
        "random_state": 0,
        "progress": False,
        "return_info": True,
        "shuffle": False,
        "noise": 0.0,
        "threshold": 0.0,
        "diffusion": 0.0,
        "min_pixels": 0,
        "direction": "in-plane",
        **kw,
    }
    return make_particle_images(n, classes, **settings)


def along_track(image, row, pixel_size):
    """Energies of the non-empty pixels and their distance along the direction."""
    iy, ix = np.nonzero(image[0])
    x = (ix + 0.5) * pixel_size - row.vertex_x
    y = (iy + 0.5) * pixel_size - row.vertex_y
    s = x * np.cos(row.phi) + y * np.sin(row.phi)
    return s, image[0, iy, ix]


# --------------------------------------------------------------------------
# Argon tables
# --------------------------------------------------------------------------


def test_minimum_ionisation_is_2_1_mev_per_cm():
    t = np.geomspace(10, 1e4, 2000)
    loss = bethe_dedx(t, MUON_MASS)
    assert_allclose(loss.min(), 2.105, rtol=0.01)  # PDG: 1.508 MeV cm2/g
    beta_gamma = np.sqrt(t * (t + 2 * MUON_MASS)) / MUON_MASS
    assert 3.0 < beta_gamma[loss.argmin()] < 4.0


def test_range_tables_invert_and_match_known_ranges():
    protons, muons = range_table(PROTON_MASS), range_table(MUON_MASS)
    t = np.array([5.0, 40.0, 100.0, 500.0])
    assert_allclose(protons.kinetic(protons.range(t)), t, rtol=1e-9)
    # CSDA ranges in liquid argon (PSTAR scaled by the density: about 7.5 cm
    # for 100 MeV protons; a 4.1 MeV muon from pion decay goes ~1.5 mm)
    assert 7.0 < protons.range(100.0) < 8.5
    assert 0.12 < muons.range(4.12) < 0.18
    assert 28 < muons.range(100.0) < 33
    assert protons.kinetic(0.0) == 0.0


def test_michel_spectrum_mean_and_end_point():
    energies = michel_energies(np.random.default_rng(0), 20000)
    assert energies.max() <= MICHEL_MAX
    # <x> for x^2 (3 - 2x) on [0, 1] is 0.7
    assert_allclose(energies.mean() / MICHEL_MAX, 0.7, atol=0.01)


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def test_shapes_dtypes_and_challenge_labels():
    X, y = make_particle_images(3, npix=24, random_state=1, progress=False)
    assert X.shape == (12, 1, 24, 24)
    assert X.dtype == np.float32
    assert y.dtype == np.int64
    # sorted PDG codes 11, 13, 22, 2212: e, mu, gamma, p
    assert_array_equal(np.bincount(y), [3, 3, 3, 3])
    assert (X >= 0).all()
    assert (np.count_nonzero(X.reshape(12, -1), axis=1) >= 10).all()


def test_five_classes_and_label_options():
    X, y, info = clean(2, FIVE, npix=24, shuffle=True)
    assert X.shape == (10, 1, 24, 24)
    codes = {"electron": 0, "muon": 1, "photon": 2, "pion": 3, "proton": 4}
    assert_array_equal(y, info.particle.map(codes))
    assert_array_equal(
        info.pdg,
        info.particle.map(
            {"electron": 11, "muon": 13, "photon": 22, "pion": 211, "proton": 2212}
        ),
    )
    _, names = make_particle_images(
        2, FIVE, npix=24, random_state=0, progress=False, labels="name"
    )
    assert_array_equal(np.sort(names), np.repeat(sorted(FIVE), 2))
    _, two = make_particle_images(
        2, ("proton", "electron"), npix=24, random_state=0, progress=False
    )
    assert set(two.tolist()) == {0, 1}  # 11 -> 0, 2212 -> 1


def test_info_columns():
    *_, info = clean(2, FIVE, npix=24)
    assert isinstance(info, pd.DataFrame)
    assert list(info.columns) == [
        "particle", "pdg", "momentum", "kinetic_energy", "vertex_x", "vertex_y",
        "theta", "phi", "conversion_gap", "projected_gap", "deposited_energy",
        "available_energy", "stopped", "decayed", "interacted", "ambiguous",
    ]  # fmt: skip
    assert (info.conversion_gap[info.particle != "photon"] == 0).all()
    assert (info.conversion_gap[info.particle == "photon"] > 0).all()
    mass = {"muon": MUON_MASS, "proton": PROTON_MASS}
    for name, m in mass.items():
        rows = info[info.particle == name]
        assert_allclose(rows.kinetic_energy, kinetic_energy(rows.momentum, m))
    lows = {"electron": 35.5, "photon": 35, "muon": 90, "pion": 105, "proton": 275}
    assert (info.momentum >= info.particle.map(lows)).all()
    assert (info.momentum <= 800).all()


def test_reproducible_and_independent_of_other_classes():
    a, ya = make_particle_images(3, npix=32, random_state=5, progress=False)
    b, yb = make_particle_images(3, npix=32, random_state=5, progress=False)
    assert_array_equal(a, b)
    assert_array_equal(ya, yb)
    c, _ = make_particle_images(3, npix=32, random_state=6, progress=False)
    assert not np.array_equal(a, c)
    # a class's images do not depend on which other classes are asked for
    mu1, *_ = clean(3, ["muon"], random_state=5)
    mu2, _, info = clean(3, ["proton", "muon"], random_state=5)
    assert_array_equal(mu1, mu2[info.particle.to_numpy() == "muon"])


def test_memory_peak_is_about_the_output():
    # chunks are filed into the shuffled output as they come: no list of
    # chunks, no concatenated copy and no shuffled copy beside it
    tracemalloc.start()
    try:
        X, _ = make_particle_images(
            128, npix=64, pixel_size=1.5, random_state=0, progress=False
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert X.nbytes == 4 * 128 * 64 * 64 * 4
    assert peak < 1.5 * X.nbytes  # the chunk list, concatenation and shuffle: 3.1


@pytest.mark.slow
def test_identical_for_any_n_jobs():
    kw = {"npix": 32, "random_state": 3, "progress": False}
    a, ya = make_particle_images(70, ("muon", "photon"), n_jobs=1, **kw)
    b, yb = make_particle_images(70, ("muon", "photon"), n_jobs=2, **kw)
    assert_array_equal(a, b)
    assert_array_equal(ya, yb)


# --------------------------------------------------------------------------
# Physics invariants
# --------------------------------------------------------------------------


def test_proton_track_shorter_than_muon_at_same_kinetic_energy():
    t = 100.0
    kw = {
        "npix": 160,
        "vertex_range": (0.49, 0.51),
        "multiple_scattering": False,
        "delta_ray_cut": None,
        "hadronic_interactions": False,
        "muon_decay_fraction": 0.0,
    }
    lengths = {}
    for name, mass in (("muon", MUON_MASS), ("proton", PROTON_MASS)):
        p = momentum_at(t, mass)
        X, _, info = clean(3, [name], momentum_ranges={name: (p, p * (1 + 1e-9))}, **kw)
        assert_allclose(info.kinetic_energy, t)
        lengths[name] = [
            along_track(x, row, 0.5)[0].max()
            for x, (_, row) in zip(X, info.iterrows(), strict=True)
        ]
    # range tables: 30.5 cm (muon) and 7.8 cm (proton), within a pixel
    assert_allclose(lengths["muon"], range_table(MUON_MASS).range(t), atol=0.75)
    assert_allclose(lengths["proton"], range_table(PROTON_MASS).range(t), atol=0.75)
    assert max(lengths["proton"]) < 0.5 * min(lengths["muon"])


def test_bragg_peak_at_the_end_of_a_stopping_proton():
    X, _, info = clean(
        5,
        ["proton"],
        npix=96,
        vertex_range=(0.45, 0.55),
        momentum_ranges={"proton": (450.0, 550.0)},  # ranges of 8-16 cm
        multiple_scattering=False,
        delta_ray_cut=None,
        hadronic_interactions=False,
    )
    assert info.stopped.all()
    for x, (_, row) in zip(X, info.iterrows(), strict=True):
        s, e = along_track(x, row, 0.5)
        end = s.max()
        first = e[s < 1.0].sum()
        last = e[s > end - 1.0].sum()
        assert last > 2.5 * first, (first, last)


def test_photon_shower_starts_after_a_gap_electron_at_the_vertex():
    X, _, info = clean(40, ["electron", "photon"], npix=96)
    pixel = 0.5
    for x, (_, row) in zip(X, info.iterrows(), strict=True):
        iy, ix = np.nonzero(x[0])
        r = np.hypot(
            (ix + 0.5) * pixel - row.vertex_x, (iy + 0.5) * pixel - row.vertex_y
        )
        if row.particle == "electron":
            assert r.min() < pixel  # charge in the vertex pixel
        elif len(r):  # (a photon may convert outside the view)
            # nothing between the vertex and the conversion point
            assert r.min() > row.projected_gap - pixel
            assert_allclose(row.projected_gap, row.conversion_gap)  # in-plane
    photons = info[info.particle == "photon"]
    assert (photons.projected_gap > 2 * pixel).sum() > 30


def test_shower_starts_with_one_mip_for_electrons_two_for_photons():
    # long straight trunks: the dE/dx of the shower's first centimetres
    X, _, info = clean(
        6,
        ["electron", "photon"],
        npix=128,
        vertex_range=(0.45, 0.55),
        trunk_length=1000.0,
        multiple_scattering=False,
        momentum_ranges={"electron": (700, 800), "photon": (700, 800)},
        conversion_length=4.0,
    )
    for x, (_, row) in zip(X, info.iterrows(), strict=True):
        s, e = along_track(x, row, 0.5)
        start = row.conversion_gap
        dedx = e[(s > start + 1.0) & (s < start + 4.0)].sum() / 3.0
        mips = 1 if row.particle == "electron" else 2
        assert_allclose(dedx, mips * 2.105, rtol=0.12)


def test_conversion_gap_is_exponential_with_mean_9_7_x0():
    *_, info = clean(300, ["photon"], npix=16, momentum_ranges={"photon": (35.0, 40.0)})
    gap = info.conversion_gap.to_numpy()
    assert_allclose(gap.mean(), 18.0, rtol=4 / np.sqrt(300))
    *_, info = clean(
        300, ["photon"], npix=16, momentum_ranges={"photon": (35.0, 40.0)},
        conversion_length=5.0,
    )  # fmt: skip
    assert_allclose(info.conversion_gap.mean(), 5.0, rtol=4 / np.sqrt(300))


def test_deposited_energy_at_most_the_kinetic_energy():
    X, _, info = clean(15, FIVE, npix=48, muon_decay_fraction=0.0)
    assert_allclose(X.sum(axis=(1, 2, 3)), info.deposited_energy, rtol=1e-5)
    assert (info.deposited_energy > 0).any()
    no_release = info.particle != "pion"  # pi+ decays and pi0 masses add energy
    assert (info.available_energy[no_release] == info.kinetic_energy[no_release]).all()
    assert (info.deposited_energy <= info.available_energy * (1 + 1e-9)).all()
    # with Michel electrons, the decay energy is accounted for
    *_, info = clean(15, ["muon", "pion"], npix=48, muon_decay_fraction=1.0)
    assert (info.deposited_energy <= info.available_energy * (1 + 1e-9)).all()


def test_energy_is_conserved_when_everything_is_contained():
    # 64 pixels of 20 cm: a 12.8 m view holds every deposit (40 X0 around)
    _, _, info = clean(
        4,
        FIVE,
        pixel_size=20.0,
        vertex_range=(0.45, 0.55),
        muon_decay_fraction=1.0,
        hadronic_interactions=False,  # their neutrons and binding are lost
        momentum_ranges={"muon": (90, 300), "pion": (105, 300), "proton": (275, 600)},
    )
    assert_allclose(info.deposited_energy, info.available_energy, rtol=1e-6)
    decaying = info[info.particle.isin(["muon", "pion"])]
    assert decaying.stopped.all()
    assert decaying.decayed.all()
    assert (decaying.available_energy > decaying.kinetic_energy).all()
    others = info[~info.particle.isin(["muon", "pion"])]
    assert_allclose(others.deposited_energy, others.kinetic_energy, rtol=1e-6)


def test_muon_decay_fraction_switches_michel_electrons():
    # 16 pixels of 10 cm: the muons (ranges 5-19 cm) stop inside the view
    kw = {"npix": 16, "pixel_size": 10.0, "momentum_ranges": {"muon": (90.0, 150.0)}}
    *_, none = clean(20, ["muon"], muon_decay_fraction=0.0, **kw)
    *_, every = clean(20, ["muon"], muon_decay_fraction=1.0, **kw)
    assert none.stopped.all()
    assert not none.decayed.any()
    assert every.decayed.all()
    # where the view is too small to show the stop, the flags stay off
    *_, small = clean(20, ["muon"], muon_decay_fraction=1.0, npix=16)
    assert not small.stopped.any()
    assert not small.decayed.any()


def test_hadronic_interactions_switch():
    kw = {"npix": 16, "momentum_ranges": {"pion": (600.0, 800.0)}}
    *_, on = clean(30, ["pion"], interaction_length=1.0, **kw)
    *_, off = clean(
        30,
        ["pion"],
        hadronic_interactions=False,
        pixel_size=40.0,
        vertex_range=(0.49, 0.51),
        **kw,
    )  # a 6.4 m view: pions (ranges 2-2.8 m) from its centre stop inside
    assert on.interacted.mean() > 0.9
    assert not off.interacted.any()
    assert off.stopped.all()


def test_detector_effects():
    kw = {"npix": 48, "random_state": 2, "progress": False}
    X, _ = make_particle_images(4, noise=0.05, threshold=0.3, min_pixels=25, **kw)
    nonzero = X[X > 0]
    assert nonzero.min() >= 0.3
    assert (np.count_nonzero(X.reshape(len(X), -1), axis=1) >= 25).all()
    # diffusion spreads the same deposits over more pixels
    contained = {
        "vertex_range": (0.49, 0.51),
        "momentum_ranges": {"muon": (90.0, 110.0)},  # ranges of 8-12 cm
        "muon_decay_fraction": 0.0,
    }
    sharp, *_ = clean(4, ["muon"], diffusion=0.0, **contained)
    wide, *_ = clean(4, ["muon"], diffusion=0.5, **contained)
    assert np.count_nonzero(wide > 1e-3) > 1.5 * np.count_nonzero(sharp > 1e-3)
    assert_allclose(wide.sum(axis=(1, 2, 3)), sharp.sum(axis=(1, 2, 3)), rtol=1e-5)
    # noise with a zero threshold: the positive half of the empty pixels stays
    noisy, *_ = clean(1, ["muon"], noise=0.01, threshold=0.0)
    assert 0.45 < np.count_nonzero(noisy) / noisy.size < 0.55
    assert noisy.min() == 0.0


def test_ambiguous_flags_and_drop_ambiguous():
    *_, info = clean(30, ["proton"], npix=32, interaction_length=5.0)
    assert_array_equal(info.ambiguous, info.interacted & info.ambiguous)
    assert info.ambiguous.any()
    *_, kept = clean(30, ["proton"], npix=32, interaction_length=5.0,
                     drop_ambiguous=True)  # fmt: skip
    assert not kept.ambiguous.any()
    *_, electrons = clean(5, ["electron"], npix=16)
    assert not electrons.ambiguous.any()


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"classes": ("muon", "kaon")}, "unknown class 'kaon'"),
        ({"classes": ("muon", "muon")}, "class 'muon' is given twice"),
        ({"classes": ()}, "at least one class"),
        (
            {"momentum_ranges": {"muon": (500, 100)}},
            "bad momentum range for 'muon': (500, 100)",
        ),
        ({"momentum_ranges": {"muon": (0, 100)}}, "bad momentum range for 'muon'"),
        ({"momentum_ranges": {"muon": "fast"}}, "bad momentum range for 'muon'"),
        ({"momentum_ranges": {"kaon": (1, 2)}}, "unknown class 'kaon'"),
        ({"npix": 8}, "The 'npix' parameter of make_particle_images must be"),
        ({"direction": "up"}, "The 'direction' parameter"),
        ({"muon_decay_fraction": 1.5}, "The 'muon_decay_fraction' parameter"),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=__import__("re").escape(message)):
        make_particle_images(1, **{"progress": False, **kwargs})


def test_no_acceptable_image_is_reported():
    from hepclf.datasets import TaskError

    with pytest.raises(TaskError, match="no acceptable proton image") as err:
        make_particle_images(
            1, ["proton"], npix=16, min_pixels=256, progress=False, random_state=0
        )
    assert isinstance(err.value.__cause__, RuntimeError)


# --------------------------------------------------------------------------
# The detector step
# --------------------------------------------------------------------------


def physics(**kw):
    from hepclf.datasets._particles import _Physics

    settings = {
        "npix": 64, "pixel_size": 0.5, "step": 0.125, "vertex_range": (0.25, 0.75),
        "direction": "isotropic", "multiple_scattering": True, "delta_ray_cut": 1.0,
        "hadronic_interactions": True, "interaction_length": 85.7,
        "muon_decay_fraction": 0.25, "conversion_length": 18.0,
        "radiation_length": 14.0, "moliere_radius": 9.04, "critical_energy": 32.84,
        "trunk_length": 4.67, "diffusion": 0.15, "noise": 0.0, "threshold": 0.0,
        "min_pixels": 0, "drop_ambiguous": False, "ambiguity_length": 5.0,
    }  # fmt: skip
    settings.update(kw)
    return _Physics(**settings)


def test_blur_of_the_deposit_box_equals_the_blur_of_the_image():
    from scipy.ndimage import gaussian_filter

    from hepclf.datasets._particles import _detector

    deposits = np.zeros((64, 64))
    deposits[10:13, 20:40] = 1.0
    deposits[0, 63] = 2.0  # at the border
    ph = physics(diffusion=0.6)
    image, deposited = _detector(np.random.default_rng(0), ph, deposits)
    full = gaussian_filter(deposits, 1.2, mode="constant", truncate=3.0)
    assert_allclose(image, full, atol=1e-6)
    assert_allclose(deposited, full.sum())


def test_sparse_noise_has_the_statistics_of_noise_in_every_pixel():
    from scipy.stats import norm

    from hepclf.datasets._particles import _detector

    rng = np.random.default_rng(1)
    empty = np.zeros((256, 256))
    sparse = physics(npix=256, noise=1.0, threshold=3.5)  # tail 2.3e-4
    values = np.concatenate(
        [x[x > 0] for x in (_detector(rng, sparse, empty)[0] for _ in range(20))]
    )
    expected = 20 * 256 * 256 * norm.sf(3.5)  # 305
    assert abs(len(values) - expected) < 4 * np.sqrt(expected)
    assert values.min() >= 3.5
    tail_mean = norm.pdf(3.5) / norm.sf(3.5)  # E[x | x > 3.5] = 3.75
    assert_allclose(values.mean(), tail_mean, atol=4 * 0.27 / np.sqrt(len(values)))
    # a low threshold takes the dense path: about Q(1) of the pixels pass
    dense = physics(npix=256, noise=1.0, threshold=1.0)
    image, _ = _detector(rng, dense, empty)
    assert_allclose(np.count_nonzero(image) / image.size, norm.sf(1.0), atol=0.005)


def test_bundled_sample_is_the_simulators_output():
    from hepclf.datasets import load_particle_sample
    from hepclf.datasets._particles import PARTICLE_SAMPLE as S

    images, y = load_particle_sample()
    assert images.shape == (1200, 1, 64, 64)
    assert np.bincount(y).tolist() == [300] * 4
    expected, labels = make_particle_images(
        S["n_per_class"],
        npix=S["npix"],
        pixel_size=S["pixel_size"],
        random_state=S["seed"],
        progress=False,
    )
    np.testing.assert_array_equal(images, expected)
    np.testing.assert_array_equal(y, labels)
