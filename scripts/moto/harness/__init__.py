"""pypictl's patches of moto's server, by subject (scripts/moto/pypictl_moto.py applies them, in its
order, and serves; its docstring documents the environment variables and the faults route).

Importing the package registers every patch in PATCHES, in the order --describe prints them: the
modules are imported below in that order, and a module imports only modules before it at import
time (nested and changesets import rollback when their patch is applied).

    core         the patch registry (PATCHES, patch, wrap), shared helpers and exceptions
    operations   stack operations' machinery: the global lock, Op, request tokens, the fault sets and
                 their routes /_pypictl/faults and /_pypictl/deployment-faults (no patches)
    events       stack events: the clock, per-resource events, pagination, resource statuses
    nested       nested stacks
    teardown     deletion order and its AWS facts
    changesets   change sets, ExecuteChangeSet
    resources    placeholders for unsupported types, Fn::GetAtt fallbacks, Route 53, KMS
    backup       AWS Backup recovery points
    cloudwatch   CloudWatch over Smithy RPC v2 CBOR, DescribeAlarms filters
    ecs          ECS deployments, the circuit breaker and its rollback (a fault)
    blockers     what blocks a deletion: container instances, scale-in protection, recovery points
    background   stack operations in the background, fault injection
    rollback     rollbacks, update rollbacks, DisableRollback, RollbackStack, ContinueUpdateRollback,
                 RetainExceptOnCreate, request tokens, status reasons
"""

# moto prints a warning for each resource type it does not support; the placeholder patch
# (resources.py) makes those warnings moot, and the server log stays readable. Set before moto is
# imported.
import logging
import warnings

warnings.filterwarnings("ignore", message="Tried to parse .* but it's not supported")
logging.getLogger("moto").addFilter(lambda r: not str(r.msg).startswith("No Moto CloudFormation support"))

from . import core  # noqa: E402
from . import operations  # noqa: E402,F401
from . import events  # noqa: E402
from . import nested  # noqa: E402
from . import teardown  # noqa: E402
from . import changesets  # noqa: E402
from . import resources  # noqa: E402
from . import backup  # noqa: E402
from . import cloudwatch  # noqa: E402
from . import ecs  # noqa: E402
from . import blockers  # noqa: E402
from . import background  # noqa: E402
from . import rollback  # noqa: E402

PATCHES = core.PATCHES


def describe() -> str:
    return "\n".join(f"{n}\n  AWS:  {a}\n  moto: {m}\n  fix:  {f}" for n, a, m, f in PATCHES)
