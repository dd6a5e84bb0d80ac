"""Nested stacks: outputs, ids, parent/root links, in-place updates, deletion."""

from __future__ import annotations

import threading
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError
from moto.cloudformation.models import Stack, cloudformation_backends
from moto.cloudformation.utils import get_stack_from_s3_url

from .core import HandlerFailure, patch, ResourceFailed, wrap
from .operations import (
    _op, accepted, begin, busy, in_operation, op_of, operation, parent_of, repeated, request_token,
    stack_event,
)
from .events import _reason, emit


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
    # Imported here, when the patch is applied: the rollback module registers its patches after this one's.
    from .rollback import rollback, rollback_update

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
