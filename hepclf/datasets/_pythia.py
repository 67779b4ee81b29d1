"""Pythia 8 helpers shared by the generators (through the ``pythia8mc`` package).

- :func:`_make_pythia` builds and initialises a Pythia instance from the
  settings every generator needs (quiet, beam energy, seed) and the process
  lines of one generator; :func:`_pythia_seed` draws its ``Random:seed``.
- :class:`_ChargeLookup` gives the electric charge of PDG ids;
  :data:`INVISIBLE_IDS` are the particles no detector sees.
- :func:`_read_batch` turns a batch of events from ``Pythia.nextBatch`` into
  flat NumPy arrays; :func:`_daughters` and :func:`_last_copy` walk the event
  record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..utils import import_optional

#: PDG ids of neutrinos, never seen by the detector and never clustered.
INVISIBLE_IDS = (12, 14, 16)

#: Pythia accepts seeds 1 ... 900,000,000 (``Random:seed``).
PYTHIA_SEED_MAX = 900_000_000

#: Largest number of events asked from ``Pythia.nextBatch`` at a time.
MAX_BATCH_EVENTS = 16


def _pythia_seed(seed: np.random.SeedSequence) -> int:
    """Pythia's ``Random:seed`` (1 ... PYTHIA_SEED_MAX) drawn from ``seed``."""
    return int(seed.generate_state(1, np.uint64)[0] % PYTHIA_SEED_MAX) + 1


def _pythia_settings(process: Iterable[str], *, sqrt_s: float, seed: int) -> list[str]:
    """List the settings common to every generator, then the ``process`` lines."""
    return [
        "Print:quiet = on",
        f"Beams:eCM = {sqrt_s:.6g}",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
        *process,
    ]


def _make_pythia(process: Iterable[str], *, sqrt_s: float, seed: int):
    """Build and initialise a ``pythia8mc.Pythia`` for pp collisions at ``sqrt_s``.

    ``process`` holds the settings of the process (``"HardQCD:all = on"``,
    phase-space cuts, decay modes...). Raises a RuntimeError naming a setting
    Pythia rejects, or when the initialisation fails.
    """
    pythia8 = import_optional("pythia8mc")
    pythia = pythia8.Pythia("", False)
    for setting in _pythia_settings(process, sqrt_s=sqrt_s, seed=seed):
        if not pythia.readString(setting):
            raise RuntimeError(f"Pythia rejected the setting {setting!r}")
    if not pythia.init():
        raise RuntimeError("Pythia initialisation failed")
    return pythia


class _ChargeLookup:
    """PDG id -> electric charge, cached, from Pythia's particle data."""

    def __init__(self, particle_data):
        self._data = particle_data
        self._cache: dict[int, float] = {}

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        uniq, inverse = np.unique(ids, return_inverse=True)
        charges = np.empty(len(uniq))
        for k, pdg in enumerate(uniq.tolist()):
            if pdg not in self._cache:
                self._cache[pdg] = self._data.chargeType(pdg) / 3.0
            charges[k] = self._cache[pdg]
        return charges[inverse.reshape(-1)]


@dataclass(frozen=True)
class _Records:
    """The event records of a batch of events, flattened.

    Entries of event ``i`` are ``offsets[i]:offsets[i + 1]``; ``daughter1``
    and ``daughter2`` index within the event, as in Pythia.
    """

    offsets: np.ndarray  # (n_events + 1,)
    ids: np.ndarray  # PDG ids
    status: np.ndarray  # > 0 for final-state particles
    daughter1: np.ndarray
    daughter2: np.ndarray
    p4: np.ndarray  # (n_entries, 4): E, px, py, pz in GeV

    @property
    def n_events(self) -> int:
        """Number of events."""
        return len(self.offsets) - 1

    def event(self, i: int) -> slice:
        """Return the slice of the entries of event ``i``."""
        return slice(self.offsets[i], self.offsets[i + 1])


def _flat(ak, array) -> np.ndarray:
    """One level of an awkward array of events flattened to NumPy."""
    return ak.to_numpy(ak.flatten(array, axis=1))


def _clustering_input(ak, p4: np.ndarray, counts: np.ndarray):
    """Per-event awkward records ``(px, py, pz, E)`` for ``fastjet.ClusterSequence``.

    ``p4``: the ``(E, px, py, pz)`` rows of all events, one after the other;
    ``counts``: the number of rows of each event.
    """
    fields = {"px": p4[:, 1], "py": p4[:, 2], "pz": p4[:, 3], "E": p4[:, 0]}
    return ak.unflatten(ak.zip(fields), counts)


def _read_batch(batch) -> _Records:
    """Read the event records of a ``Pythia.nextBatch`` result into NumPy arrays."""
    ak = import_optional("awkward", "generate")
    prt = batch["prt"]
    counts = ak.to_numpy(ak.num(prt, axis=1))
    offsets = np.concatenate([[0], np.cumsum(counts)])
    if len(counts) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return _Records(offsets, empty, empty, empty, empty, np.zeros((0, 4)))
    mom = prt["p"]
    return _Records(
        offsets=offsets,
        ids=_flat(ak, prt["id"]),
        status=_flat(ak, prt["status"]),
        daughter1=_flat(ak, prt["daughter1"]),
        daughter2=_flat(ak, prt["daughter2"]),
        p4=np.column_stack([_flat(ak, mom[k]) for k in ("e", "px", "py", "pz")]),
    )


def _final_state(records: _Records, i: int) -> np.ndarray:
    """Mask of the visible final-state particles of event ``i`` (no neutrinos)."""
    sl = records.event(i)
    return (records.status[sl] > 0) & ~np.isin(np.abs(records.ids[sl]), INVISIBLE_IDS)


def _daughters(i: int, d1: np.ndarray, d2: np.ndarray) -> list[int]:
    """Daughter indices of entry ``i`` of a Pythia event record."""
    a, b = int(d1[i]), int(d2[i])
    if a <= 0 and b <= 0:
        return []
    if b <= 0 or a == b:
        return [a]
    if a <= 0:
        return [b]
    if a < b:
        return list(range(a, b + 1))
    return [a, b]


def _last_copy(i: int, ids: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> int:
    """Follow recoil copies of entry ``i`` down to its last copy (Pythia's iBotCopyId)."""
    for _ in range(len(ids)):
        same = [d for d in _daughters(i, d1, d2) if ids[d] == ids[i]]
        if not same:
            return i
        i = same[0]
    return i  # pragma: no cover - only for a corrupt, cyclic record
