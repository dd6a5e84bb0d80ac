//! Where a deployment's resources live and which ARNs an action can be
//! scoped to: the [`Target`] (partition, region, account, names), the
//! [`Scope`]s and the ARNs each stands for, and [`resource_scope`], the
//! scope of each action CloudFormation calls.

use crate::config::Config;

/// Where a deployment's resources live, for ARNs: the region from the
/// configuration, the account when known (`*` otherwise: pypictl.toml names
/// no account), the names the templates give or CloudFormation derives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub stack_name: String,
    pub service_name: String,
    /// `<service_name>-<environment>`: cluster, service, alarms, dashboard.
    pub name_prefix: String,
    pub log_group: String,
    pub zone_id: String,
}

/// The ARN partition of a region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        "aws"
    }
}

impl Target {
    /// `account`: None for `*`.
    pub fn new(cfg: &Config, account: Option<&str>) -> Target {
        Target {
            partition: partition(&cfg.region).to_string(),
            region: cfg.region.clone(),
            account: account.unwrap_or("*").to_string(),
            stack_name: cfg.stack_name().to_string(),
            service_name: cfg.service_name.clone(),
            name_prefix: crate::components::name_prefix(cfg),
            log_group: format!("/pypictl/{}/{}", cfg.service_name, cfg.environment),
            zone_id: cfg.dns.zone_id.trim_start_matches("/hostedzone/").to_string(),
        }
    }

    fn arn(&self, service: &str, resource: &str) -> String {
        format!("arn:{}:{service}:{}:{}:{resource}", self.partition, self.region, self.account)
    }

    fn global_arn(&self, service: &str, resource: &str) -> String {
        format!("arn:{}:{service}::{}:{resource}", self.partition, self.account)
    }

    /// What the names CloudFormation generates for the deployment's nested
    /// stacks' resources (`<stack>-<Nested>-<RANDOM>-<LogicalId>-<RANDOM>`)
    /// begin with. Past a service's length limit CloudFormation keeps 13
    /// characters for `-<RANDOM>` and shares the rest between the stack name
    /// and the logical id, the stack name getting at least half: at least 24
    /// characters of it survive in an IAM role name (64) or a bucket name
    /// (63). A longer stack name is matched by its first 24 characters.
    pub fn generated_prefix(&self) -> String {
        let full = format!("{}-", self.stack_name);
        full.chars().take(24).collect()
    }

