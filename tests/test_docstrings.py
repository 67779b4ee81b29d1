"""numpydoc validation of the public API's docstrings, and the API page's coverage.

Both lists come from :mod:`hepclf.utils.discovery`, so a new public class or
function is checked as soon as its sub-package lists it in ``__all__``.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

from hepclf.utils.discovery import all_objects

numpydoc_validate = pytest.importorskip("numpydoc.validate")

CHECKS = {
    "PR01",  # parameters not documented
    "PR02",  # unknown parameters documented
    "PR03",  # wrong order
    "PR07",  # parameter without description
    "PR10",  # colon spacing
    "RT03",  # return value without description
    "GL08",  # no docstring
    "SS01",  # no summary
    "YD01",  # no yields section
}

#: the methods of a public class whose docstrings users read
METHODS = ("fit", "transform", "predict", "predict_proba", "partial_fit")

API_PAGE = Path(__file__).parents[1] / "docs" / "api.rst"


def public_names():
    names = []
    for name, obj in all_objects():
        if name.endswith("_scorer"):  # factories documented by their own page text
            continue
        names.append(name)
        if inspect.isclass(obj):
            names += [f"{name}.{m}" for m in METHODS if m in vars(obj)]
    return names


@pytest.mark.parametrize("name", public_names())
def test_docstring(name):
    errors = [
        f"{code}: {msg}"
        for code, msg in numpydoc_validate.validate(name)["errors"]
        if code in CHECKS
    ]
    assert not errors, "\n".join(errors)


def documented_objects(text):
    """The objects the autosummary lists of ``docs/api.rst`` name."""
    found = {}
    module = "hepclf"
    for line in text.splitlines():
        if m := re.match(r"\.\. currentmodule:: (\S+)", line.strip()):
            module = m.group(1)
        elif re.match(r"^   [A-Za-z_]\w*$", line):
            name = line.strip()
            found[f"{module}.{name}"] = getattr(importlib.import_module(module), name)
    return found


def test_api_page_names_every_public_object():
    documented = {id(obj) for obj in documented_objects(API_PAGE.read_text()).values()}
    missing = [name for name, obj in all_objects() if id(obj) not in documented]
    assert not missing, f"docs/api.rst does not list {missing}"


def test_api_page_check_can_fail():
    # a page without the metrics section misses roc_auc
    text = API_PAGE.read_text().replace("   roc_auc\n", "")
    documented = {id(obj) for obj in documented_objects(text).values()}
    assert any(
        name == "hepclf.metrics.roc_auc" and id(obj) not in documented
        for name, obj in all_objects()
    )
