#!/usr/bin/env python3
"""moto's server, extended so that pypictl's CloudFormation templates deploy on it as on AWS.

    .tools/moto/bin/python scripts/moto/pypictl_moto.py [--port PORT] [--url-file FILE]
    .tools/moto/bin/python scripts/moto/pypictl_moto.py --describe   # one line per patch

Binds 127.0.0.1 only (PORT 0 or none: a free port), prints the endpoint (http://127.0.0.1:PORT), writes
it to --url-file once the server is listening, and serves until SIGTERM or SIGINT. Normally started
by `scripts/moto.sh start`.

Why this module exists: moto (pinned in scripts/requirements/moto.txt) emulates CloudFormation only
roughly. With our templates it answers HTTP 500 to `Fn::GetAtt <NestedStack>.Outputs.<Name>`, silently
skips 13 of our 35 resource types, leaves `Fn::GetAtt` of attributes it lacks as a raw dict, emits
no per-resource stack events, and has no failure model. The project's rule is that a template is
never changed to suit the emulator: this module patches moto in-process instead (monkeypatching
its classes and functions before the server starts), and every patch says
  - what real CloudFormation does (AWS),
  - what moto 5.2.5 does instead (moto),
  - why the patch is the smallest faithful fix (fix).
The list is printed by --describe; PATCHES below collects it.

Environment:
  PYPICTL_MOTO_EVENT_PAGE_SIZE      events per DescribeStackEvents page (default 100)
  PYPICTL_MOTO_ECS_ROLLOUT_SECONDS  seconds after which an ECS deployment's tasks count as running
                                    (default 3)
  PYPICTL_MOTO_FAIL_RESOURCES       comma-separated logical ids (in any stack) whose creation fails,
                                    to exercise pypictl's failure reporting and rollback handling:
                                    the initial fail_create set of the faults route below
  PYPICTL_MOTO_ASYNC                1: stack operations run in the background as on AWS (patch
                                    async-operations): ExecuteChangeSet, CreateStack, UpdateStack,
                                    DeleteStack, ContinueUpdateRollback and RollbackStack return at
                                    once, the stack reads *_IN_PROGRESS and its events appear over time.
                                    Unset (default): each operation completes within its request
  PYPICTL_MOTO_RESOURCE_SECONDS     async mode: seconds each resource's creation, update or deletion
                                    takes (default 0.2)

Harness route (same port, not an AWS API; patch fault-injection):
  POST /_pypictl/faults  {"fail_create": [...], "fail_update": [...], "fail_rollback": [...]}
      replaces the fault sets (a missing key: an empty set) and answers them as JSON; GET answers
      them. An entry is a logical id, which matches that resource in any stack except nested stack
      resources, or <StackName>.<LogicalId> / <NestedStackLogicalId>.<LogicalId>, which matches one
      stack's resource (nested stack resources included, e.g. pypi.Service). fail_create: the
      creation fails; fail_update: the update fails; fail_rollback: the resource's deletion during a
      rollback, or its update back during an update rollback, fails.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import itertools
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import traceback
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import unquote

import cbor2  # Smithy RPC v2 CBOR bodies (patch cloudwatch-rpc-v2-cbor); pinned in scripts/requirements/moto.txt

# moto prints a warning for each resource type it does not support; the placeholder patch below
# makes those warnings moot, and the server log stays readable.
import warnings

warnings.filterwarnings("ignore", message="Tried to parse .* but it's not supported")
logging.getLogger("moto").addFilter(lambda r: not str(r.msg).startswith("No Moto CloudFormation support"))

from moto.cloudformation import models as cfn_models  # noqa: E402
from moto.cloudformation import parsing  # noqa: E402
from moto.cloudformation import responses as cfn_responses  # noqa: E402
from moto.cloudformation.exceptions import (  # noqa: E402
    CloudFormationError,
    UnformattedGetAttTemplateException,
    ValidationError,
)
from moto.cloudformation.models import ChangeSet, Event, Stack, cloudformation_backends  # noqa: E402
from moto.cloudformation.parsing import ResourceMap  # noqa: E402
from moto.cloudformation.utils import get_stack_from_s3_url  # noqa: E402
from moto.core.common_models import CloudFormationModel  # noqa: E402
from moto.core import parse, routing, serialize  # noqa: E402
from moto.core.parse import JSONParser  # noqa: E402
from moto.core.routing import ProtocolRouter  # noqa: E402
from moto.core.serialize import BaseJSONSerializer  # noqa: E402

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


# --------------------------------------------------------------------------------------------------
# Stack operations: synchronous or in the background, faults, what each operation did
# --------------------------------------------------------------------------------------------------

ASYNC = os.environ.get("PYPICTL_MOTO_ASYNC", "") == "1"
RESOURCE_SECONDS = float(os.environ.get("PYPICTL_MOTO_RESOURCE_SECONDS", "0.2"))

# moto's backends are not thread-safe: every request holds this lock (patch async-operations wraps
# the server's dispatch), and so does a background operation, except while it sleeps.
_LOCK = threading.Lock()

# The thread's stack operation: .active (this thread runs one: it may create resources, and it
# sleeps in pause()), .token ((stack id, ClientRequestToken) of the request that started it),
# .disable_rollback (ExecuteChangeSet's DisableRollback), .rollback (a rollback is running: faults
# fail_rollback apply), .create_rollback (the rollback of the operation that created what it deletes:
# DeletionPolicy RetainExceptOnCreate deletes).
_op = threading.local()


def in_operation() -> bool:
    return getattr(_op, "active", False)


@contextlib.contextmanager
def flag(name: str, value: Any = True):
    """Sets an attribute of the thread's operation for the length of a block."""
    old = getattr(_op, name, None)
    setattr(_op, name, value)
    try:
        yield
    finally:
        setattr(_op, name, old)


def pause(resources: float = 1.0) -> None:
    """The time one resource takes to provision: in async mode the operation sleeps with the lock
    released, so that requests (DescribeStacks, DescribeStackEvents, ...) see it in progress."""
    if not ASYNC or not in_operation() or RESOURCE_SECONDS <= 0:
        return
    _LOCK.release()
    try:
        time.sleep(RESOURCE_SECONDS * resources)
    finally:
        _LOCK.acquire()


def operation(stack: Any, run: Callable[[], None], token: str | None = None, disable_rollback: bool = False) -> None:
    """Runs a stack operation that a request started: within the request (synchronous mode), or
    in a background thread once the request has returned (async mode). A stack operation started
    from within another (a nested stack's) runs inline, in the same thread."""

    def body() -> None:
        _op.active, _op.disable_rollback = True, disable_rollback
        _op.token = (stack.stack_id, token) if token else None
        try:
            run()
        finally:
            _op.active, _op.disable_rollback, _op.token = False, False, None

    if in_operation():
        run()
        return
    if not ASYNC:
        body()
        return

    def worker() -> None:
        with _LOCK:
            try:
                body()
            except Exception as e:  # noqa: BLE001 - a harness bug must not leave the stack in progress forever
                traceback.print_exc()
                status = stack.status.replace("_IN_PROGRESS", "_FAILED") if stack.status.endswith("_IN_PROGRESS") else stack.status
                stack_event(stack, status, f"pypictl_moto: internal error: {type(e).__name__}: {e}")

    threading.Thread(target=worker, name=f"cfn-{stack.name}", daemon=True).start()


@contextlib.contextmanager
def request_token(stack: Any, token: str | None):
    """The request's ClientRequestToken on the events emitted within the request itself."""
    old = getattr(_op, "token", None)
    _op.token = (stack.stack_id, token) if token else old
    try:
        yield
    finally:
        _op.token = old


# (operation, stack id, ClientRequestToken) of the requests accepted: a retried one is a no-op.
_TOKENS: set[tuple[str, str, str]] = set()


def repeated(action: str, stack: Any, token: str | None) -> bool:
    """Whether this request repeats an accepted one (same action, stack and ClientRequestToken)."""
    return bool(token) and (action, stack.stack_id, token) in _TOKENS


def accepted(action: str, stack: Any, token: str | None) -> None:
    """Records a request that passed validation and started its operation."""
    if token:
        _TOKENS.add((action, stack.stack_id, token))


def stack_event(stack: Any, status: str, reason: str | None = None) -> None:
    """A stack's status change: its status, its StackStatusReason, and its own event."""
    stack.status = status
    stack._add_stack_event(status, resource_status_reason=reason)


def busy(stack: Any) -> bool:
    """A stack whose operation is running in another thread: a request sees only what exists."""
    return (stack is not None and stack.status.endswith("_IN_PROGRESS") and stack.status != "REVIEW_IN_PROGRESS"
            and not in_operation())


FAULT_KINDS = ("fail_create", "fail_update", "fail_rollback")
FAULTS: dict[str, set[str]] = {
    "fail_create": {s.strip() for s in os.environ.get("PYPICTL_MOTO_FAIL_RESOURCES", "").split(",") if s.strip()},
    "fail_update": set(),
    "fail_rollback": set(),
}


def faulty(kind: str, stack: Any, logical_id: str, resource_type: str) -> bool:
    """Whether the fault set `kind` names this resource: its logical id (not for a nested stack
    resource, whose failure comes from its own resources), or <StackName>.<LogicalId>, or
    <NestedStackLogicalId>.<LogicalId>."""
    names = FAULTS[kind]
    if not names:
        return False
    if logical_id in names and resource_type != "AWS::CloudFormation::Stack":
        return True
    qualified = set()
    if stack is not None:
        qualified.add(f"{stack.name}.{logical_id}")
        if getattr(stack, "_pypictl_logical_id", None):
            qualified.add(f"{stack._pypictl_logical_id}.{logical_id}")
    return bool(names & qualified)


def injected(kind: str) -> str:
    source = "PYPICTL_MOTO_FAIL_RESOURCES" if kind == "fail_create" else f"pypictl_moto fault {kind}"
    return (f'Resource handler returned message: "Injected failure ({source})" '
            "(HandlerErrorCode: GeneralServiceException)")


_OP_SERIAL = itertools.count(1)


class Op:
    """What a stack's latest operation did, for its rollback (and ContinueUpdateRollback's): the
    resources it started updating and those it added, in order; for an update, the stack as it was
    before (template, parameters) and, once rolled back, which resources are and which failed."""

    def __init__(self, stack: Any, kind: str):
        self.kind = kind
        self.serial = next(_OP_SERIAL)  # later operations, higher numbers
        self.updated: list[str] = []
        self.added: list[str] = []
        self.rolled_back: set[str] = set()
        self.rollback_failed: dict[str, str] = {}  # logical id -> reason, failed during the rollback
        self.new_json: dict[str, Any] = {}
        self.restored = False
        self.before = None
        if kind == "UPDATE":
            rm = stack.resource_map
            self.before = {
                "template": stack.template, "parameters": dict(stack.parameters or {}),
                "rm_template": rm._template, "rm_json": rm._resource_json_map,
                "rm_input": dict(rm.input_parameters or {}),
            }


def begin(stack: Any, kind: str) -> Op:
    stack._pypictl_op = Op(stack, kind)
    return stack._pypictl_op


def op_of(stack: Any) -> Op | None:
    return getattr(stack, "_pypictl_op", None) if stack is not None else None


def parent_of(stack: Any) -> Any:
    if stack is None or not getattr(stack, "parent_id", None):
        return None
    backend = cloudformation_backends[stack.account_id][stack.region_name]
    return backend.stacks.get(stack.parent_id)


# --------------------------------------------------------------------------------------------------
# Stack events
# --------------------------------------------------------------------------------------------------

_clock = threading.Lock()
_last_timestamp: list[Any] = [None]


@patch(
    "event-clock",
    "every stack event has its own timestamp (millisecond precision), later events later",
    "stamps events with utcnow(); a synchronous operation emits many events within one millisecond",
    "a process-wide monotonic clock: each event is stamped max(now, previous + 1 ms)",
)
def patch_event_clock() -> None:
    @wrap(Event, "__init__")
    def __init__(original, self, *args, **kwargs):
        original(self, *args, **kwargs)
        with _clock:
            last = _last_timestamp[0]
            ts = self.timestamp.replace(microsecond=self.timestamp.microsecond // 1000 * 1000)
            if last is not None and ts <= last:
                ts = last + timedelta(milliseconds=1)
            _last_timestamp[0] = self.timestamp = ts


def emit(stack: Stack | None, logical_id: str, resource_type: str, status: str, physical_id: str = "",
         reason: str | None = None, properties: str | None = None) -> None:
    """Appends one resource event to a stack's history, as moto does for the stack's own events."""
    if stack is None:
        return
    event = Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=physical_id or "",
        resource_type=resource_type,
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=properties,
    )
    event.sendToSns(stack.account_id, stack.region_name, stack.notification_arns)
    stack.events.append(event)
    statuses = stack.__dict__.setdefault("_pypictl_resource_status", {})
    statuses[logical_id] = (status, reason, event.timestamp)


