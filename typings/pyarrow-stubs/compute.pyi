# pyarrow.compute makes its functions at import time from Arrow's function registry, so no checker sees
# them. pyarrow ships no stubs of its own (and pyarrow-stubs 20 reports false errors on pyarrow 26): this
# partial stub package answers for pyarrow.compute alone, the rest of pyarrow is read from its sources.
from typing import Any

def __getattr__(name: str) -> Any: ...
