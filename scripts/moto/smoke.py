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
  out in the user data; instances protected from scale in) ends ROLLBACK_FAILED; and an ECS deployment
  made to fail (POST /_pypictl/deployment-faults): FAILED, rolled back, the next one completes.

Exits 0 when every check passed, 1 with a "FAIL:" line naming the first check that did not.
Needs target/debug/pypictl (`cargo build`). Every request goes to 127.0.0.1. The checks live in
smoke_support.py (helpers, the private server) and smoke_checks.py (the checks after the flow).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import seed as seed_mod  # noqa: E402  (scripts/moto/seed.py)
import smoke_support  # noqa: E402  (scripts/moto/smoke_support.py: CHECKS counts the checks passed)
from smoke_support import (  # noqa: E402
    NO_CHANGES, PRIVATE_PAGE_SIZE, PrivateServer, SmokeFailure, check, check_events, failures, raw_intrinsic,
    step, template_resources, wait_for,
)
from smoke_checks import (  # noqa: E402
    PROBES, Probes, check_backup_vaults, check_cloudwatch_cbor, check_compute_teardown, check_deployment_fault,
    check_ecs_agent, check_recovery_points, check_vault_stack,
)


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

    # 8. an ECS deployment that fails (what `pypictl creds --rotate` must survive)
    check_deployment_fault(client, endpoint)
    step("POST /_pypictl/deployment-faults: the next deployment of the named service (then of any) FAILED by the "
         "circuit breaker, rolled back to the last completed one (PRIMARY, then COMPLETED alone); the next completes")


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
    step(f"{smoke_support.CHECKS} passed, 0 failed ({time.monotonic() - started:.1f} s)")
    if args.keep:
        step(f"work directory kept: {workdir}")
    else:
        subprocess.run(["rm", "-rf", str(workdir)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