@patch(
    "resource-events",
    "each resource of each (nested) stack gets CREATE_IN_PROGRESS, CREATE_IN_PROGRESS 'Resource "
    "creation Initiated' (with its physical id), CREATE_COMPLETE (a dependency completes before its "
    "dependant starts; a failure is CREATE_FAILED with the handler's message); likewise "
    "UPDATE_IN_PROGRESS (with the physical id) / UPDATE_COMPLETE or UPDATE_FAILED, and "
    "DELETE_IN_PROGRESS / DELETE_COMPLETE, DELETE_FAILED or DELETE_SKIPPED; a nested stack resource's "
    "'Resource creation Initiated' (with the nested stack's ARN) comes when the nested stack starts, "
    "its CREATE_COMPLETE once the nested stack completes",
    "creates resources silently (only the stack's own events); an exception in a resource's creation "
    "becomes an HTTP 500 of the whole ExecuteChangeSet/CreateStack",
    "replace parsing.parse_and_create_resource, the one function through which moto creates every "
    "resource (create, change set, nested stack, lazy dependency): same steps, with events around the "
    "creation, after the properties (and so the dependencies) are resolved; a model without a "
    "physical id (EC2::SecurityGroupIngress, EFS::AccessPoint) gets one in AWS's format; likewise "
    "UPDATE_*/DELETE_* around moto's update and delete (DELETE_FAILED and DELETE_SKIPPED for "
    "DeletionPolicy Retain: patch ordered-delete), and a deletion that finds the resource already "
    "gone counts as done. Faults (patch fault-injection) fail a creation or an update here; each "
    "step takes PYPICTL_MOTO_RESOURCE_SECONDS in async mode (patch async-operations)",
)
def patch_resource_events() -> None:
    def parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name):
        condition = resource_json.get("Condition")
        if condition and not resources_map.lazy_condition_map[condition]:
            return None
        stack = stack_of(resources_map)
        resource_type = resource_json["Type"]
        nested = resource_type == "AWS::CloudFormation::Stack"
        try:
            resource_tuple = parsing.parse_resource_and_generate_name(logical_id, resource_json, resources_map)
        except ResourceFailed:
            raise
        except Exception as e:  # a property that cannot be resolved: AWS fails that resource
            emit(stack, logical_id, resource_type, "CREATE_FAILED", reason=_reason(e))
            raise ResourceFailed(logical_id, _reason(e)) from e
        if not resource_tuple:
            return None
        resource_class, resolved, physical_name = resource_tuple
        emit(stack, logical_id, resource_type, "CREATE_IN_PROGRESS",
             properties=json.dumps(resolved.get("Properties", {}), default=str, sort_keys=True))
        kwargs = {"LogicalId": logical_id, "StackId": resources_map.stack_id, "ResourceType": resource_type}
        try:
            if faulty("fail_create", stack, logical_id, resource_type):
                raise HandlerFailure(injected("fail_create"))
            resource = resource_class.create_from_cloudformation_json(
                physical_name, resolved, account_id, region_name, **kwargs
            )
        except ResourceFailed as e:  # a nested stack that failed: its own events say why
            child = resources_map._parsed_resources.get(logical_id) if nested else None
            emit(stack, logical_id, resource_type, "CREATE_FAILED",
                 getattr(child, "physical_resource_id", "") or "", reason=e.reason)
            raise ResourceFailed(logical_id, e.reason) from e
        except Exception as e:
            emit(stack, logical_id, resource_type, "CREATE_FAILED", reason=_reason(e))
            raise ResourceFailed(logical_id, _reason(e)) from e
        resource.cf_resource_type = resource_type
        resource.logical_resource_id = logical_id
        if not getattr(resource, "physical_resource_id", None):
            # Some moto models have no physical id (EC2::SecurityGroupIngress, EFS::AccessPoint): DescribeStackResources
            # would show none and a Ref would resolve to the Python object. AWS always has one.
            make = PHYSICAL_ID_FALLBACKS.get(resource_type, lambda r: physical_name)
            resource.physical_resource_id = make(resource)
        physical = resource.physical_resource_id
        if not nested:  # a nested stack's "Resource creation Initiated" came when it started
            emit(stack, logical_id, resource_type, "CREATE_IN_PROGRESS", physical, "Resource creation Initiated")
            # Listed (CREATE_IN_PROGRESS) while it provisions, as on AWS.
            resources_map._parsed_resources[logical_id] = resource
            pause()
        emit(stack, logical_id, resource_type, "CREATE_COMPLETE", physical)
        op = op_of(stack)
        if op is not None and op.kind == "UPDATE" and logical_id not in op.added:
            op.added.append(logical_id)
        return resource

    parsing.parse_and_create_resource = parse_and_create_resource

    @wrap(parsing, "parse_and_update_resource")
    def parse_and_update_resource(original, logical_id, resource_json, resources_map, account_id, region_name):
        stack = stack_of(resources_map)
        resource_type = resource_json["Type"]
        existing = resources_map._parsed_resources.get(logical_id)
        physical = getattr(existing, "physical_resource_id", "") or ""
        op = op_of(stack)
        if op is not None and logical_id not in op.updated:
            op.updated.append(logical_id)
        emit(stack, logical_id, resource_type, "UPDATE_IN_PROGRESS", physical)
        try:
            if faulty("fail_update", stack, logical_id, resource_type):
                raise HandlerFailure(injected("fail_update"))
            resource = original(logical_id, resource_json, resources_map, account_id, region_name)
        except (ResourceFailed, HandlerFailure) as e:  # a nested stack's own events say why
            reason = e.reason if isinstance(e, ResourceFailed) else _reason(e)
            emit(stack, logical_id, resource_type, "UPDATE_FAILED", physical, reason)
            raise ResourceFailed(logical_id, reason) from e
        if resource is None:
            # The model has no CloudFormation update: moto would store None and lose the resource
            # (it vanishes from the stack, its Refs break). Keep the existing one, unchanged.
            resource = existing
        physical = getattr(resource, "physical_resource_id", "") or ""
        if resource_type != "AWS::CloudFormation::Stack":
            pause()
        emit(stack, logical_id, resource_type, "UPDATE_COMPLETE", physical)
        return resource

    @wrap(ResourceMap, "_delete_resource")
    def _delete_resource(original, self, parsed_resource, resource_json):
        # One resource's deletion, with its events; a failure is raised to the caller (patch
        # "ordered-delete"), which records DELETE_FAILED. DeletionPolicy Retain never reaches here:
        # the caller emits DELETE_SKIPPED instead.
        stack = stack_of(self)
        lid = getattr(parsed_resource, "logical_resource_id", "")
        physical = getattr(parsed_resource, "physical_resource_id", "") or ""
        resource_type = resource_json["Type"]
        emit(stack, lid, resource_type, "DELETE_IN_PROGRESS", physical)
        if getattr(_op, "rollback", False) and faulty("fail_rollback", stack, lid, resource_type):
            raise HandlerFailure(injected("fail_rollback"))
        fallback = DELETE_FALLBACKS.get(resource_type)
        try:
            if fallback:  # see patch "delete-fallbacks"
                fallback(parsed_resource, self._account_id, self._region_name)
            else:
                original(self, parsed_resource, resource_json)
        except Exception as e:
            # Already gone (the load balancer takes its listeners with it in moto) counts as
            # deleted, as for AWS's resource handlers.
            if "NotFound" not in type(e).__name__ and "does not exist" not in _reason(e):
                raise
        if resource_type != "AWS::CloudFormation::Stack":
            pause()
        emit(stack, lid, resource_type, "DELETE_COMPLETE", physical)


# type -> physical id in AWS's format, for moto models that have none.
PHYSICAL_ID_FALLBACKS: dict[str, Callable[[Any], str]] = {
    "AWS::EC2::SecurityGroupIngress": lambda r: f"sgr-{uuid.uuid4().hex[:17]}",
    "AWS::EFS::AccessPoint": lambda r: r.access_point_id,
}


def _ecs(account: str, region: str) -> Any:
    from moto.ecs.models import ecs_backends

    return ecs_backends[account][region]


def _elbv2(account: str, region: str) -> Any:
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[account][region]


# type -> delete(resource, account, region) through the service's own API, for the types whose moto
# model has no working CloudFormation delete (see patch "delete-fallbacks").
DELETE_FALLBACKS: dict[str, Callable[[Any, str, str], Any]] = {
    "AWS::ECS::Cluster": lambda r, a, g: _ecs(a, g).delete_cluster(r.name),
    "AWS::ECS::Service": lambda r, a, g: _ecs(a, g).delete_service(r.cluster_name, r.name, force=True),
    "AWS::ECS::TaskDefinition": lambda r, a, g: _ecs(a, g).deregister_task_definition(r.arn),
    "AWS::ElasticLoadBalancingV2::Listener": lambda r, a, g: _elbv2(a, g).delete_listener(r.arn),
    "AWS::ElasticLoadBalancingV2::TargetGroup": lambda r, a, g: _elbv2(a, g).delete_target_group(r.arn),
}


def _reason(e: BaseException) -> str:
    msg = getattr(e, "message", None) or str(e) or type(e).__name__
    return f"{msg}"


@patch(
    "delete-fallbacks",
    "deleting a stack deletes every resource it created (except DeletionPolicy Retain)",
    "ECS Cluster/Service/TaskDefinition and ELBv2 Listener/TargetGroup models have no CloudFormation "
    "delete: moto says DELETE_COMPLETE and leaves them (ECS cluster ACTIVE, listener serving)",
    "in ResourceMap._delete_resource (the one place moto deletes a stack's resource), call the "
    "service's own delete API for those types (DELETE_FALLBACKS)",
)
def patch_delete_fallbacks() -> None:
    pass  # applied by the _delete_resource wrapper of patch_resource_events


@patch(
    "events-pagination",
    "DescribeStackEvents returns the newest events first, a page at a time, with a NextToken",
    "returns every event in one page and ignores NextToken",
    "page in the response method; the token is the EventId the next page starts after, so pages "
    "stay consistent while new events arrive (PYPICTL_MOTO_EVENT_PAGE_SIZE, default 100)",
)
def patch_events_pagination() -> None:
    def describe_stack_events(self):
        stack_name = self._get_param("StackName")
        token = self._get_param("NextToken")
        size = int(os.environ.get("PYPICTL_MOTO_EVENT_PAGE_SIZE", "100"))
        events = list(self.cloudformation_backend.describe_stack_events(stack_name))[::-1]
        start = 0
        if token:
            ids = [str(e.event_id) for e in events]
            if token not in ids:
                raise ValidationError(message=f"Invalid NextToken: {token}")
            start = ids.index(token) + 1
        page = events[start : start + size]
        next_token = str(page[-1].event_id) if start + size < len(events) else None
        return cfn_responses.ActionResult({"StackEvents": page, "NextToken": next_token})

    cfn_responses.CloudFormationResponse.describe_stack_events = describe_stack_events


@patch(
    "resource-status",
    "DescribeStackResource(s)/ListStackResources give each resource's own status and time",
    "reports the stack's status for every resource (ListStackResources: always CREATE_COMPLETE) "
    "with a hard-coded 2010 timestamp",
    "take both from the last event of that resource, which the resource-events patch records",
)
def patch_resource_status() -> None:
    @wrap(cfn_responses.StackResourceDTO, "__init__")
    def __init__(original, self, stack, resource):
        original(self, stack, resource)
        last = stack.__dict__.get("_pypictl_resource_status", {}).get(self.logical_resource_id)
        if last:
            self.resource_status, _, self.timestamp = last
            self.last_updated_timestamp = last[2]

    @wrap(cfn_responses.CloudFormationResponse, "list_stack_resources")
    def list_stack_resources(original, self):
        result = original(self)
        stack, _ = self.cloudformation_backend.list_stack_resources(self._get_param("StackName"))
        statuses = stack.__dict__.get("_pypictl_resource_status", {})
        for summary in result.result["StackResourceSummaries"]:
            last = statuses.get(summary["LogicalResourceId"])
            if last:
                summary["ResourceStatus"], _, summary["LastUpdatedTimestamp"] = last
        return result


# --------------------------------------------------------------------------------------------------
# Nested stacks
# --------------------------------------------------------------------------------------------------


@patch(
    "nested-stack-outputs",
    "Fn::GetAtt [<NestedStack>, Outputs.<Name>] is the nested stack's output value; Ref of a "
    "nested stack is its stack ARN, which is also its PhysicalResourceId; nested stacks carry "
    "ParentId and RootId; an update of the parent updates the nested stack in place",
    "Stack has no get_cfn_attribute (AttributeError: HTTP 500), its physical id is its name, no "
    "ParentId/RootId",
    "add Stack.get_cfn_attribute for Outputs.*, make physical_resource_id the stack id, and set "
    "parent_id/root_id where moto creates a nested stack (Stack.create_from_cloudformation_json); "
    "update a nested stack in place (Stack.update) where moto deletes and re-creates it",
)
def patch_nested_stacks() -> None:
    def get_cfn_attribute(self, attr: str) -> Any:
        if attr.startswith("Outputs."):
            key = attr[len("Outputs."):]
            if key not in list(self.output_map.outputs):
                raise ValidationError(
                    message=f"Template error: Output '{key}' not found in stack {self.stack_id}"
                )
            output = self.output_map[key]
            return output.value if output else None
        raise UnformattedGetAttTemplateException()

    Stack.get_cfn_attribute = get_cfn_attribute
    Stack.physical_resource_id = property(lambda self: self.stack_id)

    original_create = Stack.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        parent_id = kwargs.get("StackId")
        backend = cloudformation_backends[account_id][region_name]
        parent = backend.stacks.get(parent_id)
        # moto creates the nested stack and all its resources in one call (create_stack); the parent
        # link is needed during that call, so it is handed over through a thread-local.
        _nesting.parent = (parent_id, getattr(parent, "root_id", None) or parent_id, kwargs.get("LogicalId"))
        try:
            return original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        finally:
            _nesting.parent = None

    Stack.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)

    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        # AWS updates a nested stack in place (an UpdateStack of the nested stack: same stack id,
        # resources diffed); moto deletes it and creates a new one, which would replace every
        # resource, retained ones included.
        props = cloudformation_json["Properties"]
        template = get_stack_from_s3_url(props["TemplateURL"], account_id=account_id, partition="aws")
        original_resource.update(template, parameters=props.get("Parameters", {}))
        return original_resource

    Stack.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)

    @wrap(Stack, "__init__")
    def __init__(original, self, *args, **kwargs):
        link = getattr(_nesting, "parent", None)
        _nesting.parent = None  # only the stack being created, not its own nested stacks
        self.parent_id, self.root_id, self._pypictl_logical_id = link if link else (None, None, None)
        self.status_reason = None
        original(self, *args, **kwargs)

    @wrap(Stack, "_create_resource_map")
    def _create_resource_map(original, self):
        resource_map = original(self)
        resource_map._pypictl_stack = self
        return resource_map

    @wrap(Stack, "create_resources")
    def create_resources(original, self):
        # A nested stack starts: its parent's resource says so, with the nested stack's ARN, and
        # lists it (CREATE_IN_PROGRESS). A resource that failed: the stack rolls back on its own
        # (or, rollback disabled, ends CREATE_FAILED), and its parent sees the nested stack
        # resource fail with AWS's "Embedded stack" message.
        begin(self, "CREATE")
        parent = parent_of(self)
        lid = self._pypictl_logical_id
        if parent is not None and lid:
            self.cf_resource_type, self.logical_resource_id = "AWS::CloudFormation::Stack", lid
            parent.resource_map._parsed_resources[lid] = self
            parent_op = op_of(parent)
            if parent_op is not None and parent_op.kind == "UPDATE" and lid not in parent_op.added:
                parent_op.added.append(lid)  # added by the parent's update: its rollback deletes it
            emit(parent, lid, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", self.stack_id,
                 "Resource creation Initiated")
        try:
            original(self)
        except ResourceFailed as e:
            reason = f"The following resource(s) failed to create: [{e.logical_id}]. "
            if getattr(_op, "disable_rollback", False):
                stack_event(self, "CREATE_FAILED", reason)
            else:
                rollback(self, [e.logical_id])
            if self.parent_id is None:
                return  # CreateStack itself succeeded; the stack ended ROLLBACK_* or CREATE_FAILED
            raise ResourceFailed(e.logical_id, f"Embedded stack {self.stack_id} was not successfully created: {reason}") from e

    @wrap(Stack, "update")
    def update(original, self, template, role_arn=None, parameters=None, tags=None):
        # A nested stack's update (its parent's update), or UpdateStack. A resource that failed: the
        # stack starts rolling back (rollback disabled: ends UPDATE_FAILED); a nested stack's
        # rollback is then driven by its root's (patch update-rollback), which rolls back every
        # nested stack it updated.
        op = begin(self, "UPDATE")
        self.status = "UPDATE_IN_PROGRESS"
        try:
            original(self, template, role_arn=role_arn, parameters=parameters, tags=tags)
        except ResourceFailed as e:
            op.new_json = dict(self.resource_map._resource_json_map)
            reason = f"The following resource(s) failed to update: [{e.logical_id}]. "
            disabled = getattr(_op, "disable_rollback", False)
            stack_event(self, "UPDATE_FAILED" if disabled else "UPDATE_ROLLBACK_IN_PROGRESS", reason)
            if self.parent_id:
                raise ResourceFailed(
                    e.logical_id,
                    f"Embedded stack {self.stack_id} was not successfully updated. Currently in {self.status} "
                    f"with reason: {reason}",
                ) from e
            if not disabled:
                rollback_update(self)

    @wrap(cfn_models.CloudFormationBackend, "delete_stack")
    def delete_stack(original, self, name_or_stack_id, token=None):
        # moto takes the stack out of its list before deleting its resources: when one cannot be
        # deleted, the stack vanishes and a retry "succeeds"; and during the deletion the stack
        # would be unknown. AWS keeps it, DELETE_IN_PROGRESS, and ends it DELETE_COMPLETE, or
        # DELETE_FAILED ("The following resource(s) failed to delete: [...]").
        stack = self.stacks.get(name_or_stack_id) or next(
            (st for st in self.stacks.values() if st.name == name_or_stack_id), None)
        if stack is None:
            return original(self, name_or_stack_id)  # unknown, or deleted already: nothing to do
        if repeated("DeleteStack", stack, token) or (stack.status == "DELETE_IN_PROGRESS" and not in_operation()):
            return None
        if busy(stack):
            raise ValidationError(message=f"Stack [{stack.name}] cannot be deleted while in status {stack.status}")
        accepted("DeleteStack", stack, token)
        with request_token(stack, token):
            stack_event(stack, "DELETE_IN_PROGRESS", "User Initiated")

        def run() -> None:
            export_names = [export.name for export in stack.exports]
            try:
                stack.resource_map.delete()
            except Exception as e:  # noqa: BLE001 - the stack ends DELETE_FAILED
                stack_event(stack, "DELETE_FAILED", _reason(e))
                if stack.parent_id:  # the parent's resource deletion fails in turn, with AWS's message
                    raise HandlerFailure(
                        f"Embedded stack {stack.stack_id} was not successfully deleted: {_reason(e)}") from e
                return
            stack_event(stack, "DELETE_COMPLETE")
            self.stacks.pop(stack.stack_id, None)
            self.deleted_stacks[stack.stack_id] = stack
            for name in export_names:
                self.exports.pop(name, None)

        operation(stack, run, token=token)

    def delete_stack_response(self):
        self.cloudformation_backend.delete_stack(self._get_param("StackName"), token=self._get_param("ClientRequestToken"))
        return cfn_responses.EmptyResult()

    cfn_responses.CloudFormationResponse.delete_stack = delete_stack_response


