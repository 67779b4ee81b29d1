"""Pythia helpers that need no Pythia: seeds, settings, charges, event records."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_array_equal

from hepclf.datasets._pythia import (
    INVISIBLE_IDS,
    PYTHIA_SEED_MAX,
    _ChargeLookup,
    _daughters,
    _final_state,
    _last_copy,
    _pythia_seed,
    _pythia_settings,
    _Records,
)


def test_pythia_seed_is_in_pythias_range_and_reproducible():
    seeds = [_pythia_seed(s) for s in np.random.SeedSequence(0).spawn(200)]
    assert all(1 <= s <= PYTHIA_SEED_MAX for s in seeds)
    assert len(set(seeds)) == 200
    again = [_pythia_seed(s) for s in np.random.SeedSequence(0).spawn(200)]
    assert seeds == again


def test_common_settings_then_the_process():
    settings = _pythia_settings(["HardQCD:all = on"], sqrt_s=13000.0, seed=17)
    assert settings == [
        "Print:quiet = on",
        "Beams:eCM = 13000",
        "Random:setSeed = on",
        "Random:seed = 17",
        "HardQCD:all = on",
    ]


class _ParticleData:
    def __init__(self):
        self.asked = []

    def chargeType(self, pdg):
        self.asked.append(pdg)
        return {211: 3, -211: -3, 22: 0, 2: 2, -1: 1}[pdg]


def test_charge_lookup_caches():
    data = _ParticleData()
    charge_of = _ChargeLookup(data)
    assert_array_equal(charge_of(np.array([211, 22, -211, 211])), [1, 0, -1, 1])
    assert_array_equal(charge_of(np.array([2, -1, 22])), [2 / 3, 1 / 3, 0])
    assert sorted(data.asked) == [-211, -1, 2, 22, 211]


def test_daughters_and_last_copy():
    ids = np.array([90, 6, 6, 24, 5, 6])
    d1 = np.array([0, 2, 3, 0, 0, 0])
    d2 = np.array([0, 2, 4, 0, 0, 0])
    assert _daughters(0, d1, d2) == []
    assert _daughters(1, d1, d2) == [2]
    assert _daughters(2, d1, d2) == [3, 4]
    assert _daughters(1, np.array([0, 0]), np.array([0, 3])) == [3]
    assert _daughters(0, np.array([5]), np.array([2])) == [5, 2]
    assert _last_copy(1, ids, d1, d2) == 2


def test_final_state_drops_neutrinos_and_intermediates():
    ids = np.array([2212, 211, 12, -14, 22, 6, 16, 13])
    status = np.array([-12, 91, 91, 91, 91, -62, 91, 91])
    zeros = np.zeros(8, dtype=np.int64)
    records = _Records(np.array([0, 3, 8]), ids, status, zeros, zeros, np.zeros((8, 4)))
    assert records.n_events == 2
    assert_array_equal(_final_state(records, 0), [False, True, False])
    assert_array_equal(_final_state(records, 1), [False, True, False, False, True])
    assert set(INVISIBLE_IDS) == {12, 14, 16}
