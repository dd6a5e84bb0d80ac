#!/usr/bin/env python3
"""End-to-end check of the AWS emulator harness (moto + scripts/moto/pypictl_moto.py).

    .tools/moto/bin/python scripts/moto/smoke.py                 # starts a private server, stops it after
    .tools/moto/bin/python scripts/moto/smoke.py http://127.0.0.1:PORT   # uses a running one (scripts/moto.sh start)

Stands in for `pypictl deploy` until the Rust engine exists, doing what it will do:
  seed the account (seed.py) -> write a pypictl.toml shaped like fixtures/examples/heavy.toml with the
  seeded ids -> `pypictl synth` -> staging bucket, nested templates at their manifest assetKey, the root
  template -> CREATE change set (IncludeNestedStacks, CAPABILITY_IAM, StagingBucket) -> execute ->
  CREATE_COMPLETE, and checks: every root output resolved; per-resource events (paginated, newest
  first) in the root and every nested stack; the same change set again fails with "didn't contain
  changes"; delete -> DELETE_COMPLETE with the DeletionPolicy Retain resources still there; then what
  `pypictl destroy --force-destroy-data` and `status` call next: each retained backup vault has no
  recovery points and deletes, and CloudWatch answers over Smithy RPC v2 CBOR (botocore's client);
  then what blocks a deletion: the ECS agent's container instances and DeleteCluster's refusal, a
  vault's recovery points (StartBackupJob) and DeleteBackupVault's refusal, through the APIs and a
  stack; and the synthesized Compute template, as a stack of its own that rolls back, ends
  ROLLBACK_COMPLETE, while the same template before the teardown fixes (the cluster's name written
  out in the user data; instances protected from scale in) ends ROLLBACK_FAILED.

Exits 0 when every check passed, 1 with a "FAIL:" line naming the first check that did not.
Needs target/debug/pypictl (`cargo build`). Every request goes to 127.0.0.1.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import seed as seed_mod  # noqa: E402  (scripts/moto/seed.py)

NO_CHANGES = (
    "The submitted information didn't contain changes. Submit different information or confirm that "
    "the changes you want are included."
)
# Page size of DescribeStackEvents on the private server: small, so that pagination is exercised.
PRIVATE_PAGE_SIZE = 7


class SmokeFailure(Exception):
    pass


CHECKS = 0


def check(cond: bool, what: str) -> None:
    global CHECKS
    if not cond:
        raise SmokeFailure(what)
    CHECKS += 1


def step(msg: str) -> None:
    print(f"smoke: {msg}", flush=True)


def wait_for(what: str, fn, timeout: float = 120.0, delay: float = 0.5):
    """Polls fn() until it returns a non-None value (the result), or fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise SmokeFailure(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(delay)


# --- the private server -------------------------------------------------------------------------


class PrivateServer:
    """pypictl_moto.py on a free port of 127.0.0.1, for the length of the smoke test."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.proc = None
        self.log = workdir / "moto.log"

    def __enter__(self) -> str:
        url_file = self.workdir / "moto.url"
        env = dict(os.environ, PYPICTL_MOTO_EVENT_PAGE_SIZE=str(PRIVATE_PAGE_SIZE))
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "pypictl_moto.py"), "--port", "0", "--url-file", str(url_file)],
            stdin=subprocess.DEVNULL,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + 30
        while not (url_file.exists() and url_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                sys.stderr.write(self.log.read_text()[-3000:])
                raise SmokeFailure("the private moto server did not start")
            time.sleep(0.1)
        return url_file.read_text().strip()

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# --- helpers --------------------------------------------------------------------------------------


def all_events(cfn, stack_id: str) -> tuple[list[dict], int]:
    """Every event of a stack, following NextToken by hand; returns (events, number of pages)."""
    events, pages, token = [], 0, None
    while True:
        kwargs = {"StackName": stack_id}
        if token:
            kwargs["NextToken"] = token
        page = cfn.describe_stack_events(**kwargs)
        pages += 1
        events.extend(page["StackEvents"])
        token = page.get("NextToken")
        if not token:
            return events, pages
        check(pages < 1000, f"{stack_id}: DescribeStackEvents keeps returning a NextToken")


def template_resources(template: dict) -> dict[str, str]:
    """Logical id -> type of every resource a template creates (its Conditions are not used by ours)."""
    return {lid: r["Type"] for lid, r in template["Resources"].items()}


def check_events(cfn, stack_id: str, label: str, resources: dict[str, str], operation: str, retained=()) -> int:
    """Per-resource events of one stack for CREATE or DELETE; returns the number of pages."""
    events, pages = all_events(cfn, stack_id)
    ids = [e["EventId"] for e in events]
    check(len(ids) == len(set(ids)), f"{label}: EventIds are not unique")
    stamps = [e["Timestamp"] for e in events]
    check(
        all(a > b for a, b in zip(stamps, stamps[1:])),
        f"{label}: events are not newest first with strictly increasing timestamps",
    )
    chronological = list(reversed(events))
    # The stack's own events: logical id = the stack's name, physical id = its ARN.
    own = [e["ResourceStatus"] for e in chronological if e["LogicalResourceId"] == e["StackName"]]
    for status in (f"{operation}_IN_PROGRESS", f"{operation}_COMPLETE"):
        check(status in own, f"{label}: no stack event {status} (stack events: {own})")
    for lid, rtype in resources.items():
        mine = [e for e in chronological if e["LogicalResourceId"] == lid]
        statuses = [e["ResourceStatus"] for e in mine]
        if operation == "DELETE" and lid in retained:
            check("DELETE_SKIPPED" in statuses, f"{label}/{lid}: retained resource has no DELETE_SKIPPED event ({statuses})")
            continue
        want = [f"{operation}_IN_PROGRESS", f"{operation}_COMPLETE"]
        check(
            all(s in statuses for s in want) and statuses.index(want[0]) < statuses.index(want[1]),
            f"{label}/{lid} ({rtype}): expected {want[0]} then {want[1]}, got {statuses}",
        )
        check(all(e["ResourceType"] == rtype for e in mine), f"{label}/{lid}: events with a wrong ResourceType")
        complete = [e for e in mine if e["ResourceStatus"] == want[1]][-1]
        check(bool(complete.get("PhysicalResourceId")), f"{label}/{lid}: {want[1]} event without PhysicalResourceId")
    return pages


def failures(cfn, stack_id: str) -> str:
    """The *_FAILED events of a stack and of its nested stacks, oldest first, one per line."""
    lines = []
    stacks = [stack_id] + [
        s["StackId"] for s in cfn.list_stacks()["StackSummaries"] if s.get("RootId") == stack_id
    ]
    for sid in stacks:
        events, _ = all_events(cfn, sid)
        for e in reversed(events):
            if e["ResourceStatus"].endswith("_FAILED"):
                lines.append(f"  {e['StackName']}/{e['LogicalResourceId']} ({e['ResourceType']}): "
                             f"{e['ResourceStatus']}: {e.get('ResourceStatusReason')}")
    return "\n".join(lines) or "  (no *_FAILED event)"


def raw_intrinsic(value: str) -> bool:
    return any(s in value for s in ("Fn::", "Outputs.", "{'Ref'", '{"Ref"', "Ref:"))


# --- the flow -------------------------------------------------------------------------------------


def run(endpoint: str, workdir: Path, private: bool) -> None:
    import boto3
    from botocore.config import Config

    seed_mod.check_loopback(endpoint)
    seed_mod.dummy_credentials()
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    cfg = Config(retries={"max_attempts": 1})

    def client(service):
        return boto3.client(service, region_name=seed_mod.REGION, endpoint_url=endpoint, config=cfg)

    cfn, s3 = client("cloudformation"), client("s3")

    step(f"seeding {endpoint}")
    seeded = seed_mod.seed(endpoint)
    step(f"seeded {json.dumps(seeded)}")

    binary = ROOT / "target" / "debug" / "pypictl"
    check(binary.exists(), f"{binary} is missing: run `cargo build`")
    stack_name = f"pypi-smoke-{time.time_ns() % 10**8}"
    config = workdir / "pypictl.toml"
    config.write_text(
        f"""# fixtures/examples/heavy.toml with the ids of the seeded moto account (scripts/moto/smoke.py)
region = "{seeded['region']}"
service_name = "pypi"
environment = "production"
stack_name = "{stack_name}"

[network]
vpc_id = "{seeded['vpc_id']}"
load_balancer_subnets = {json.dumps(seeded['load_balancer_subnets'])}
asg_subnets = {json.dumps(seeded['asg_subnets'])}

[dns]
zone_id = "{seeded['zone_id']}"
zone_name = "{seeded['zone_name']}"
names = ["pypi"]

[compute]
instance_type = "c6a.xlarge"
min_size = 2
max_size = 4

[monitoring]
alarm_emails = ["ops@example.com", "oncall@example.com"]
"""
    )
    out = workdir / "out"
    synth = subprocess.run([str(binary), "synth", "-c", str(config), "-o", str(out)], capture_output=True, text=True)
    check(synth.returncode == 0, f"pypictl synth failed ({synth.returncode}):\n{synth.stdout}{synth.stderr}")
    step("synthesized: " + synth.stdout.strip().splitlines()[0])
    manifest = json.loads((out / "manifest.json").read_text())
    check(manifest["stackName"] == stack_name, "manifest.json names another stack")

    bucket = f"pypictl-staging-{time.time_ns() % 10**10}"
    s3.create_bucket(Bucket=bucket)
    for st in manifest["stacks"]:
        s3.put_object(Bucket=bucket, Key=st["assetKey"], Body=(out / st["file"]).read_bytes())
    root_key = f"pypictl/templates/root-{manifest['root']['sha256']}.json"
    s3.put_object(Bucket=bucket, Key=root_key, Body=(out / manifest["root"]["file"]).read_bytes())
    template_url = f"https://{bucket}.s3.{seeded['region']}.amazonaws.com/{root_key}"
    step(f"staged {len(manifest['stacks']) + 1} templates in s3://{bucket}")

    def change_set(kind: str) -> dict:
        name = f"pypictl-{kind.lower()}-{time.time_ns()}"
        resp = cfn.create_change_set(
            StackName=stack_name,
            ChangeSetName=name,
            ChangeSetType=kind,
            TemplateURL=template_url,
            IncludeNestedStacks=True,
            Capabilities=["CAPABILITY_IAM"],
            Parameters=[{"ParameterKey": "StagingBucket", "ParameterValue": bucket}],
        )

        def settled():
            cs = cfn.describe_change_set(ChangeSetName=resp["Id"], StackName=stack_name)
            return cs if cs["Status"] in ("CREATE_COMPLETE", "FAILED") else None

        return wait_for(f"change set {name}", settled)

    # 1. create
    cs = change_set("CREATE")
    check(
        cs["Status"] == "CREATE_COMPLETE" and cs["ExecutionStatus"] == "AVAILABLE",
        f"CREATE change set: {cs['Status']} / {cs['ExecutionStatus']}: {cs.get('StatusReason')}",
    )
    check(cs.get("IncludeNestedStacks") is True, "CREATE change set: IncludeNestedStacks not echoed")
    adds = {c["ResourceChange"]["LogicalResourceId"] for c in cs["Changes"] if c["ResourceChange"]["Action"] == "Add"}
    want = {st["logicalId"] for st in manifest["stacks"]}
    check(adds == want, f"CREATE change set adds {sorted(adds)}, expected the nested stacks {sorted(want)}")
    stack_id = cs["StackId"]
    check(cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS",
          "stack is not REVIEW_IN_PROGRESS before execution")
    step(f"change set {cs['ChangeSetName']}: CREATE_COMPLETE, {len(cs['Changes'])} changes")

    cfn.execute_change_set(ChangeSetName=cs["ChangeSetId"], StackName=stack_name)

    def created():
        st = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
        if st["StackStatus"].endswith("_IN_PROGRESS"):
            return None
        return st

    root = wait_for("CREATE_COMPLETE", created, timeout=300)
    check(root["StackStatus"] == "CREATE_COMPLETE",
          f"root stack ended {root['StackStatus']}; failed resources:\n" + failures(cfn, stack_id))
    step("root stack CREATE_COMPLETE")

    # 2. outputs
    root_template = json.loads((out / manifest["root"]["file"]).read_text())
    outputs = {o["OutputKey"]: o.get("OutputValue") for o in root.get("Outputs", [])}
    missing = sorted(set(root_template["Outputs"]) - set(outputs))
    check(not missing, f"root outputs missing: {missing}")
    for key, value in outputs.items():
        check(isinstance(value, str) and value.strip() != "", f"root output {key} is empty")
        check(not raw_intrinsic(value), f"root output {key} is an unresolved intrinsic: {value!r}")
    step(f"{len(outputs)} root outputs resolved")

    # 3. nested stacks, resources, events
    res = cfn.describe_stack_resources(StackName=stack_id)["StackResources"]
    nested = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in res if r["ResourceType"] == "AWS::CloudFormation::Stack"}
    check(set(nested) == want, f"root stack resources {sorted(nested)} are not the nested stacks")
    pages = {"root": check_events(cfn, stack_id, "root", template_resources(root_template), "CREATE")}
    for st in manifest["stacks"]:
        lid = st["logicalId"]
        child_id = nested[lid]
        check(child_id.startswith("arn:aws:cloudformation:"), f"{lid}: physical id {child_id!r} is not a stack ARN")
        child = cfn.describe_stacks(StackName=child_id)["Stacks"][0]
        check(child["StackStatus"] == "CREATE_COMPLETE", f"{lid}: nested stack {child['StackStatus']}")
        check(child.get("ParentId") == stack_id and child.get("RootId") == stack_id, f"{lid}: ParentId/RootId not the root")
        tmpl = json.loads((out / st["file"]).read_text())
        resources = template_resources(tmpl)
        listed = cfn.list_stack_resources(StackName=child_id)["StackResourceSummaries"]
        check(
            {r["LogicalResourceId"] for r in listed} == set(resources),
            f"{lid}: ListStackResources {sorted(r['LogicalResourceId'] for r in listed)} != template {sorted(resources)}",
        )
        for r in listed:
            check(bool(r.get("PhysicalResourceId")), f"{lid}/{r['LogicalResourceId']}: no physical id")
        pages[lid] = check_events(cfn, child_id, lid, resources, "CREATE")
        for o in child.get("Outputs", []):
            check(bool(o.get("OutputValue")) and not raw_intrinsic(o["OutputValue"]), f"{lid}: output {o['OutputKey']} unresolved")
    if private:
        check(pages["root"] > 1, f"root events fit one page of {PRIVATE_PAGE_SIZE}: pagination not exercised")
    elif max(pages.values()) == 1:
        step("note: every event history fit one page; start the server with "
             "PYPICTL_MOTO_EVENT_PAGE_SIZE=7 to exercise NextToken")
    step(f"per-resource events in root and {len(nested)} nested stacks (pages: {pages})")

    # 4. the same change set again: no changes
    again = change_set("UPDATE")
    check(again["Status"] == "FAILED", f"no-change change set ended {again['Status']}, expected FAILED")
    check(again.get("StatusReason") == NO_CHANGES, f"no-change change set reason {again.get('StatusReason')!r}")
    check(again["ExecutionStatus"] == "UNAVAILABLE", f"no-change change set ExecutionStatus {again['ExecutionStatus']}")
    cfn.delete_change_set(ChangeSetName=again["ChangeSetId"])
    check(cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE",
          "stack status changed after a failed no-change change set")
    step("same change set again: FAILED, \"didn't contain changes\"")

    # 5. delete: DELETE_COMPLETE, the retained resources survive, the others are gone
    before = []  # (nested stack logical id, resource logical id, type, physical id)
    for st in manifest["stacks"]:
        for r in cfn.list_stack_resources(StackName=nested[st["logicalId"]])["StackResourceSummaries"]:
            before.append((st["logicalId"], r["LogicalResourceId"], r["ResourceType"], r["PhysicalResourceId"]))
    retained = {(r["stack"], r["logicalId"]) for r in manifest["retained"]}
    probe = Probes(client, seeded["zone_id"])
    absent = [f"{s_}/{l}" for s_, l, t, p in before if t in PROBES and not probe(t, p)]
    check(not absent, f"resources not found before the delete (probe or emulator broken): {absent}")
    cfn.delete_stack(StackName=stack_id)

    def deleted():
        st = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
        return None if st["StackStatus"].endswith("_IN_PROGRESS") else st

    gone = wait_for("DELETE_COMPLETE", deleted, timeout=300)
    check(gone["StackStatus"] == "DELETE_COMPLETE",
          f"root stack ended {gone['StackStatus']}; failed resources:\n" + failures(cfn, stack_id))
    live = [s for s in cfn.list_stacks()["StackSummaries"] if s.get("RootId") == stack_id and s["StackStatus"] != "DELETE_COMPLETE"]
    check(not live, f"nested stacks not deleted: {[(s['StackName'], s['StackStatus']) for s in live]}")
    check_events(cfn, stack_id, "root", template_resources(root_template), "DELETE")
    for st in manifest["stacks"]:
        child_id = nested[st["logicalId"]]
        child = cfn.describe_stacks(StackName=child_id)["Stacks"][0]
        check(child["StackStatus"] == "DELETE_COMPLETE", f"{st['logicalId']}: nested stack {child['StackStatus']} after delete")
        kept = {lid for s_, lid in retained if s_ == st["logicalId"]}
        check_events(cfn, child_id, st["logicalId"], template_resources(json.loads((out / st["file"]).read_text())), "DELETE", kept)
    step("root stack DELETE_COMPLETE, nested stacks DELETE_COMPLETE, DELETE_SKIPPED for the retained")

    wrong, probed, kept_ok = [], 0, []
    for s_, lid, rtype, physical in before:
        if rtype not in PROBES:
            continue
        probed += 1
        exists, keep = probe(rtype, physical), (s_, lid) in retained
        if exists != keep:
            wrong.append(f"{s_}/{lid} ({rtype} {physical}): {'still exists' if exists else 'gone although retained'}")
        elif keep:
            kept_ok.append(lid)
    check(not wrong, "after the delete:\n  " + "\n  ".join(wrong))
    check(sorted(kept_ok) == sorted(lid for _, lid in retained), f"retained resources not probed: {sorted(retained)}")
    step(f"after the delete: the {len(kept_ok)} retained resources exist ({', '.join(kept_ok)}), "
         f"the other {probed - len(kept_ok)} probed resources are gone")

    # 6. what `pypictl destroy --force-destroy-data` and `pypictl status`/`doctor` call next
    vaults = [physical for _, _, rtype, physical in before if rtype == "AWS::Backup::BackupVault"]
    check_backup_vaults(client("backup"), vaults)
    step(f"retained backup vaults {vaults}: no recovery points, deleted")
    check_cloudwatch_cbor(endpoint, cfg)
    step("CloudWatch over Smithy RPC v2 CBOR: PutMetricData, GetMetricData, DescribeAlarms (filters), errors")

    # 7. what makes a deletion fail, and in which order CloudFormation deletes
    check_ecs_agent(client, seeded)
    step("ECS agent: group instances register (at launch, or when their cluster is created), terminated ones "
         "deregister; DeleteCluster refused while any is registered")
    check_recovery_points(client)
    step("AWS Backup: StartBackupJob makes a recovery point; DeleteBackupVault refused until it is deleted")
    check_vault_stack(client)
    step("a stack's BackupVault holding a recovery point: DELETE_FAILED, then DELETE_COMPLETE once emptied")
    check_compute_teardown(client, seeded, json.loads((out / "compute.template.json").read_text()))
    step("the Compute template rolled back: as synthesized ROLLBACK_COMPLETE (group before cluster); with the "
         "cluster's name written out, or instances protected from scale in, ROLLBACK_FAILED")


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint", nargs="?", help="a running server (scripts/moto.sh start); default: start a private one")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (config, synth output, server log)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pypictl-smoke-"))
    started = time.monotonic()
    try:
        if args.endpoint:
            run(args.endpoint, workdir, private=False)
        else:
            with PrivateServer(workdir) as endpoint:
                run(endpoint, workdir, private=True)
    except SmokeFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        print(f"smoke: work directory (config, templates, server log): {workdir}", file=sys.stderr)
        return 1
    except Exception as e:
        print(f"FAIL: unexpected {type(e).__name__}: {e}", file=sys.stderr)
        print(f"smoke: work directory (config, templates, server log): {workdir}", file=sys.stderr)
        return 1
    step(f"{CHECKS} passed, 0 failed ({time.monotonic() - started:.1f} s)")
    if args.keep:
        step(f"work directory kept: {workdir}")
    else:
        subprocess.run(["rm", "-rf", str(workdir)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
