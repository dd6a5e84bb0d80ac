"""Deletion order: what depends on what, the order and the facts of AWS's deletions (patch
ordered-delete), used by DeleteStack and by rollbacks."""

from __future__ import annotations

import re
from typing import Any

from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.models import Stack
from moto.cloudformation.parsing import ResourceMap

from .core import _uuid, HandlerFailure, patch, stack_of, wrap
from .operations import _op, busy, in_operation
from .events import _reason, emit


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
