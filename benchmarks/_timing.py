"""Timing helpers shared by the speed benchmarks (``bench_*.py``).

* ``interleaved``: time named functions in interleaved rounds, with the minor
  page faults of the timed calls;
* ``capped``: run a function with numba limited to a number of threads;
* the memory-traffic floor of the imaging benchmarks: ``Floor`` (the candidate
  passes for given inputs and outputs, timed beside the rows, and their
  tables), built on ``floor_kernels`` (numba passes over raw memory),
  ``print_passes`` (the passes' table) and ``floors`` (the fastest read +
  write, or fused pass, for each name and thread count);
* ``fill_new``: what a function that returns a new array pays on top of
  writing into one that exists (page faults);
* ``cpu``, ``machine`` and ``run_metadata``: what the studies (``events.py``,
  ``hits.py``, ``particles.py``) record about the machine and the run.

The scripts import it with their own folder on ``sys.path``, which works both
when they run as scripts and when tests load them by path.
"""

from __future__ import annotations

import os
import platform
import resource
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np


def interleaved(fns, repeat):
    """Times and minor page faults of every function, per timed call.

    ``fns`` maps names to functions called without arguments. One untimed call
    of each (compilation, caches, first touch of memory), then ``repeat``
    rounds that call each once in turn, in the same order, so a drift of the
    machine's speed hits every row alike. Returns ``(times, faults)``: for each
    name, the list of the ``repeat`` times in seconds, and the mean number of
    minor page faults (each a fresh page of memory the kernel had to zero) of
    its timed calls.
    """
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    faults = dict.fromkeys(fns, 0)
    for _ in range(repeat):
        for name, fn in fns.items():
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
            faults[name] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    return times, {name: f / repeat for name, f in faults.items()}


def capped(fn, threads):
    """``fn`` with numba capped at ``threads`` while it runs (``None``: as it is)."""
    if threads is None:
        return fn
    import numba

    def run():
        before = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            return fn()
        finally:
            numba.set_num_threads(before)

    return run


def fill_new(like):
    """A new array like ``like``, filled with zeros: np.empty, then fill(0).

    Timed beside the floor, it is what a function returning a new array pays on
    top of writing into one that exists (the page faults of fresh memory).
    """
    new = np.empty_like(like)
    new.fill(0)


