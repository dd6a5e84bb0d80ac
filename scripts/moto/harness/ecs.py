"""ECS deployments: rollouts that complete."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from typing import Any

from .core import patch, wrap


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
