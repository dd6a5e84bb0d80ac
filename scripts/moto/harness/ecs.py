"""ECS deployments: rollouts that complete, and (on request) fail with the circuit breaker's rollback."""

from __future__ import annotations

import math
import os
import uuid
from datetime import timedelta
from typing import Any

from .core import patch, wrap
from .operations import take_deployment_fault


def _rollout() -> timedelta:
    return timedelta(seconds=float(os.environ.get("PYPICTL_MOTO_ECS_ROLLOUT_SECONDS", "3")))


def _new_id() -> str:
    return f"ecs-svc/{uuid.uuid4().int % 10**19}"


def _failing(service: Any) -> set[str]:
    """Ids of the service's deployments whose tasks fail to start (patch ecs-circuit-breaker)."""
    return service.__dict__.setdefault("_pypictl_failing", set())


def _threshold(desired: int) -> int:
    """The circuit breaker's failure threshold: half the desired count, at least 3, at most 200."""
    return min(200, max(3, math.ceil(desired / 2)))


def _service_event(service: Any, message: str, at: Any) -> None:
    """A service event (DescribeServices lists them newest first)."""
    service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": at, "message": message})


def settle(service: Any) -> None:
    """Brings a service's deployments up to date with the time (the state is computed when read):
    a PRIMARY deployment IN_PROGRESS for the rollout time completes and the deployments it replaced
    are dropped; one whose tasks fail to start trips the circuit breaker instead (FAILED, and a
    rollback deployment becomes PRIMARY), and that rollback completes after the rollout time in turn."""
    from moto.core.utils import utcnow

    rollout = _rollout()
    for _ in range(4):  # at most: trip, complete the rollback; bounded whatever the state
        deployments = service.deployments
        if not deployments or deployments[0].get("rolloutState") != "IN_PROGRESS":
            return
        primary = deployments[0]
        due = primary["createdAt"] + rollout
        failing = primary["id"] in _failing(service)
        if failing:
            elapsed = (utcnow() - primary["createdAt"]) / rollout if rollout.total_seconds() > 0 else 1.0
            threshold = _threshold(service.desired_count)
            # Tasks fail one after another from the start: failedTasks climbs to the threshold.
            primary["failedTasks"] = max(1, min(threshold, 1 + int((threshold - 1) * elapsed)))
        if utcnow() < due:
            return
        if failing:
            _trip(service, primary, due)
            continue
        desired = service.desired_count
        primary.update(runningCount=desired, pendingCount=0, desiredCount=desired, rolloutState="COMPLETED",
                       rolloutStateReason=f"ECS deployment {primary['id']} completed.", updatedAt=utcnow())
        service.deployments = [primary]
        service.running_count, service.pending_count = desired, 0


def _trip(service: Any, failed: dict, at: Any) -> None:
    """The circuit breaker trips on `failed` (the PRIMARY deployment) at `at`: it is FAILED, and ECS
    rolls back to the last COMPLETED deployment with a new PRIMARY deployment of its task definition."""
    _failing(service).discard(failed["id"])
    failed.update(rolloutState="FAILED", rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.",
                  failedTasks=_threshold(service.desired_count), runningCount=0, pendingCount=0, updatedAt=at)
    _service_event(service, f"(service {service.name}) (deployment {failed['id']}) deployment failed: tasks failed "
                   "to start.", at)
    others = service.deployments[1:]
    target = next((d for d in others if d.get("rolloutState") == "COMPLETED"), None)
    if target is None:  # nothing to roll back to: the failed deployment stays PRIMARY
        return
    desired = service.desired_count
    rollback = dict(target)
    rollback.update(id=_new_id(), status="PRIMARY", createdAt=at, updatedAt=at, taskDefinition=target["taskDefinition"],
                    desiredCount=desired, runningCount=0, pendingCount=desired, failedTasks=0,
                    rolloutState="IN_PROGRESS",
                    rolloutStateReason=f"ECS deployment circuit breaker: rolling back to deploymentId {target['id']}.")
    failed["status"] = "ACTIVE"
    service.task_definition = target["taskDefinition"]
    service.deployments = [rollback, failed, *others]
    _service_event(service, f"(service {service.name}) rolling back to deployment {target['id']}.", at)