_nesting = threading.local()


def rollback(stack: Stack, failed: list[str]) -> None:
    """What AWS does after a resource failed to create: it deletes what it had created, dependants
    first (patch "ordered-delete": events for each deletion, DELETE_SKIPPED for DeletionPolicy
    Retain, a deletion for RetainExceptOnCreate, nested stacks with their resources, the one that
    failed included), and ends ROLLBACK_COMPLETE, or ROLLBACK_FAILED when a deletion failed."""
    stack_event(
        stack, "ROLLBACK_IN_PROGRESS",
        f"The following resource(s) failed to create: [{', '.join(failed)}]. Rollback requested by user.",
    )
    rm = stack.resource_map
    with flag("rollback"), flag("create_rollback"):
        not_deleted = teardown(rm, [lid for lid in rm._resource_json_map if _exists(rm._parsed_resources.get(lid))])
    if not_deleted:
        stack_event(stack, "ROLLBACK_FAILED", _failed_to_delete(not_deleted))
        return
    stack_event(stack, "ROLLBACK_COMPLETE")


def _restore(stack: Stack, op: Op) -> None:
    """Puts back a stack's template and parameters as they were before the update `op`."""
    before = op.before
    stack.template = before["template"]
    stack._parse_template()
    stack.parameters = before["parameters"]
    rm = stack.resource_map
    rm._template, rm._resource_json_map = before["rm_template"], before["rm_json"]
    rm.input_parameters = before["rm_input"]
    rm.load_mapping()
    rm.load_parameters()
    rm.load_conditions()
    stack.output_map = stack._create_output_map()
    op.restored = True


def rollback_update(stack: Stack, skip: set[str] | None = None) -> str | None:
    """What AWS does after a resource failed to update, and what ContinueUpdateRollback does again:
    UPDATE_ROLLBACK_IN_PROGRESS; each resource the update changed (failed one included), newest first,
    gets UPDATE_IN_PROGRESS / UPDATE_COMPLETE as it is put back (moto's update with the previous
    template's properties and parameters; a nested stack rolls back in turn); a resource in the
    fault set fail_rollback gets UPDATE_FAILED, and the stack ends UPDATE_ROLLBACK_FAILED ("The
    following resource(s) failed to update: [...]"). Otherwise UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_
    PROGRESS deletes what the update added, then UPDATE_ROLLBACK_COMPLETE. `skip`: logical ids of
    this stack that ContinueUpdateRollback skips (marked UPDATE_COMPLETE, left as they are) and,
    as <NestedStackName>.<LogicalId>, of its nested stacks. Returns None, or the reason of the
    failure as the parent reports it."""
    skip = skip or set()
    op = op_of(stack)
    if stack.status != "UPDATE_ROLLBACK_IN_PROGRESS":
        stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS")
    if op is None or op.kind != "UPDATE" or op.before is None:  # nothing this harness can put back
        stack_event(stack, "UPDATE_ROLLBACK_COMPLETE")
        return None
    if not op.restored:
        if not op.new_json:
            op.new_json = dict(stack.resource_map._resource_json_map)
        _restore(stack, op)
    rm = stack.resource_map
    restore_resource = parsing.parse_and_update_resource.__wrapped__  # moto's own, without events
    failed: dict[str, str] = {}
    with flag("rollback"):
        for lid in reversed(op.updated):
            if lid in op.rolled_back:
                continue
            resource = rm._parsed_resources.get(lid)
            rjson = rm._resource_json_map.get(lid) or op.new_json.get(lid) or {}
            rtype = rjson.get("Type", getattr(resource, "cf_resource_type", ""))
            physical = getattr(resource, "physical_resource_id", "") or ""
            emit(stack, lid, rtype, "UPDATE_IN_PROGRESS", physical)
            if lid in skip:
                op.rolled_back.add(lid)
                op.rollback_failed.pop(lid, None)
                emit(stack, lid, rtype, "UPDATE_COMPLETE", physical, "Resource skipped during UPDATE_ROLLBACK (ResourcesToSkip)")
                continue
            if isinstance(resource, Stack):
                child_op = op_of(resource)
                if child_op is None or child_op.kind != "UPDATE" or child_op.serial < op.serial:
                    reason = None  # the update failed before reaching it: nothing to put back
                else:
                    nested_skip = {name.split(".", 1)[1] for name in skip if name.startswith(f"{resource.name}.")}
                    nested_skip |= {name for name in skip if "." in name and not name.startswith(f"{resource.name}.")}
                    reason = rollback_update(resource, nested_skip)
            elif faulty("fail_rollback", stack, lid, rtype):
                reason = injected("fail_rollback")
            else:
                reason = None
                if lid in rm._resource_json_map and resource is not None:
                    try:
                        restored = restore_resource(lid, rjson, rm, rm._account_id, rm._region_name)
                        if restored is not None:
                            restored.cf_resource_type, restored.logical_resource_id = rtype, lid
                            rm._parsed_resources[lid] = restored
                    except Exception:  # noqa: BLE001 - what moto cannot put back is not a modelled failure
                        print(f"pypictl_moto: {stack.name}/{lid}: moto could not restore the previous properties:",
                              file=sys.stderr)
                        traceback.print_exc()
                pause()
            if reason is not None:
                failed[lid] = reason
                op.rollback_failed[lid] = reason
                emit(stack, lid, rtype, "UPDATE_FAILED", physical, reason)
                continue
            op.rolled_back.add(lid)
            op.rollback_failed.pop(lid, None)
            emit(stack, lid, rtype, "UPDATE_COMPLETE", physical)
    if failed:
        reason = f"The following resource(s) failed to update: [{', '.join(failed)}]. "
        stack_event(stack, "UPDATE_ROLLBACK_FAILED", reason)
        if stack.parent_id:
            return (f"Embedded stack {stack.stack_id} was not successfully updated. Currently in "
                    f"UPDATE_ROLLBACK_FAILED with reason: {reason}")
        return reason
    added = [lid for lid in op.added if _exists(rm._parsed_resources.get(lid))]
    stack_event(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    if added:
        # What the update created goes (RetainExceptOnCreate included); a failure here does not
        # fail the rollback (AWS: the resource stays, the stack completes).
        with flag("create_rollback"):
            teardown(rm, added, template=op.new_json, partial=True)
    stack_event(stack, "UPDATE_ROLLBACK_COMPLETE")
    return None


# --------------------------------------------------------------------------------------------------
# Deletion order
# --------------------------------------------------------------------------------------------------


class HandlerFailure(Exception):
    """A resource handler's failure, already worded as CloudFormation reports it."""


def _exists(resource: Any) -> bool:
    """Whether a ResourceMap entry is a resource that was created (not a parameter, not a resource
    whose condition is false, not one never created)."""
    return resource is not None and not isinstance(resource, (str, int, float, bool, dict, list))


def _sub_names(text: str) -> set[str]:
    """The resource names an Fn::Sub string uses: ${X} and ${X.Attr}; ${!X} is a literal."""
    return {m.split(".", 1)[0] for m in re.findall(r"\$\{([^}!][^}]*)\}", text)}


def references(value: Any) -> set[str]:
    """Every name a template fragment references: Ref, Fn::GetAtt, and Fn::Sub's ${X} / ${X.Attr}
    (minus the variables of Fn::Sub's own map)."""
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, list):
            for item in v:
                walk(item)
            return
        if not isinstance(v, dict):
            return
        for key, arg in v.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                if isinstance(arg, str):
                    found.add(arg.split(".", 1)[0])
                elif isinstance(arg, list) and arg:
                    if isinstance(arg[0], str):
                        found.add(arg[0])
                    walk(arg[1:])
            elif key == "Fn::Sub":
                if isinstance(arg, str):
                    found.update(_sub_names(arg))
                elif isinstance(arg, list) and arg:
                    variables = arg[1] if len(arg) > 1 and isinstance(arg[1], dict) else {}
                    if isinstance(arg[0], str):
                        found.update(_sub_names(arg[0]) - set(variables))
                    walk(list(variables.values()))
            else:
                walk(arg)

    walk(value)
    return found


def dependencies(resources: dict[str, Any]) -> dict[str, set[str]]:
    """logical id -> the resources of the same template it depends on (references and DependsOn)."""
    ids = set(resources)
    out = {}
    for lid, rjson in resources.items():
        depends_on = rjson.get("DependsOn") or []
        depends_on = [depends_on] if isinstance(depends_on, str) else list(depends_on)
        body = {k: v for k, v in rjson.items() if k != "DependsOn"}
        out[lid] = (set(depends_on) | references(body)) & ids - {lid}
    return out


# Types whose deletion takes minutes (an Auto Scaling group waits for its instances to terminate):
# of the deletions CloudFormation starts together, these finish last.
SLOW_DELETES = {"AWS::AutoScaling::AutoScalingGroup"}


def _failed_to_delete(failed: dict[str, str]) -> str:
    return f"The following resource(s) failed to delete: [{', '.join(failed)}]. "


def retained(rjson: dict) -> bool:
    """DeletionPolicy Retain, or RetainExceptOnCreate outside the rollback of the operation that
    created the resource (patch retain-except-on-create)."""
    policy = rjson.get("DeletionPolicy")
    return policy == "Retain" or (policy == "RetainExceptOnCreate" and not getattr(_op, "create_rollback", False))


def teardown(rm: ResourceMap, live: list[str], failed: dict[str, str] | None = None,
             template: dict[str, Any] | None = None, partial: bool = False) -> dict[str, str]:
    """Deletes the resources `live` of a stack as CloudFormation does: a resource only once every
    resource of the stack that depends on it is gone; the resources that are ready are deleted
    together (a wave; the slow ones finish last), each once. A failure is DELETE_FAILED with its
    reason, and what the failed resource depends on is then left alone. `failed` (logical id ->
    reason) are resources that already failed to delete; `template`, the resources' template if not
    the stack's current one; `partial`: the stack lives on (an update rollback's cleanup). Returns
    every resource that failed."""
    stack = stack_of(rm)
    if not partial:
        rm._pypictl_torn_down = True
    template = template if template is not None else rm._resource_json_map
    deps = dependencies(template)
    failed = dict(failed or {})
    pending = list(reversed(live))  # newest first within a wave, as AWS tends to
    while True:
        holding = set(pending) | set(failed)
        wave = [lid for lid in pending if not any(lid in deps.get(o, ()) for o in holding if o != lid)]
        if not wave:
            return failed  # what is still pending depends on a failed resource: not attempted
        wave.sort(key=lambda lid: template[lid]["Type"] in SLOW_DELETES)
        for lid in wave:
            pending.remove(lid)
            resource, rjson = rm._parsed_resources[lid], template[lid]
            physical = getattr(resource, "physical_resource_id", "") or ""
            if retained(rjson):
                emit(stack, lid, rjson["Type"], "DELETE_SKIPPED", physical)
                rm._parsed_resources.pop(lid, None)
                continue
            try:
                rm._delete_resource(resource, rjson)
            except Exception as e:  # noqa: BLE001 - AWS: DELETE_FAILED, the stack carries on
                reason = _delete_reason(e, rjson["Type"])
                emit(stack, lid, rjson["Type"], "DELETE_FAILED", physical, reason)
                failed[lid] = reason
                continue
            rm._parsed_resources.pop(lid, None)


# Service names in the AWS SDK's error text (as CloudFormation's resource handlers quote them).
SDK_SERVICE_NAMES = {"ECS": "AmazonECS", "Backup": "AWSBackup", "AutoScaling": "AmazonAutoScaling",
                     "EC2": "AmazonEC2", "ElasticLoadBalancingV2": "AmazonElasticLoadBalancing"}


def _delete_reason(e: BaseException, resource_type: str) -> str:
    """A deletion failure as CloudFormation words it: a service error inside the resource handler's
    message, with the SDK's service name and error code."""
    if isinstance(e, (HandlerFailure, CloudFormationError)):
        return _reason(e)
    code = getattr(e, "error_type", None) or getattr(e, "code", None)
    if not isinstance(code, str):
        return _reason(e)
    service = resource_type.split("::")[1] if resource_type.count("::") == 2 else resource_type
    service = SDK_SERVICE_NAMES.get(service, f"Amazon{service}")
    status = getattr(e, "code", 400) if isinstance(getattr(e, "code", None), int) else 400
    return (f'Resource handler returned message: "{_reason(e)} (Service: {service}; Status Code: {status}; '
            f'Error Code: {code}; Request ID: {_uuid()}; Proxy: null)" (RequestToken: {_uuid()}, '
            "HandlerErrorCode: GeneralServiceException)")


@patch(
    "ordered-delete",
    "deleting a stack (and rolling back a failed CREATE) deletes a resource only after every resource "
    "of the same stack that references it (Ref, Fn::GetAtt, ${X} / ${X.Attr} in Fn::Sub, DependsOn) is "
    "deleted, starting the deletions that are ready together; each deletion is attempted once: a "
    "failure is DELETE_FAILED with the handler's reason, what the failed resource depends on is not "
    "deleted, and the stack ends DELETE_FAILED (ROLLBACK_FAILED for a rollback) 'The following "
    "resource(s) failed to delete: [...]'; DeletionPolicy Retain is DELETE_SKIPPED at its turn, on "
    "rollback too; a deleted or rolled-back stack's resources are gone for good",
    "ResourceMap.delete tries every resource in set order, in passes until a pass deletes nothing, "
    "which hides ordering bugs (a deletion refused in one pass succeeds in the next); a rollback "
    "deleted retained resources; and ResourceMap.__getitem__ creates any resource it is asked for, so "
    "DescribeStackResources after a rollback re-created the deleted resources and nested stacks",
    "replace ResourceMap.delete by teardown(): the dependency graph from the template, waves of "
    "the resources nothing left depends on (Auto Scaling groups, slow to delete, last in their wave), "
    "one attempt each; rollback() uses it too (ROLLBACK_FAILED when something failed). Once a resource "
    "map is torn down, a resource it no longer has is None (as one whose condition is false), and "
    "outputs are the ones already resolved; only a stack operation creates a resource (a request "
    "reading a stack never does), and DescribeStackResources lists what exists",
)
def patch_ordered_delete() -> None:
    def delete(self: ResourceMap) -> None:
        failed = teardown(self, [lid for lid in self._resource_json_map if _exists(self._parsed_resources.get(lid))])
        if failed:
            raise HandlerFailure(_failed_to_delete(failed))

    ResourceMap.delete = delete

    @wrap(ResourceMap, "__getitem__")
    def __getitem__(original, self, key):
        if ((getattr(self, "_pypictl_torn_down", False) or not in_operation()) and key not in self._parsed_resources
                and key in self._resource_json_map):
            # deleted: never created again behind the caller's back; and only a stack operation
            # creates: a request reading a stack (one whose operation runs in the background, or
            # that a failure left without some resources) sees what exists
            return None
        return original(self, key)

    def stack_resources(self: Stack) -> Any:
        rm = self.resource_map
        return [rm._parsed_resources[lid] for lid in rm._resource_json_map if _exists(rm._parsed_resources.get(lid))]

    Stack.stack_resources = property(stack_resources)

    original_outputs = Stack.outputs

    def outputs(self: Stack) -> Any:
        if self.status == "CREATE_FAILED":
            return None  # AWS shows a stack's outputs once it has been created
        if not getattr(self.resource_map, "_pypictl_torn_down", False) and not busy(self):
            return original_outputs.fget(self)
        cached = [o for o in self.output_map._parsed_outputs.values() if o]
        return [{"OutputKey": o.key, "OutputValue": o.value, "Description": o.description, "ExportName": None}
                for o in cached] or None

    Stack.outputs = property(outputs)


