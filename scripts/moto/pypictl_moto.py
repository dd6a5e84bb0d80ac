#!/usr/bin/env python3
"""moto's server, extended so that pypictl's CloudFormation templates deploy on it as on AWS.

    .tools/moto/bin/python scripts/moto/pypictl_moto.py [--port PORT] [--url-file FILE]
    .tools/moto/bin/python scripts/moto/pypictl_moto.py --describe   # one line per patch

Binds 127.0.0.1 only (PORT 0 or none: a free port), prints the endpoint (http://127.0.0.1:PORT), writes
it to --url-file once the server is listening, and serves until SIGTERM or SIGINT. Normally started
by `scripts/moto.sh start`.

Why this module exists: moto (pinned in scripts/requirements/moto.txt) emulates CloudFormation only
roughly. With our templates it answers HTTP 500 to `Fn::GetAtt <NestedStack>.Outputs.<Name>`, silently
skips 13 of our 35 resource types, leaves `Fn::GetAtt` of attributes it lacks as a raw dict, emits
no per-resource stack events, and has no failure model. The project's rule is that a template is
never changed to suit the emulator: this module patches moto in-process instead (monkeypatching
its classes and functions before the server starts), and every patch says
  - what real CloudFormation does (AWS),
  - what moto 5.2.5 does instead (moto),
  - why the patch is the smallest faithful fix (fix).
The list is printed by --describe; harness.PATCHES collects it. The patches live in the package
scripts/moto/harness/, a module per subject (its __init__ lists them); this file applies them and serves.

Environment:
  PYPICTL_MOTO_EVENT_PAGE_SIZE      events per DescribeStackEvents page (default 100)
  PYPICTL_MOTO_ECS_ROLLOUT_SECONDS  seconds after which an ECS deployment's tasks count as running
                                    (default 3), or a failing deployment trips the circuit breaker
  PYPICTL_MOTO_FAIL_RESOURCES       comma-separated logical ids (in any stack) whose creation fails,
                                    to exercise pypictl's failure reporting and rollback handling:
                                    the initial fail_create set of the faults route below
  PYPICTL_MOTO_ASYNC                1: stack operations run in the background as on AWS (patch
                                    async-operations): ExecuteChangeSet, CreateStack, UpdateStack,
                                    DeleteStack, ContinueUpdateRollback and RollbackStack return at
                                    once, the stack reads *_IN_PROGRESS and its events appear over time.
                                    Unset (default): each operation completes within its request
  PYPICTL_MOTO_RESOURCE_SECONDS     async mode: seconds each resource's creation, update or deletion
                                    takes (default 0.2)

Harness route (same port, not an AWS API; patch fault-injection):
  POST /_pypictl/faults  {"fail_create": [...], "fail_update": [...], "fail_rollback": [...]}
      replaces the fault sets (a missing key: an empty set) and answers them as JSON; GET answers
      them. An entry is a logical id, which matches that resource in any stack except nested stack
      resources, or <StackName>.<LogicalId> / <NestedStackLogicalId>.<LogicalId>, which matches one
      stack's resource (nested stack resources included, e.g. pypi.Service). fail_create: the
      creation fails; fail_update: the update fails; fail_rollback: the resource's deletion during a
      rollback, or its update back during an update rollback, fails.
  POST /_pypictl/deployment-faults  {"fail_deployment": [...]}
      replaces the list of ECS deployments that will fail (patch ecs-circuit-breaker) and answers it;
      GET answers it. An entry is a service name, <cluster>/<service>, or "*" (any service), and is
      used up by the next deployment UpdateService (forceNewDeployment or a new task definition)
      starts for a service it names: its tasks fail to start, it ends FAILED after
      PYPICTL_MOTO_ECS_ROLLOUT_SECONDS, and a rollback deployment to the last COMPLETED one follows.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

# scripts/moto/harness/ (this script's directory is on sys.path); importing it registers the patches.
from harness import (
    PATCHES, background, backup, blockers, changesets, cloudwatch, describe, ecs, events, nested, resources,
    rollback, teardown,
)

# The order in which the patches are applied (not quite the order in which they are registered).
APPLY_ORDER = (
    events.patch_event_clock,
    events.patch_resource_events,
    events.patch_delete_fallbacks,
    events.patch_events_pagination,
    events.patch_resource_status,
    nested.patch_nested_stacks,
    changesets.patch_change_set_options,
    changesets.patch_no_changes,
    changesets.patch_execute_change_set,
    resources.patch_unsupported_types,
    resources.patch_getatt,
    resources.patch_route53_ids,
    resources.patch_kms_key_policy,
    backup.patch_backup_recovery_points,
    cloudwatch.patch_cloudwatch_rpc_v2_cbor,
    cloudwatch.patch_describe_alarms_filters,
    ecs.patch_ecs_deployments,
    ecs.patch_ecs_circuit_breaker,
    teardown.patch_ordered_delete,
    blockers.patch_ecs_container_instances,
    blockers.patch_asg_delete_protection,
    blockers.patch_backup_vault_not_empty,
    background.patch_async_operations,
    background.patch_fault_injection,
    rollback.patch_update_rollback,
    rollback.patch_disable_rollback,
    rollback.patch_rollback_stack,
    rollback.patch_continue_update_rollback,
    rollback.patch_retain_except_on_create,
    rollback.patch_client_request_token,
    rollback.patch_stack_status_reason,
)


def apply_patches() -> None:
    for fn in APPLY_ORDER:
        fn()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--url-file", help="write the endpoint here once the server listens")
    parser.add_argument("--describe", action="store_true", help="print the patches and exit")
    args = parser.parse_args()
    if args.describe:
        print(describe())
        return

    apply_patches()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    print(f"pypictl_moto: {len(PATCHES)} patches applied: {', '.join(p[0] for p in PATCHES)}", file=sys.stderr)
    print(url, flush=True)
    if args.url_file:
        tmp = f"{args.url_file}.tmp"
        with open(tmp, "w") as f:
            f.write(url + "\n")
        os.replace(tmp, args.url_file)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(3600):
        pass
    server.stop()


if __name__ == "__main__":
    main()
