"""The smoke test's checks that follow its flow (scripts/moto/smoke.py): the retained backup vaults,
CloudWatch over Smithy RPC v2 CBOR, then what blocks a deletion: the ECS agent's container
instances, a vault's recovery points (through the APIs and a stack), and the synthesized Compute
template's teardown, with a probe per resource type of what it left behind; and an ECS deployment
that fails on request (the circuit breaker and its rollback)."""

import json
import time
from datetime import datetime

import seed as seed_mod  # scripts/moto/seed.py
from smoke_support import all_events, check, wait_for


def check_backup_vaults(backup, names: list[str]) -> None:
    """Empties and deletes the retained vaults as `destroy --force-destroy-data` does (patch
    backup-recovery-points: moto runs no backup jobs, so there is nothing to empty)."""
    from botocore.exceptions import ClientError

    def error_code(call) -> str:
        try:
            call()
        except ClientError as e:
            return e.response["Error"]["Code"]
        return "no error"

    check(bool(names), "no AWS::Backup::BackupVault among the stacks' resources")
    for name in names:
        points = backup.list_recovery_points_by_backup_vault(BackupVaultName=name)
        check(points["RecoveryPoints"] == [] and "NextToken" not in points, f"{name}: recovery points {points}")
        arn = f"arn:aws:backup:{seed_mod.REGION}:123456789012:recovery-point:{name}/none"
        code = error_code(lambda: backup.delete_recovery_point(BackupVaultName=name, RecoveryPointArn=arn))
        check(code == "ResourceNotFoundException", f"DeleteRecoveryPoint of a missing recovery point: {code}")
        backup.delete_backup_vault(BackupVaultName=name)
        code = error_code(lambda: backup.list_recovery_points_by_backup_vault(BackupVaultName=name))
        check(code == "ResourceNotFoundException", f"{name}: ListRecoveryPointsByBackupVault after the delete: {code}")


def check_cloudwatch_cbor(endpoint: str, cfg) -> None:
    """CloudWatch as the Rust SDK calls it (patch cloudwatch-rpc-v2-cbor), through botocore's own
    RPC v2 CBOR client: boto3 picks the JSON protocol by default, so the protocol is forced here."""
    from datetime import timedelta, timezone

    import boto3
    import botocore.model
    from botocore.exceptions import ClientError

    preferred = botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS
    botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = ("smithy-rpc-v2-cbor",)
    try:
        cw = boto3.client("cloudwatch", region_name=seed_mod.REGION, endpoint_url=endpoint, config=cfg)
    finally:
        botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = preferred
    check(cw.meta.service_model.resolved_protocol == "smithy-rpc-v2-cbor", "botocore did not pick RPC v2 CBOR")
    wire: list = []
    cw.meta.events.register("after-call", lambda http_response, **_: wire.append(http_response))

    now = datetime.now(timezone.utc).replace(microsecond=0)
    dims = [{"Name": "LoadBalancer", "Value": "app/pypi-smoke/0123456789abcdef"}]
    cw.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=[
        {"MetricName": "RequestCount", "Dimensions": dims, "Timestamp": now - timedelta(minutes=m), "Value": v, "Unit": "Count"}
        for m, v in ((1, 3.0), (2, 5.5), (3, 7.25))])
    out = cw.get_metric_data(
        MetricDataQueries=[{"Id": "requests", "MetricStat": {
            "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount", "Dimensions": dims},
            "Period": 60, "Stat": "Sum"}}],
        StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=1))
    result = out["MetricDataResults"][0]
    check(sorted(result["Values"]) == [3.0, 5.5, 7.25], f"GetMetricData values {result['Values']}")
    check(all(t.tzinfo and now - timedelta(minutes=10) <= t <= now for t in result["Timestamps"]),
          f"GetMetricData timestamps {result['Timestamps']}")
    check(wire[-1].headers.get("smithy-protocol") == "rpc-v2-cbor"
          and wire[-1].headers.get("content-type") == "application/cbor", f"response headers {dict(wire[-1].headers)}")

    for name in ("pypi-smoke-firing", "pypi-smoke-ok"):
        cw.put_metric_alarm(AlarmName=name, Namespace="AWS/ApplicationELB", MetricName="RequestCount", Statistic="Sum",
                            Period=60, EvaluationPeriods=1, Threshold=5.5, ComparisonOperator="GreaterThanThreshold")
    cw.set_alarm_state(AlarmName="pypi-smoke-firing", StateValue="ALARM", StateReason="smoke")
    firing = cw.describe_alarms(AlarmNamePrefix="pypi-smoke-", StateValue="ALARM",
                                AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    names = [a["AlarmName"] for a in firing["MetricAlarms"]]
    check(names == ["pypi-smoke-firing"] and firing["CompositeAlarms"] == [], f"firing alarms {names}")
    alarm = firing["MetricAlarms"][0]
    check(alarm["Threshold"] == 5.5 and alarm["StateUpdatedTimestamp"].tzinfo is not None, f"alarm {alarm}")
    check(cw.describe_alarms(AlarmNamePrefix="pypi-smoke-", AlarmTypes=["CompositeAlarm"])["MetricAlarms"] == [],
          "DescribeAlarms AlarmTypes=[CompositeAlarm] returned metric alarms")
    cw.delete_alarms(AlarmNames=["pypi-smoke-firing", "pypi-smoke-ok"])
    try:
        cw.get_dashboard(DashboardName="pypi-smoke-none")
        check(False, "GetDashboard of a missing dashboard succeeded")
    except ClientError as e:
        status, code = e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]
        check((status, code) == (404, "ResourceNotFound"), f"GetDashboard of a missing dashboard: {status} {code}")
        check(wire[-1].headers.get("x-amzn-query-error") == "ResourceNotFound;Sender",
              f"x-amzn-query-error {wire[-1].headers.get('x-amzn-query-error')}")


