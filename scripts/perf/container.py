"""Starts one container of the synthesized task definition as ECS would:
its entry point and command, its environment, the two secrets (from
PERF_USERNAME / PERF_PASSWORD, if it has secrets), then KEY=VALUE overrides (paths, ports)."""
import json
import os
import sys

template, name, *overrides = sys.argv[1:]
defs = json.load(open(template))["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
c = next(d for d in defs if d["Name"] == name)
env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
env.update({e["Name"]: e["Value"] for e in c["Environment"]})
if c.get("Secrets"):  # the indexer gets none
    env["PYPI_USERNAME"] = os.environ["PERF_USERNAME"]
    env["PYPI_PASSWORD"] = os.environ["PERF_PASSWORD"]
env.update(o.split("=", 1) for o in overrides)
argv = c["EntryPoint"] + c["Command"]
os.execvpe(argv[0], argv, env)