    /// The ARNs a scope stands for.
    pub fn arns(&self, scope: Scope) -> Vec<String> {
        let gen = self.generated_prefix();
        let stack = |name: &str| self.arn("cloudformation", &format!("stack/{name}/*"));
        let staging = crate::staging::STACK_NAME;
        match scope {
            Scope::Any => vec!["*".into()],
            // The root stack, its nested stacks (`<stack>-<Nested>-<RANDOM>`)
            // and the staging bucket's stack.
            Scope::Stacks => vec![stack(&self.stack_name), stack(&format!("{}-*", self.stack_name)), stack(staging)],
            // Nested change sets are named by CloudFormation; a change set
            // action is also authorized against its stack, scoped above.
            Scope::ChangeSets => {
                let mut arns = self.arns(Scope::Stacks);
                arns.push(self.arn("cloudformation", "changeSet/*"));
                arns
            }
            // The staging stack's bucket: `pypictl-staging-stagingbucket-<random>`.
            Scope::StagingBucket => vec![format!("arn:{}:s3:::{staging}-*", self.partition)],
            Scope::StagingObjects => {
                vec![format!("arn:{}:s3:::{staging}-*/{}/*", self.partition, crate::app::ASSET_PREFIX)]
            }
            // The buckets the templates create (CloudFormation names them
            // after the stack, in lower case), objects included (`*` spans
            // `/`), and the staging bucket.
            Scope::Buckets => vec![
                format!("arn:{}:s3:::{}*", self.partition, gen.to_ascii_lowercase()),
                format!("arn:{}:s3:::{staging}-*", self.partition),
            ],
            // The buckets the templates create, without the staging bucket.
            Scope::LogBuckets => vec![format!("arn:{}:s3:::{}*", self.partition, gen.to_ascii_lowercase())],
            // `pypictl/<service_name>/credentials-<suffix>` (+ Secrets Manager's `-XXXXXX`).
            Scope::Secrets => vec![self.arn("secretsmanager", &format!("secret:pypictl/{}/*", self.service_name))],
            // Key ids are random: any key of the account and region (the
            // key's own policy decides), and the deployment's alias.
            Scope::Keys => vec![self.arn("kms", "key/*"), self.arn("kms", &format!("alias/pypictl/{}-*", self.service_name))],
            Scope::Roles => vec![self.global_arn("iam", &format!("role/{gen}*"))],
            Scope::InstanceProfiles => vec![self.global_arn("iam", &format!("instance-profile/{gen}*"))],
            Scope::ServiceLinkedRoles => vec![self.global_arn("iam", "role/aws-service-role/*")],
            Scope::HostedZone => vec![format!("arn:{}:route53:::hostedzone/{}", self.partition, self.zone_id)],
            Scope::Route53Changes => vec![format!("arn:{}:route53:::change/*", self.partition)],
            Scope::LogGroup => vec![self.arn("logs", &format!("log-group:{}", self.log_group)), self.arn("logs", &format!("log-group:{}:*", self.log_group))],
            Scope::Topics => vec![self.arn("sns", &format!("{gen}*"))],
            // The templates' alarms, the service's target-tracking alarms
            // (named by Application Auto Scaling) and the dashboard.
            Scope::Alarms => vec![
                self.arn("cloudwatch", &format!("alarm:{}-*", self.name_prefix)),
                self.arn("cloudwatch", &format!("alarm:TargetTracking-service/{}/*", self.name_prefix)),
                self.global_arn("cloudwatch", &format!("dashboard/{}-*", self.name_prefix)),
            ],
            Scope::BackupVaults => vec![self.arn("backup", &format!("backup-vault:{}-backups-*", self.service_name))],
            // Recovery point ids are random; they belong to the vault above.
            Scope::RecoveryPoints => vec![self.arn("backup", "recovery-point:*")],
            Scope::EcsService => vec![self.arn("ecs", &format!("service/{0}/{0}", self.name_prefix))],
            // The ECS-optimized AMI's public parameter.
            Scope::AmiParameters => vec![format!("arn:{}:ssm:{}::parameter/aws/service/ecs/*", self.partition, self.region)],
        }
    }
}

/// What a statement's actions may act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// `*`: the action supports no resource-level permission (most
    /// `Describe*`/`List*`, `Create*` of resources with random ids, actions
    /// on ids only known after creation), or the names are not predictable.
    Any,
    Stacks,
    ChangeSets,
    StagingBucket,
    StagingObjects,
    Buckets,
    LogBuckets,
    Secrets,
    Keys,
    Roles,
    InstanceProfiles,
    ServiceLinkedRoles,
    HostedZone,
    Route53Changes,
    LogGroup,
    Topics,
    Alarms,
    BackupVaults,
    RecoveryPoints,
    EcsService,
    AmiParameters,
}

impl Scope {
    /// Its part of a statement id.
    pub fn label(self) -> &'static str {
        match self {
            Scope::Any => "",
            Scope::Stacks => "Stacks",
            Scope::ChangeSets => "ChangeSets",
            Scope::StagingBucket => "StagingBucket",
            Scope::StagingObjects => "StagingTemplates",
            Scope::Buckets => "Buckets",
            Scope::LogBuckets => "LogBuckets",
            Scope::Secrets => "Secret",
            Scope::Keys => "Keys",
            Scope::Roles => "Roles",
            Scope::InstanceProfiles => "InstanceProfiles",
            Scope::ServiceLinkedRoles => "ServiceLinkedRoles",
            Scope::HostedZone => "HostedZone",
            Scope::Route53Changes => "Changes",
            Scope::LogGroup => "LogGroup",
            Scope::Topics => "Topics",
            Scope::Alarms => "Alarms",
            Scope::BackupVaults => "Vaults",
            Scope::RecoveryPoints => "RecoveryPoints",
            Scope::EcsService => "Service",
            Scope::AmiParameters => "AmiParameters",
        }
    }
}