def _error_code(call) -> str:
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"]
    return "no error"


def _user_data(cluster: str) -> str:
    """A cloud-config as pypictl writes it: the agent's settings in /etc/ecs/ecs.config."""
    import base64

    doc = {"write_files": [{"path": "/etc/ecs/ecs.config", "content": f"ECS_CLUSTER={cluster}\nECS_ENABLE_TASK_IAM_ROLE=true\n"}]}
    return base64.b64encode(("#cloud-config\n" + json.dumps(doc)).encode()).decode()


def check_ecs_agent(client, seeded: dict) -> None:
    """Patch ecs-container-instances through the APIs: a group's instance registers in the cluster its
    user data names, at launch if the cluster exists, else when it is created; DeleteCluster is refused
    while one is registered; an instance that terminates (scale to 0, group deleted) deregisters."""
    ec2, asg, ecs = client("ec2"), client("autoscaling"), client("ecs")
    suffix = time.time_ns() % 10**8
    early, late = f"smoke-early-{suffix}", f"smoke-late-{suffix}"
    ecs.create_cluster(clusterName=early)
    for cluster in (early, late):
        ec2.create_launch_template(LaunchTemplateName=cluster, LaunchTemplateData={
            "ImageId": "ami-12c6146b", "InstanceType": "t3.small", "UserData": _user_data(cluster)})
        asg.create_auto_scaling_group(AutoScalingGroupName=cluster, MinSize=1, MaxSize=2, DesiredCapacity=1,
                                      LaunchTemplate={"LaunchTemplateName": cluster, "Version": "$Latest"},
                                      VPCZoneIdentifier=seeded["asg_subnets"][0])

    def registered(cluster: str) -> list[str]:
        arns = ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]
        return [ci["ec2InstanceId"] for ci in ecs.describe_container_instances(cluster=cluster, containerInstances=arns)[
            "containerInstances"]] if arns else []

    def group_instances(name: str) -> list[str]:
        return [i["InstanceId"] for i in asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
            "AutoScalingGroups"][0]["Instances"]]

    check(registered(early) == group_instances(early), f"{early}: registered {registered(early)}, group {group_instances(early)}")
    ecs.create_cluster(clusterName=late)
    check(registered(late) == group_instances(late) != [], f"{late}: the waiting instance did not register on creation")
    described = ecs.describe_clusters(clusters=[late])["clusters"][0]
    check(described["registeredContainerInstancesCount"] == 1, f"{late}: count {described['registeredContainerInstancesCount']}")
    for cluster in (early, late):
        code = _error_code(lambda: ecs.delete_cluster(cluster=cluster))
        check(code == "ClusterContainsContainerInstancesException", f"DeleteCluster {cluster} with an instance: {code}")
    asg.update_auto_scaling_group(AutoScalingGroupName=late, MinSize=0, DesiredCapacity=0)
    check(registered(late) == [], f"{late}: still registered after scaling to 0: {registered(late)}")
    check(ecs.describe_clusters(clusters=[late])["clusters"][0]["registeredContainerInstancesCount"] == 0, "count after deregistration")
    asg.delete_auto_scaling_group(AutoScalingGroupName=early, ForceDelete=True)
    check(registered(early) == [], f"{early}: still registered after its group was deleted")
    for cluster in (early, late):
        check(ecs.delete_cluster(cluster=cluster)["cluster"]["status"] == "INACTIVE", f"{cluster}: not deleted once empty")
    asg.delete_auto_scaling_group(AutoScalingGroupName=late, ForceDelete=True)
    for cluster in (early, late):
        ec2.delete_launch_template(LaunchTemplateName=cluster)


