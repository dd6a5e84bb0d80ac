"""Stack operations as on AWS, in the background (patch async-operations), and fault injection."""

from __future__ import annotations

from moto.cloudformation import models as cfn_models
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import Stack

from .core import patch, wrap
from .operations import (
    _LOCK, accepted, check_updatable, HARNESS_PREFIX, harness_route, in_operation, non_terminal_failed,
    operation, repeated,
)


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
