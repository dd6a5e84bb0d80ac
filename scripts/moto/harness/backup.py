"""APIs moto lacks: AWS Backup recovery points (and the helper that adds routes to a moto service)."""

from __future__ import annotations

import json
import uuid
from typing import Any, Callable
from urllib.parse import unquote

from .core import patch


def add_routes(urls_module: Any, paths: dict[str, Callable]) -> None:
    """Adds URL routes to a moto service, as if its urls.py listed them. moto's server builds a
    service's Flask app from that module's url_paths (BaseBackend.flask_paths) on the service's first
    request, so routes added before the server starts are served like moto's own; a handler that is
    a response class's `dispatch` then finds the operation from the request as moto's handlers do."""
    urls_module.url_paths.update(paths)


def recovery_points(vault: Any) -> dict[str, dict]:
    """A backup vault's recovery points (ARN -> ListRecoveryPointsByBackupVault entry), kept on moto's
    Vault (patch backup-recovery-points)."""
    return vault.__dict__.setdefault("_pypictl_recovery_points", {})


# Resource type of a recovery point, from the service of the protected resource's ARN.
BACKUP_RESOURCE_TYPES = {"elasticfilesystem": "EFS", "dynamodb": "DynamoDB", "rds": "RDS", "s3": "S3",
                         "ec2": "EC2", "fsx": "FSx", "storagegateway": "Storage Gateway"}


@patch(
    "backup-recovery-points",
    "StartBackupJob (PUT /backup-jobs) backs a resource up into a vault: the job ends with a recovery "
    "point (ARN arn:aws:backup:<region>:<account>:recovery-point:<ID> for EFS) in that vault; "
    "ListRecoveryPointsByBackupVault (GET /backup-vaults/{name}/recovery-points/) lists a vault's "
    "recovery points, ResourceNotFoundException for a vault that does not exist; DeleteRecoveryPoint "
    "(DELETE /backup-vaults/{name}/recovery-points/{arn}) deletes one, ResourceNotFoundException for "
    "one that does not exist; DeleteBackupVault then deletes the emptied vault",
    "backup has no backup-job nor recovery-point API: the paths answer HTTP 404 with an HTML page, "
    "so `pypictl destroy --force-destroy-data` cannot empty a vault and so never reaches "
    "DeleteBackupVault, and no test can put a recovery point in a vault",
    "add_routes gives backup the three paths, dispatched (operation found from method and path, as "
    "moto does) to three new BackupResponse methods. A backup job completes at once: StartBackupJob "
    "(vault must exist) adds a COMPLETED recovery point to the vault (kept on moto's Vault, which "
    "counts them in NumberOfRecoveryPoints); the list returns them in one page (no NextToken); "
    "DeleteRecoveryPoint removes one at once (AWS: DELETING first, gone a little later). moto's own "
    "DeleteBackupVault deletes the vaults the BackupVault placeholder creates in its backend",
)
def patch_backup_recovery_points() -> None:
    from moto.backup import urls
    from moto.backup.exceptions import ResourceNotFoundException
    from moto.backup.responses import BackupResponse
    from moto.core.utils import unix_time

    def existing_vault(self: BackupResponse, name: str | None = None) -> Any:
        # self.path is the raw (percent-encoded) path: the SDKs encode each label.
        if name is None:
            name = unquote(self.path.split("/backup-vaults/", 1)[1].split("/", 1)[0])
        vault = self.backup_backend.vaults.get(name)
        if vault is None:
            raise ResourceNotFoundException(msg=f"Backup vault {name} does not exist")
        return vault

    def start_backup_job(self: BackupResponse) -> str:
        params = json.loads(self.body or "{}")
        vault = existing_vault(self, params.get("BackupVaultName"))
        resource_arn = params.get("ResourceArn") or ""
        now = unix_time()
        arn = (f"arn:aws:backup:{self.region}:{self.current_account}:recovery-point:"
               f"{str(uuid.uuid4()).upper()}")
        service = resource_arn.split(":")[2] if resource_arn.count(":") >= 5 else ""
        entry = {
            "RecoveryPointArn": arn,
            "BackupVaultName": vault.backup_vault_name,
            "BackupVaultArn": vault.backup_vault_arn,
            "ResourceArn": resource_arn,
            "ResourceType": BACKUP_RESOURCE_TYPES.get(service, service),
            "IamRoleArn": params.get("IamRoleArn"),
            "Status": "COMPLETED",
            "CreationDate": now,
            "CompletionDate": now,
            "BackupSizeInBytes": 0,
            "EncryptionKeyArn": vault.encryption_key_arn,
            "IsEncrypted": bool(vault.encryption_key_arn),
            "Lifecycle": params.get("Lifecycle"),
        }
        recovery_points(vault)[arn] = {k: v for k, v in entry.items() if v is not None}
        vault.num_of_recovery_points = len(recovery_points(vault))
        return json.dumps({"BackupJobId": str(uuid.uuid4()).upper(), "RecoveryPointArn": arn,
                           "CreationDate": now, "IsParent": False})

    def list_recovery_points_by_backup_vault(self: BackupResponse) -> str:
        vault = existing_vault(self)
        return json.dumps({"RecoveryPoints": list(recovery_points(vault).values())})

    def delete_recovery_point(self: BackupResponse) -> str:
        vault = existing_vault(self)
        arn = unquote(self.path.split("/recovery-points/", 1)[1])
        points = recovery_points(vault)
        if arn not in points:
            raise ResourceNotFoundException(
                msg=f"Recovery point {arn} does not exist in backup vault {vault.backup_vault_name}")
        del points[arn]
        vault.num_of_recovery_points = len(points)
        return "{}"

    BackupResponse.start_backup_job = start_backup_job
    BackupResponse.list_recovery_points_by_backup_vault = list_recovery_points_by_backup_vault
    BackupResponse.delete_recovery_point = delete_recovery_point
    add_routes(urls, {
        "{0}/backup-jobs/?$": BackupResponse.dispatch,
        # botocore sends the modeled trailing slash, the Rust SDK none: a rule ending in / matches
        # both, moto adding every rule with strict_slashes off.
        "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$": BackupResponse.dispatch,
        # The ARN label arrives percent-encoded, but the server hands the router a decoded path.
        "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/(?P<recoveryPointArn>.+)$": BackupResponse.dispatch,
    })
