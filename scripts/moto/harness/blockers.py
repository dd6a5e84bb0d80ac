"""What blocks a deletion: container instances, scale-in protection, recovery points."""

from __future__ import annotations

import base64
import re
from typing import Any

from .core import HandlerFailure, patch, wrap
from .backup import recovery_points


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
