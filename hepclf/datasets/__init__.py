"""Data sets: loaders for files users have, generators and a bundled sample.

- :func:`load_top_tagging` reads the Top Quark Tagging Reference Dataset
  layout (pandas HDF5, key ``"table"``) and the bundled sample;
  :func:`write_top_tagging` writes it.
- :func:`load_nanoaod` reads CMS NanoAOD ROOT files (TTree or RNTuple, flat or
  record layout; the ``root`` extra) into the padded objects of
  :class:`hepclf.EventImager`, with weights and event ids
  (:class:`NanoAODEvents`); :func:`write_nanoaod` writes such files.
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
from ._events import load_event_sample, make_events
from ._nanoaod import NanoAODEvents, load_nanoaod, write_nanoaod
from ._runner import TaskError
from ._top_jets import make_top_tagging
from ._top_tagging import load_top_tagging, write_top_tagging

__all__ = [
    "NanoAODEvents",
    "SimpleDetector",
    "TaskError",
    "load_event_sample",
    "load_nanoaod",
    "load_top_tagging",
    "make_events",
    "make_top_tagging",
    "write_nanoaod",
    "write_top_tagging",
]
