"""Particle-gun throughput: images/s of make_particle_images at 192 and 256 pixels.

For each image size (192 x 192, the original challenge's, and 256 x 256, the
public five-class set's) and each particle class, the time to simulate
``--n-images`` images in this process (``n_jobs=1``, so images/s per core),
with the default physics (Bethe-Bloch with delta rays, Highland scattering,
hadronic interactions, Michel decays, showers, diffusion, noise and
threshold). There is no other simulator to run beside it on this machine
(Geant4 with a LArTPC geometry is what the public sets were made with), so
each size also has two reference rows that bound the cost from below:

* "dense detector pass alone": the last steps of an image done the direct
  way on the whole image, for a muon-like line of deposits: a Gaussian
  diffusion blur of every pixel, noise in every pixel, the threshold and the
  float32 image. make_particle_images confines the blur and the noise to the
  box around the deposits and draws the noise pixels that pass the threshold
  outside it from the Gaussian tail, so a whole simulated image can cost
  less than this pass alone;
* "five classes mixed", the classes in one call (also with ``n_jobs=2``,
  wall-clock, unless ``--small``).

Every row runs once untimed (range tables, imports, worker start-up), then in
``--repeat`` rounds that run each row once in turn; the table gives the
median and the spread (slowest minus fastest over the median) of the
wall-clock time, and images per second of this process's CPU time (the
per-core rate when other jobs share the machine).

Run: ``python benchmarks/bench_particle_gun.py [--n-images 200] [--repeat 3]``;
``--small`` runs 30 images a class, 2 rounds, without the worker row.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import interleaved

from hepclf.datasets import make_particle_images

CLASSES = ("electron", "muon", "photon", "pion", "proton")


def detector_only(npix, rng):
    """Blur, noise and threshold of a whole image, done densely."""
    from scipy.ndimage import gaussian_filter

    image = np.zeros((npix, npix))
    rows = np.arange(npix // 4, 3 * npix // 4)
    image[rows, rows] = 1.5  # a diagonal track, MeV per pixel

    def run():
        blurred = gaussian_filter(image, 0.3, mode="constant", truncate=3.0)
        out = blurred.astype(np.float32)
        out += np.float32(0.05) * rng.standard_normal(out.shape, dtype=np.float32)
        out[out < 0.25] = 0.0
        return out

    return run


def rows(npix, n, workers):
    """The timed rows of one image size: name -> function of no arguments."""
    kw = {"npix": npix, "random_state": 0, "progress": False}
    fns = {
        name: (lambda name=name: make_particle_images(n, (name,), **kw))
        for name in CLASSES
    }
    fns["five classes mixed"] = lambda: make_particle_images(
        max(n // 5, 1), CLASSES, **kw
    )
    if workers:
        fns["five classes mixed, 2 processes"] = lambda: make_particle_images(
            max(n // 5, 1) * 2, CLASSES, n_jobs=2, **kw
        )
    single = detector_only(npix, np.random.default_rng(0))
    fns["dense detector pass alone (blur, noise, threshold)"] = lambda: [
        single() for _ in range(n)
    ]
    return fns


def with_cpu_time(fns):
    """Wrap each function to record the CPU time (this process) of every call."""
    cpu = {name: [] for name in fns}

    def wrap(name, fn):
        def run():
            start = time.process_time()
            fn()
            cpu[name].append(time.process_time() - start)

        return run

    return {name: wrap(name, fn) for name, fn in fns.items()}, cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=200, help="images a class")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--small", action="store_true", help="a quick check")
    args = parser.parse_args(argv)
    sizes, n, repeat, workers = (192, 256), args.n_images, args.repeat, True
    if args.small:
        sizes, n, repeat, workers = (192, 256), 30, 2, False

    print(f"{n} images a class, median of {repeat} rounds; images/s")
    print("| npix | row | n_jobs | images/s | spread | images/s of CPU time |")
    print("|---:|---|---:|---:|---:|---:|")
    for npix in sizes:
        fns, cpu = with_cpu_time(rows(npix, n, workers))
        times, _ = interleaved(fns, repeat)
        for name, ts in times.items():
            count = n
            if name.startswith("five classes mixed"):
                count = max(n // 5, 1) * len(CLASSES)
                count *= 2 if "2 processes" in name else 1
            median = float(np.median(ts))
            spread = (max(ts) - min(ts)) / median
            jobs = 2 if "2 processes" in name else 1
            # CPU time of this process, without the untimed first call (for
            # the worker row the workers' time is not counted: no entry)
            per_cpu = "" if jobs > 1 else f"{count / np.median(cpu[name][1:]):,.0f}"
            print(
                f"| {npix} | {name} | {jobs} | {count / median:,.0f} | {spread:.0%} "
                f"| {per_cpu} |"
            )


if __name__ == "__main__":
    main()