def _recovery_point(backup, vault: str) -> str:
    return backup.start_backup_job(
        BackupVaultName=vault, IamRoleArn="arn:aws:iam::123456789012:role/smoke-backup",
        ResourceArn=f"arn:aws:elasticfilesystem:{seed_mod.REGION}:123456789012:file-system/fs-0123456789abcdef0",
    )["RecoveryPointArn"]


def check_recovery_points(client) -> None:
    """Patches backup-recovery-points and backup-vault-not-empty through the API."""
    backup = client("backup")
    vault = f"smoke-vault-{time.time_ns() % 10**8}"
    backup.create_backup_vault(BackupVaultName=vault)
    arn = _recovery_point(backup, vault)
    check(arn.startswith(f"arn:aws:backup:{seed_mod.REGION}:") and ":recovery-point:" in arn, f"recovery point ARN {arn}")
    points = backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"]
    check([(p["RecoveryPointArn"], p["Status"], p["ResourceType"]) for p in points] == [(arn, "COMPLETED", "EFS")],
          f"{vault}: recovery points {points}")
    listed = [v for v in backup.list_backup_vaults()["BackupVaultList"] if v["BackupVaultName"] == vault]
    check(listed and listed[0]["NumberOfRecoveryPoints"] == 1, f"{vault}: NumberOfRecoveryPoints {listed}")
    code = _error_code(lambda: backup.delete_backup_vault(BackupVaultName=vault))
    check(code == "InvalidRequestException", f"DeleteBackupVault of a vault with a recovery point: {code}")
    code = _error_code(lambda: backup.start_backup_job(BackupVaultName=f"{vault}-none", IamRoleArn="arn:aws:iam::123456789012:role/r",
                                                       ResourceArn="arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-1"))
    check(code == "ResourceNotFoundException", f"StartBackupJob into a missing vault: {code}")
    backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=arn)
    check(backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"] == [], f"{vault}: not emptied")
    backup.delete_backup_vault(BackupVaultName=vault)
    code = _error_code(lambda: backup.describe_backup_vault(BackupVaultName=vault))
    check(code == "ResourceNotFoundException", f"{vault}: DescribeBackupVault after the delete: {code}")


def _settled(cfn, stack_id: str) -> dict:
    return wait_for(f"{stack_id} to settle", lambda: (lambda st: None if st["StackStatus"].endswith("_IN_PROGRESS") else st)(
        cfn.describe_stacks(StackName=stack_id)["Stacks"][0]))


def _resource_events(cfn, stack_id: str) -> list[tuple[str, str, str]]:
    """(logical id, status, reason) of a stack's resource events, oldest first."""
    events, _ = all_events(cfn, stack_id)
    return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason") or "")
            for e in reversed(events) if e["LogicalResourceId"] != e["StackName"]]


