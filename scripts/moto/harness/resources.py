"""Resource types and attributes moto lacks (placeholders for unsupported types, Fn::GetAtt
fallbacks), and other services' details: Route 53 zone ids, KMS key policies."""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError
from moto.cloudformation.parsing import ResourceMap
from moto.core.common_models import CloudFormationModel

from .core import _hex, _uuid, patch, wrap


def _secret_create(name: str, props: dict, account: str, region: str) -> tuple[str, dict]:
    from moto.secretsmanager.models import secretsmanager_backends

    backend = secretsmanager_backends[account][region]
    name = props.get("Name") or name
    secret_string = props.get("SecretString")
    gen = props.get("GenerateSecretString")
    if gen is not None:
        password = backend.get_random_password(
            password_length=int(gen.get("PasswordLength", 32)),
            exclude_characters=gen.get("ExcludeCharacters", ""),
            exclude_numbers=bool(gen.get("ExcludeNumbers", False)),
            exclude_punctuation=bool(gen.get("ExcludePunctuation", False)),
            exclude_uppercase=bool(gen.get("ExcludeUppercase", False)),
            exclude_lowercase=bool(gen.get("ExcludeLowercase", False)),
            include_space=bool(gen.get("IncludeSpace", False)),
            require_each_included_type=bool(gen.get("RequireEachIncludedType", True)),
        )
        password = json.loads(password)["RandomPassword"] if password.startswith("{") else password
        if gen.get("SecretStringTemplate") and gen.get("GenerateStringKey"):
            doc = json.loads(gen["SecretStringTemplate"])
            doc[gen["GenerateStringKey"]] = password
            secret_string = json.dumps(doc)
        else:
            secret_string = password
    backend.create_secret(
        name=name, secret_string=secret_string, secret_binary=None, description=props.get("Description"),
        tags=props.get("Tags"), kms_key_id=props.get("KmsKeyId"), client_request_token=None,
        replica_regions=[], force_overwrite=False,
    )
    arn = backend.describe_secret(name).arn
    return arn, {"Id": arn}


def _secret_delete(res: "Placeholder") -> None:
    from moto.secretsmanager.models import secretsmanager_backends

    secretsmanager_backends[res.account_id][res.region_name].delete_secret(
        res.physical_resource_id, recovery_window_in_days=None, force_delete_without_recovery=True
    )


def _vault_create(name: str, props: dict, account: str, region: str) -> tuple[str, dict]:
    from moto.backup.models import backup_backends

    vault_name = props.get("BackupVaultName") or name
    vault = backup_backends[account][region].create_backup_vault(
        backup_vault_name=vault_name, backup_vault_tags=props.get("BackupVaultTags") or {},
        encryption_key_arn=props.get("EncryptionKeyArn"), creator_request_id=_uuid(),
    )
    return vault_name, {"BackupVaultName": vault_name, "BackupVaultArn": vault.backup_vault_arn}


def _vault_delete(res: "Placeholder") -> None:
    from moto.backup.models import backup_backends

    backup_backends[res.account_id][res.region_name].delete_backup_vault(res.physical_resource_id)


def _certificate_create(name: str, props: dict, account: str, region: str) -> tuple[str, dict]:
    # CloudFormation completes a DNS-validated certificate only once it is ISSUED (it writes the
    # validation record into DomainValidationOptions' zone itself); moto's ACM starts it
    # PENDING_VALIDATION, so it is marked ISSUED here. The validation record is not written.
    from moto.acm.models import acm_backends

    backend = acm_backends[account][region]
    arn = backend.request_certificate(
        domain_name=props["DomainName"], idempotency_token=None,
        subject_alt_names=props.get("SubjectAlternativeNames") or [], tags=props.get("Tags") or [],
    )
    backend._certificates[arn].status = "ISSUED"
    return arn, {"Id": arn}


def _certificate_delete(res: "Placeholder") -> None:
    from moto.acm.models import acm_backends

    acm_backends[res.account_id][res.region_name].delete_certificate(res.physical_resource_id)


