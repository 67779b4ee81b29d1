"""Reference outputs that a refactoring must leave bitwise unchanged.

``compute()`` makes, through the public API only, the outputs users see:
JetImager images of both engines (several recipes and both input formats),
CNNClassifier (JetCNN and ResNet) and ParticleTransformer probabilities after
seeded training, the ONNX graph's probabilities, and the SimpleDetector's
towers. ``tests/data/reference_outputs.npz`` holds them as recorded at commit
e42be9c (before the package was reshaped for new data kinds), with the
platform they were recorded on; ``tests/test_reference_outputs.py`` compares.
One entry was recorded again on purpose: ``proba/particle_transformer``, when
the network's Delta phi moved to the shared ``wrap_phi`` (exact for
|Delta phi| < pi, where ``(x + pi) mod 2 pi - pi`` in float32 was off by up
to 2.4e-7 rad); its probabilities changed by at most 4.2e-7.

Record again (only when an output is meant to change, saying so in the
commit)::

    python -m tests._reference record
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import numpy as np

PATH = Path(__file__).parent / "data" / "reference_outputs.npz"

#: JetImager recipes: name -> parameters
IMAGERS = {
    "default": {},
    "multichannel_raw": {
        "intensity": ("pt", "energy", "count"),
        "normalize": False,
        "npix": (20, 24),
    },
    "absolute": {
        "center": False,
        "rotate": False,
        "flip": False,
        "eta_range": (-2.5, 2.5),
        "phi_range": (-np.pi, np.pi),
    },
    "rotate_uncentred": {"center": False, "flip": False, "eta_range": (-3, 3)},
    "ptetaphi": {"input_format": "ptetaphi", "intensity": ("pt", "energy")},
}


def platform_fingerprint() -> dict:
    """What the bits of the outputs depend on besides the code."""
    import numba
    import onnxruntime
    import torch
    from numpy._core._multiarray_umath import __cpu_features__

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "numpy": np.__version__,
        "numpy_cpu_features": sorted(k for k, v in __cpu_features__.items() if v),
        "torch": torch.__version__,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "numba": numba.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


def pinned_kernels(fingerprint: dict) -> dict[str, str]:
    """Environment that makes torch use the recorded CPU kernels.

    Seeded training is chaotic: an AVX-512 matrix kernel that rounds one sum
    differently from the AVX2 kernel the references were recorded with grows,
    over the demo's epochs, into probabilities 0.2 apart. A CPU with more vector
    units than the recording machine can still run the recorded ones: ATen,
    MKL and oneDNN each take a ceiling from the environment (read when torch
    is imported, so it must be set in a fresh process).
    """
    capability = fingerprint["torch_cpu_capability"]
    return {
        "ATEN_CPU_CAPABILITY": capability.lower(),
        "MKL_ENABLE_INSTRUCTIONS": capability.upper(),
        "ONEDNN_MAX_CPU_ISA": capability.upper(),
    }


def _jets():
    from hepclf.datasets import load_top_tagging

    X, y = load_top_tagging(split="train")
    return X[:600], y[:600]


def _ptetaphi(X):
    E, px, py, pz = np.moveaxis(X.astype(np.float64), -1, 0)
    pt = np.hypot(px, py)
    present = pt > 0
    safe = np.where(present, pt, 1.0)
    m2 = np.maximum(E**2 - px**2 - py**2 - pz**2, 0.0)
    out = np.stack(
        [pt, np.arcsinh(pz / safe), np.arctan2(py, px), np.sqrt(m2)], axis=-1
    )
    out[~present] = 0.0
    return out.astype(np.float32)


def compute() -> dict[str, np.ndarray]:
    """Every reference output, by name."""
    import torch

    from hepclf import CNNClassifier, ConstituentSequencer, JetImager, export_onnx
    from hepclf.datasets import SimpleDetector

    torch.set_num_threads(1)
    out = {}
    X, y = _jets()
    for name, params in IMAGERS.items():
        Xin = _ptetaphi(X) if params.get("input_format") == "ptetaphi" else X
        for engine in ("numba", "numpy"):
            imager = JetImager(engine=engine, **params)
            out[f"images/{name}/{engine}"] = imager.fit_transform(Xin[:200])

    images = JetImager(npix=20).fit_transform(X)
    tiny = {
        "module__conv_blocks": ((8,),),
        "module__pool_size": 2,
        "module__dense": (16,),
        "module__dropout": 0.0,
    }
    clf = CNNClassifier(max_epochs=6, lr=3e-3, random_state=0, device="cpu", **tiny)
    clf.fit(images[:400], y[:400])
    out["proba/jetcnn"] = clf.predict_proba(images[400:])
    resnet = CNNClassifier(
        "resnet",
        max_epochs=2,
        random_state=0,
        device="cpu",
        module__base_filters=4,
        module__blocks=(1, 1),
    )
    resnet.fit(images[:400], y[:400])
    out["proba/resnet"] = resnet.predict_proba(images[400:])

    seq = ConstituentSequencer(max_particles=32).fit_transform(X)
    part = CNNClassifier(
        "particle_transformer",
        max_epochs=2,
        random_state=0,
        device="cpu",
        module__dim=16,
        module__n_heads=2,
        module__n_layers=1,
        module__n_class_layers=1,
        module__pair_dim=8,
    )
    part.fit(seq[:400], y[:400])
    out["proba/particle_transformer"] = part.predict_proba(seq[400:])

    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(
        JetImager(npix=20), CNNClassifier(max_epochs=1, random_state=0, **tiny)
    ).fit(X[:400], y[:400])
    model = export_onnx(pipe, check=False)
    import onnxruntime as ort

    session = ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    out["onnx/pipeline"] = session.run(None, {"constituents": X[400:]})[0]
    out["onnx/pipeline_python"] = pipe.predict_proba(X[400:])

    rng = np.random.default_rng(3)
    n = 300
    pt = rng.exponential(5.0, n) + 0.2
    eta = rng.uniform(-3.5, 3.5, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    p4 = np.stack(
        [pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], -1
    )
    pid = rng.choice([211, 22, 11, 130, 13, 12, 2212], n)
    charge = np.where(np.isin(pid, [211, 11, 13, 2212]), 1.0, 0.0)
    out["detector/simple"] = SimpleDetector().simulate(p4, pid, charge, random_state=7)
    return out


def record(path: Path = PATH) -> None:
    """Compute and store the reference outputs with the platform fingerprint."""
    outputs = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        __platform__=np.array(json.dumps(platform_fingerprint())),
        **outputs,
    )
    print(f"recorded {len(outputs)} outputs in {path}")


def load(path: Path = PATH) -> tuple[dict, dict[str, np.ndarray]]:
    """The recorded platform fingerprint and outputs."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if k != "__platform__"}
        fingerprint = json.loads(str(data["__platform__"]))
    return fingerprint, arrays


if __name__ == "__main__":
    if sys.argv[1:] == ["record"]:
        record()
    else:
        sys.exit("usage: python -m tests._reference record")
