#!/usr/bin/env python3
"""A stand-in, on 127.0.0.1, for the pypiserver tasks of an ECS service deployed to moto.

    .tools/moto/bin/python scripts/moto/service_double.py ENDPOINT STACK PYPI_SERVER WORKDIR \
        [--max-seconds 600]

moto runs no containers, so the wire tests of `pypictl creds --rotate` and `pypictl doctor` need
something that answers HTTP as the deployed service would. This script:
  - reads the stack's outputs (PypiUserSecretArn, EcsClusterName, EcsServiceName) from moto;
  - writes the secret's credentials as an htpasswd file ({SHA}, as the task's start script does)
    and runs pypiserver (PYPI_SERVER: the pypi-server executable of .tools/pypi) on a free loopback
    port with authentication on every action and the fallback to pypi.org off;
  - writes that URL (http://127.0.0.1:PORT/) to WORKDIR/url;
  - like ECS, where tasks read the secret when they start: each time a new ECS deployment of the
    service is COMPLETED, it re-reads the secret and rewrites the htpasswd file, which pypiserver
    reloads on its next request. Until then the old password keeps working.
It stops after --max-seconds, on SIGTERM, or when its parent (the test) goes away.
"""

import argparse
import base64
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seed import dummy_credentials  # noqa: E402


def htpasswd(path: str, username: str, password: str) -> None:
    digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{username}:{{SHA}}{digest}\n")
    os.replace(tmp, path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    dummy_credentials()
    import boto3
    import json

    cfn = boto3.client("cloudformation", endpoint_url=args.endpoint)
    ecs = boto3.client("ecs", endpoint_url=args.endpoint)
    secrets = boto3.client("secretsmanager", endpoint_url=args.endpoint)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=args.stack)["Stacks"][0]["Outputs"]}
    arn, cluster, service = outputs["PypiUserSecretArn"], outputs["EcsClusterName"], outputs["EcsServiceName"]

    def primary() -> dict:
        return ecs.describe_services(cluster=cluster, services=[service])["services"][0]["deployments"][0]

    def credentials() -> tuple[str, str]:
        value = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
        return value["username"], value["password"]

    packages = os.path.join(args.workdir, "packages")
    os.makedirs(packages, exist_ok=True)
    passwords = os.path.join(args.workdir, "htpasswd")
    htpasswd(passwords, *credentials())
    serving = primary()["id"]
    port = free_port()
    server = subprocess.Popen(
        [args.pypi_server, "run", "--host", "127.0.0.1", "--port", str(port), "--disable-fallback",
         "--authenticate", "download,list,update", "--passwords", passwords, packages],
        stdout=open(os.path.join(args.workdir, "pypiserver.log"), "w"), stderr=subprocess.STDOUT,
    )
    signal.signal(signal.SIGTERM, lambda *_: (server.terminate(), sys.exit(0)))
    deadline = time.monotonic() + args.max_seconds
    try:
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        with open(os.path.join(args.workdir, "url.tmp"), "w") as f:
            f.write(f"http://127.0.0.1:{port}/")
        os.replace(os.path.join(args.workdir, "url.tmp"), os.path.join(args.workdir, "url"))
        parent = os.getppid()
        while time.monotonic() < deadline and os.getppid() == parent and server.poll() is None:
            deployment = primary()
            if deployment["id"] != serving and deployment.get("rolloutState") == "COMPLETED":
                htpasswd(passwords, *credentials())
                serving = deployment["id"]
            time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
