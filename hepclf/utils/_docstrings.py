"""Parameter descriptions written once and shared by several docstrings.

A docstring line that holds only ``%(name)s`` is replaced by the text
registered under ``name``, re-indented to that line's indentation, so the same
description serves a module-level function (4 spaces) and a method (8)::

    X_CONSTITUENTS = '''X : array-like of shape (n_jets, n_constituents, n_features)
        Jet constituents.'''

    @fill_doc(X=X_CONSTITUENTS)
    def fit(self, X, y=None):
        '''Fit.

Parameters
----------
        %(X)s
        '''
"""

from __future__ import annotations

import re
import textwrap

_PLACEHOLDER = re.compile(
    r"^(?P<indent>[ \t]*)%\((?P<name>\w+)\)s[ \t]*$", re.MULTILINE
)


def fill_doc(**texts: str):
    """Return a decorator that fills ``%(name)s`` lines of a docstring.

    Parameters
    ----------
    **texts : str
        The descriptions, by placeholder name; each starts at column 0 and
        indents its description lines by four spaces.

    Returns
    -------
    decorator : callable
        Fills the docstring of the object it decorates, and returns the object.
    """

    def fill(match):
        text = textwrap.dedent(texts[match.group("name")]).strip("\n")
        return textwrap.indent(text, match.group("indent"))

    def decorate(obj):
        obj.__doc__ = _PLACEHOLDER.sub(fill, obj.__doc__)
        return obj

    return decorate
