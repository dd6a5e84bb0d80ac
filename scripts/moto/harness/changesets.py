"""Change sets: nested stacks and capabilities, "no changes", ExecuteChangeSet."""

from __future__ import annotations

import re
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import ChangeSet, Stack
from moto.cloudformation.parsing import ResourceMap
from moto.cloudformation.utils import get_stack_from_s3_url

from .core import InsufficientCapabilities, patch, ResourceFailed, wrap
from .operations import (
    accepted, begin, check_updatable, non_terminal_failed, operation, repeated, request_token, stack_event,
)


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
    # Imported here, when the patch is applied: the rollback module registers its patches after this one's.
    from .rollback import rollback, rollback_update

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