def floor_kernels():
    """numba passes over raw memory: a reduction, a zero fill and both per item.

    Returns ``(read, write, per_item)``: ``read(flat, n_blocks)`` sums a 1-D
    array in ``n_blocks`` parallel blocks, ``write(flat, n_blocks)`` writes
    zeros into one, and ``per_item(inp, out)`` reads each row of a 2-D input
    ``(n_items, k)`` and writes its sum into every entry of the same row of
    the output ``(n_items, n_pixels)``. The fused pass writes the row's sum,
    not zeros: on the machine that runs these benchmarks, zeros written over
    zeros by this loop went at 63 GB/s on one thread, three times
    ``out.fill`` (22 GB/s), while the same loop writing the sum ran at
    20 GB/s: a floor faster than any real write of the output is no floor.
    """
    import numba

    @numba.njit(parallel=True, fastmath=True, nogil=True)
    def read(flat, n_blocks):
        step = -(-flat.size // n_blocks)
        partial = np.zeros(n_blocks, dtype=np.float32)
        for b in numba.prange(n_blocks):
            total = np.float32(0)
            for i in range(b * step, min(flat.size, (b + 1) * step)):
                total += flat[i]
            partial[b] = total
        return partial.sum()

    @numba.njit(parallel=True, nogil=True)
    def write(flat, n_blocks):
        step = -(-flat.size // n_blocks)
        for b in numba.prange(n_blocks):
            for i in range(b * step, min(flat.size, (b + 1) * step)):
                flat[i] = 0

    @numba.njit(parallel=True, fastmath=True, nogil=True)
    def per_item(inp, out):
        sums = np.empty(inp.shape[0], dtype=np.float32)
        for j in numba.prange(inp.shape[0]):
            total = np.float32(0)
            for i in range(inp.shape[1]):
                total += inp[j, i]
            sums[j] = total
            for i in range(out.shape[1]):
                out[j, i] = total
        return sums

    return read, write, per_item


def print_passes(passes, median, widths):
    """Print the floor passes: what, label, threads, MB, ms and GB/s.

    ``passes`` maps ``(kind, name or None, threads, label)`` to ``(bytes,
    function)``; ``median`` maps the same keys to seconds; ``widths`` are the
    widths of the "kind name" and label columns.
    """
    print("Floor passes (median; GB/s = bytes / time):")
    for key, (nbytes, _) in passes.items():
        kind, name, threads, label = key
        what = f"{kind} {name}" if name else kind
        t = median[key]
        print(
            f"  {what:<{widths[0]}}{label:<{widths[1]}}{threads:>2} thr "
            f"{nbytes / 1e6:>8.1f} MB {t * 1e3:>9.2f} ms {nbytes / t / 1e9:>7.1f} GB/s"
        )


def floors(median, names, thread_counts):
    """The floor's time for every name and thread count.

    ``median`` maps the floor passes ``(kind, name or None, threads, label)``,
    ``kind`` one of ``"read"`` (the input), ``"write"`` (the output) or
    ``"fused"`` (both), to their median time; a pass whose name is ``None``
    serves every name. The floor of ``(name, threads)`` is the fastest read plus
    the fastest write, or the fastest fused pass, among the passes of that name
    run with at most ``threads`` threads.
    """
    out = {}
    for name in names:
        for threads in thread_counts:
            allowed = [
                (kind, t)
                for (kind, n, thr, _), t in median.items()
                if thr <= threads and n in (name, None)
            ]
            best_read = min(t for k, t in allowed if k == "read")
            best_write = min(t for k, t in allowed if k == "write")
            fused = [t for k, t in allowed if k == "fused"]
            out[name, threads] = min([best_read + best_write, *fused])
    return out


class Floor:
    """The memory-traffic floor of an imaging benchmark: its passes and tables.

    The floor of a name is the fastest way found to read its input once and
    write its output once, the output existing already (no page faults: the
    bytes moved are the input's and the output's, nothing else). ``inputs``
    and ``outputs`` are arrays, or dicts of named arrays: one side named, the
    other one array that every name shares (its passes are named ``None`` and
    serve every name). The candidate passes: NumPy reductions over the input
    (``np.add.reduce``, and ``max`` with ``numpy_max``) and ``out.fill(0)``
    on one thread; with numba, for each of ``thread_counts``, a parallel sum
    over the input, a loop writing zeros into the output and a pass doing
    both per ``item`` (a row of the input: ``"jet"``, ``"event"``), in
    ``64 * max(thread_counts)`` blocks (``floor_kernels``).

    Time ``timed()`` with the rows (``interleaved``), then ``report`` prints
    the tables and returns the floor of every name and thread count.
    """

    def __init__(self, inputs, outputs, thread_counts, *, item, numpy_max=False):
        self.inputs = inputs if isinstance(inputs, dict) else {None: inputs}
        self.outputs = outputs if isinstance(outputs, dict) else {None: outputs}
        if None not in self.inputs and None not in self.outputs:
            raise ValueError("Floor: the inputs or the outputs must be one array")
        self.names = [n for n in (*self.inputs, *self.outputs) if n is not None]
        self.thread_counts = thread_counts
        self.item = item
        self.passes = self._passes(numpy_max)

    def _pair(self, name):
        """The input and the output of ``name``."""
        return (
            self.inputs.get(name, self.inputs.get(None)),
            self.outputs.get(name, self.outputs.get(None)),
        )

    def _passes(self, numpy_max):
        """``(kind, name or None, threads, label) -> (bytes, function)``, in the
        order of the table: the shared input's passes, each name's own, the
        shared output's."""
        order = [None, *self.names] if None in self.inputs else [*self.names, None]
        passes = {}
        for name in order:
            if name in self.inputs:
                flat = self.inputs[name].reshape(-1)
                passes["read", name, 1, "NumPy sum"] = (
                    flat.nbytes,
                    lambda flat=flat: np.add.reduce(flat),
                )
                if numpy_max:
                    passes["read", name, 1, "NumPy max"] = (flat.nbytes, flat.max)
            if name in self.outputs:
                out = self.outputs[name]
                passes["write", name, 1, "NumPy out.fill(0)"] = (
                    out.nbytes,
                    lambda out=out: out.fill(0),
                )
        try:
            read, write, per_item = floor_kernels()
        except ImportError:  # numba is not installed: the NumPy passes only
            return passes
        blocks = 64 * max(self.thread_counts)
        for threads in self.thread_counts:
            for name in order:
                if name in self.inputs:
                    flat = self.inputs[name].reshape(-1)
                    passes["read", name, threads, "numba sum"] = (
                        flat.nbytes,
                        capped(lambda flat=flat: read(flat, blocks), threads),
                    )
                if name in self.outputs:
                    flat = self.outputs[name].reshape(-1)
                    passes["write", name, threads, "numba loop writing zeros"] = (
                        flat.nbytes,
                        capped(lambda flat=flat: write(flat, blocks), threads),
                    )
                if name is not None:
                    inp, out = self._pair(name)
                    rows_in, rows_out = (a.reshape(len(inp), -1) for a in (inp, out))
                    label = f"numba per {self.item}: sum, write it"
                    passes["fused", name, threads, label] = (
                        inp.nbytes + out.nbytes,
                        capped(lambda i=rows_in, o=rows_out: per_item(i, o), threads),
                    )
        return passes

    def timed(self):
        """The functions to time beside the rows (``interleaved``).

        Keys ``("pass", *pass_key)`` for the passes and ``("fresh", name)`` for
        a new array like each output (``fill_new``: what a function returning a
        new array pays on top of the floor).
        """
        fns = {("pass", *key): fn for key, (_, fn) in self.passes.items()}
        fns.update(
            {
                ("fresh", name): (lambda out=out: fill_new(out))
                for name, out in self.outputs.items()
            }
        )
        return fns

    def report(self, median, widths):
        """Print the passes, the new arrays and the floor; return the floor.

        ``median`` maps the keys of ``timed()`` (and any others) to seconds;
        ``widths`` are those of ``print_passes``. Returns ``floors``: the
        floor's time for every ``(name, threads)``.
        """
        pass_median = {key: median[("pass", *key)] for key in self.passes}
        print_passes(self.passes, pass_median, widths)
        for name, out in self.outputs.items():
            what = f"a new {name} output array" if name else "a new output array"
            print(
                f"  ({what}, np.empty then fill(0), page faults included: "
                f"{median['fresh', name] * 1e3:.2f} ms for {out.nbytes / 1e6:.1f} MB; "
                "transform pays it, the floor does not)"
            )
        floor = floors(pass_median, self.names, self.thread_counts)
        most = (
            "one thread" if self.thread_counts == [1] else "at most that many threads"
        )
        print(f"\nFloor (fastest read + write or fused pass, {most}):")
        width = 1 + max(map(len, self.names))
        for (name, threads), t in floor.items():
            inp, out = self._pair(name)
            nbytes = inp.nbytes + out.nbytes
            print(
                f"  {name:<{width}}{threads:>2} thr: {nbytes / 1e6:.1f} MB in "
                f"{t * 1e3:.2f} ms = {nbytes / t / 1e9:.1f} GB/s, "
                f"{len(inp) / t:,.0f} {self.item}s/s"
            )
        return floor


def inference_rate(estimator, X, repeats):
    """Samples per second of ``predict_proba``: the median of ``repeats`` passes.

    One untimed pass first warms up (allocations, caches, kernel selection).
    """
    estimator.predict_proba(X)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        estimator.predict_proba(X)
        times.append(time.perf_counter() - start)
    return len(X) / float(np.median(times))


def cpu(cpuinfo="/proc/cpuinfo"):
    """The CPU model and its AMX and AVX-512 flags (Linux), else the platform's name."""
    try:
        info = Path(cpuinfo).read_text()
        model = info.split("model name")[1].split("\n")[0].strip(" :\t")
        flags = info.split("flags")[1].split("\n")[0].split()
    except (OSError, IndexError):
        return platform.processor() or platform.machine()
    wanted = ("amx_bf16", "amx_tile", "avx512_bf16", "avx512f")
    have = " ".join(f for f in wanted if f in flags)
    return f"{model} with {have}" if have else f"{model}, no AMX or AVX-512"


def machine():
    """CPU cores and model, GPU, Python and torch (its threads), in one line."""
    import torch

    return (
        f"{os.cpu_count()} CPU cores ({cpu()}), GPU: "
        f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}, "
        f"Python {platform.python_version()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads)"
    )


def run_metadata(data_version, args):
    """The command, date, hepclf version, machine and arguments of a study run."""
    import hepclf

    return {
        "command": shlex.join([sys.executable, *sys.argv]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "hepclf": hepclf.__version__,
        "machine": machine(),
        "data_version": data_version,
        "args": vars(args),
    }
