"""The patch registry (PATCHES, @patch, wrap) and what every module shares: the stack that owns a
resource map, the exceptions a resource's failure travels in, random ids."""

from __future__ import annotations

import uuid
from typing import Any, Callable

from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.models import Stack
from moto.cloudformation.parsing import ResourceMap


PATCHES: list[tuple[str, str, str, str]] = []  # (name, AWS, moto, fix)


def patch(name: str, aws: str, moto: str, fix: str) -> Callable[[Callable], Callable]:
    """Registers a patch (applied by calling the decorated function) with its three-part rationale."""

    def register(fn: Callable) -> Callable:
        PATCHES.append((name, aws, moto, fix))
        return fn

    return register


def wrap(owner: Any, attr: str) -> Callable[[Callable], Callable]:
    """Replaces owner.attr by fn(original, *args, **kwargs)."""

    def deco(fn: Callable) -> Callable:
        original = getattr(owner, attr)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return fn(original, *args, **kwargs)

        wrapper.__name__ = getattr(original, "__name__", attr)
        wrapper.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(owner, attr, wrapper)
        return fn

    return deco


def stack_of(resources_map: ResourceMap) -> Stack | None:
    """The Stack that owns a ResourceMap (set by the nested-stack patch)."""
    return getattr(resources_map, "_pypictl_stack", None)


class InsufficientCapabilities(CloudFormationError):
    code = "InsufficientCapabilitiesException"


class ResourceFailed(Exception):
    """A resource of a stack could not be created; carried up to the operation that started it."""

    def __init__(self, logical_id: str, reason: str):
        super().__init__(reason)
        self.logical_id = logical_id
        self.reason = reason


class HandlerFailure(Exception):
    """A resource handler's failure, already worded as CloudFormation reports it."""


def _uuid() -> str:
    return str(uuid.uuid4())


def _hex(n: int) -> str:
    return uuid.uuid4().hex[:n]