# --------------------------------------------------------------------------------------------------
# Change sets
# --------------------------------------------------------------------------------------------------

NO_CHANGES = (
    "The submitted information didn't contain changes. Submit different information or confirm that "
    "the changes you want are included."
)


def _iam_types(template: dict) -> bool:
    return any(str(r.get("Type", "")).startswith("AWS::IAM::") for r in (template.get("Resources") or {}).values())


def _sub_url(value: Any, params: dict[str, str], region: str, account_id: str, stack_name: str) -> str | None:
    """A nested stack's TemplateURL, resolved without creating anything: a string, or an Fn::Sub
    of parameters and pseudo parameters (what a TemplateURL is in practice). None otherwise."""
    pseudo = {"AWS::Region": region, "AWS::URLSuffix": "amazonaws.com", "AWS::Partition": "aws",
              "AWS::AccountId": account_id, "AWS::StackName": stack_name}
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        names = {**pseudo, **params}
        out = value["Fn::Sub"]
        for name in re.findall(r"\$\{([^}!]+)\}", out):
            if name not in names:
                return None
            out = out.replace("${" + name + "}", str(names[name]))
        return out
    return None


def _walk_nested(template: dict, params: dict[str, str], account_id: str, region: str, stack_name: str):
    """(logical id, template URL, parsed template) of every nested stack, recursively. Nested stacks'
    own parameters are not resolved (they usually come from siblings' outputs): their URLs must not
    depend on them, which holds for templates whose URLs use only the root's parameters."""
    for lid, res in (template.get("Resources") or {}).items():
        if res.get("Type") != "AWS::CloudFormation::Stack":
            continue
        url = _sub_url((res.get("Properties") or {}).get("TemplateURL"), params, region, account_id, stack_name)
        if not url:
            continue
        try:
            child = Stack.parse_template(get_stack_from_s3_url(url, account_id=account_id, partition="aws"))
        except Exception:  # noqa: BLE001 - a missing template fails at execution, as on AWS
            continue
        yield lid, url, child
        yield from _walk_nested(child, {}, account_id, region, stack_name)


@patch(
    "change-set-nested-and-capabilities",
    "CreateChangeSet echoes IncludeNestedStacks and Capabilities in DescribeChangeSet, refuses "
    "a template tree with IAM resources without CAPABILITY_IAM (InsufficientCapabilitiesException "
    "when the root has them; a FAILED change set when only nested stacks have them), and refuses a "
    "CREATE change set for a stack that exists (ValidationError)",
    "ignores IncludeNestedStacks and Capabilities entirely; a CREATE change set for an existing "
    "stack creates a second stack of the same name",
    "record both on the ChangeSet, and check the capability over the root template and the nested "
    "templates it points to in moto's S3; nested change sets are not modelled",
)
def patch_change_set_options() -> None:
    @wrap(cfn_responses.CloudFormationResponse, "create_change_set")
    def create_change_set(original, self):
        capabilities = self._get_param("Capabilities", []) or []
        include_nested = self._get_bool_param("IncludeNestedStacks", False)
        name = self._get_param("StackName")
        if self._get_param("ChangeSetType", "CREATE") == "CREATE" and any(
            st.name == name and st.status != "REVIEW_IN_PROGRESS" for st in self.cloudformation_backend.stacks.values()
        ):
            raise ValidationError(
                message=f"Stack [{name}] already exists and cannot be created again with the changeSet "
                f"[{self._get_param('ChangeSetName')}]."
            )
        body = self._get_param("TemplateBody")
        url = self._get_param("TemplateURL")
        if url:
            body = self._get_stack_from_s3_url(url)
        nested_iam = False
        if body:
            template = Stack.parse_template(body)
            params = {p["ParameterKey"]: p.get("ParameterValue") for p in self._get_param("Parameters", []) or []}
            has_iam_capability = bool({"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"} & set(capabilities))
            if _iam_types(template) and not has_iam_capability:
                raise InsufficientCapabilities("Requires capabilities : [CAPABILITY_IAM]")
            if not has_iam_capability:
                nested_iam = any(
                    _iam_types(t)
                    for _, _, t in _walk_nested(template, params, self.current_account, self.region,
                                                self._get_param("StackName"))
                )
        self._pypictl_in_create_change_set = True
        try:
            result = original(self)
        finally:
            self._pypictl_in_create_change_set = False
        cs = self.cloudformation_backend.change_sets[result.result["Id"]]
        cs.include_nested_stacks = include_nested
        cs.capabilities = capabilities
        if nested_iam:
            cs.status, cs.execution_status = "FAILED", "UNAVAILABLE"
            cs.status_reason = "Requires capabilities : [CAPABILITY_IAM]"
        return result

    @wrap(cfn_responses.CloudFormationResponse, "_validate_different_update")
    def _validate_different_update(original, self, *args, **kwargs):
        # "No updates are to be performed." is UpdateStack's error; CreateChangeSet instead creates
        # a FAILED change set (below). moto raises it for both when TemplateBody is given.
        if getattr(self, "_pypictl_in_create_change_set", False):
            return None
        return original(self, *args, **kwargs)


@patch(
    "change-set-no-changes",
    "a change set without changes ends FAILED, ExecutionStatus UNAVAILABLE, StatusReason \"The "
    "submitted information didn't contain changes. Submit different information or confirm that the "
    "changes you want are included.\"; with nested stacks, a nested template that changed is a change",
    "FAILED with another reason text, and compares only the root template and parameters",
    "after moto's comparison: correct the reason, and turn a 'no change' into a change when a nested "
    "stack's template (from its TemplateURL) differs from the running nested stack's",
)
def patch_no_changes() -> None:
    @wrap(cfn_models.CloudFormationBackend, "create_change_set")
    def create_change_set(original, self, stack_name, change_set_name, template, parameters, *args, **kwargs):
        change_set_id, stack_id = original(self, stack_name, change_set_name, template, parameters, *args, **kwargs)
        cs = self.change_sets[change_set_id]
        if cs.status == "FAILED" and (cs.status_reason or "").startswith("The submitted information didn't"):
            stack = self.stacks[stack_id]
            changes = [cfn_models.Change("Modify", lid, "AWS::CloudFormation::Stack")
                       for lid in _nested_changes(self, stack, cs, parameters)]
            if stack.status in ("CREATE_FAILED", "UPDATE_FAILED"):
                known = {c.logical_resource_id for c in changes}
                changes += [c for c in _retries(stack, cs.template_dict) if c.logical_resource_id not in known]
            if changes:
                cs.status, cs.execution_status, cs.status_reason = "CREATE_COMPLETE", "AVAILABLE", None
                cs.changes = changes
            else:
                cs.status_reason = NO_CHANGES
        return change_set_id, stack_id


def _condition_holds(rm: ResourceMap, rjson: dict) -> bool:
    condition = rjson.get("Condition")
    if not condition:
        return True
    try:
        return bool(rm.lazy_condition_map[condition])
    except Exception:  # noqa: BLE001 - a condition of the new template only: the update decides
        return True


def _retries(stack: Stack, template: dict) -> list[Any]:
    """What an update of a stack that failed with rollback disabled (CREATE_FAILED, UPDATE_FAILED)
    retries even with the same template: the resources never created (Add), and those whose
    creation or update failed or that the failed operation did not reach (Modify)."""
    rm = stack.resource_map
    statuses = stack.__dict__.get("_pypictl_resource_status", {})
    pending = getattr(rm, "_pypictl_pending", set())
    out = []
    for lid, rjson in (template.get("Resources") or {}).items():
        if lid not in rm._resource_json_map:
            continue  # new in this template: moto's own diff has it
        if lid not in rm._parsed_resources:
            if _condition_holds(rm, rjson):
                out.append(cfn_models.Change("Add", lid, rjson.get("Type", "")))
        elif lid in pending or statuses.get(lid, ("",))[0] in ("CREATE_FAILED", "UPDATE_FAILED"):
            out.append(cfn_models.Change("Modify", lid, rjson.get("Type", "")))
    return out


def _nested_changes(backend, stack: Stack, cs: ChangeSet, parameters: dict) -> list[str]:
    changed = []
    for lid, res in (cs.template_dict.get("Resources") or {}).items():
        if res.get("Type") != "AWS::CloudFormation::Stack":
            continue
        child = stack.resource_map._parsed_resources.get(lid)
        url = _sub_url((res.get("Properties") or {}).get("TemplateURL"), parameters, backend.region_name,
                       backend.account_id, stack.name)
        if not isinstance(child, Stack) or not url:
            continue
        try:
            new = Stack.parse_template(get_stack_from_s3_url(url, account_id=backend.account_id, partition="aws"))
        except Exception:  # noqa: BLE001
            changed.append(lid)
            continue
        child._parse_template()
        if new != child.template_dict:
            changed.append(lid)
    return changed


@patch(
    "execute-change-set",
    "executing a CREATE change set gives the stack its template, description and outputs; a "
    "resource that fails rolls the stack back (ROLLBACK_IN_PROGRESS, deletions, ROLLBACK_COMPLETE); "
    "an UPDATE change set's failure rolls the update back (patch update-rollback); the stack is "
    "*_IN_PROGRESS from the moment ExecuteChangeSet returns, the change set EXECUTE_IN_PROGRESS, then "
    "EXECUTE_COMPLETE or EXECUTE_FAILED",
    "the stack keeps the empty template of REVIEW_IN_PROGRESS: no outputs, no description; a "
    "resource failure is an HTTP 500; DisableRollback and ClientRequestToken are not read",
    "CloudFormationBackend.execute_change_set replaced: the stack's first event within the request, "
    "the rest as a stack operation (patch async-operations: in the request, or in the background); "
    "after moto's change set apply, parse the template and rebuild the output map as Stack.update "
    "already does; on a ResourceFailed, roll back as AWS does, or with DisableRollback stop "
    "CREATE_FAILED / UPDATE_FAILED (patch disable-rollback)",
)
def patch_execute_change_set() -> None:
    def execute_change_set(self, change_set_name, stack_name=None, disable_rollback=False, token=None):
        cs = self.describe_change_set(change_set_name)
        stack = self.stacks[cs.stack_id]
        if repeated("ExecuteChangeSet", stack, token):
            return
        if cs.execution_status != "AVAILABLE":
            raise ValidationError(
                message=f"ChangeSet [{cs.change_set_id}] cannot be executed in its current status of "
                f"[{cs.status}]"
            )
        check_updatable(stack, "CREATE" if cs.change_set_type == "CREATE" else "UPDATE")
        if stack.status in ("CREATE_FAILED", "UPDATE_FAILED") and not disable_rollback:
            raise ValidationError(message=non_terminal_failed(stack.status))
        kind = cs.change_set_type
        accepted("ExecuteChangeSet", stack, token)
        op = begin(stack, kind)
        cs.execution_status = "EXECUTE_IN_PROGRESS"
        stack.disable_rollback = bool(disable_rollback)
        with request_token(stack, token):
            stack_event(stack, f"{kind}_IN_PROGRESS", "User Initiated")

        def run() -> None:
            try:
                cs.apply()
            except ResourceFailed as e:
                cs.execution_status = "EXECUTE_FAILED"
                reason = f"The following resource(s) failed to {kind.lower()}: [{e.logical_id}]. "
                if kind == "CREATE" or disable_rollback:
                    stack.template = cs.template
                    stack._parse_template()
                    stack.parameters = cs.parameters
                if disable_rollback:
                    op.new_json = dict(stack.resource_map._resource_json_map)
                    stack_event(stack, f"{kind}_FAILED", reason)
                elif kind == "CREATE":
                    rollback(stack, [e.logical_id])
                else:
                    op.new_json = dict(stack.resource_map._resource_json_map)
                    stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
                    rollback_update(stack)
                return
            stack.template = cs.template
            stack._parse_template()
            stack.description = stack.template_dict.get("Description")
            stack.output_map = stack._create_output_map()
            stack.parameters = cs.parameters  # moto keeps the creation's: the next diff would be wrong
            cs.execution_status = "EXECUTE_COMPLETE"
            stack_event(stack, f"{kind}_COMPLETE")

        operation(stack, run, token=token, disable_rollback=bool(disable_rollback))

    cfn_models.CloudFormationBackend.execute_change_set = execute_change_set

    def execute_change_set_response(self):
        self.cloudformation_backend.execute_change_set(
            change_set_name=self._get_param("ChangeSetName"),
            stack_name=self._get_param("StackName"),
            disable_rollback=self._get_bool_param("DisableRollback", False),
            token=self._get_param("ClientRequestToken"),
        )
        return cfn_responses.EmptyResult()

    cfn_responses.CloudFormationResponse.execute_change_set = execute_change_set_response


# Statuses from which a stack can be updated (UpdateStack, an UPDATE change set).
UPDATABLE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE",
             "IMPORT_ROLLBACK_COMPLETE", "CREATE_FAILED", "UPDATE_FAILED"}


