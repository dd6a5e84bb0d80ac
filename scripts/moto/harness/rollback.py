"""Stack operations as on AWS: failures and rollbacks (rollback(), rollback_update(), UpdateStack's
rollback, DisableRollback, RollbackStack, ContinueUpdateRollback, RetainExceptOnCreate), request
tokens, status reasons."""

from __future__ import annotations

import sys
import traceback

from moto.cloudformation import parsing
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import Event, Stack
from moto.cloudformation.parsing import ResourceMap

from .core import patch, ResourceFailed, stack_of, wrap
from .operations import (
    _op, accepted, faulty, flag, injected, Op, op_of, operation, pause, repeated, request_token, stack_event,
)
from .events import emit
from .teardown import _exists, _failed_to_delete, dependencies, retained, teardown
from .changesets import _condition_holds


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
