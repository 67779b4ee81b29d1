"""The export registry: which pipeline steps have an ONNX graph, and which do not.

Each transformer declares, next to its own code, either the ``torch.nn.Module``
that computes its ``transform`` for export, or why it cannot be exported::

    register_graph(JetImager, "hepclf.imaging._jet_graph:JetImageModule")
    register_graph(ConstituentSequencer, reason="...")

``export_onnx`` asks the registry for every step before the classifier. A graph
class is imported only when an export needs it, and is built as
``graph(step, n_features=...)``; it provides ``input_name``, ``output_shape``,
``metadata()`` and ``example_input(n_items, dtype, seed)`` (see
:class:`hepclf.imaging.JetImageModule`).
"""

from __future__ import annotations

import importlib

_GRAPHS: dict[type, tuple[object, str | None]] = {}


def register_graph(estimator_class: type, graph=None, *, reason: str | None = None):
    """Declare how a transformer step of a pipeline is exported, or why it is not.

    Parameters
    ----------
    estimator_class : type
        The transformer class. Only this exact class is exported with the graph:
        a subclass may compute something else.
    graph : type or str, optional
        The ``torch.nn.Module`` class, or ``"module:ClassName"`` to import it
        when an export needs it.
    reason : str, optional
        Why the step cannot be exported; give this instead of ``graph``.
    """
    if (graph is None) == (reason is None):
        raise TypeError("register_graph needs either a graph or a reason, not both")
    _GRAPHS[estimator_class] = (graph, reason)


def graph_for(step):
    """Return the graph class registered for ``type(step)``.

    Returns
    -------
    graph : type or None
        The module class, or None when the step cannot be exported.
    reason : str or None
        Why not (None when there is a graph).
    """
    cls = type(step)
    if cls in _GRAPHS:
        graph, reason = _GRAPHS[cls]
        if isinstance(graph, str):
            module, name = graph.split(":")
            graph = getattr(importlib.import_module(module), name)
        return graph, reason
    for base in cls.__mro__[1:]:
        if _GRAPHS.get(base, (None, None))[0] is not None:
            return None, (
                f"a subclass of {base.__name__}, whose arithmetic may differ from "
                f"{base.__name__}'s"
            )
    exportable = sorted(c.__name__ for c, (g, _) in _GRAPHS.items() if g is not None)
    return None, (
        f"no export graph is registered for {cls.__name__} (steps with one: "
        f"{', '.join(exportable)}; see hepclf.export.register_graph)"
    )
