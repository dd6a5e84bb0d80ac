#!/usr/bin/env python3
"""A stand-in, on 127.0.0.1, for the tasks of the pypiserver ECS service deployed to moto.

    .tools/moto/bin/python scripts/moto/service_double.py ENDPOINT STACK PYPI_SERVER WORKDIR \
        [--max-seconds 600]

moto runs no containers, so the wire tests of `pypictl creds --rotate` and `pypictl doctor` need
something that answers HTTP as the deployed service would, task by task. This script:
  - reads the stack's outputs from moto: the two secrets (PypiUserSecretArn, the read credential;
    PypiPublishSecretArn, the publish credential) and the service (EcsClusterName, EcsServiceName);
  - runs one pypiserver (PYPI_SERVER: the pypi-server executable of .tools/pypi) on a free loopback
    port WITHOUT authentication (`-a . -P .`, fallback to pypi.org off), on WORKDIR/packages;
  - serves HTTP on another free loopback port, writes that URL (http://127.0.0.1:PORT/) to
    WORKDIR/url, and answers each request as one of the service's TASKS would, forwarding what the
    task allows to pypiserver.

The tasks, as ECS runs them. ECS injects each secret whole into a task when the task starts, so a
task's credentials are the secrets' values AT ITS START, whatever the secrets hold later. A secret's
value is JSON {"username", "password"} and, during a rotation, "pending_password": a task accepts,
for each role's username, `password` and (when present and not empty) `pending_password`. The read
user may list and download; the publish user may also upload (any POST). The double follows the
service's deployments (DescribeServices, every 0.2 s and before answering each request, so a
deployment ECS no longer lists never answers):
  - a deployment listed for the first time (the one running when the double starts, a new PRIMARY
    one after UpdateService, the circuit breaker's rollback deployment) starts its tasks
    (desiredCount of them, 1 to 3), each reading both secrets then;
  - a deployment whose tasks fail to start (failedTasks > 0 with runningCount 0: the harness's
    fault, patch ecs-circuit-breaker) starts none: it never answers;
  - a deployment no longer listed (replaced, or failed and rolled back) stops its tasks;
  - requests are served round robin across the listed deployments that have tasks (then across a
    deployment's tasks): while a previous deployment is still listed, old and new tasks alternate.
A request: /health (and /health/...) needs no credentials; otherwise no credentials, an unknown
user or a password the task does not accept is 401 with WWW-Authenticate; a POST by the read user
is 403; with no task running, 503.

Logs (JSON lines, never a password):
  WORKDIR/requests.log  one line per request: time, the answering task's deployment id and task id,
                        username (null without credentials), method, path, status, and which of the
                        task's values matched ("password", "pending_password", or null)
  WORKDIR/tasks.log     tasks started (deployment, task, users, whether a pending password was
                        accepted), stopped, or failing to start
  WORKDIR/pypiserver.log  pypiserver's output
It stops after --max-seconds, on SIGTERM, or when its parent (the test) goes away, and stops
pypiserver with it.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import http.client
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seed import dummy_credentials  # noqa: E402

POLL_SECONDS = 0.2
MAX_TASKS_PER_DEPLOYMENT = 3
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade"}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JsonLog:
    """Appends one JSON object per line, flushed, from any thread."""

    def __init__(self, path: str):
        self.file = open(path, "a", buffering=1)
        self.lock = threading.Lock()

    def write(self, **fields) -> None:
        line = json.dumps({"time": now(), **fields}, sort_keys=True)
        with self.lock:
            self.file.write(line + "\n")
            self.file.flush()


class Task:
    """One task of a deployment: the credentials it read from the secrets when it started.
    accepted: username -> (role, {"password": ..., "pending_password": ...})."""

    def __init__(self, task_id: str, deployment: str, accepted: dict[str, tuple[str, dict[str, str]]]):
        self.task_id, self.deployment, self.accepted = task_id, deployment, accepted

    def check(self, username: str, password: str) -> tuple[str, str] | None:
        """(role, which value matched) when this task accepts the credentials, else None."""
        role, values = self.accepted.get(username, ("", {}))
        for which, value in values.items():
            if value and password == value:
                return role, which
        return None


class Service:
    """The service's tasks, kept in step with its ECS deployments."""

    def __init__(self, ecs, secrets, cluster: str, service: str, secret_arns: dict[str, str], tasks_log: JsonLog):
        self.ecs, self.secrets, self.cluster, self.service = ecs, secrets, cluster, service
        self.secret_arns = secret_arns  # role -> secret ARN
        self.tasks_log = tasks_log
        self.lock = threading.Lock()
        self.tasks: dict[str, list[Task]] = {}  # deployment id -> its running tasks
        self.order: list[str] = []  # deployment ids as ECS lists them (PRIMARY first)
        self.seen: set[str] = set()  # deployments handled (tasks started, or failed to start)
        self.serial = 0
        self.turn = 0
        self.turns: dict[str, int] = {}

    def read_secrets(self) -> dict[str, tuple[str, dict[str, str]]]:
        """What a task starting now receives: each role's username and accepted passwords."""
        accepted: dict[str, tuple[str, dict[str, str]]] = {}
        for role, arn in self.secret_arns.items():
            value = json.loads(self.secrets.get_secret_value(SecretId=arn)["SecretString"])
            values = {"password": value.get("password") or ""}
            if value.get("pending_password"):
                values["pending_password"] = value["pending_password"]
            # The same username in both secrets (not pypictl's layout): the publish role wins.
            if value["username"] not in accepted or role == "publish":
                accepted[value["username"]] = (role, values)
        return accepted

    def start_tasks(self, deployment: dict) -> None:
        count = max(1, min(MAX_TASKS_PER_DEPLOYMENT, int(deployment.get("desiredCount") or 1)))
        started = []
        for _ in range(count):
            accepted = None
            for attempt in range(5):
                try:
                    accepted = self.read_secrets()
                    break
                except Exception as e:  # noqa: BLE001 - a task that cannot read its secret does not start
                    error = f"{type(e).__name__}: {e}"
                    time.sleep(0.2 * (attempt + 1))
            self.serial += 1
            task_id = f"task-{self.serial}"
            if accepted is None:
                self.tasks_log.write(event="failed to start", deployment=deployment["id"], task=task_id,
                                     reason=f"reading the secrets: {error}")
                continue
            started.append(Task(task_id, deployment["id"], accepted))
            self.tasks_log.write(event="started", deployment=deployment["id"], task=task_id,
                                 users={u: role for u, (role, _) in accepted.items()},
                                 pending={u: "pending_password" in v for u, (_, v) in accepted.items()})
        self.tasks[deployment["id"]] = started

    def sync(self) -> None:
        """Starts the tasks of deployments listed for the first time, stops those of deployments no
        longer listed. Call with self.lock held."""
        listed = self.ecs.describe_services(cluster=self.cluster, services=[self.service])["services"][0]["deployments"]
        ids = [d["id"] for d in listed]
        for d in listed:
            if d["id"] in self.seen:
                continue
            self.seen.add(d["id"])
            if d.get("rolloutState") == "FAILED" or ((d.get("failedTasks") or 0) > 0 and not d.get("runningCount")):
                self.tasks_log.write(event="failed to start", deployment=d["id"], task=None,
                                     reason=f"failedTasks {d.get('failedTasks')}, rolloutState {d.get('rolloutState')}")
                self.tasks[d["id"]] = []
                continue
            self.start_tasks(d)
        for gone in [dep for dep in self.tasks if dep not in ids]:
            for t in self.tasks.pop(gone):
                self.tasks_log.write(event="stopped", deployment=gone, task=t.task_id)
        self.order = ids

    def pick(self) -> Task | None:
        """The task that answers the next request (round robin), in step with ECS. None: no task."""
        with self.lock:
            try:
                self.sync()
            except Exception as e:  # noqa: BLE001 - moto did not answer: the tasks as last known answer
                self.tasks_log.write(event="note", reason=f"DescribeServices: {type(e).__name__}: {e}")
            groups = [d for d in self.order if self.tasks.get(d)]
            if not groups:
                return None
            deployment = groups[self.turn % len(groups)]
            self.turn += 1
            tasks = self.tasks[deployment]
            n = self.turns.get(deployment, 0)
            self.turns[deployment] = n + 1
            return tasks[n % len(tasks)]

    def poll(self) -> None:
        with self.lock:
            self.sync()


