"""The ImportError of a missing optional module names the extra that installs it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import tomllib

from hepclf.utils._optional import EXTRAS, import_optional

ROOT = Path(__file__).resolve().parents[2]


def _extras():
    with open(ROOT / "pyproject.toml", "rb") as f:
        table = tomllib.load(f)["project"]["optional-dependencies"]

    def names(extra, seen=()):
        out = set()
        for req in table[extra]:
            nested = re.fullmatch(r"hepclf\[(.+)\]", req)
            if nested:
                for sub in nested.group(1).split(","):
                    if sub not in seen:
                        out |= names(sub, (*seen, extra))
            else:
                out.add(re.split(r"[<>=!~\[ ;]", req, maxsplit=1)[0].lower())
        return out

    return {extra: names(extra) for extra in table}


def test_every_module_maps_to_an_extra_that_installs_it():
    extras = _extras()
    for module, extra in EXTRAS.items():
        assert extra in extras, (module, extra)
        assert module.replace("_", "-") in extras[extra], (module, extra)


def test_every_optional_import_in_the_package_is_mapped():
    # import_optional("x") without extra= relies on EXTRAS: a module missing
    # there would tell the user to "pip install x" instead of the extra
    for path in (ROOT / "hepclf").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "import_optional"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and not any(k.arg == "extra" for k in node.keywords)
            ):
                top = node.args[0].value.split(".")[0]
                assert top in EXTRAS, f"{path.name}: import_optional({top!r})"


def test_a_missing_module_names_its_extra(monkeypatch):
    monkeypatch.setitem(EXTRAS, "hepclf_no_such_module", "explain")
    with pytest.raises(ImportError, match=r'pip install "hepclf\[explain\]"'):
        import_optional("hepclf_no_such_module")
