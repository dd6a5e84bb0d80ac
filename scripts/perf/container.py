"""Starts one container of the synthesized task definition as ECS would:
its entry point and command, its environment, its secrets (if it has any:
the indexer has none) each injected whole, as the secret's JSON, into the
variable the task definition names -- the publish credential from
PERF_USERNAME / PERF_PASSWORD, the read one from PERF_READ_USERNAME /
PERF_READ_PASSWORD -- then KEY=VALUE overrides (paths, ports)."""
import json
import os
import sys

template, name, *overrides = sys.argv[1:]
defs = json.load(open(template))["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
c = next(d for d in defs if d["Name"] == name)
env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
env.update({e["Name"]: e["Value"] for e in c["Environment"]})
# The secrets' variables by the role the container's command gives them
# (`<role>=<variable>` arguments).
roles = dict(a.split("=", 1)[::-1] for a in c["Command"][1:] if a.startswith(("read=", "publish=")))
prefix = {"read": "PERF_READ_", "publish": "PERF_"}
for secret in c.get("Secrets") or []:
    p = prefix[roles[secret["Name"]]]
    env[secret["Name"]] = json.dumps({"username": os.environ[p + "USERNAME"], "password": os.environ[p + "PASSWORD"]})
env.update(o.split("=", 1) for o in overrides)
argv = c["EntryPoint"] + c["Command"]
os.execvpe(argv[0], argv, env)
