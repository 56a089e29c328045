# pyarrow.compute makes its functions at import time from Arrow's function registry, so no checker sees
# them (pyarrow-stubs 20 reports false errors on pyarrow 26): every function here is Any.
from typing import Any

def __getattr__(name: str) -> Any: ...
