"""Stack events: the event clock, per-resource events (and the faults they apply), deletion
fallbacks, DescribeStackEvents pagination, resource statuses."""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import timedelta
from typing import Any, Callable

from moto.cloudformation import parsing
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import Event, Stack
from moto.cloudformation.parsing import ResourceMap

from .core import HandlerFailure, patch, ResourceFailed, stack_of, wrap
from .operations import _op, faulty, injected, op_of, pause


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