@patch(
    "ecs-deployments",
    "a deployment starts its tasks and ends COMPLETED (runningCount = desiredCount) once they are "
    "healthy; UpdateService with forceNewDeployment or a new task definition starts a new PRIMARY "
    "deployment (IN_PROGRESS) while the previous one stays ACTIVE until its tasks are replaced",
    "runs no tasks: every deployment stays IN_PROGRESS with runningCount 0 (or the one global "
    "MOTO_ECS_SERVICE_RUNNING), and forceNewDeployment only renames the single deployment",
    "there is no container to run, so a deployment's tasks are deemed running "
    "PYPICTL_MOTO_ECS_ROLLOUT_SECONDS (default 3) after it began: on DescribeServices (and before "
    "UpdateService changes the service) such a PRIMARY deployment becomes COMPLETED with runningCount "
    "= desiredCount and the deployments it replaced are dropped; UpdateService with "
    "forceNewDeployment or a new task definition adds a new PRIMARY deployment and keeps the previous "
    "one (and any other still listed) as ACTIVE",
)
def patch_ecs_deployments() -> None:
    from moto.core.utils import utcnow
    from moto.ecs.models import EC2ContainerServiceBackend

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
        if before is not None:
            settle(before)
        previous = dict(before.deployments[0]) if before is not None and before.deployments else None
        older = list(before.deployments[1:]) if before is not None else []
        old_definition = before.task_definition if before is not None else None
        service = original(self, service_properties)
        if previous is None or not (force or service.task_definition != old_definition):
            return service
        now = utcnow()
        primary = dict(previous)
        primary.update(id=_new_id(), createdAt=now, updatedAt=now, status="PRIMARY",
                       taskDefinition=service.task_definition, desiredCount=service.desired_count, runningCount=0,
                       pendingCount=service.desired_count, failedTasks=0, rolloutState="IN_PROGRESS")
        primary["rolloutStateReason"] = f"ECS deployment {primary['id']} in progress."
        previous.update(status="ACTIVE", updatedAt=now)
        # Every deployment still listed keeps its tasks until the new one has replaced them.
        service.deployments = [primary, previous, *older]
        if take_deployment_fault(cluster, name):
            _failing(service).add(primary["id"])
        return service


@patch(
    "ecs-circuit-breaker",
    "with the deployment circuit breaker and rollback on (as the Service template sets them), a "
    "deployment whose tasks keep failing to start ends rolloutState FAILED once failedTasks reaches "
    "the threshold (half the desired count, at least 3, at most 200), with the reason 'ECS deployment "
    "circuit breaker: tasks failed to start.', launches no more tasks, and ECS rolls the service back "
    "to the last COMPLETED deployment: a new PRIMARY deployment of that task definition, IN_PROGRESS "
    "then COMPLETED, after which the failed deployment is no longer listed; the service's events say "
    "so",
    "has no tasks and no circuit breaker: no deployment ever fails",
    "fault injection: POST /_pypictl/deployment-faults {\"fail_deployment\": [...]} (a service name, "
    "<cluster>/<service>, or \"*\" for any; GET reads the list) makes the next deployment UpdateService "
    "starts for a named service one whose tasks fail to start (each entry is used up by one "
    "deployment). That deployment is PRIMARY IN_PROGRESS with runningCount 0 and failedTasks climbing "
    "from 1; PYPICTL_MOTO_ECS_ROLLOUT_SECONDS after it began it becomes ACTIVE, FAILED with that "
    "reason and failedTasks at the threshold, and a rollback deployment of the last COMPLETED one's "
    "task definition becomes PRIMARY IN_PROGRESS (reason 'ECS deployment circuit breaker: rolling "
    "back to deploymentId <id>.'), the deployment it rolls back to still listed as ACTIVE; a rollout "
    "time later the rollback is COMPLETED and the only deployment listed. Two service events are "
    "added (deployment failed; rolling back). Without a COMPLETED deployment to roll back to, the "
    "failed one stays PRIMARY. No stopped tasks are recorded",
)
def patch_ecs_circuit_breaker() -> None:
    pass  # applied by patch ecs-deployments (settle, update_service) and the harness route