def _arn(service: str, region: str, account: str, rest: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{rest}"


# type -> create(generated_name, properties, account, region) -> (physical id = Ref, GetAtt attributes),
# and optionally a delete. The formats are those AWS documents for Ref and Fn::GetAtt of each type.
PLACEHOLDER_TYPES: dict[str, dict[str, Callable]] = {
    "AWS::SecretsManager::Secret": {"create": _secret_create, "delete": _secret_delete},
    "AWS::Backup::BackupVault": {"create": _vault_create, "delete": _vault_delete},
    "AWS::Backup::BackupPlan": {
        "create": lambda n, p, a, r: (lambda i: (i, {"BackupPlanId": i, "VersionId": _uuid(),
                                                     "BackupPlanArn": _arn("backup", r, a, f"backup-plan:{i}")}))(_uuid())
    },
    "AWS::Backup::BackupSelection": {
        "create": lambda n, p, a, r: (lambda i: (f"{i}", {"SelectionId": i, "BackupPlanId": p.get("BackupPlanId")}))(_uuid())
    },
    "AWS::CertificateManager::Certificate": {"create": _certificate_create, "delete": _certificate_delete},
    "AWS::CloudWatch::Alarm": {
        "create": lambda n, p, a, r: (lambda name: (name, {"Arn": _arn("cloudwatch", r, a, f"alarm:{name}")}))(
            p.get("AlarmName") or n)
    },
    "AWS::EC2::SecurityGroupEgress": {
        "create": lambda n, p, a, r: (lambda i: (i, {"Id": i}))(f"sgr-{_hex(17)}")
    },
    "AWS::ECS::CapacityProvider": {
        "create": lambda n, p, a, r: (p.get("Name") or n, {})
    },
    "AWS::ECS::ClusterCapacityProviderAssociations": {
        "create": lambda n, p, a, r: (p.get("Cluster") or n, {})
    },
    "AWS::ApplicationAutoScaling::ScalableTarget": {
        "create": lambda n, p, a, r: (lambda i: (i, {"Id": i}))(
            f"{p.get('ResourceId')}|{p.get('ScalableDimension')}|{p.get('ServiceNamespace')}")
    },
    "AWS::ApplicationAutoScaling::ScalingPolicy": {
        "create": lambda n, p, a, r: (lambda arn: (arn, {"Arn": arn}))(
            _arn("autoscaling", r, a, f"scalingPolicy:{_uuid()}:resource/{p.get('ResourceId') or ''}"
                 f":policyName/{p.get('PolicyName') or n}"))
    },
}


class Placeholder(CloudFormationModel):
    """A resource of a type moto's CloudFormation does not model: it exists (Ref and Fn::GetAtt
    resolve to ids and ARNs in AWS's formats), and, for the types in PLACEHOLDER_TYPES that have a
    backend hook, it is really created in (and deleted from) moto's backend of that service."""

    # moto's model registry files every model under the service named by its module's second part.
    __module__ = "moto.cloudformation.pypictl_moto"

    def __init__(self, resource_type: str, physical_id: str, attributes: dict, properties: dict,
                 account_id: str, region_name: str):
        self.resource_type = resource_type
        self._physical_id = physical_id
        self.attributes = attributes
        self.properties = properties
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self._physical_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "Pypictl::Moto::Placeholder"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        resource_type = kwargs["ResourceType"]
        props = cloudformation_json.get("Properties") or {}
        spec = PLACEHOLDER_TYPES.get(resource_type)
        if spec:
            physical, attrs = spec["create"](resource_name, props, account_id, region_name)
        else:  # a type nobody described: a generated name, and an ARN shaped from the type
            _, service, kind = resource_type.split("::")
            physical = resource_name
            attrs = {"Arn": _arn(service.lower(), region_name, account_id, f"{kind[0].lower() + kind[1:]}/{physical}")}
        return cls(resource_type, physical, attrs, props, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        original_resource.properties = cloudformation_json.get("Properties") or {}
        return original_resource  # updated in place: same physical id

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        return None

    def delete(self, account_id: str, region_name: str) -> None:
        spec = PLACEHOLDER_TYPES.get(self.resource_type) or {}
        if "delete" in spec:
            spec["delete"](self)

    def get_cfn_attribute(self, attr: str) -> Any:
        if attr in self.attributes:
            return self.attributes[attr]
        raise UnformattedGetAttTemplateException()

    def is_created(self) -> bool:
        return True


@patch(
    "unsupported-types",
    "creates every resource type of the registry",
    "logs 'No Moto CloudFormation support' and skips the resource: a Ref to it vanishes from the "
    "properties that use it, a GetAtt on it is an HTTP 500, outputs using it disappear (13 of our 35 "
    "types: ApplicationAutoScaling ScalableTarget/ScalingPolicy, Backup Plan/Selection/Vault, ACM "
    "Certificate, CloudWatch Alarm, EC2 SecurityGroupEgress, ECS CapacityProvider/"
    "ClusterCapacityProviderAssociations, S3 BucketPolicy, SNS TopicPolicy, SecretsManager Secret)",
    "parsing.resource_class_from_type, the single lookup of a type's model, falls back to a "
    "Placeholder model (AWS's Ref/GetAtt formats); the Secret, the BackupVault and the ACM "
    "Certificate (marked ISSUED) are really created in moto's backends, because pypictl reads the "
    "secret, both the secret and the vault are retained on delete, and moto's ELBv2 refuses a "
    "listener whose certificate ACM does not have",
)
def patch_unsupported_types() -> None:
    @wrap(parsing, "resource_class_from_type")
    def resource_class_from_type(original, resource_type):
        cls = original(resource_type)
        if cls is None and resource_type not in parsing.NULL_MODELS and "::" in resource_type:
            return Placeholder
        return cls


def _after(value: str, sep: str) -> str:
    return value.split(sep, 1)[1] if sep in value else value


# (type, attribute) -> value, for attributes AWS documents and moto's models lack or get wrong.
ATTRIBUTE_FALLBACKS: dict[tuple[str, str], Callable[[Any], Any]] = {
    # app/<name>/<id>: the part of the ARN after "loadbalancer/", AWS's CloudWatch dimension.
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerFullName"): lambda r: _after(r.arn, ":loadbalancer/"),
    # targetgroup/<name>/<id>: the last ARN field.
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupFullName"): lambda r: r.arn.rsplit(":", 1)[1],
    ("AWS::EFS::FileSystem", "Arn"): lambda r: r.file_system_arn,
    ("AWS::EFS::AccessPoint", "Arn"): lambda r: r.access_point_arn,
    ("AWS::EC2::LaunchTemplate", "LatestVersionNumber"): lambda r: str(r.latest_version_number),
    ("AWS::EC2::LaunchTemplate", "DefaultVersionNumber"): lambda r: str(r.default_version_number),
}


def _generic_attribute(resource: Any, attr: str) -> Any:
    """AWS's common attribute shapes, read off the moto model: Arn / <Thing>Arn from .arn, the
    attribute's snake_case name, <Thing>Id from the physical id."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", attr).lower()
    for name in (snake, snake.replace("i_d", "id")):
        value = getattr(resource, name, None)
        if isinstance(value, (str, int)) and value != "":
            return str(value) if isinstance(value, int) else value
    if attr.endswith("Arn"):
        for name in ("arn", f"{snake[:-4]}_arn"):
            value = getattr(resource, name, None)
            if isinstance(value, str) and value:
                return value
    return None


@patch(
    "getatt-fallbacks",
    "Fn::GetAtt returns every attribute the resource type documents (e.g. LoadBalancerFullName, "
    "TargetGroupFullName, LaunchTemplate LatestVersionNumber, EFS AccessPoint/FileSystem Arn) and "
    "refuses an unknown one with a template error",
    "a model that lacks the attribute raises NotImplementedError/UnformattedGetAttTemplateException; "
    "clean_json logs it and returns the raw {'Fn::GetAtt': [...]} dict as the value",
    "wrap parsing.clean_json (every intrinsic goes through it, Fn::Sub's ${A.B} too): on a missing "
    "attribute use ATTRIBUTE_FALLBACKS, then the common shapes (.arn, snake_case field); if none "
    "fits, fail with AWS's template error instead of a raw dict",
)
def patch_getatt() -> None:
    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: ResourceMap) -> Any:
        if isinstance(resource_json, dict) and "Fn::GetAtt" in resource_json:
            target = resource_json["Fn::GetAtt"]
            name, attr = target.split(".", 1) if isinstance(target, str) else (target[0], clean_json(target[1], resources_map))
            resource = resources_map.get(name)
            if resource is not None and not isinstance(resource, (str, dict, list)):
                rtype = getattr(resource, "cf_resource_type", None) or (
                    resources_map._resource_json_map.get(name) or {}).get("Type", "")
                try:
                    value = resource.get_cfn_attribute(attr)
                    if not (isinstance(value, dict) and "Fn::GetAtt" in value):
                        return value
                except (NotImplementedError, UnformattedGetAttTemplateException, AttributeError, KeyError):
                    pass
                fallback = ATTRIBUTE_FALLBACKS.get((rtype, attr))
                value = fallback(resource) if fallback else _generic_attribute(resource, attr)
                if value is None:
                    raise ValidationError(
                        message=f"Template error: resource {name} does not support attribute type {attr} in "
                        "Fn::GetAtt (scripts/moto/harness/resources.py: add it to ATTRIBUTE_FALLBACKS)"
                    )
                return value
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json


# --------------------------------------------------------------------------------------------------
# Other services
# --------------------------------------------------------------------------------------------------


@patch(
    "route53-zone-ids",
    "hosted zone ids start with 'Z' (Z + up to 31 upper-case letters and digits)",
    "22 random upper-case letters and digits, so pypictl's zone_id validation refuses most of them",
    "prefix moto's generated id with Z (HostedZoneIdentifier.generate), length unchanged",
)
def patch_route53_ids() -> None:
    from moto.route53.models import HostedZoneIdentifier

    @wrap(HostedZoneIdentifier, "generate")
    def generate(original, self, *args, **kwargs):
        zone_id = original(self, *args, **kwargs)
        return zone_id if zone_id.startswith("Z") else "Z" + zone_id[1:]


@patch(
    "kms-key-policy",
    "AWS::KMS::Key's KeyPolicy is a JSON object in the template; the key's policy is that document",
    "stores the object as is, so every KMS call that checks the key policy (DescribeKey, ...) fails "
    "with HTTP 500 on json.loads(dict)",
    "serialize KeyPolicy to a JSON string before moto's Key.create_from_cloudformation_json",
)
def patch_kms_key_policy() -> None:
    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json.get("Properties") or {}
        if isinstance(props.get("KeyPolicy"), (dict, list)):
            props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
        return original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    Key.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