/// Where CloudFormation's call of `action` (for a resource of the
/// templates) is scoped. `*` where it is unavoidable: EC2, ECS, ELB, EFS,
/// Auto Scaling, ACM and CloudFront resources get random ids or shortened
/// generated names (ELB: 32 characters), and their `Create*` and
/// `Describe*` actions mostly take no resource.
pub fn resource_scope(action: &str) -> Scope {
    let (service, name) = action.split_once(':').unwrap_or((action, ""));
    match service {
        "cloudformation" => Scope::Stacks,
        "s3" => Scope::Buckets,
        "iam" if name == "CreateServiceLinkedRole" => Scope::ServiceLinkedRoles,
        "iam" if name.contains("InstanceProfile") => Scope::InstanceProfiles,
        "iam" => Scope::Roles,
        // GetRandomPassword takes no resource.
        "secretsmanager" if name == "GetRandomPassword" || name.starts_with("List") => Scope::Any,
        "secretsmanager" => Scope::Secrets,
        // CreateKey and the List* calls take no resource.
        "kms" if name == "CreateKey" || name.starts_with("List") => Scope::Any,
        "kms" => Scope::Keys,
        "route53" if name == "GetChange" => Scope::Route53Changes,
        "route53" if name == "ListHostedZones" => Scope::Any,
        "route53" => Scope::HostedZone,
        "logs" if name.starts_with("Describe") => Scope::Any,
        "logs" => Scope::LogGroup,
        "sns" if name.starts_with("List") => Scope::Any,
        "sns" => Scope::Topics,
        "cloudwatch" if name.starts_with("Describe") || name == "GetMetricData" || name.starts_with("List") && name != "ListTagsForResource" => Scope::Any,
        "cloudwatch" => Scope::Alarms,
        // Backup plans get random ids; the vault is named.
        "backup" if name.contains("BackupVault") => Scope::BackupVaults,
        "ssm" => Scope::AmiParameters,
        _ => Scope::Any,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::tests::examples;

    #[test]
    fn names_and_partitions_in_arns() {
        let (_, d) = examples().into_iter().find(|(n, _)| n == "heavy").unwrap();
        let t = Target::new(&d.config, None);
        assert_eq!(t.arns(Scope::Stacks)[0], "arn:aws:cloudformation:us-east-1:*:stack/pypi/*");
        assert_eq!(t.arns(Scope::Stacks)[1], "arn:aws:cloudformation:us-east-1:*:stack/pypi-*/*");
        assert_eq!(t.arns(Scope::StagingBucket), vec!["arn:aws:s3:::pypictl-staging-*"]);
        assert_eq!(t.arns(Scope::Roles), vec!["arn:aws:iam::*:role/pypi-*"]);
        assert_eq!(t.arns(Scope::Secrets), vec!["arn:aws:secretsmanager:us-east-1:*:secret:pypictl/pypi/*"]);
        let t = Target::new(&d.config, Some("123456789012"));
        assert_eq!(t.arns(Scope::HostedZone), vec!["arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"]);
        assert_eq!(t.arns(Scope::EcsService), vec!["arn:aws:ecs:us-east-1:123456789012:service/pypi-production/pypi-production"]);
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("eu-west-1"), "aws");
        // A long stack name: its first 24 characters survive CloudFormation's shortening.
        let mut long = d.config.clone();
        long.stack_name = Some("a-rather-long-stack-name-for-pypi".into());
        assert_eq!(Target::new(&long, None).arns(Scope::Buckets)[0], "arn:aws:s3:::a-rather-long-stack-name*");
    }
}
