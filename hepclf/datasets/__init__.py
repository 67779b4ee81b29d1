"""Data sets: loaders for files users have, generators and a bundled sample.

- :func:`load_top_tagging` reads the Top Quark Tagging Reference Dataset
  layout (pandas HDF5, key ``"table"``) and the bundled sample;
  :func:`write_top_tagging` writes it.
- :func:`load_nanoaod` reads CMS NanoAOD ROOT files (TTree or RNTuple, flat or
  record layout; the ``root`` extra) into the padded objects of
  :class:`hepclf.EventImager`, with weights and event ids
  (:class:`NanoAODEvents`); :func:`write_nanoaod` writes such files.
- :func:`load_hits_text` and :func:`load_hits_csv` read drift-chamber hits
  (the seed's text dump and per-event CSV files) into padded arrays with
  track ids and truth (:class:`HitEvents`); :func:`write_hits_text` and
  :func:`write_hits_csv` write them; :func:`make_drift_chamber_events`
  simulates such hits in a BESIII-like chamber (:class:`MDCGeometry`,
  :data:`BESIII_MDC`); :func:`load_hits_sample` loads the bundled sample.
- :func:`load_particle_images` and :func:`iter_particle_images` read
  liquid-argon particle images in the challenge HDF5 layout (``image``,
  ``pdg``) by row range or in batches (:class:`ParticleImages`,
  :class:`ParticleImageBatches`); :func:`load_larcv_sparse2d` reads larcv3
  sparse2d products with h5py alone; :func:`write_particle_images` and
  :func:`write_larcv_sparse2d` write them; :func:`make_particle_images`
  simulates such images with a particle gun in liquid argon (``_argon``
  holds the material tables); :func:`load_particle_sample` loads the bundled
  sample.
- :func:`make_top_tagging` generates top and QCD jets with Pythia 8 and
  FastJet (the ``generate`` extra), at particle level or through a
  :class:`SimpleDetector`; a generation task that fails raises
  :class:`TaskError`, naming the task.

Inside, the generators share ``_runner`` (tasks in worker processes, seeding,
progress bar), ``_pythia`` (Pythia set-up and event records) and
``_detector``; ``_top_jets`` and ``_top_truth`` make the top-tagging jets.
"""

from __future__ import annotations

from ._detector import SimpleDetector
from ._drift_chamber import (
    BESIII_MDC,
    MDCGeometry,
    load_hits_sample,
    make_drift_chamber_events,
)
from ._events import load_event_sample, make_events
from ._hits_io import (
    HIT_FEATURES,
    HitEvents,
    load_hits_csv,
    load_hits_text,
    write_hits_csv,
    write_hits_text,
)
from ._larcv import (
    ParticleImageBatches,
    ParticleImages,
    iter_particle_images,
    load_larcv_sparse2d,
    load_particle_images,
    write_larcv_sparse2d,
    write_particle_images,
)
from ._nanoaod import NanoAODEvents, load_nanoaod, write_nanoaod
from ._particles import load_particle_sample, make_particle_images
from ._runner import TaskError
from ._top_jets import make_top_tagging
from ._top_tagging import load_top_tagging, write_top_tagging

__all__ = [
    "BESIII_MDC",
    "HIT_FEATURES",
    "HitEvents",
    "MDCGeometry",
    "NanoAODEvents",
    "ParticleImageBatches",
    "ParticleImages",
    "SimpleDetector",
    "TaskError",
    "iter_particle_images",
    "load_event_sample",
    "load_hits_csv",
    "load_hits_sample",
    "load_hits_text",
    "load_larcv_sparse2d",
    "load_nanoaod",
    "load_particle_images",
    "load_particle_sample",
    "load_top_tagging",
    "make_drift_chamber_events",
    "make_events",
    "make_particle_images",
    "make_top_tagging",
    "write_hits_csv",
    "write_hits_text",
    "write_larcv_sparse2d",
    "write_nanoaod",
    "write_particle_images",
    "write_top_tagging",
]
