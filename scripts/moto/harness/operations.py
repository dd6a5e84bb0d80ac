"""Stack operations: synchronous or in the background, faults, what each operation did.

The machinery the patches share (no patch is registered here): ASYNC and RESOURCE_SECONDS, the global
lock every request and background operation holds, the thread's operation (_op), request tokens, the
fault sets and their harness route (POST/GET /_pypictl/faults, applied by patch async-operations),
the ECS deployments that will fail and their route (POST/GET /_pypictl/deployment-faults, used by
patch ecs-circuit-breaker), the operation record (Op), and AWS's refusals of an update from a status
that does not allow one."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sys
import threading
import time
import traceback
from typing import Any, Callable

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import Stack, cloudformation_backends


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


# The next ECS deployments that fail (patch ecs-circuit-breaker): one entry per deployment, each a
# service name, <cluster>/<service>, or "*" (any service); an entry is used up by the first deployment
# UpdateService starts for a service it names. Replaced by POST /_pypictl/deployment-faults.
DEPLOYMENT_FAULTS: list[str] = []


def take_deployment_fault(cluster: str, service: str) -> bool:
    """Whether the deployment UpdateService is starting for cluster/service must fail; uses up the
    first entry that names it."""
    for i, entry in enumerate(DEPLOYMENT_FAULTS):
        if entry in ("*", service, f"{cluster}/{service}"):
            del DEPLOYMENT_FAULTS[i]
            print(f"pypictl_moto: the deployment of {cluster}/{service} will fail ({entry!r} used up)",
                  file=sys.stderr, flush=True)
            return True
    return False


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


HARNESS_PREFIX = "/_pypictl/"


def _json_response(start_response: Callable, status: str, body: Any) -> list[bytes]:
    data = json.dumps(body, sort_keys=True).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _read_json(environ: dict) -> Any:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else environ["wsgi.input"].read()
    return json.loads(raw or b"{}")


def deployment_faults_route(environ: dict, start_response: Callable) -> list[bytes]:
    """POST/GET /_pypictl/deployment-faults: the ECS deployments that will fail (DEPLOYMENT_FAULTS)."""
    method = environ.get("REQUEST_METHOD", "GET")
    if method == "POST":
        try:
            doc = _read_json(environ)
            entries = doc.get("fail_deployment") if isinstance(doc, dict) else None
            if not isinstance(doc, dict) or set(doc) - {"fail_deployment"} or not isinstance(entries or [], list) or not all(
                    isinstance(x, str) and x.strip() for x in entries or []):
                raise ValueError('expected {"fail_deployment": [...]}: service names, <cluster>/<service>, or "*"')
        except ValueError as e:
            return _json_response(start_response, "400 Bad Request", {"error": str(e)})
        DEPLOYMENT_FAULTS[:] = [x.strip() for x in entries or []]
        print(f"pypictl_moto: deployment faults {DEPLOYMENT_FAULTS}", file=sys.stderr, flush=True)
    elif method != "GET":
        return _json_response(start_response, "405 Method Not Allowed", {"error": "GET or POST"})
    return _json_response(start_response, "200 OK", {"fail_deployment": list(DEPLOYMENT_FAULTS)})


def harness_route(environ: dict, start_response: Callable) -> list[bytes]:
    """POST/GET /_pypictl/faults and /_pypictl/deployment-faults (see scripts/moto/pypictl_moto.py's
    docstring); nothing else under /_pypictl/."""
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
    if path.rstrip("/") == "/_pypictl/deployment-faults":
        return deployment_faults_route(environ, start_response)
    if path.rstrip("/") != "/_pypictl/faults":
        return _json_response(start_response, "404 Not Found", {"error": f"no harness route {path}"})
    if method == "POST":
        try:
            doc = _read_json(environ)
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
