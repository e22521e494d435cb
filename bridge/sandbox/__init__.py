"""A stand-in for the AI HomeDesign API, for trying things without a key and for tests.

It is a server, not part of the client (`bridge.remote`): the two never import each other.
`create_sandbox_app` builds it, `SandboxState` is what it received and will do next (the API
version it speaks, faults, orders, charges, polls, the submit limit), shared with whoever
created it.
"""

from .app import create_sandbox_app
from .faults import Fault, FaultPlan
from .state import SandboxState, key_fingerprint

__all__ = ["Fault", "FaultPlan", "SandboxState", "create_sandbox_app", "key_fingerprint"]
