"""The top-level package: its public names, imported on first use."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import hepclf

HEAVY = ("torch", "sklearn", "skorch", "h5py", "pandas", "scipy")


def _imported_after(code, modules=HEAVY):
    """Which of ``modules`` a fresh interpreter has imported after ``code``."""
    probe = f"import sys\n{code}\nprint(*[m for m in {modules!r} if m in sys.modules])"
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return run.stdout.split()


def test_import_hepclf_and_the_command_line_parser_import_no_heavy_library():
    # `hepclf --help` answers at once instead of waiting for torch
    assert _imported_after("import hepclf; hepclf.__version__") == []
    code = "from hepclf.cli import build_parser; build_parser()"
    assert _imported_after(code) == []


def test_a_public_name_imports_what_it_needs():
    assert "torch" in _imported_after("from hepclf import CNNClassifier")


@pytest.mark.parametrize("name", sorted(set(hepclf.__all__) - {"__version__"}))
def test_public_names_are_their_sub_packages_objects(name):
    module = importlib.import_module(f"hepclf.{hepclf._NAMES[name]}")
    assert getattr(hepclf, name) is getattr(module, name)
    assert name in dir(hepclf)


def test_all_lists_every_lazy_name():
    assert set(hepclf.__all__) == {*hepclf._NAMES, "__version__"}


def test_sub_packages_are_attributes():
    assert hepclf.datasets is importlib.import_module("hepclf.datasets")
    assert "plotting" in dir(hepclf)


def test_the_package_folder_is_read_when_a_sub_package_is_first_asked_for():
    # not at import: pkgutil would be most of `import hepclf`'s own start-up
    assert _imported_after("import hepclf", ("pkgutil",)) == []
    code = "import hepclf; assert hepclf.kinematics.__name__ == 'hepclf.kinematics'"
    assert _imported_after(code, ("pkgutil",)) == ["pkgutil"]


def test_an_unknown_name_is_an_attribute_error_that_names_it():
    with pytest.raises(AttributeError, match="'hepclf' has no attribute 'JetImage'"):
        hepclf.JetImage  # noqa: B018
