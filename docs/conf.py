"""Sphinx configuration for hepclf's documentation."""

from __future__ import annotations

import os
import warnings

import hepclf

project = "hepclf"
author = "hepclf developers"
copyright = "2026, hepclf developers"
release = hepclf.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# sphinx-gallery's timing pages load jQuery and DataTables from CDNs: not written,
# and stale copies from older builds not read
exclude_patterns = [
    "_build",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "sg_execution_times.rst",
    "**/sg_execution_times.rst",
]
autosummary_generate = True
templates_path = ["_templates"]
suppress_warnings = ["myst.header"]
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable", None),
    "torch": ("https://pytorch.org/docs/stable", None),
}
# no network on CI machines: intersphinx inventories are optional
if os.environ.get("HEPCLF_DOCS_OFFLINE", "1") == "1":
    intersphinx_mapping = {}

sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "write_computation_times": False,
}

html_theme = "pydata_sphinx_theme"
html_title = f"hepclf {release}"
html_static_path = []

# skorch's progress bar and torch's internals may warn while examples run
warnings.filterwarnings("ignore", category=UserWarning, module="torch")


def _warn_on_math(app, doctree):
    r"""Warn (an error under ``-W``) wherever a page has LaTeX math.

    Sphinx's HTML builder renders math with MathJax, fetched from a CDN: offline,
    or with the HTML opened from disk, readers see raw LaTeX. Write formulas in
    Unicode prose instead: ``\|η\| < 2`` (bare bars mark a substitution in
    reStructuredText), ``ΔR = √(Δη² + Δφ²)``.
    """
    from docutils import nodes
    from sphinx.util import logging

    logger = logging.getLogger("hepclf.docs")
    for node in doctree.findall(
        lambda n: isinstance(n, (nodes.math, nodes.math_block))
    ):
        logger.warning(
            "LaTeX math %r needs MathJax from the network; write it in Unicode",
            node.astext(),
            location=node,
        )


def setup(app):
    """Register the math warning."""
    app.connect("doctree-read", _warn_on_math)
