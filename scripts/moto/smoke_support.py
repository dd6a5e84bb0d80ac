"""The smoke test's support (scripts/moto/smoke.py): checks and their count, waiting, the private
server, reading stack events and failures."""

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

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
