"""Find hepclf's public estimators, functions and classes, as scikit-learn does.

The lists that must name every public object are derived from here, never
kept by hand: the persistence allow-list (:mod:`hepclf.persistence`), the
estimator checks (``tests/test_common.py``), the docstring test
(``tests/test_docstrings.py``) and the test that ``docs/api.rst`` names them
all. A new estimator is found once its sub-package lists it in ``__all__``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from sklearn.base import BaseEstimator

#: Public sub-packages and modules whose ``__all__`` holds the public API.
#: ``hepclf.cli`` is the command line, not an importable API.
_SKIP = ("hepclf.cli",)


def _public_modules():
    import hepclf

    yield hepclf
    for info in pkgutil.walk_packages(hepclf.__path__, prefix="hepclf."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or info.name.startswith(_SKIP):
            continue
        yield importlib.import_module(info.name)


def all_objects() -> list[tuple[str, object]]:
    """Every public object of hepclf, by the qualified name users import it by.

    An object re-exported by several modules (``hepclf.JetImager`` and
    ``hepclf.imaging.JetImager``) is listed once, under its sub-package
    (the longest public module name that exports it).

    Returns
    -------
    objects : list of (str, object)
        ``("hepclf.imaging.JetImager", JetImager)``, ... sorted by name.
    """
    found: dict[int, tuple[str, object]] = {}
    for module in _public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if name.startswith("__") or inspect.ismodule(obj):
                continue
            qualified = f"{module.__name__}.{name}"
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue  # constants (FEATURES, FIELDS, ...)
            known = found.get(id(obj))
            if known is None or len(qualified) > len(known[0]):
                found[id(obj)] = (qualified, obj)
    return sorted(found.values(), key=lambda item: item[0])


def all_estimators() -> list[tuple[str, type]]:
    """List hepclf's public scikit-learn estimators.

    Returns
    -------
    estimators : list of (str, type)
        ``(class name, class)`` sorted by name, as
        ``sklearn.utils.discovery.all_estimators`` gives them.
    """
    return sorted(
        (obj.__name__, obj)
        for _, obj in all_objects()
        if inspect.isclass(obj)
        and issubclass(obj, BaseEstimator)
        and not inspect.isabstract(obj)
    )


def all_functions() -> list[tuple[str, object]]:
    """List hepclf's public functions, by qualified name (sorted)."""
    return [(name, obj) for name, obj in all_objects() if inspect.isfunction(obj)]


__all__ = ["all_estimators", "all_functions", "all_objects"]