def _stack_reason(cfn, stack_id: str) -> str:
    """The reason of a stack's own last event (moto's DescribeStacks has no StackStatusReason)."""
    events, _ = all_events(cfn, stack_id)
    return next((e.get("ResourceStatusReason") or "" for e in events if e["LogicalResourceId"] == e["StackName"]), "")


def check_vault_stack(client) -> None:
    """Patch backup-vault-not-empty through CloudFormation: a vault the stack deletes (not pypictl's,
    which is retained) that holds a recovery point fails to delete, and the stack with it."""
    cfn, backup = client("cloudformation"), client("backup")
    name = f"smoke-vault-stack-{time.time_ns() % 10**8}"
    template = {"Resources": {"Vault": {"Type": "AWS::Backup::BackupVault", "DeletionPolicy": "Delete",
                                        "Properties": {"BackupVaultName": name}}}}
    stack_id = cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))["StackId"]
    check(_settled(cfn, stack_id)["StackStatus"] == "CREATE_COMPLETE", f"{name}: not created")
    arn = _recovery_point(backup, name)
    cfn.delete_stack(StackName=stack_id)
    st = _settled(cfn, stack_id)
    check(st["StackStatus"] == "DELETE_FAILED", f"{name}: {st['StackStatus']} with a recovery point in its vault")
    failed = [r for lid, status, r in _resource_events(cfn, stack_id) if lid == "Vault" and status == "DELETE_FAILED"]
    check(len(failed) == 1 and "InvalidRequestException" in failed[0] and "contains recovery points" in failed[0],
          f"{name}: Vault DELETE_FAILED reasons {failed}")
    backup.delete_recovery_point(BackupVaultName=name, RecoveryPointArn=arn)
    cfn.delete_stack(StackName=stack_id)
    check(_settled(cfn, stack_id)["StackStatus"] == "DELETE_COMPLETE", f"{name}: not deleted once the vault was emptied")
    check(_error_code(lambda: backup.describe_backup_vault(BackupVaultName=name)) == "ResourceNotFoundException",
          f"{name}: the vault survived its stack")


