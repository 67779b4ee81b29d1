"""``python -m hepclf.cli``: the ``hepclf`` command."""

from __future__ import annotations

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