def handler_class(service: Service, upstream_port: int, requests_log: JsonLog):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):  # requests.log instead
            pass

        def credentials(self) -> tuple[str, str] | None:
            header = self.headers.get("Authorization", "")
            if not header.lower().startswith("basic "):
                return None
            try:
                user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return user, password

        def reply(self, status: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def forward(self, body: bytes) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_BY_HOP and k.lower() != "authorization"}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.reply(resp.status, data, [(k, v) for k, v in resp.getheaders()
                                               if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"])
                return resp.status
            finally:
                conn.close()

        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            task = service.pick()
            creds = self.credentials()
            user, matched = (creds[0] if creds else None), None
            if task is None:
                status = 503
                self.reply(503, b"no task of the service is running\n", [("Content-Type", "text/plain")])
            elif self.path == "/health" or self.path.startswith(("/health/", "/health?")):
                status = self.forward(body)
            else:
                accepted = task.check(*creds) if creds else None
                if accepted is None:
                    status = 401
                    self.reply(401, b"Unauthorized\n", [("Content-Type", "text/plain"),
                                                        ("WWW-Authenticate", 'Basic realm="pypi"')])
                elif self.command == "POST" and accepted[0] != "publish":
                    status, matched = 403, accepted[1]
                    self.reply(403, b"Forbidden: this user may not upload\n", [("Content-Type", "text/plain")])
                else:
                    matched = accepted[1]
                    status = self.forward(body)
            requests_log.write(deployment=task.deployment if task else None, task=task.task_id if task else None,
                               username=user, method=self.command, path=self.path.split("?")[0], status=status,
                               credential=matched)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = handle_any

    return Handler


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A client that closes its connection (keep-alive ended) is no error worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("endpoint")
    parser.add_argument("stack")
    parser.add_argument("pypi_server")
    parser.add_argument("workdir")
    parser.add_argument("--max-seconds", type=float, default=600)
    args = parser.parse_args()
    if not args.endpoint.startswith("http://127.0.0.1:"):
        sys.exit(f"service_double.py: the endpoint must be on 127.0.0.1, got {args.endpoint}")
    deadline = time.monotonic() + args.max_seconds
    dummy_credentials()
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    import boto3

    kw = dict(endpoint_url=args.endpoint, region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    cfn, ecs, secrets = (boto3.client(s, **kw) for s in ("cloudformation", "ecs", "secretsmanager"))
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in cfn.describe_stacks(StackName=args.stack)["Stacks"][0].get("Outputs", [])}
    arns = {"read": outputs["PypiUserSecretArn"]}
    tasks_log = JsonLog(os.path.join(args.workdir, "tasks.log"))
    if "PypiPublishSecretArn" in outputs:
        arns["publish"] = outputs["PypiPublishSecretArn"]
    else:
        tasks_log.write(event="note", reason="the stack has no PypiPublishSecretArn output: no publish user")
    service = Service(ecs, secrets, outputs["EcsClusterName"], outputs["EcsServiceName"], arns, tasks_log)
    service.poll()

    packages = os.path.join(args.workdir, "packages")
    os.makedirs(packages, exist_ok=True)
    upstream_port = free_port()
    server = subprocess.Popen(
        [args.pypi_server, "run", "--host", "127.0.0.1", "--port", str(upstream_port), "--disable-fallback",
         "-a", ".", "-P", ".", packages],
        stdout=open(os.path.join(args.workdir, "pypiserver.log"), "w"), stderr=subprocess.STDOUT,
        env=dict(os.environ, HOME=args.workdir),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    httpd = None
    try:
        while time.monotonic() < deadline and server.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", upstream_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        httpd = Server(("127.0.0.1", 0), handler_class(service, upstream_port,
                                                       JsonLog(os.path.join(args.workdir, "requests.log"))))
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        url = os.path.join(args.workdir, "url")
        with open(url + ".tmp", "w") as f:
            f.write(f"http://127.0.0.1:{httpd.server_address[1]}/")
        os.replace(url + ".tmp", url)
        parent = os.getppid()
        while (not stop.wait(POLL_SECONDS) and time.monotonic() < deadline and os.getppid() == parent
               and server.poll() is None):
            try:
                service.poll()
            except Exception as e:  # noqa: BLE001 - moto busy or going away: try again at the next poll
                tasks_log.write(event="note", reason=f"DescribeServices: {type(e).__name__}: {e}")
    finally:
        if httpd is not None:
            httpd.shutdown()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
