"""The ingest road's C parts (``_native.c``), built when the project is installed (``pip install``
compiles it; a C compiler is needed then, never at run time).

``NATIVE`` is the module, or None in a source tree that was never installed: every caller then does
the same work in pyarrow and numpy, only slower (``TXD_NATIVE=0`` asks for that, to compare).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType


def _native() -> ModuleType | None:
    if os.environ.get("TXD_NATIVE", "1") == "0":
        return None
    try:
        return importlib.import_module("txdagster.ingest._native")
    except ImportError:
        return None


NATIVE = _native()
