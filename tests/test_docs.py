"""The documentation renders without the network: no LaTeX math anywhere.

Sphinx typesets math with MathJax from a CDN, so offline, or with the HTML
opened from disk, readers see raw LaTeX such as ``\\(|\\eta| < 2\\)``. Formulas
are written in Unicode prose instead (``\\|η\\| < 2`` in reStructuredText, where
bare bars mark a substitution), and ``docs/conf.py`` turns any math node into a
build warning (an error under ``-W``).
``docs/_tools/check_rendered.mjs`` checks the built pages in a headless browser.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: LaTeX math in reStructuredText, MyST or MathJax's own delimiters
LATEX = re.compile(r":math:|\.\. math::|\{math\}|\\\(|\\\[|\$\$")
#: folders of docs/ that sphinx-build writes
BUILT = {"_build", "generated", "auto_examples"}


def _doc_sources():
    """docs/ sources (not build outputs) and the files they ``.. include::``."""
    sources = []
    for path in sorted(DOCS.rglob("*")):
        parts = set(path.relative_to(DOCS).parts)
        if path.suffix not in {".rst", ".md", ".txt"} or parts & BUILT:
            continue
        if path.name == "sg_execution_times.rst":  # written by sphinx-gallery
            continue
        sources.append(path)
    for path in list(sources):
        for include in re.findall(
            r"^\.\. include:: (\S+)", path.read_text(), re.MULTILINE
        ):
            sources.append((path.parent / include).resolve())
    return sources


def _gallery_text(path):
    """What sphinx-gallery renders of an example: docstring and comment lines."""
    text = path.read_text()
    if path.suffix != ".py":
        return text
    lines = [ast.get_docstring(ast.parse(text)) or ""]
    lines += [line for line in text.splitlines() if line.lstrip().startswith("#")]
    return "\n".join(lines)


def _docstrings(path):
    """Every docstring in a Python file: module, classes, functions, methods."""
    tree = ast.parse(path.read_text())
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    for node in ast.walk(tree):
        if isinstance(node, kinds) and (doc := ast.get_docstring(node)):
            yield getattr(node, "name", "<module>"), doc


def _hits(text):
    return [
        f"{n}: {line.strip()}"
        for n, line in enumerate(text.splitlines(), 1)
        if LATEX.search(line)
    ]


def test_the_sources_are_found():
    sources = {p.relative_to(ROOT).as_posix() for p in _doc_sources()}
    assert {"docs/index.rst", "docs/user_guide/top_tagging_benchmark.rst"} <= sources
    assert {"CHANGELOG.md", "benchmarks/README.md"} <= sources  # included pages
    assert LATEX.search(r"550 < pT < 650 GeV, :math:`|\eta| < 2`")
    assert LATEX.search(r"\(|\eta| < 2\)")
    assert not LATEX.search("550 < pT < 650 GeV, |η| < 2, ΔR = √(Δη² + Δφ²)")


@pytest.mark.parametrize(
    "path", _doc_sources(), ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_no_latex_math_in_the_docs(path):
    hits = _hits(path.read_text())
    assert not hits, f"write these in Unicode ({path.name}): {hits}"


def test_no_latex_math_in_the_examples():
    hits = [
        f"{path.relative_to(ROOT)}: {hit}"
        for path in sorted((ROOT / "examples").rglob("*"))
        if path.suffix in {".py", ".txt", ".rst"}
        for hit in _hits(_gallery_text(path))
    ]
    assert not hits


def test_no_latex_math_in_docstrings():
    # numpydoc docstrings are rendered by autodoc: no :math: there either
    hits = [
        f"{path.relative_to(ROOT)}:{name}: {hit}"
        for path in sorted((ROOT / "hepclf").rglob("*.py"))
        for name, doc in _docstrings(path)
        for hit in _hits(doc)
    ]
    assert not hits


def _build(tmp_path, text):
    """Build one page with docs/conf.py's math check; return (status, html)."""
    build_main = pytest.importorskip("sphinx.cmd.build").build_main
    src = tmp_path / "src"
    src.mkdir(parents=True)
    (src / "conf.py").write_text(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('_conf', {str(DOCS / 'conf.py')!r})\n"
        "conf = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(conf)\n"
        "setup = conf.setup\n"
        "extensions = [e for e in conf.extensions if e.startswith('sphinx.ext')]\n"
    )
    (src / "index.rst").write_text(f"Jets\n====\n\n{text}\n")
    out = tmp_path / "html"
    status = build_main(["-W", "-q", "-b", "html", str(src), str(out)])
    html = (out / "index.html").read_text() if (out / "index.html").exists() else ""
    return status, html


def test_conf_turns_math_into_a_build_error(tmp_path):
    assert "sphinx.ext.mathjax" not in (DOCS / "conf.py").read_text()
    status, _ = _build(tmp_path / "latex", r"Jets with :math:`|\eta| < 2`.")
    assert status != 0
    # in reStructuredText |η| is a substitution reference: escape the bars
    status, html = _build(tmp_path / "unicode", r"Jets with \|η\| < 2.")
    assert status == 0
    assert "|η| &lt; 2" in html
    assert "mathjax" not in html.lower()