def check_compute_teardown(client, seeded: dict, compute: dict) -> None:
    """Patches ordered-delete, ecs-container-instances and asg-delete-scale-in-protection with the
    synthesized Compute template, as a stack of its own whose last resource fails (an ECS service in a
    cluster that does not exist), so that the stack rolls back:
      - as synthesized (user data ECS_CLUSTER=${Cluster}, no scale-in protection): the group and its
        instances are deleted before the cluster, ROLLBACK_COMPLETE, nothing re-created afterwards;
      - the template before the fix, the cluster's name written out in the user data: nothing orders
        the cluster after the group, its deletion meets the registered instances
        (ClusterContainsContainerInstancesException), ROLLBACK_FAILED; deleting the stack again then
        completes (the group, deleted meanwhile, took its instances with it);
      - instances protected from scale in (the group and the capacity provider before the fix): the
        group fails to delete, naming them, and what it depends on (launch template, cluster) stays;
        ROLLBACK_FAILED; once the protection is removed, deleting the stack completes."""
    cfn, asg, ecs, ec2 = client("cloudformation"), client("autoscaling"), client("ecs"), client("ec2")
    user_data = compute["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    check("ECS_CLUSTER=${Cluster}" in user_data, "the synthesized user data does not reference the cluster (ECS_CLUSTER=${Cluster})")
    sg = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [seeded["vpc_id"]]}])["SecurityGroups"][0]["GroupId"]

    def launch(variant: str, edit) -> tuple[str, str]:
        template = json.loads(json.dumps(compute))
        name = f"smoke-{variant}-{time.time_ns() % 10**8}"
        res = template["Resources"]
        res["Cluster"]["Properties"]["ClusterName"] = name
        res["SmokeFailsLast"] = {"Type": "AWS::ECS::Service", "DependsOn": ["ClusterCapacityProviders"], "Properties": {
            "Cluster": f"{name}-no-such-cluster", "TaskDefinition": f"{name}-none:1", "DesiredCount": 0}}
        edit(res, name)
        stack_id = cfn.create_stack(StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"],
                                    Parameters=[{"ParameterKey": "InstanceSecurityGroupId", "ParameterValue": sg}])["StackId"]
        return name, stack_id

    def written_out(res, name):
        data = res["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]
        data["Fn::Sub"] = data["Fn::Sub"].replace("${Cluster}", name)

    def protected(res, name):
        res["AutoScalingGroup"]["Properties"]["NewInstancesProtectedFromScaleIn"] = True
        res["CapacityProvider"]["Properties"]["AutoScalingGroupProvider"]["ManagedTerminationProtection"] = "ENABLED"

    def index(events, lid: str, status: str) -> int:
        found = [i for i, (l, s, _) in enumerate(events) if (l, s) == (lid, status)]
        check(bool(found), f"no {status} event for {lid}: {events}")
        return found[0]

    # As synthesized.
    name, stack_id = launch("synthesized", lambda res, name: None)
    st = _settled(cfn, stack_id)
    events = _resource_events(cfn, stack_id)
    check(st["StackStatus"] == "ROLLBACK_COMPLETE", f"{name}: {st['StackStatus']}: {[e for e in events if 'FAILED' in e[1]]}")
    check(index(events, "AutoScalingGroup", "DELETE_COMPLETE") < index(events, "Cluster", "DELETE_IN_PROGRESS")
          and index(events, "ClusterCapacityProviders", "DELETE_COMPLETE") < index(events, "CapacityProvider", "DELETE_IN_PROGRESS")
          < index(events, "AutoScalingGroup", "DELETE_IN_PROGRESS"), f"{name}: deletion order {events}")
    check(len([e for e in events if e[1] == "DELETE_IN_PROGRESS"]) == len(compute["Resources"]), f"{name}: each deletion once: {events}")
    check(cfn.describe_stack_resources(StackName=stack_id)["StackResources"] == [], f"{name}: resources after the rollback")
    check(ecs.describe_clusters(clusters=[name])["clusters"][0]["status"] == "INACTIVE", f"{name}: cluster not deleted (or re-created)")

    # The cluster's name written out: nothing orders the cluster after the instances.
    name, stack_id = launch("written-out", written_out)
    st = _settled(cfn, stack_id)
    events = _resource_events(cfn, stack_id)
    reason = _stack_reason(cfn, stack_id)
    check(st["StackStatus"] == "ROLLBACK_FAILED" and reason == "The following resource(s) failed to delete: [Cluster]. ",
          f"{name}: {st['StackStatus']} {reason!r}")
    reasons = [r for lid, s, r in events if (lid, s) == ("Cluster", "DELETE_FAILED")]
    check(len(reasons) == 1 and "ClusterContainsContainerInstancesException" in reasons[0]
          and "The Cluster cannot be deleted while Container Instances are active or draining." in reasons[0], f"{name}: {reasons}")
    check(index(events, "Cluster", "DELETE_FAILED") < index(events, "AutoScalingGroup", "DELETE_COMPLETE"), f"{name}: order {events}")
    cfn.delete_stack(StackName=stack_id)
    check(_settled(cfn, stack_id)["StackStatus"] == "DELETE_COMPLETE", f"{name}: deleting again did not complete")

    # Instances protected from scale in: the group never empties.
    name, stack_id = launch("protected", protected)
    st = _settled(cfn, stack_id)
    events = _resource_events(cfn, stack_id)
    reason = _stack_reason(cfn, stack_id)
    check(st["StackStatus"] == "ROLLBACK_FAILED" and reason == "The following resource(s) failed to delete: [AutoScalingGroup]. ",
          f"{name}: {st['StackStatus']} {reason!r}")
    group = [r["PhysicalResourceId"] for r in cfn.describe_stack_resources(StackName=stack_id)["StackResources"]
             if r["LogicalResourceId"] == "AutoScalingGroup"][0]
    instances = [i["InstanceId"] for i in asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]["Instances"]]
    reasons = [r for lid, s, r in events if (lid, s) == ("AutoScalingGroup", "DELETE_FAILED")]
    check(len(reasons) == 1 and "protected from scale-in" in reasons[0] and instances and all(i in reasons[0] for i in instances),
          f"{name}: {reasons} (instances {instances})")
    untouched = {lid for lid, s, _ in events if s.startswith("DELETE_")} & {"LaunchTemplate", "Cluster", "InstanceProfile", "InstanceRole"}
    check(not untouched, f"{name}: resources the group depends on were deleted: {untouched}")
    asg.set_instance_protection(AutoScalingGroupName=group, InstanceIds=instances, ProtectedFromScaleIn=False)
    cfn.delete_stack(StackName=stack_id)
    check(_settled(cfn, stack_id)["StackStatus"] == "DELETE_COMPLETE", f"{name}: not deleted once unprotected")
    check(asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"] == [], f"{name}: group left")


class Probes:
    """Whether a resource exists, asked of the emulated service (not of CloudFormation)."""

    def __init__(self, client, zone_id: str):
        self.client, self.zone_id = client, zone_id

    def __call__(self, rtype: str, physical: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            return bool(PROBES[rtype](self, physical))
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if any(w in code for w in ("NotFound", "NoSuch", "NotExist", "Invalid", "404", "ResourceNotFound")):
                return False
            raise


def _ecs_active(p, kind, physical):
    ecs = p.client("ecs")
    if kind == "cluster":
        items = ecs.describe_clusters(clusters=[physical])["clusters"]
    elif kind == "service":
        cluster = physical.split("/")[-2]
        items = ecs.describe_services(cluster=cluster, services=[physical])["services"]
    else:
        items = [ecs.describe_task_definition(taskDefinition=physical)["taskDefinition"]]
    return any(i.get("status") == "ACTIVE" for i in items)


def _record_exists(p, physical):
    # moto keeps a record created through CloudFormation under the name as written (no final dot).
    sets = p.client("route53").list_resource_record_sets(HostedZoneId=p.zone_id)["ResourceRecordSets"]
    return any(r["Name"].rstrip(".") == physical.rstrip(".") for r in sets)


# type -> probe(probes, physical id) -> exists. Types the emulator only models as placeholders
# (no backing service object) have none.
PROBES = {
    "AWS::KMS::Key": lambda p, i: p.client("kms").describe_key(KeyId=i)["KeyMetadata"]["KeyState"] == "Enabled",
    "AWS::KMS::Alias": lambda p, i: any(a["AliasName"] == i for a in p.client("kms").list_aliases()["Aliases"]),
    "AWS::EC2::SecurityGroup": lambda p, i: p.client("ec2").describe_security_groups(GroupIds=[i])["SecurityGroups"],
    "AWS::EC2::LaunchTemplate": lambda p, i: p.client("ec2").describe_launch_templates(LaunchTemplateIds=[i])["LaunchTemplates"],
    "AWS::EFS::FileSystem": lambda p, i: p.client("efs").describe_file_systems(FileSystemId=i)["FileSystems"],
    "AWS::EFS::MountTarget": lambda p, i: p.client("efs").describe_mount_targets(MountTargetId=i)["MountTargets"],
    "AWS::EFS::AccessPoint": lambda p, i: p.client("efs").describe_access_points(AccessPointId=i)["AccessPoints"],
    "AWS::SecretsManager::Secret": lambda p, i: "DeletedDate" not in p.client("secretsmanager").describe_secret(SecretId=i),
    "AWS::Backup::BackupVault": lambda p, i: p.client("backup").describe_backup_vault(BackupVaultName=i),
    "AWS::CertificateManager::Certificate": lambda p, i: p.client("acm").describe_certificate(CertificateArn=i),
    "AWS::S3::Bucket": lambda p, i: p.client("s3").head_bucket(Bucket=i) is not None,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": lambda p, i: p.client("elbv2").describe_load_balancers(LoadBalancerArns=[i])["LoadBalancers"],
    "AWS::ElasticLoadBalancingV2::TargetGroup": lambda p, i: p.client("elbv2").describe_target_groups(TargetGroupArns=[i])["TargetGroups"],
    "AWS::ElasticLoadBalancingV2::Listener": lambda p, i: p.client("elbv2").describe_listeners(ListenerArns=[i])["Listeners"],
    "AWS::ECS::Cluster": lambda p, i: _ecs_active(p, "cluster", i),
    "AWS::ECS::Service": lambda p, i: _ecs_active(p, "service", i),
    "AWS::ECS::TaskDefinition": lambda p, i: _ecs_active(p, "task", i),
    "AWS::IAM::Role": lambda p, i: p.client("iam").get_role(RoleName=i),
    "AWS::IAM::InstanceProfile": lambda p, i: p.client("iam").get_instance_profile(InstanceProfileName=i),
    "AWS::AutoScaling::AutoScalingGroup": lambda p, i: p.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[i])["AutoScalingGroups"],
    "AWS::Logs::LogGroup": lambda p, i: any(g["logGroupName"] == i for g in p.client("logs").describe_log_groups(logGroupNamePrefix=i)["logGroups"]),
    "AWS::SNS::Topic": lambda p, i: p.client("sns").get_topic_attributes(TopicArn=i),
    "AWS::CloudWatch::Dashboard": lambda p, i: p.client("cloudwatch").get_dashboard(DashboardName=i),
    "AWS::Route53::RecordSet": _record_exists,
}


def _post_json(endpoint: str, path: str, body: bytes | None) -> tuple[int, dict]:
    """A harness route (not an AWS API) on the emulator: (HTTP status, JSON answer)."""
    import urllib.error
    import urllib.request

    check(endpoint.startswith("http://127.0.0.1:"), f"the harness route must be on 127.0.0.1: {endpoint}")
    req = urllib.request.Request(endpoint + path, data=body, method="POST" if body is not None else "GET",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def check_deployment_fault(client, endpoint: str) -> None:
    """Patch ecs-circuit-breaker through the API: POST /_pypictl/deployment-faults makes the next
    deployment of a named service (then, with "*", of any service) fail: it is FAILED with the
    circuit breaker's reason, a rollback deployment of the last COMPLETED deployment's task definition
    becomes PRIMARY, IN_PROGRESS then COMPLETED, and the failed one is dropped; each entry is used up
    by one deployment, and the next deployment completes."""
    ecs = client("ecs")
    route = "/_pypictl/deployment-faults"
    suffix = time.time_ns() % 10**8
    cluster, name = f"smoke-rollout-{suffix}", f"smoke-rollout-svc-{suffix}"
    ecs.create_cluster(clusterName=cluster)
    definitions = [ecs.register_task_definition(family=name, containerDefinitions=[
        {"name": "app", "image": f"public.ecr.aws/docker/library/busybox:1.3{i}", "memory": 64, "essential": True}])[
        "taskDefinition"]["taskDefinitionArn"] for i in range(2)]
    ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=definitions[0], desiredCount=2)

    def service() -> dict:
        return ecs.describe_services(cluster=cluster, services=[name])["services"][0]

    def completed_alone() -> dict | None:
        s = service()
        return s if [d.get("rolloutState") for d in s["deployments"]] == ["COMPLETED"] else None

    first = wait_for(f"{name}'s first deployment to complete", completed_alone, timeout=60, delay=0.2)["deployments"][0]

    status, body = _post_json(endpoint, route, b'{"fail_deployment": "not a list"}')
    check(status == 400 and "error" in body, f"POST {route} with a string: {status} {body}")
    status, body = _post_json(endpoint, route, b'{"fail_deployment": ["x"], "fail_create": []}')
    check(status == 400, f"POST {route} with an unknown key: {status} {body}")
    status, body = _post_json(endpoint, route, json.dumps({"fail_deployment": [name]}).encode())
    check((status, body) == (200, {"fail_deployment": [name]}), f"POST {route}: {status} {body}")
    check(_post_json(endpoint, route, None) == (200, {"fail_deployment": [name]}), f"GET {route} after the POST")
    status, other = _post_json(endpoint, "/_pypictl/faults", None)
    check(status == 200 and set(other) == {"fail_create", "fail_update", "fail_rollback"},
          f"GET /_pypictl/faults is unchanged: {status} {other}")

    def fails_then_rolls_back(start, definition_before: str, what: str) -> None:
        failing = start()["deployments"][0]
        check(failing["status"] == "PRIMARY" and failing["rolloutState"] == "IN_PROGRESS", f"{what}: {failing}")
        check(_post_json(endpoint, route, None) == (200, {"fail_deployment": []}), f"{what}: the fault is not used up")
        s = service()
        by_id = {d["id"]: d for d in s["deployments"]}
        check(by_id[failing["id"]]["failedTasks"] >= 1 and by_id[failing["id"]]["runningCount"] == 0,
              f"{what}: a failing deployment's tasks: {by_id[failing['id']]}")
        check(by_id.get(first["id"], {}).get("status") == "ACTIVE", f"{what}: the completed deployment is not ACTIVE: {s['deployments']}")

        def failed() -> dict | None:
            s = service()
            mine = [d for d in s["deployments"] if d["id"] == failing["id"]]
            check(bool(mine), f"{what}: the failed deployment was dropped before its rollback was seen: {s['deployments']}")
            return s if mine[0]["rolloutState"] != "IN_PROGRESS" else None

        s = wait_for(f"{what}: the deployment to fail", failed, timeout=60, delay=0.2)
        rollback, dropped = s["deployments"][0], {d["id"]: d for d in s["deployments"]}[failing["id"]]
        check((dropped["status"], dropped["rolloutState"], dropped["rolloutStateReason"], dropped["failedTasks"])
              == ("ACTIVE", "FAILED", "ECS deployment circuit breaker: tasks failed to start.", 3),
              f"{what}: the failed deployment {dropped}")
        check(rollback["id"] not in (failing["id"], first["id"]) and rollback["status"] == "PRIMARY"
              and rollback["rolloutState"] == "IN_PROGRESS" and rollback["taskDefinition"] == definition_before
              and first["id"] in rollback["rolloutStateReason"], f"{what}: the rollback deployment {rollback}")
        check(s["taskDefinition"] == definition_before, f"{what}: the service's task definition {s['taskDefinition']}")
        messages = [e["message"] for e in s["events"]]
        check(any(failing["id"] in m and "deployment failed: tasks failed to start" in m for m in messages)
              and any(f"rolling back to deployment {first['id']}" in m for m in messages), f"{what}: events {messages}")
        done = wait_for(f"{what}: the rollback to complete", completed_alone, timeout=60, delay=0.2)
        check([d["id"] for d in done["deployments"]] == [rollback["id"]] and done["taskDefinition"] == definition_before
              and done["deployments"][0]["runningCount"] == 2, f"{what}: after the rollback {done['deployments']}")

    fails_then_rolls_back(lambda: ecs.update_service(cluster=cluster, service=name, forceNewDeployment=True)["service"],
                          definitions[0], "forceNewDeployment of a named service")
    first = service()["deployments"][0]
    status, body = _post_json(endpoint, route, b'{"fail_deployment": ["*"]}')
    check((status, body) == (200, {"fail_deployment": ["*"]}), f"POST {route} *: {status} {body}")
    fails_then_rolls_back(lambda: ecs.update_service(cluster=cluster, service=name, taskDefinition=definitions[1])["service"],
                          definitions[0], "a new task definition, any service")

    # No fault left: the next deployment completes.
    again = ecs.update_service(cluster=cluster, service=name, forceNewDeployment=True)["service"]["deployments"][0]
    done = wait_for(f"{name}: a deployment without a fault", completed_alone, timeout=60, delay=0.2)
    check([d["id"] for d in done["deployments"]] == [again["id"]], f"{name}: {done['deployments']}")
    check(_post_json(endpoint, route, b"{}") == (200, {"fail_deployment": []}), f"POST {route} {{}}")
    ecs.update_service(cluster=cluster, service=name, desiredCount=0)
    ecs.delete_service(cluster=cluster, service=name)
    ecs.delete_cluster(cluster=cluster)