def check_updatable(stack: Stack, kind: str) -> None:
    """AWS's refusal of an operation on a stack in a status that does not allow it."""
    if kind == "CREATE":
        if stack.status != "REVIEW_IN_PROGRESS":
            raise ValidationError(message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")
    elif stack.status not in UPDATABLE:
        raise ValidationError(message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")


def non_terminal_failed(status: str) -> str:
    return (f"This stack is currently in a non-terminal [{status}] state. To update the stack from this state, "
            "please use the disable-rollback parameter with update-stack API. To rollback to the last known "
            "good state, use the rollback-stack API")


# --------------------------------------------------------------------------------------------------
# Resource types and attributes moto lacks
# --------------------------------------------------------------------------------------------------


def _uuid() -> str:
    return str(uuid.uuid4())


def _hex(n: int) -> str:
    return uuid.uuid4().hex[:n]


def _secret_create(name: str, props: dict, account: str, region: str) -> tuple[str, dict]:
    from moto.secretsmanager.models import secretsmanager_backends

    backend = secretsmanager_backends[account][region]
    name = props.get("Name") or name
    secret_string = props.get("SecretString")
    gen = props.get("GenerateSecretString")
    if gen is not None:
        password = backend.get_random_password(
            password_length=int(gen.get("PasswordLength", 32)),
            exclude_characters=gen.get("ExcludeCharacters", ""),
            exclude_numbers=bool(gen.get("ExcludeNumbers", False)),
            exclude_punctuation=bool(gen.get("ExcludePunctuation", False)),
            exclude_uppercase=bool(gen.get("ExcludeUppercase", False)),
            exclude_lowercase=bool(gen.get("ExcludeLowercase", False)),
            include_space=bool(gen.get("IncludeSpace", False)),
            require_each_included_type=bool(gen.get("RequireEachIncludedType", True)),
        )
        password = json.loads(password)["RandomPassword"] if password.startswith("{") else password
        if gen.get("SecretStringTemplate") and gen.get("GenerateStringKey"):
            doc = json.loads(gen["SecretStringTemplate"])
            doc[gen["GenerateStringKey"]] = password
            secret_string = json.dumps(doc)
        else:
            secret_string = password
    backend.create_secret(
        name=name, secret_string=secret_string, secret_binary=None, description=props.get("Description"),
        tags=props.get("Tags"), kms_key_id=props.get("KmsKeyId"), client_request_token=None,
        replica_regions=[], force_overwrite=False,
    )
    arn = backend.describe_secret(name).arn
    return arn, {"Id": arn}


def _secret_delete(res: "Placeholder") -> None:
    from moto.secretsmanager.models import secretsmanager_backends

    secretsmanager_backends[res.account_id][res.region_name].delete_secret(
        res.physical_resource_id, recovery_window_in_days=None, force_delete_without_recovery=True
    )


def _vault_create(name: str, props: dict, account: str, region: str) -> tuple[str, dict]:
    from moto.backup.models import backup_backends

    vault_name = props.get("BackupVaultName") or name
    vault = backup_backends[account][region].create_backup_vault(
        backup_vault_name=vault_name, backup_vault_tags=props.get("BackupVaultTags") or {},
        encryption_key_arn=props.get("EncryptionKeyArn"), creator_request_id=_uuid(),
    )
    return vault_name, {"BackupVaultName": vault_name, "BackupVaultArn": vault.backup_vault_arn}


def _vault_delete(res: "Placeholder") -> None:
    from moto.backup.models import backup_backends

    backup_backends[res.account_id][res.region_name].delete_backup_vault(res.physical_resource_id)


def _certificate_create(name: str, props: dict, account: str, region: str) -> tuple[str, dict]:
    # CloudFormation completes a DNS-validated certificate only once it is ISSUED (it writes the
    # validation record into DomainValidationOptions' zone itself); moto's ACM starts it
    # PENDING_VALIDATION, so it is marked ISSUED here. The validation record is not written.
    from moto.acm.models import acm_backends

    backend = acm_backends[account][region]
    arn = backend.request_certificate(
        domain_name=props["DomainName"], idempotency_token=None,
        subject_alt_names=props.get("SubjectAlternativeNames") or [], tags=props.get("Tags") or [],
    )
    backend._certificates[arn].status = "ISSUED"
    return arn, {"Id": arn}


def _certificate_delete(res: "Placeholder") -> None:
    from moto.acm.models import acm_backends

    acm_backends[res.account_id][res.region_name].delete_certificate(res.physical_resource_id)


def _arn(service: str, region: str, account: str, rest: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{rest}"


# type -> create(generated_name, properties, account, region) -> (physical id = Ref, GetAtt attributes),
# and optionally a delete. The formats are those AWS documents for Ref and Fn::GetAtt of each type.
PLACEHOLDER_TYPES: dict[str, dict[str, Callable]] = {
    "AWS::SecretsManager::Secret": {"create": _secret_create, "delete": _secret_delete},
    "AWS::Backup::BackupVault": {"create": _vault_create, "delete": _vault_delete},
    "AWS::Backup::BackupPlan": {
        "create": lambda n, p, a, r: (lambda i: (i, {"BackupPlanId": i, "VersionId": _uuid(),
                                                     "BackupPlanArn": _arn("backup", r, a, f"backup-plan:{i}")}))(_uuid())
    },
    "AWS::Backup::BackupSelection": {
        "create": lambda n, p, a, r: (lambda i: (f"{i}", {"SelectionId": i, "BackupPlanId": p.get("BackupPlanId")}))(_uuid())
    },
    "AWS::CertificateManager::Certificate": {"create": _certificate_create, "delete": _certificate_delete},
    "AWS::CloudWatch::Alarm": {
        "create": lambda n, p, a, r: (lambda name: (name, {"Arn": _arn("cloudwatch", r, a, f"alarm:{name}")}))(
            p.get("AlarmName") or n)
    },
    "AWS::EC2::SecurityGroupEgress": {
        "create": lambda n, p, a, r: (lambda i: (i, {"Id": i}))(f"sgr-{_hex(17)}")
    },
    "AWS::ECS::CapacityProvider": {
        "create": lambda n, p, a, r: (p.get("Name") or n, {})
    },
    "AWS::ECS::ClusterCapacityProviderAssociations": {
        "create": lambda n, p, a, r: (p.get("Cluster") or n, {})
    },
    "AWS::ApplicationAutoScaling::ScalableTarget": {
        "create": lambda n, p, a, r: (lambda i: (i, {"Id": i}))(
            f"{p.get('ResourceId')}|{p.get('ScalableDimension')}|{p.get('ServiceNamespace')}")
    },
    "AWS::ApplicationAutoScaling::ScalingPolicy": {
        "create": lambda n, p, a, r: (lambda arn: (arn, {"Arn": arn}))(
            _arn("autoscaling", r, a, f"scalingPolicy:{_uuid()}:resource/{p.get('ResourceId') or ''}"
                 f":policyName/{p.get('PolicyName') or n}"))
    },
}


class Placeholder(CloudFormationModel):
    """A resource of a type moto's CloudFormation does not model: it exists (Ref and Fn::GetAtt
    resolve to ids and ARNs in AWS's formats), and, for the types in PLACEHOLDER_TYPES that have a
    backend hook, it is really created in (and deleted from) moto's backend of that service."""

    # moto's model registry files every model under the service named by its module's second part.
    __module__ = "moto.cloudformation.pypictl_moto"

    def __init__(self, resource_type: str, physical_id: str, attributes: dict, properties: dict,
                 account_id: str, region_name: str):
        self.resource_type = resource_type
        self._physical_id = physical_id
        self.attributes = attributes
        self.properties = properties
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self._physical_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "Pypictl::Moto::Placeholder"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        resource_type = kwargs["ResourceType"]
        props = cloudformation_json.get("Properties") or {}
        spec = PLACEHOLDER_TYPES.get(resource_type)
        if spec:
            physical, attrs = spec["create"](resource_name, props, account_id, region_name)
        else:  # a type nobody described: a generated name, and an ARN shaped from the type
            _, service, kind = resource_type.split("::")
            physical = resource_name
            attrs = {"Arn": _arn(service.lower(), region_name, account_id, f"{kind[0].lower() + kind[1:]}/{physical}")}
        return cls(resource_type, physical, attrs, props, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        original_resource.properties = cloudformation_json.get("Properties") or {}
        return original_resource  # updated in place: same physical id

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        return None

    def delete(self, account_id: str, region_name: str) -> None:
        spec = PLACEHOLDER_TYPES.get(self.resource_type) or {}
        if "delete" in spec:
            spec["delete"](self)

    def get_cfn_attribute(self, attr: str) -> Any:
        if attr in self.attributes:
            return self.attributes[attr]
        raise UnformattedGetAttTemplateException()

    def is_created(self) -> bool:
        return True


@patch(
    "unsupported-types",
    "creates every resource type of the registry",
    "logs 'No Moto CloudFormation support' and skips the resource: a Ref to it vanishes from the "
    "properties that use it, a GetAtt on it is an HTTP 500, outputs using it disappear (13 of our 35 "
    "types: ApplicationAutoScaling ScalableTarget/ScalingPolicy, Backup Plan/Selection/Vault, ACM "
    "Certificate, CloudWatch Alarm, EC2 SecurityGroupEgress, ECS CapacityProvider/"
    "ClusterCapacityProviderAssociations, S3 BucketPolicy, SNS TopicPolicy, SecretsManager Secret)",
    "parsing.resource_class_from_type, the single lookup of a type's model, falls back to a "
    "Placeholder model (AWS's Ref/GetAtt formats); the Secret, the BackupVault and the ACM "
    "Certificate (marked ISSUED) are really created in moto's backends, because pypictl reads the "
    "secret, both the secret and the vault are retained on delete, and moto's ELBv2 refuses a "
    "listener whose certificate ACM does not have",
)
def patch_unsupported_types() -> None:
    @wrap(parsing, "resource_class_from_type")
    def resource_class_from_type(original, resource_type):
        cls = original(resource_type)
        if cls is None and resource_type not in parsing.NULL_MODELS and "::" in resource_type:
            return Placeholder
        return cls


def _after(value: str, sep: str) -> str:
    return value.split(sep, 1)[1] if sep in value else value


# (type, attribute) -> value, for attributes AWS documents and moto's models lack or get wrong.
ATTRIBUTE_FALLBACKS: dict[tuple[str, str], Callable[[Any], Any]] = {
    # app/<name>/<id>: the part of the ARN after "loadbalancer/", AWS's CloudWatch dimension.
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerFullName"): lambda r: _after(r.arn, ":loadbalancer/"),
    # targetgroup/<name>/<id>: the last ARN field.
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupFullName"): lambda r: r.arn.rsplit(":", 1)[1],
    ("AWS::EFS::FileSystem", "Arn"): lambda r: r.file_system_arn,
    ("AWS::EFS::AccessPoint", "Arn"): lambda r: r.access_point_arn,
    ("AWS::EC2::LaunchTemplate", "LatestVersionNumber"): lambda r: str(r.latest_version_number),
    ("AWS::EC2::LaunchTemplate", "DefaultVersionNumber"): lambda r: str(r.default_version_number),
}


def _generic_attribute(resource: Any, attr: str) -> Any:
    """AWS's common attribute shapes, read off the moto model: Arn / <Thing>Arn from .arn, the
    attribute's snake_case name, <Thing>Id from the physical id."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", attr).lower()
    for name in (snake, snake.replace("i_d", "id")):
        value = getattr(resource, name, None)
        if isinstance(value, (str, int)) and value != "":
            return str(value) if isinstance(value, int) else value
    if attr.endswith("Arn"):
        for name in ("arn", f"{snake[:-4]}_arn"):
            value = getattr(resource, name, None)
            if isinstance(value, str) and value:
                return value
    return None


@patch(
    "getatt-fallbacks",
    "Fn::GetAtt returns every attribute the resource type documents (e.g. LoadBalancerFullName, "
    "TargetGroupFullName, LaunchTemplate LatestVersionNumber, EFS AccessPoint/FileSystem Arn) and "
    "refuses an unknown one with a template error",
    "a model that lacks the attribute raises NotImplementedError/UnformattedGetAttTemplateException; "
    "clean_json logs it and returns the raw {'Fn::GetAtt': [...]} dict as the value",
    "wrap parsing.clean_json (every intrinsic goes through it, Fn::Sub's ${A.B} too): on a missing "
    "attribute use ATTRIBUTE_FALLBACKS, then the common shapes (.arn, snake_case field); if none "
    "fits, fail with AWS's template error instead of a raw dict",
)
def patch_getatt() -> None:
    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: ResourceMap) -> Any:
        if isinstance(resource_json, dict) and "Fn::GetAtt" in resource_json:
            target = resource_json["Fn::GetAtt"]
            name, attr = target.split(".", 1) if isinstance(target, str) else (target[0], clean_json(target[1], resources_map))
            resource = resources_map.get(name)
            if resource is not None and not isinstance(resource, (str, dict, list)):
                rtype = getattr(resource, "cf_resource_type", None) or (
                    resources_map._resource_json_map.get(name) or {}).get("Type", "")
                try:
                    value = resource.get_cfn_attribute(attr)
                    if not (isinstance(value, dict) and "Fn::GetAtt" in value):
                        return value
                except (NotImplementedError, UnformattedGetAttTemplateException, AttributeError, KeyError):
                    pass
                fallback = ATTRIBUTE_FALLBACKS.get((rtype, attr))
                value = fallback(resource) if fallback else _generic_attribute(resource, attr)
                if value is None:
                    raise ValidationError(
                        message=f"Template error: resource {name} does not support attribute type {attr} in "
                        "Fn::GetAtt (pypictl_moto.py: add it to ATTRIBUTE_FALLBACKS)"
                    )
                return value
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json


# --------------------------------------------------------------------------------------------------
# Other services
# --------------------------------------------------------------------------------------------------


@patch(
    "route53-zone-ids",
    "hosted zone ids start with 'Z' (Z + up to 31 upper-case letters and digits)",
    "22 random upper-case letters and digits, so pypictl's zone_id validation refuses most of them",
    "prefix moto's generated id with Z (HostedZoneIdentifier.generate), length unchanged",
)
def patch_route53_ids() -> None:
    from moto.route53.models import HostedZoneIdentifier

    @wrap(HostedZoneIdentifier, "generate")
    def generate(original, self, *args, **kwargs):
        zone_id = original(self, *args, **kwargs)
        return zone_id if zone_id.startswith("Z") else "Z" + zone_id[1:]


@patch(
    "kms-key-policy",
    "AWS::KMS::Key's KeyPolicy is a JSON object in the template; the key's policy is that document",
    "stores the object as is, so every KMS call that checks the key policy (DescribeKey, ...) fails "
    "with HTTP 500 on json.loads(dict)",
    "serialize KeyPolicy to a JSON string before moto's Key.create_from_cloudformation_json",
)
def patch_kms_key_policy() -> None:
    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json.get("Properties") or {}
        if isinstance(props.get("KeyPolicy"), (dict, list)):
            props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
        return original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    Key.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


# --------------------------------------------------------------------------------------------------
# APIs moto lacks: AWS Backup recovery points, CloudWatch over Smithy RPC v2 CBOR
# --------------------------------------------------------------------------------------------------


def add_routes(urls_module: Any, paths: dict[str, Callable]) -> None:
    """Adds URL routes to a moto service, as if its urls.py listed them. moto's server builds a
    service's Flask app from that module's url_paths (BaseBackend.flask_paths) on the service's first
    request, so routes added before the server starts are served like moto's own; a handler that is
    a response class's `dispatch` then finds the operation from the request as moto's handlers do."""
    urls_module.url_paths.update(paths)


def recovery_points(vault: Any) -> dict[str, dict]:
    """A backup vault's recovery points (ARN -> ListRecoveryPointsByBackupVault entry), kept on moto's
    Vault (patch backup-recovery-points)."""
    return vault.__dict__.setdefault("_pypictl_recovery_points", {})


# Resource type of a recovery point, from the service of the protected resource's ARN.
BACKUP_RESOURCE_TYPES = {"elasticfilesystem": "EFS", "dynamodb": "DynamoDB", "rds": "RDS", "s3": "S3",
                         "ec2": "EC2", "fsx": "FSx", "storagegateway": "Storage Gateway"}


@patch(
    "backup-recovery-points",
    "StartBackupJob (PUT /backup-jobs) backs a resource up into a vault: the job ends with a recovery "
    "point (ARN arn:aws:backup:<region>:<account>:recovery-point:<ID> for EFS) in that vault; "
    "ListRecoveryPointsByBackupVault (GET /backup-vaults/{name}/recovery-points/) lists a vault's "
    "recovery points, ResourceNotFoundException for a vault that does not exist; DeleteRecoveryPoint "
    "(DELETE /backup-vaults/{name}/recovery-points/{arn}) deletes one, ResourceNotFoundException for "
    "one that does not exist; DeleteBackupVault then deletes the emptied vault",
    "backup has no backup-job nor recovery-point API: the paths answer HTTP 404 with an HTML page, "
    "so `pypictl destroy --force-destroy-data` cannot empty a vault and so never reaches "
    "DeleteBackupVault, and no test can put a recovery point in a vault",
    "add_routes gives backup the three paths, dispatched (operation found from method and path, as "
    "moto does) to three new BackupResponse methods. A backup job completes at once: StartBackupJob "
    "(vault must exist) adds a COMPLETED recovery point to the vault (kept on moto's Vault, which "
    "counts them in NumberOfRecoveryPoints); the list returns them in one page (no NextToken); "
    "DeleteRecoveryPoint removes one at once (AWS: DELETING first, gone a little later). moto's own "
    "DeleteBackupVault deletes the vaults the BackupVault placeholder creates in its backend",
)
def patch_backup_recovery_points() -> None:
    from moto.backup import urls
    from moto.backup.exceptions import ResourceNotFoundException
    from moto.backup.responses import BackupResponse
    from moto.core.utils import unix_time

    def existing_vault(self: BackupResponse, name: str | None = None) -> Any:
        # self.path is the raw (percent-encoded) path: the SDKs encode each label.
        if name is None:
            name = unquote(self.path.split("/backup-vaults/", 1)[1].split("/", 1)[0])
        vault = self.backup_backend.vaults.get(name)
        if vault is None:
            raise ResourceNotFoundException(msg=f"Backup vault {name} does not exist")
        return vault

    def start_backup_job(self: BackupResponse) -> str:
        params = json.loads(self.body or "{}")
        vault = existing_vault(self, params.get("BackupVaultName"))
        resource_arn = params.get("ResourceArn") or ""
        now = unix_time()
        arn = (f"arn:aws:backup:{self.region}:{self.current_account}:recovery-point:"
               f"{str(uuid.uuid4()).upper()}")
        service = resource_arn.split(":")[2] if resource_arn.count(":") >= 5 else ""
        entry = {
            "RecoveryPointArn": arn,
            "BackupVaultName": vault.backup_vault_name,
            "BackupVaultArn": vault.backup_vault_arn,
            "ResourceArn": resource_arn,
            "ResourceType": BACKUP_RESOURCE_TYPES.get(service, service),
            "IamRoleArn": params.get("IamRoleArn"),
            "Status": "COMPLETED",
            "CreationDate": now,
            "CompletionDate": now,
            "BackupSizeInBytes": 0,
            "EncryptionKeyArn": vault.encryption_key_arn,
            "IsEncrypted": bool(vault.encryption_key_arn),
            "Lifecycle": params.get("Lifecycle"),
        }
        recovery_points(vault)[arn] = {k: v for k, v in entry.items() if v is not None}
        vault.num_of_recovery_points = len(recovery_points(vault))
        return json.dumps({"BackupJobId": str(uuid.uuid4()).upper(), "RecoveryPointArn": arn,
                           "CreationDate": now, "IsParent": False})

    def list_recovery_points_by_backup_vault(self: BackupResponse) -> str:
        vault = existing_vault(self)
        return json.dumps({"RecoveryPoints": list(recovery_points(vault).values())})

    def delete_recovery_point(self: BackupResponse) -> str:
        vault = existing_vault(self)
        arn = unquote(self.path.split("/recovery-points/", 1)[1])
        points = recovery_points(vault)
        if arn not in points:
            raise ResourceNotFoundException(
                msg=f"Recovery point {arn} does not exist in backup vault {vault.backup_vault_name}")
        del points[arn]
        vault.num_of_recovery_points = len(points)
        return "{}"

    BackupResponse.start_backup_job = start_backup_job
    BackupResponse.list_recovery_points_by_backup_vault = list_recovery_points_by_backup_vault
    BackupResponse.delete_recovery_point = delete_recovery_point
    add_routes(urls, {
        "{0}/backup-jobs/?$": BackupResponse.dispatch,
        # botocore sends the modeled trailing slash, the Rust SDK none: a rule ending in / matches
        # both, moto adding every rule with strict_slashes off.
        "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$": BackupResponse.dispatch,
        # The ARN label arrives percent-encoded, but the server hands the router a decoded path.
        "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/(?P<recoveryPointArn>.+)$": BackupResponse.dispatch,
    })


RPC_V2_CBOR = "smithy-rpc-v2-cbor"  # botocore's (and so moto's) name of smithy.protocols#rpcv2Cbor
CBOR_CONTENT_TYPE = "application/cbor"
# The Smithy namespace of a service's shapes: an RPC v2 CBOR error's __type is the error's shape id.
SMITHY_NAMESPACES = {"cloudwatch": "com.amazonaws.cloudwatch"}


class RpcV2CborRouter(ProtocolRouter):
    """RPC v2 CBOR names the operation in the path: POST /service/{ServiceName}/operation/{Operation}."""

    PATH = re.compile(r"/service/[^/]+/operation/([^/]+)")

    def _match(self, request: Any) -> tuple[Any, dict[str, Any]]:
        m = self.PATH.fullmatch(request.path)
        if request.method == "POST" and m and m.group(1) in self.service_model.operation_names:
            return self.service_model.operation_model(m.group(1)), {}
        return None, {}


class RpcV2CborParser(JSONParser):
    """The JSON protocol's walk of the input shape, over a CBOR body instead of a JSON one: timestamps
    arrive as tag 1 (epoch seconds; cbor2 decodes them to aware datetimes), blobs as byte strings."""

    def _parse_body_as_json(self, body_contents: Any) -> Any:
        return cbor2.loads(body_contents) if body_contents else {}

    def _parse_timestamp(self, shape: Any, value: Any) -> Any:
        if isinstance(value, datetime):  # moto keeps naive UTC datetimes (see default_timestamp_parser)
            return value.astimezone(timezone.utc).replace(tzinfo=None)
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, timezone.utc).replace(tzinfo=None)
        return super()._parse_timestamp(shape, value)

    def _parse_blob(self, shape: Any, value: Any) -> Any:
        return bytes(value) if isinstance(value, (bytes, bytearray)) else super()._parse_blob(shape, value)


class RpcV2CborSerializer(BaseJSONSerializer):
    """The JSON protocol's serializer with a CBOR body: timestamps as tag 1 epoch seconds, blobs as
    byte strings, doubles as floats, booleans as booleans; the smithy-protocol header on every
    response; no body (nor Content-Type) for an operation without output; an error is a map of
    __type (the error's shape id) and the error's members with its message, and, the services being
    awsQueryCompatible, the x-amzn-query-error header (code;Sender|Receiver) as AWS sends it."""

    CONTENT_TYPE = CBOR_CONTENT_TYPE

    def _serialize_body(self, body: Any) -> bytes:  # type: ignore[override]
        return cbor2.dumps(body)

    def _get_protocol_specific_content_type(self) -> str:
        return CBOR_CONTENT_TYPE

    def _serialize_type_timestamp(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
        seconds = self._timestamp_serializer._convert_timestamp_to_str(value, "unixtimestamp")
        self._default_serialize(serialized, cbor2.CBORTag(1, seconds), shape, key)

    def _serialize_type_blob(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
        self._default_serialize(serialized, value.encode() if isinstance(value, str) else bytes(value), shape, key)

    def _serialize_type_boolean(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if isinstance(value, str):  # some moto models keep "true"/"false"
            value = value.lower() == "true"
        self._default_serialize(serialized, bool(value), shape, key)

    def _serialized_result_to_response(self, resp: Any, result: Any, shape: Any, serialized_result: Any) -> Any:
        resp["headers"]["smithy-protocol"] = "rpc-v2-cbor"
        if shape is None:
            resp["body"] = b""
            return resp
        return super()._serialized_result_to_response(resp, result, shape, serialized_result)

    def _serialize_error_metadata(self, serialized: Any, error: Exception, shape: Any) -> None:
        super()._serialize_error_metadata(serialized, error, shape)
        name = self.service_model.service_name
        namespace = SMITHY_NAMESPACES.get(name) or self.service_model.metadata.get("targetPrefix") or name
        serialized["__type"] = f"{namespace}#{shape.name}"
        message = serialized.pop("Message", None)
        if message is not None:
            serialized["Message" if "Message" in shape.members else "message"] = message

    def _serialized_error_to_response(self, resp: Any, error: Exception, shape: Any, serialized_error: Any) -> Any:
        resp = super()._serialized_error_to_response(resp, error, shape, serialized_error)
        resp["headers"].pop("X-Amzn-Errortype", None)  # awsJson's; RPC v2 CBOR has __type only
        resp["headers"]["smithy-protocol"] = "rpc-v2-cbor"
        return resp


@patch(
    "cloudwatch-rpc-v2-cbor",
    "CloudWatch also speaks Smithy RPC v2 CBOR, the protocol the SDKs now use (aws-sdk-cloudwatch for "
    "Rust 1.140+): POST /service/GraniteServiceVersion20100801/operation/<Operation>, headers "
    "smithy-protocol: rpc-v2-cbor and Content-Type: application/cbor, a CBOR body; the response "
    "carries smithy-protocol, a CBOR body (timestamps tag 1 epoch seconds), errors a CBOR map with "
    "__type and message plus x-amzn-query-error, with the error's HTTP status",
    "speaks the query and JSON protocols only: the path answers HTTP 404 with an HTML page, and "
    "BaseResponse.setup_class would fail decoding a CBOR body as UTF-8",
    "teach moto the protocol where it already dispatches on it, so every CloudWatch operation moto "
    "implements (DescribeAlarms, GetMetricData, PutMetricData, ...) works over it unchanged: an RPC "
    "v2 CBOR router, parser (cbor2 + the JSON parser's walk of the input shape) and serializer (the "
    "JSON serializer with a CBOR body) registered in moto.core's protocol tables, under the name "
    "botocore's model gives the protocol (moto picks it from Content-Type: application/cbor); "
    "setup_class keeps a CBOR body as bytes; add_routes gives cloudwatch the path",
)
def patch_cloudwatch_rpc_v2_cbor() -> None:
    from moto.cloudwatch import urls
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.core.responses import BaseResponse

    routing.PROTOCOL_ROUTERS[RPC_V2_CBOR] = RpcV2CborRouter
    parse.PROTOCOL_PARSERS[RPC_V2_CBOR] = RpcV2CborParser
    serialize.SERIALIZERS[RPC_V2_CBOR] = RpcV2CborSerializer

    @wrap(BaseResponse, "setup_class")
    def setup_class(original, self, request, full_url=None, headers=None, use_raw_body=None):
        if use_raw_body is None and (request.content_type or "").startswith(CBOR_CONTENT_TYPE):
            use_raw_body = True
        return original(self, request, full_url, headers, use_raw_body)

    add_routes(urls, {"{0}/service/(?P<service>[^/]+)/operation/(?P<operation>[^/]+)$": CloudWatchResponse.dispatch})


@patch(
    "cloudwatch-describe-alarms-filters",
    "DescribeAlarms applies every filter it is given together (AlarmNames, AlarmNamePrefix, "
    "ActionPrefix, StateValue), and returns only the alarm types named in AlarmTypes (only metric "
    "alarms when it is omitted)",
    "applies only the first of ActionPrefix, AlarmNamePrefix, AlarmNames, StateValue it finds (so "
    "AlarmNamePrefix + StateValue=ALARM, pypictl's query of the firing alarms, returns OK alarms "
    "too) and ignores AlarmTypes",
    "filter the result of moto's describe_alarms by all of them",
)
def patch_describe_alarms_filters() -> None:
    from moto.cloudwatch.responses import CloudWatchResponse

    @wrap(CloudWatchResponse, "describe_alarms")
    def describe_alarms(original, self):
        response = original(self)
        names = self._get_param("AlarmNames") or []
        prefix = self._get_param("AlarmNamePrefix")
        action_prefix = self._get_param("ActionPrefix")
        state = self._get_param("StateValue")
        types = self._get_param("AlarmTypes") or ["MetricAlarm"]

        def keep(alarm: Any) -> bool:
            return ((not names or alarm.name in names)
                    and (not prefix or alarm.name.startswith(prefix))
                    and (not action_prefix or any(a.startswith(action_prefix) for a in alarm.alarm_actions or []))
                    and (not state or alarm.state_value == state))

        result = response.result
        for kind, key in (("MetricAlarm", "MetricAlarms"), ("CompositeAlarm", "CompositeAlarms")):
            result[key] = [a for a in result[key] if keep(a)] if kind in types else []
        return response


@patch(
    "ecs-deployments",
    "a deployment starts its tasks and ends COMPLETED (runningCount = desiredCount) once they are "
    "healthy; UpdateService with forceNewDeployment or a new task definition starts a new PRIMARY "
    "deployment (IN_PROGRESS) while the previous one stays ACTIVE until its tasks are replaced",
    "runs no tasks: every deployment stays IN_PROGRESS with runningCount 0 (or the one global "
    "MOTO_ECS_SERVICE_RUNNING), and forceNewDeployment only renames the single deployment",
    "there is no container to run, so a deployment's tasks are deemed running "
    "PYPICTL_MOTO_ECS_ROLLOUT_SECONDS (default 3) after it began: on DescribeServices such a PRIMARY "
    "deployment becomes COMPLETED with runningCount = desiredCount and the ACTIVE one it replaced is "
    "dropped; UpdateService with forceNewDeployment or a new task definition adds a new PRIMARY "
    "deployment and keeps the previous one as ACTIVE",
)
def patch_ecs_deployments() -> None:
    from moto.core.utils import utcnow
    from moto.ecs.models import EC2ContainerServiceBackend

    rollout = timedelta(seconds=float(os.environ.get("PYPICTL_MOTO_ECS_ROLLOUT_SECONDS", "3")))

    def settle(service: Any) -> None:
        deployments = service.deployments
        if not deployments or deployments[0].get("rolloutState") != "IN_PROGRESS":
            return
        primary = deployments[0]
        if utcnow() - primary["createdAt"] < rollout:
            return
        desired = service.desired_count
        primary.update(runningCount=desired, pendingCount=0, desiredCount=desired, rolloutState="COMPLETED",
                       rolloutStateReason=f"ECS deployment {primary['id']} completed.", updatedAt=utcnow())
        service.deployments = [primary]
        service.running_count, service.pending_count = desired, 0

    @wrap(EC2ContainerServiceBackend, "describe_services")
    def describe_services(original, self, *args, **kwargs):
        services, failures = original(self, *args, **kwargs)
        for service in services:
            settle(service)
        return services, failures

    @wrap(EC2ContainerServiceBackend, "update_service")
    def update_service(original, self, service_properties):
        force = bool(service_properties.get("force_new_deployment"))
        cluster = service_properties.get("cluster", "default").split("/")[-1]
        name = service_properties.get("service", "").split("/")[-1]
        before = self.services.get(f"{cluster}:{name}")
        previous = dict(before.deployments[0]) if before is not None and before.deployments else None
        old_definition = before.task_definition if before is not None else None
        service = original(self, service_properties)
        if previous is None or not (force or service.task_definition != old_definition):
            return service
        now = utcnow()
        primary = dict(previous)
        primary.update(id=f"ecs-svc/{uuid.uuid4().int % 10**19}", createdAt=now, updatedAt=now, status="PRIMARY",
                       taskDefinition=service.task_definition, desiredCount=service.desired_count, runningCount=0,
                       pendingCount=service.desired_count, rolloutState="IN_PROGRESS")
        primary["rolloutStateReason"] = f"ECS deployment {primary['id']} in progress."
        previous.update(status="ACTIVE", updatedAt=now)
        service.deployments = [primary, previous]
        return service


# --------------------------------------------------------------------------------------------------
# What blocks a deletion: container instances, scale-in protection, recovery points
# --------------------------------------------------------------------------------------------------

# The ECS agent's cluster setting in user data (/etc/ecs/ecs.config, written by cloud-init): a cluster
# name or ARN. In a cloud-config's JSON string the line ends at an escaped "\n".
ECS_CLUSTER_SETTING = re.compile(r"ECS_CLUSTER=([A-Za-z0-9_:/-]+)")


def _agent_cluster(instance: Any) -> str | None:
    """The cluster the ECS agent of an Auto Scaling group's instance joins, from its user data."""
    if getattr(instance, "autoscaling_group", None) is None or not instance.user_data:
        return None
    data = instance.user_data
    try:
        text = data.decode() if hasattr(data, "decode") and not isinstance(data, (str, bytes)) else (
            base64.b64decode(data).decode("utf-8", "replace"))
    except Exception:  # noqa: BLE001 - not base64: no agent configuration to read
        return None
    m = ECS_CLUSTER_SETTING.search(text)
    return m.group(1).split("/")[-1] if m else None


def _agent_register(instance: Any, ecs: Any) -> None:
    """Registers a running instance whose agent names an ACTIVE cluster of `ecs` (once)."""
    name = _agent_cluster(instance)
    cluster = ecs.clusters.get(name) if name else None
    if (cluster is None or cluster.status != "ACTIVE" or instance.state not in ("pending", "running")
            or instance.__dict__.get("_pypictl_container_instance")):
        return
    ci = ecs.register_container_instance(cluster.name, instance.id)
    instance._pypictl_container_instance = (ecs, cluster.name, ci.container_instance_arn)


@patch(
    "ecs-container-instances",
    "an EC2 instance whose user data sets ECS_CLUSTER=<name> (the ECS agent's /etc/ecs/ecs.config) "
    "registers as a container instance of that cluster; the agent retries until the cluster exists; "
    "a terminated instance is deregistered; DeleteCluster (and so CloudFormation's delete of "
    "AWS::ECS::Cluster) fails with ClusterContainsContainerInstancesException 'The Cluster cannot be "
    "deleted while Container Instances are active or draining.' (ECS API reference, DeleteCluster) "
    "while any is registered",
    "runs no agent: Auto Scaling launches the instances with the launch template's user data, but "
    "they never register (moto's register_container_instance is only the API), and DeleteCluster "
    "always succeeds (it marks the cluster INACTIVE); DeregisterContainerInstance leaves the "
    "cluster's registeredContainerInstancesCount as it was",
    "the agent, minimally: after FakeAutoScalingGroup.replace_autoscaling_group_instances (where moto "
    "launches a group's instances) each new instance whose decoded user data has ECS_CLUSTER=<name> "
    "registers if that cluster is ACTIVE, and create_cluster registers the running group instances "
    "that wait for it; Instance.terminate deregisters (force); delete_cluster refuses while the "
    "cluster has ACTIVE or DRAINING container instances; deregistration lowers the count",
)
def patch_ecs_container_instances() -> None:
    from moto.autoscaling.models import FakeAutoScalingGroup
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.instances import Instance
    from moto.ecs.exceptions import ECSException
    from moto.ecs.models import EC2ContainerServiceBackend, ecs_backends

    @wrap(FakeAutoScalingGroup, "replace_autoscaling_group_instances")
    def replace_autoscaling_group_instances(original, self, *args, **kwargs):
        before = {s.instance.id for s in self.instance_states}
        original(self, *args, **kwargs)
        ec2 = self.autoscaling_backend.ec2_backend
        ecs = ecs_backends[ec2.account_id][ec2.region_name]
        for state in self.instance_states:
            if state.instance.id not in before:
                _agent_register(state.instance, ecs)

    @wrap(EC2ContainerServiceBackend, "create_cluster")
    def create_cluster(original, self, *args, **kwargs):
        cluster = original(self, *args, **kwargs)
        for instance in ec2_backends[self.account_id][self.region_name].all_running_instances():
            _agent_register(instance, self)
        return cluster

    @wrap(Instance, "terminate")
    def terminate(original, self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        link = self.__dict__.pop("_pypictl_container_instance", None)
        if link:
            ecs, cluster, arn = link
            try:
                ecs.deregister_container_instance(cluster, arn, force=True)
            except Exception:  # noqa: BLE001 - deregistered already (API)
                pass
        return result

    @wrap(EC2ContainerServiceBackend, "deregister_container_instance")
    def deregister_container_instance(original, self, cluster_str, container_instance_str, force):
        ci = original(self, cluster_str, container_instance_str, force)
        cluster = self._get_cluster(cluster_str)
        cluster.registered_container_instances_count = max(0, cluster.registered_container_instances_count - 1)
        return ci  # the instance's agent, deregistered, does not register again

    @wrap(EC2ContainerServiceBackend, "delete_cluster")
    def delete_cluster(original, self, cluster_str):
        cluster = self._get_cluster(cluster_str)
        if any(ci.status in ("ACTIVE", "DRAINING") for ci in self.container_instances.get(cluster.name, {}).values()):
            raise ECSException(
                "ClusterContainsContainerInstancesException",
                "The Cluster cannot be deleted while Container Instances are active or draining.",
            )
        return original(self, cluster_str)


def _protected(state: Any) -> bool:
    value = state.protected_from_scale_in
    return value is True or str(value).lower() == "true"


@patch(
    "asg-delete-scale-in-protection",
    "CloudFormation deletes an AWS::AutoScaling::AutoScalingGroup by setting its minimum, maximum and "
    "desired sizes to 0 and waiting for its instances to terminate; instances protected from scale in "
    "never do ('Could not scale to desired capacity because all remaining instances are protected "
    "from scale-in'), so the deletion hangs until the stack operation times out and fails (aws-cdk "
    "issues 18179 and 14732)",
    "the group's CloudFormation delete (DeleteAutoScalingGroup) deletes the group whatever its "
    "instances: protected ones keep running, outside any group",
    "in FakeAutoScalingGroup.delete (CloudFormation's path only; the API is moto's): sizes to 0 "
    "first, which terminates the unprotected instances, then, if protected instances remain, fail "
    "at once (not after hours) with DELETE_FAILED naming them; the group stays, with sizes 0",
)
def patch_asg_delete_protection() -> None:
    from moto.autoscaling.models import FakeAutoScalingGroup, autoscaling_backends

    @wrap(FakeAutoScalingGroup, "delete")
    def delete(original, self, account_id, region_name):
        backend = autoscaling_backends[account_id][region_name]
        if self.name in backend.autoscaling_groups:
            self.min_size = self.max_size = 0
            backend.set_desired_capacity(self.name, 0)  # moto terminates only unprotected instances
            protected = [s.instance.id for s in self.instance_states if _protected(s)]
            if protected:
                raise HandlerFailure(
                    'Resource handler returned message: "Could not scale to desired capacity because all '
                    f"remaining instances are protected from scale-in: [{', '.join(protected)}]. The Auto "
                    'Scaling group cannot be deleted while it has instances." (HandlerErrorCode: NotStabilized)'
                )
        return original(self, account_id, region_name)


@patch(
    "backup-vault-not-empty",
    "DeleteBackupVault deletes only an empty vault: one holding recovery points fails with "
    "InvalidRequestException 'Backup vault cannot be deleted because it contains recovery points.' "
    "(AWS Backup API reference, DeleteBackupVault), and so does CloudFormation's delete of an "
    "AWS::Backup::BackupVault",
    "deletes the vault whatever it holds (moto has no recovery points at all)",
    "BackupBackend.delete_backup_vault, which both DeleteBackupVault and the BackupVault placeholder's "
    "delete call, refuses a vault that holds recovery points (patch backup-recovery-points)",
)
def patch_backup_vault_not_empty() -> None:
    from moto.backup.exceptions import InvalidRequestException
    from moto.backup.models import BackupBackend

    @wrap(BackupBackend, "delete_backup_vault")
    def delete_backup_vault(original, self, backup_vault_name):
        vault = self.vaults.get(backup_vault_name)
        if vault is not None and recovery_points(vault):
            raise InvalidRequestException(msg="Backup vault cannot be deleted because it contains recovery points.")
        return original(self, backup_vault_name)


# --------------------------------------------------------------------------------------------------
# Stack operations as on AWS: in the background, failures and rollbacks, faults, request tokens
# --------------------------------------------------------------------------------------------------

HARNESS_PREFIX = "/_pypictl/"


def _json_response(start_response: Callable, status: str, body: Any) -> list[bytes]:
    data = json.dumps(body, sort_keys=True).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def harness_route(environ: dict, start_response: Callable) -> list[bytes]:
    """POST/GET /_pypictl/faults (see the module docstring); nothing else under /_pypictl/."""
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
    if path.rstrip("/") != "/_pypictl/faults":
        return _json_response(start_response, "404 Not Found", {"error": f"no harness route {path}"})
    if method == "POST":
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else environ["wsgi.input"].read()
            doc = json.loads(raw or b"{}")
            if not isinstance(doc, dict) or set(doc) - set(FAULT_KINDS) or not all(
                    isinstance(v, list) and all(isinstance(x, str) for x in v) for v in doc.values()):
                raise ValueError(f"expected an object with lists of logical ids under {', '.join(FAULT_KINDS)}")
        except ValueError as e:
            return _json_response(start_response, "400 Bad Request", {"error": str(e)})
        for kind in FAULT_KINDS:
            FAULTS[kind] = set(doc.get(kind) or [])
        print(f"pypictl_moto: faults {({k: sorted(v) for k, v in FAULTS.items()})}", file=sys.stderr, flush=True)
    elif method != "GET":
        return _json_response(start_response, "405 Method Not Allowed", {"error": "GET or POST"})
    return _json_response(start_response, "200 OK", {k: sorted(v) for k, v in FAULTS.items()})


@patch(
    "async-operations",
    "stack operations take minutes and run in the background: ExecuteChangeSet, CreateStack, "
    "UpdateStack, DeleteStack, ContinueUpdateRollback and RollbackStack return at once; meanwhile "
    "the stack reads *_IN_PROGRESS, its events and its nested stacks' appear one by one (a nested "
    "stack resource goes CREATE_IN_PROGRESS, its nested stack runs its own operation, then the "
    "resource completes), DescribeStackResources lists the resources that exist, and no outputs "
    "appear before the stack is created; an update of a stack whose operation is in progress is "
    "refused ('Stack:<arn> is in UPDATE_IN_PROGRESS state and can not be updated.'), and so is its "
    "deletion during an update ('Stack [<name>] cannot be deleted while in status ...')",
    "every operation completes within its request (after up to seconds of work in one call), so no "
    "client code that polls a stack in progress is exercised; moto's backends are not thread-safe",
    "PYPICTL_MOTO_ASYNC=1: the request validates, emits the stack's first event and returns; the "
    "operation runs in a daemon thread. One global lock is held by every request (wrapping the "
    "server's DomainDispatcherApplication.__call__) and by the operation's thread, which releases "
    "it only while it sleeps PYPICTL_MOTO_RESOURCE_SECONDS (default 0.2) per resource created, "
    "updated or deleted (pause()). Only a stack operation creates resources (ResourceMap.__getitem__ "
    "never does for a request), DescribeStackResources lists the resources that exist, outputs are "
    "the ones resolved so far. Unset, each operation runs within its request as before, under the "
    "same lock. A deletion is refused during any operation (AWS accepts one during "
    "CREATE_IN_PROGRESS and cancels the creation: not modelled); a repeated DeleteStack while the "
    "stack is DELETE_IN_PROGRESS is accepted and does nothing",
)
def patch_async_operations() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    @wrap(DomainDispatcherApplication, "__call__")
    def __call__(original, self, environ, start_response):
        with _LOCK:
            if environ.get("PATH_INFO", "").startswith(HARNESS_PREFIX):
                return harness_route(environ, start_response)
            return original(self, environ, start_response)

    @wrap(cfn_models.CloudFormationBackend, "create_stack")
    def create_stack(original, self, name, template, parameters, *args, token=None, disable_rollback=False, **kwargs):
        if in_operation():  # a nested stack: created within its parent's operation
            return original(self, name, template, parameters, *args, **kwargs)
        existing = next((st for st in self.stacks.values() if st.name == name), None)
        if existing is not None and repeated("CreateStack", existing, token):
            return existing
        # moto's create_stack, with the resources created as a stack operation.
        created: list[Stack] = []
        real = Stack.create_resources

        def deferred(stack_self):
            created.append(stack_self)
            stack_self.status = "CREATE_IN_PROGRESS"

        Stack.create_resources = deferred
        try:
            stack = original(self, name, template, parameters, *args, **kwargs)
        finally:
            Stack.create_resources = real
        accepted("CreateStack", stack, token)
        stack.disable_rollback = bool(disable_rollback)
        if token:
            for event in stack.events:
                event.client_request_token = token
        operation(stack, lambda: stack.create_resources(), token=token, disable_rollback=bool(disable_rollback))
        return stack

    @wrap(cfn_responses.CloudFormationResponse, "create_stack")
    def create_stack_response(original, self):
        token, disable = self._get_param("ClientRequestToken"), self._get_bool_param("DisableRollback", False)
        if self._get_param("OnFailure") == "DO_NOTHING":
            disable = True
        backend = self.cloudformation_backend
        real = backend.create_stack
        # moto's response calls create_stack without these: hand them over for this call only
        backend.create_stack = lambda *a, **kw: real(*a, token=token, disable_rollback=disable, **kw)
        try:
            return original(self)
        finally:
            del backend.create_stack

    @wrap(cfn_models.CloudFormationBackend, "update_stack")
    def update_stack(original, self, name, template, role_arn, parameters, tags):
        if in_operation():
            return original(self, name, template, role_arn, parameters, tags)
        stack = self.get_stack(name)
        check_updatable(stack, "UPDATE")
        if stack.status in ("CREATE_FAILED", "UPDATE_FAILED"):
            raise ValidationError(message=non_terminal_failed(stack.status))
        stack.status = "UPDATE_IN_PROGRESS"  # its UPDATE_IN_PROGRESS event comes with Stack.update
        operation(stack, lambda: original(self, name, template, role_arn, parameters, tags))
        return stack

    @wrap(cfn_responses.CloudFormationResponse, "create_change_set")
    def create_change_set(original, self):
        name = self._get_param("StackName")
        if self._get_param("ChangeSetType", "CREATE") == "UPDATE":
            stack = next((st for st in self.cloudformation_backend.stacks.values()
                          if name in (st.name, st.stack_id)), None)
            if stack is not None:
                check_updatable(stack, "UPDATE")
        return original(self)


@patch(
    "fault-injection",
    "(harness only) resources fail on AWS for reasons of their own, during a creation, an update, or "
    "a rollback",
    "has no failure model",
    "FAULTS: three sets of resources, fail_create (initially PYPICTL_MOTO_FAIL_RESOURCES), "
    "fail_update and fail_rollback, replaced at run time by POST /_pypictl/faults (a route of the "
    "harness on the server's port, answered before moto's dispatch; GET reads them), so that one "
    "test can deploy, then make the next update fail. A faulty resource's creation or update fails "
    "with CREATE_FAILED / UPDATE_FAILED and a handler message 'Injected failure (...)'; during a "
    "rollback, its deletion (DELETE_FAILED) or its update back (UPDATE_FAILED) fails instead",
)
def patch_fault_injection() -> None:
    pass  # applied by patch_resource_events, rollback_update and the harness route


@patch(
    "update-rollback",
    "a resource that fails during an update fails its stack's update; a nested stack reports "
    "UPDATE_ROLLBACK_IN_PROGRESS and its parent's resource UPDATE_FAILED 'Embedded stack <arn> was not "
    "successfully updated. Currently in UPDATE_ROLLBACK_IN_PROGRESS with reason: The following "
    "resource(s) failed to update: [X]. '; the root goes UPDATE_ROLLBACK_IN_PROGRESS and puts back, "
    "newest first, every resource the update changed (UPDATE_IN_PROGRESS / UPDATE_COMPLETE in the "
    "parent for each nested stack it updated, which rolls back in turn), then deletes what the update "
    "added (UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS) and ends UPDATE_ROLLBACK_COMPLETE; a "
    "resource that cannot be put back is UPDATE_FAILED, its nested stack UPDATE_ROLLBACK_FAILED, the "
    "parent's resource UPDATE_FAILED ('Embedded stack <arn> was not successfully updated. Currently "
    "in UPDATE_ROLLBACK_FAILED with reason: ...') and the root UPDATE_ROLLBACK_FAILED; the resources "
    "an update removes are deleted only once it succeeded",
    "has no update failure: moto's ResourceMap.update retries a failing resource in passes and then "
    "raises (HTTP 500), deletes the removed resources first, keeps no previous state, and a nested "
    "stack never rolls back",
    "Stack.update records the stack as it was (template, parameters: class Op) and turns a failure "
    "into the statuses above; rollback_update() restores the template and parameters, re-runs moto's "
    "update of each changed resource with the previous properties (what moto cannot put back is "
    "logged, not failed), recurses into nested stacks, and tears down what was added. "
    "ResourceMap.update replaced: additions and modifications in dependency order, a ResourceFailed "
    "stops the update at once, removals last",
)
def patch_update_rollback() -> None:
    def update(self: ResourceMap, template: dict, parameters: dict | None = None) -> None:
        actions = self.build_resource_diff(template, parameters)
        old_json = self._resource_json_map
        self._template = template
        if parameters:
            self.input_parameters = parameters
        self.load_mapping()
        self.load_parameters()
        self.load_conditions()
        self._resource_json_map = template["Resources"]
        stack = stack_of(self)
        statuses = stack.__dict__.get("_pypictl_resource_status", {}) if stack is not None else {}
        pending = getattr(self, "_pypictl_pending", set())
        add = set(actions["Add"])
        modify = set(actions["Modify"])
        # What a failure with rollback disabled left (patch disable-rollback): retried.
        for lid, rjson in template["Resources"].items():
            if lid in add or lid in modify or lid not in old_json:
                continue
            if lid not in self._parsed_resources:
                if _condition_holds(self, rjson):
                    add.add(lid)
            elif lid in pending or statuses.get(lid, ("",))[0] in ("CREATE_FAILED", "UPDATE_FAILED"):
                modify.add(lid)
        self._pypictl_pending = set(modify)
        deps = dependencies(template["Resources"])
        order: list[str] = []

        def visit(lid: str, seen: set[str]) -> None:
            if lid in order or lid in seen:
                return
            seen.add(lid)
            for dep in sorted(deps.get(lid, ())):
                if dep in add or dep in modify:
                    visit(dep, seen)
            order.append(lid)

        for lid in template["Resources"]:
            if lid in add or lid in modify:
                visit(lid, set())
        work, last = order, None
        for _ in range(parsing.MAX_UPDATE_ATTEMPTS):
            retry = []
            for lid in work:
                if lid in add:
                    _ = self[lid]
                    continue
                try:
                    changed = parsing.parse_and_update_resource(
                        lid, self._resource_json_map[lid], self, account_id=self._account_id, region_name=self._region_name)
                except ResourceFailed:
                    raise
                except Exception as e:  # noqa: BLE001 - moto's passes: a dependency's turn may come first
                    last = e
                    retry.append(lid)
                    continue
                self._parsed_resources[lid] = changed
                self._pypictl_pending.discard(lid)
            if not retry:
                break
            work = retry
        else:
            raise last
        # The update succeeded: what it removed goes (AWS: in UPDATE_COMPLETE_CLEANUP_IN_PROGRESS).
        remove = [lid for lid in actions["Remove"] if _exists(self._parsed_resources.get(lid))]
        for _ in range(parsing.MAX_UPDATE_ATTEMPTS):
            retry = []
            for lid in remove:
                rjson = old_json[lid]
                if retained(rjson):
                    emit(stack, lid, rjson["Type"], "DELETE_SKIPPED",
                         getattr(self._parsed_resources[lid], "physical_resource_id", "") or "")
                    self._parsed_resources.pop(lid, None)
                    continue
                try:
                    self._delete_resource(self._parsed_resources[lid], rjson)
                except Exception as e:  # noqa: BLE001
                    last = e
                    retry.append(lid)
                    continue
                self._parsed_resources.pop(lid, None)
            if not retry:
                break
            remove = retry
        else:
            raise last

    ResourceMap.update = update


@patch(
    "disable-rollback",
    "ExecuteChangeSet (and CreateStack, UpdateStack) with DisableRollback=true, 'Preserve "
    "successfully provisioned resources': a failed resource stays CREATE_FAILED / UPDATE_FAILED, "
    "what succeeded stays, and the stack (and a nested stack that failed) ends CREATE_FAILED / "
    "UPDATE_FAILED with no rollback; the next update retries the failed resources (same template "
    "included), and must itself pass DisableRollback=true: otherwise ValidationError 'This stack is "
    "currently in a non-terminal [CREATE_FAILED] state. To update the stack from this state, please "
    "use the disable-rollback parameter with update-stack API. To rollback to the last known good "
    "state, use the rollback-stack API' (CloudFormation User Guide, 'Choose how to handle failures "
    "when provisioning resources' (stack-failure-options): 'When you update a stack that's in a "
    "FAILED state, you must select Preserve successfully provisioned resources'; the message is "
    "UpdateStack's as AWS returns it, used for ExecuteChangeSet too)",
    "ignores DisableRollback (moto's Stack.disable_rollback is always false) and has no failure to "
    "preserve",
    "the operation's thread carries DisableRollback (_op.disable_rollback): a failure sets the "
    "statuses and reasons above and stops; a nested stack that failed stays in its parent; "
    "ResourceMap.update retries what was never created or failed (and what the failed update did "
    "not reach), CreateChangeSet turns them into changes of a same-template change set; "
    "DescribeStacks shows DisableRollback",
)
def patch_disable_rollback() -> None:
    pass  # applied by the execute-change-set, nested-stack, update-rollback and change set patches


@patch(
    "rollback-stack",
    "RollbackStack rolls a CREATE_FAILED or UPDATE_FAILED stack back to its last known stable state: "
    "a CREATE_FAILED one is rolled back as a failed creation (ROLLBACK_COMPLETE), an UPDATE_FAILED "
    "one as a failed update (UPDATE_ROLLBACK_COMPLETE) (API reference, RollbackStack)",
    "has no RollbackStack (the action is not implemented)",
    "CloudFormationResponse.rollback_stack: the statuses above, with rollback() / rollback_update() "
    "as a stack operation",
)
def patch_rollback_stack() -> None:
    def rollback_stack(self):
        backend = self.cloudformation_backend
        stack = backend.get_stack(self._get_param("StackName"))
        token = self._get_param("ClientRequestToken")
        if repeated("RollbackStack", stack, token):
            return cfn_responses.ActionResult({"StackId": stack.stack_id})
        if stack.status not in ("CREATE_FAILED", "UPDATE_FAILED"):
            raise ValidationError(message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be rolled back.")
        accepted("RollbackStack", stack, token)
        op = op_of(stack)
        if stack.status == "CREATE_FAILED":
            failed = [lid for lid, st in stack.__dict__.get("_pypictl_resource_status", {}).items()
                      if st[0] == "CREATE_FAILED"]
            stack.status = "ROLLBACK_IN_PROGRESS"  # its event comes with rollback()
            operation(stack, lambda: rollback(stack, failed), token=token)
        else:
            with request_token(stack, token):
                stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", "User Initiated")
            if op is not None and not op.new_json:
                op.new_json = dict(stack.resource_map._resource_json_map)
            operation(stack, lambda: rollback_update(stack), token=token)
        return cfn_responses.ActionResult({"StackId": stack.stack_id})

    cfn_responses.CloudFormationResponse.rollback_stack = rollback_stack


@patch(
    "continue-update-rollback",
    "ContinueUpdateRollback continues the rollback of a root stack in UPDATE_ROLLBACK_FAILED: the "
    "resources that failed to roll back are tried again (UPDATE_ROLLBACK_FAILED again if one still "
    "fails), those named in ResourcesToSkip are marked UPDATE_COMPLETE and left as they are, and the "
    "stack ends UPDATE_ROLLBACK_COMPLETE. ResourcesToSkip names root resources by logical id and "
    "nested stacks' as <NestedStackName>.<LogicalId> (the nested stack's stack name); only "
    "resources that went UPDATE_FAILED during the rollback can be skipped, and a nested stack "
    "resource only once its nested stack is being or has been deleted (User Guide, 'Continue rolling "
    "back an update'; API reference, ContinueUpdateRollback); a stack in another status is refused",
    "has no ContinueUpdateRollback (the action is not implemented)",
    "CloudFormationResponse.continue_update_rollback: validates (ValidationError, the harness's "
    "wording for the skip refusals), emits UPDATE_ROLLBACK_IN_PROGRESS, and re-runs rollback_update() "
    "with the skips as a stack operation: it resumes with the resources not yet rolled back",
)
def patch_continue_update_rollback() -> None:
    def continue_update_rollback(self):
        backend = self.cloudformation_backend
        stack = backend.get_stack(self._get_param("StackName"))
        token = self._get_param("ClientRequestToken")
        skip = list(self._get_param("ResourcesToSkip", []) or [])
        if repeated("ContinueUpdateRollback", stack, token):
            return cfn_responses.EmptyResult()
        if stack.parent_id:
            raise ValidationError(message=f"Stack {stack.stack_id} is a nested stack: continue the rollback of its "
                                  f"root stack {stack.root_id} instead.")
        if stack.status != "UPDATE_ROLLBACK_FAILED":
            raise ValidationError(message=f"Stack:{stack.stack_id} is in {stack.status} state and can not continue "
                                  "an update rollback (only UPDATE_ROLLBACK_FAILED can).")
        for name in skip:
            target, lid = stack, name
            if "." in name:
                stack_name, lid = name.split(".", 1)
                target = next((st for st in backend.stacks.values()
                               if st.name == stack_name and st.root_id == stack.stack_id), None)
                if target is None:
                    raise ValidationError(message=f"ResourcesToSkip: [{name}]: no nested stack named {stack_name} "
                                          f"in stack {stack.name}.")
            op = op_of(target)
            rjson = target.resource_map._resource_json_map.get(lid) or (op.new_json.get(lid) if op else None)
            if rjson is None:
                raise ValidationError(message=f"ResourcesToSkip: [{name}]: resource {lid} does not exist in "
                                      f"stack {target.name}.")
            if op is None or lid not in op.rollback_failed:
                raise ValidationError(message=f"ResourcesToSkip: [{name}]: resource {lid} is not in UPDATE_FAILED "
                                      "state because of a failed rollback; only such resources can be skipped.")
            child = target.resource_map._parsed_resources.get(lid)
            if isinstance(child, Stack) and not child.status.startswith("DELETE_"):
                raise ValidationError(message=f"ResourcesToSkip: [{name}]: {lid} is a nested stack in "
                                      f"{child.status}: skip the resources of {child.name} that failed to roll "
                                      f"back instead ({child.name}.<LogicalId>).")
        accepted("ContinueUpdateRollback", stack, token)
        with request_token(stack, token):
            stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", "User Initiated")
        operation(stack, lambda: rollback_update(stack, set(skip)), token=token)
        return cfn_responses.EmptyResult()

    cfn_responses.CloudFormationResponse.continue_update_rollback = continue_update_rollback


@patch(
    "retain-except-on-create",
    "DeletionPolicy RetainExceptOnCreate behaves like Retain (DELETE_SKIPPED when the stack is "
    "deleted or the resource removed), except that if the stack operation that created the resource "
    "rolls back, the resource is deleted (User Guide, DeletionPolicy attribute)",
    "knows only Retain: RetainExceptOnCreate is deleted like Delete, on a stack's deletion too",
    "teardown() and the update's removals retain it unless the thread runs the rollback of the "
    "operation that created it (rollback() of a creation, nested stacks included; the cleanup of "
    "what a rolled-back update added)",
)
def patch_retain_except_on_create() -> None:
    pass  # applied by retained(), which teardown and ResourceMap.update use


@patch(
    "client-request-token",
    "ExecuteChangeSet, DeleteStack, ContinueUpdateRollback, CreateStack, UpdateStack and RollbackStack "
    "accept a ClientRequestToken (CreateChangeSet a ClientToken): a retried request with the same "
    "token is not an error and starts nothing new; the stack's events of that operation carry the "
    "token (ClientRequestToken in DescribeStackEvents)",
    "parses the tokens and ignores them: a retried ExecuteChangeSet fails (the change set was "
    "executed), a retried DeleteStack starts again",
    "remember (action, stack, token): a repeat is a no-op success; the operation's thread carries the "
    "token, and Event.__init__ puts it on the events of that stack",
)
def patch_client_request_token() -> None:
    @wrap(Event, "__init__")
    def __init__(original, self, *args, **kwargs):
        original(self, *args, **kwargs)
        token = getattr(_op, "token", None)
        if token and token[0] == self.stack_id:
            self.client_request_token = token[1]


@patch(
    "stack-status-reason",
    "DescribeStacks gives StackStatusReason, the reason of the stack's latest status ('The following "
    "resource(s) failed to update: [X]. ', 'User Initiated', ...), and DisableRollback",
    "has no StackStatusReason",
    "Stack._add_stack_event (every event of a stack about itself) records its reason as the stack's "
    "status_reason, which moto's serializer returns as StackStatusReason",
)
def patch_stack_status_reason() -> None:
    @wrap(Stack, "_add_stack_event")
    def _add_stack_event(original, self, resource_status, resource_status_reason=None, resource_properties=None):
        original(self, resource_status, resource_status_reason=resource_status_reason,
                 resource_properties=resource_properties)
        self.status_reason = resource_status_reason


# --------------------------------------------------------------------------------------------------


def apply_patches() -> None:
    for fn in (
        patch_event_clock,
        patch_resource_events,
        patch_delete_fallbacks,
        patch_events_pagination,
        patch_resource_status,
        patch_nested_stacks,
        patch_change_set_options,
        patch_no_changes,
        patch_execute_change_set,
        patch_unsupported_types,
        patch_getatt,
        patch_route53_ids,
        patch_kms_key_policy,
        patch_backup_recovery_points,
        patch_cloudwatch_rpc_v2_cbor,
        patch_describe_alarms_filters,
        patch_ecs_deployments,
        patch_ordered_delete,
        patch_ecs_container_instances,
        patch_asg_delete_protection,
        patch_backup_vault_not_empty,
        patch_async_operations,
        patch_fault_injection,
        patch_update_rollback,
        patch_disable_rollback,
        patch_rollback_stack,
        patch_continue_update_rollback,
        patch_retain_except_on_create,
        patch_client_request_token,
        patch_stack_status_reason,
    ):
        fn()


def describe() -> str:
    return "\n".join(f"{n}\n  AWS:  {a}\n  moto: {m}\n  fix:  {f}" for n, a, m, f in PATCHES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--url-file", help="write the endpoint here once the server listens")
    parser.add_argument("--describe", action="store_true", help="print the patches and exit")
    args = parser.parse_args()
    if args.describe:
        print(describe())
        return

    apply_patches()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    print(f"pypictl_moto: {len(PATCHES)} patches applied: {', '.join(p[0] for p in PATCHES)}", file=sys.stderr)
    print(url, flush=True)
    if args.url_file:
        tmp = f"{args.url_file}.tmp"
        with open(tmp, "w") as f:
            f.write(url + "\n")
        os.replace(tmp, args.url_file)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(3600):
        pass
    server.stop()


if __name__ == "__main__":
    main()
