"""Inference speed of an exported tagger: ONNX Runtime against ``predict_proba``.

The whole ``Pipeline(JetImager, CNNClassifier)`` (imaging, CNN and softmax)
exported with ``hepclf.export.export_onnx`` and run by ONNX Runtime on the CPU,
against ``pipe.predict_proba`` in Python (JetImager's default engine, then the
CNN in PyTorch), on the same jets, in one run:

* one call on all jets (throughput, as a batch job would run);
* one jet per call (latency, as an event loop in a C++ framework calls it).

Both use the same number of threads and the same jets; every row gets one
untimed call, then ``--repeat`` rounds that call each row once in turn (the
table gives the median). Prints the time, jets/s,
the ratio to ``predict_proba`` and the minor page faults per jet of the timed
calls (each one is a fresh page of memory the kernel had to zero); checks that
the probabilities agree.

Run: ``python benchmarks/bench_onnx.py [--n-jets 10000] [--npix 40]
[--model tagger.joblib]`` (without ``--model`` a tagger is trained for one
epoch on the bundled sample: the speed does not depend on the weights).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
import onnxruntime as ort
import torch
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import interleaved

from hepclf import CNNClassifier, JetImager
from hepclf.datasets import load_top_tagging
from hepclf.export import export_onnx


def per_jet(fn, X):
    for i in range(len(X)):
        fn(X[i : i + 1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jets", type=int, default=10000)
    parser.add_argument("--n-single", type=int, default=500, help="jets one by one")
    parser.add_argument("--npix", type=int, default=40)
    parser.add_argument("--model", default=None, help="a saved Pipeline (joblib)")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per row")
    args = parser.parse_args(argv)

    X_all, y = load_top_tagging()
    if args.model:
        pipe = joblib.load(args.model)
    else:
        pipe = make_pipeline(
            JetImager(npix=args.npix),
            CNNClassifier(max_epochs=1, random_state=0, device="cpu"),
        ).fit(X_all[:2000], y[:2000])
    reps = -(-args.n_jets // len(X_all))
    X = np.ascontiguousarray(np.concatenate([X_all] * reps)[: args.n_jets])

    threads = torch.get_num_threads()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tagger.onnx"
        start = time.perf_counter()
        export_onnx(pipe, path)
        export_s = time.perf_counter() - start
        session = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
    name = session.get_inputs()[0].name

    def onnx(batch):
        return session.run(["probabilities"], {name: batch})[0]

    diff = float(np.abs(onnx(X) - pipe.predict_proba(X)).max())
    try:
        import numba

        numba_threads = f", JetImager's numba engine {numba.get_num_threads()}"
    except ImportError:
        numba_threads = ""  # the NumPy engine: one thread
    print(
        f"{len(X)} jets (padded to {X.shape[1]}), {pipe[0]!r}, module "
        f"{type(pipe[-1].module_).__name__}; threads: torch {threads}, ONNX Runtime "
        f"{ort.__version__} {threads}{numba_threads}; export took {export_s:.1f} s; "
        f"max |ONNX - predict_proba| = {diff:.1e}\n"
    )

    single = X[: args.n_single]
    rows = [
        ("pipe.predict_proba", "all", X, lambda: pipe.predict_proba(X)),
        ("ONNX Runtime", "all", X, lambda: onnx(X)),
        (
            "pipe.predict_proba",
            "1",
            single,
            lambda: per_jet(pipe.predict_proba, single),
        ),
        ("ONNX Runtime", "1", single, lambda: per_jet(onnx, single)),
    ]
    print(
        f"predict_proba batch size {pipe[-1].batch_size}; every row: one untimed "
        f"call, then {args.repeat} interleaved rounds of one timed call; median\n"
    )
    print(
        f"{'method':<22}{'jets/call':>10}{'jets':>7}{'s':>9}{'jets/s':>11}"
        f"{'speed-up':>10}{'spread':>8}{'faults/jet':>12}"
    )
    times, faults = interleaved(dict(enumerate(fn for *_, fn in rows)), args.repeat)
    base = {}
    for i, (method, batch, data, _) in enumerate(rows):
        t, f = times[i], faults[i]
        seconds = float(np.median(t))
        rate = len(data) / seconds
        base.setdefault(batch, rate)
        spread = (max(t) - min(t)) / seconds
        print(
            f"{method:<22}{batch:>10}{len(data):>7}{seconds:>9.3f}{rate:>11,.0f}"
            f"{rate / base[batch]:>10.2f}{spread:>8.0%}{f / len(data):>12.1f}"
        )
    print("\nspread: (slowest - fastest) / median of the timed calls")


if __name__ == "__main__":
    main()
