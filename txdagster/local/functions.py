"""Each emulated function as deployed: its handler, timeout and environment are read back from the
embedded stack (what ``infra/template.yaml`` made of it) at every invocation, as Lambda reads its
configuration, instead of being written again here. A change made with UpdateFunctionConfiguration
applies from the next invocation.

Once the stack is made, ``complete_environments`` gives the functions two kinds of values only the
emulation knows, and only to variables the template declares:

- the endpoints of the emulation itself (the local API gateway's URL instead of execute-api's);
- what moto's CloudFormation skips (the Cognito pool and clients, which ``provision.py`` creates
  through the API), so the template's references to them come back unresolved or missing.

One variable is added that the template does not declare: ``TXD_COGNITO_JWKS_URL`` for the
authorizer, because the emulator serves Cognito's keys at its own address, not at the issuer's URL.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from txdagster.lake import aws
from txdagster.local import template
from txdagster.settings import Settings

#: Declared variables whose value only the local stack knows (see the module's docstring).
EMULATED: dict[str, Callable[[Settings], str]] = {
    "TXD_API_URL": lambda s: s.api_url,
    "TXD_COGNITO_ISSUER": lambda s: s.cognito_issuer,
    "TXD_COGNITO_CLIENT_IDS": lambda s: s.cognito_client_ids,
    "TXD_SERVICE_CLIENT_ID": lambda s: s.service_client_id,
}
EMULATOR_ONLY: dict[str, dict[str, Callable[[Settings], str]]] = {
    "lambdas.authorizer.handler.handler": {"TXD_COGNITO_JWKS_URL": lambda s: s.cognito_jwks_url},
}


def declared_variables() -> dict[str, frozenset[str]]:
    """Handler -> the names of the variables its function's ``Environment`` declares in the template."""
    declared = {}
    for resource in template.of_type("AWS::Lambda::Function").values():
        properties = resource["Properties"]
        declared[properties["Handler"]] = frozenset((properties.get("Environment") or {}).get("Variables") or {})
    return declared


@dataclass(frozen=True)
class Deployed:
    handler: str
    timeout: int
    memory: int
    environment: dict[str, str]

    def entry_point(self) -> Callable[[dict[str, Any], Any], Any]:
        module, _, attribute = self.handler.rpartition(".")
        return getattr(importlib.import_module(module), attribute)


def complete_environments(settings: Settings, function_names: list[str]) -> None:
    """Give each deployed function the values only the emulation knows, for the variables its template
    declares, as an operator finishes a deployment (UpdateFunctionConfiguration). Run once, after the
    stack is made and the local endpoints are known."""
    lam = aws.client("lambda", settings)
    for function_name in function_names:
        config = lam.get_function_configuration(FunctionName=function_name)
        declared = declared_variables().get(config["Handler"], frozenset())
        environment = dict((config.get("Environment") or {}).get("Variables", {}))
        environment.update({name: value(settings) for name, value in EMULATED.items() if name in declared})
        environment.update({name: value(settings) for name, value in EMULATOR_ONLY.get(config["Handler"], {}).items()})
        lam.update_function_configuration(FunctionName=function_name, Environment={"Variables": environment})
    forget_configurations()


#: How long an invocation may run with the configuration read for an earlier one (Lambda too takes a
#: moment to apply an update): a read per invocation was a fifth of the emulator's work under load.
CONFIGURATION_SECONDS = 1.0
_read: dict[tuple[str, str], tuple[float, Deployed]] = {}


def deployed(settings: Settings, function_name: str) -> Deployed:
    """The function's configuration: handler, timeout, memory and environment, as read at most
    ``CONFIGURATION_SECONDS`` ago."""
    key = (settings.endpoint_url, function_name)
    known = _read.get(key)
    if known and time.monotonic() - known[0] < CONFIGURATION_SECONDS:
        return known[1]
    config = aws.client("lambda", settings).get_function_configuration(FunctionName=function_name)
    environment = dict((config.get("Environment") or {}).get("Variables", {}))
    found = Deployed(config["Handler"], int(config["Timeout"]), int(config["MemorySize"]), environment)
    _read[key] = (time.monotonic(), found)
    return found


def forget_configurations() -> None:
    """Read every function's configuration afresh at its next invocation (after an update made here)."""
    _read.clear()
