//! Least privilege for a deployment: the IAM actions CloudFormation calls to
//! create, update, delete and read each resource type the templates declare
//! (on the caller's behalf when no service role is given, else as that
//! role), and the ARNs they can be scoped to. Pure: a deployment and an
//! assembly in, policy statements out. `pypictl iam-policy` adds the calls
//! pypictl itself makes (src/aws/permissions.rs) and prints the document.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::app::Assembly;
use crate::config::Config;

/// Resource type → the IAM actions its CloudFormation handlers need: the
/// union of the `create`, `update`, `delete` and `read` permissions of the
/// type's resource provider schema (cfn-lint ships them; tests/it/iam_policy.rs
/// checks this table against them), less [`NOT_NEEDED`], plus what the
/// schemas leave out (marked below). One entry per type any template of
/// pypictl declares: a type without one fails the core's tests.
pub const RESOURCE_ACTIONS: &[(&str, &[&str])] = &[
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        &["application-autoscaling:DeleteScheduledAction", "application-autoscaling:DeregisterScalableTarget", "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScheduledActions", "application-autoscaling:ListTagsForResource", "application-autoscaling:PutScheduledAction", "application-autoscaling:RegisterScalableTarget", "application-autoscaling:TagResource", "application-autoscaling:UntagResource", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm", "iam:CreateServiceLinkedRole", "iam:PassRole"],
    ),
    (
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        &["application-autoscaling:DeleteScalingPolicy", "application-autoscaling:DescribeScalingPolicies", "application-autoscaling:PutScalingPolicy", "cloudwatch:GetMetricData"],
    ),
    (
        "AWS::AutoScaling::AutoScalingGroup",
        &["autoscaling:AttachLoadBalancerTargetGroups", "autoscaling:AttachLoadBalancers", "autoscaling:AttachTrafficSources", "autoscaling:CancelInstanceRefresh", "autoscaling:CreateAutoScalingGroup", "autoscaling:CreateOrUpdateTags", "autoscaling:DeleteAutoScalingGroup", "autoscaling:DeleteLifecycleHook", "autoscaling:DeleteNotificationConfiguration", "autoscaling:DeleteTags", "autoscaling:Describe*", "autoscaling:DetachLoadBalancerTargetGroups", "autoscaling:DetachLoadBalancers", "autoscaling:DetachTrafficSources", "autoscaling:DisableMetricsCollection", "autoscaling:EnableMetricsCollection", "autoscaling:PutLifecycleHook", "autoscaling:PutNotificationConfiguration", "autoscaling:ResumeProcesses", "autoscaling:StartInstanceRefresh", "autoscaling:SuspendProcesses", "autoscaling:UpdateAutoScalingGroup", "cloudwatch:PutMetricAlarm", "ec2:Describe*", "ec2:Get*", "ec2:RunInstances", "elasticloadbalancing:Describe*", "iam:CreateServiceLinkedRole", "iam:PassRole", "ssm:Get*"],
    ),
    (
        "AWS::Backup::BackupPlan",
        &["backup:CreateBackupPlan", "backup:DeleteBackupPlan", "backup:GetBackupPlan", "backup:ListTags", "backup:TagResource", "backup:UntagResource", "backup:UpdateBackupPlan", "iam:PassRole"],
    ),
    (
        "AWS::Backup::BackupSelection",
        &["backup:CreateBackupSelection", "backup:DeleteBackupSelection", "backup:GetBackupSelection", "iam:CreateServiceLinkedRole", "iam:GetRole", "iam:PassRole"],
    ),
    (
        "AWS::Backup::BackupVault",
        &["backup-storage:Mount", "backup-storage:MountCapsule", "backup:CreateBackupVault", "backup:DeleteBackupVault", "backup:DeleteBackupVaultAccessPolicy", "backup:DeleteBackupVaultLockConfiguration", "backup:DeleteBackupVaultNotifications", "backup:DescribeBackupVault", "backup:GetBackupVaultAccessPolicy", "backup:GetBackupVaultNotifications", "backup:ListTags", "backup:PutBackupVaultAccessPolicy", "backup:PutBackupVaultLockConfiguration", "backup:PutBackupVaultNotifications", "backup:TagResource", "backup:UntagResource", "kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:RetireGrant"],
    ),
    (
        "AWS::CertificateManager::Certificate",
        &["acm:AddTagsToCertificate", "acm:DeleteCertificate", "acm:DescribeCertificate", "acm:ListTagsForCertificate", "acm:RemoveTagsFromCertificate", "acm:RequestCertificate", "acm:UpdateCertificateOptions", "route53:ChangeResourceRecordSets"],
    ),
    (
        "AWS::CloudFormation::Stack",
        // s3:GetObject: CloudFormation reads the nested templates from the
        // staging bucket with the caller's (or the role's) credentials.
        &["cloudformation:CreateStack", "cloudformation:DeleteStack", "cloudformation:DescribeStacks", "cloudformation:GetStackPolicy", "cloudformation:GetTemplate", "cloudformation:SetStackPolicy", "cloudformation:UpdateStack", "cloudformation:UpdateTerminationProtection", "iam:PassRole", "s3:GetObject"],
    ),
    (
        "AWS::CloudFront::CachePolicy",
        &["cloudfront:CreateCachePolicy", "cloudfront:DeleteCachePolicy", "cloudfront:GetCachePolicy", "cloudfront:UpdateCachePolicy"],
    ),
    (
        "AWS::CloudFront::Distribution",
        &["cloudfront:CreateConnectionGroup", "cloudfront:CreateDistribution", "cloudfront:CreateDistributionWithTags", "cloudfront:DeleteDistribution", "cloudfront:GetConnectionGroup", "cloudfront:GetDistribution", "cloudfront:GetDistributionConfig", "cloudfront:GetVpcOrigin", "cloudfront:ListTagsForResource", "cloudfront:TagResource", "cloudfront:UntagResource", "cloudfront:UpdateDistribution", "cloudfront:UpdateDistributionWithStagingConfig"],
    ),
    (
        "AWS::CloudWatch::Alarm",
        &["cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource", "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:UntagResource"],
    ),
    (
        "AWS::CloudWatch::Dashboard",
        &["cloudwatch:DeleteDashboards", "cloudwatch:GetDashboard", "cloudwatch:ListTagsForResource", "cloudwatch:PutDashboard", "cloudwatch:TagResource", "cloudwatch:UntagResource"],
    ),
    (
        "AWS::EC2::LaunchTemplate",
        &["ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion", "ec2:CreateTags", "ec2:DeleteLaunchTemplate", "ec2:DeleteTags", "ec2:DescribeLaunchTemplates"],
    ),
    (
        "AWS::EC2::SecurityGroup",
        &["ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress", "ec2:CreateSecurityGroup", "ec2:CreateTags", "ec2:DeleteSecurityGroup", "ec2:DeleteTags", "ec2:DescribeInstances", "ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress", "ec2:UpdateSecurityGroupRuleDescriptionsEgress", "ec2:UpdateSecurityGroupRuleDescriptionsIngress"],
    ),
    (
        "AWS::EC2::SecurityGroupEgress",
        &["ec2:AuthorizeSecurityGroupEgress", "ec2:DescribeSecurityGroupRules", "ec2:RevokeSecurityGroupEgress", "ec2:UpdateSecurityGroupRuleDescriptionsEgress"],
    ),
    (
        "AWS::EC2::SecurityGroupIngress",
        &["ec2:AuthorizeSecurityGroupIngress", "ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupIngress", "ec2:UpdateSecurityGroupRuleDescriptionsIngress"],
    ),
    (
        "AWS::ECS::CapacityProvider",
        &["autoscaling:CreateOrUpdateTags", "ecs:CreateCapacityProvider", "ecs:DeleteCapacityProvider", "ecs:DescribeCapacityProviders", "ecs:ListTagsForResource", "ecs:PutClusterCapacityProviders", "ecs:TagResource", "ecs:UntagResource", "ecs:UpdateCapacityProvider", "iam:CreateServiceLinkedRole", "iam:PassRole"],
    ),
    (
        "AWS::ECS::Cluster",
        &["ecs:CreateCluster", "ecs:DeleteCluster", "ecs:DescribeClusters", "ecs:ListTagsForResource", "ecs:PutAccountSetting", "ecs:PutAccountSettingDefault", "ecs:PutClusterCapacityProviders", "ecs:TagResource", "ecs:UntagResource", "ecs:UpdateCluster", "ecs:UpdateClusterSettings", "iam:CreateServiceLinkedRole", "kms:DescribeKey"],
    ),
    (
        "AWS::ECS::ClusterCapacityProviderAssociations",
        &["ecs:DescribeCapacityProviders", "ecs:DescribeClusters", "ecs:PutClusterCapacityProviders"],
    ),
    (
        "AWS::ECS::Service",
        &["ecs:CreateService", "ecs:DeleteService", "ecs:DescribeServiceDeployments", "ecs:DescribeServices", "ecs:ListServiceDeployments", "ecs:ListTagsForResource", "ecs:StopServiceDeployment", "ecs:TagResource", "ecs:UntagResource", "ecs:UpdateService", "iam:PassRole"],
    ),
    (
        "AWS::ECS::TaskDefinition",
        &["ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:ListTagsForResource", "ecs:RegisterTaskDefinition", "ecs:TagResource", "ecs:UntagResource", "iam:GetRole", "iam:PassRole"],
    ),
    (
        "AWS::EFS::AccessPoint",
        &["elasticfilesystem:CreateAccessPoint", "elasticfilesystem:DeleteAccessPoint", "elasticfilesystem:DescribeAccessPoints", "elasticfilesystem:ListTagsForResource", "elasticfilesystem:TagResource", "elasticfilesystem:UntagResource"],
    ),
    (
        "AWS::EFS::FileSystem",
        &["elasticfilesystem:CreateFileSystem", "elasticfilesystem:CreateReplicationConfiguration", "elasticfilesystem:DeleteFileSystem", "elasticfilesystem:DeleteFileSystemPolicy", "elasticfilesystem:DeleteReplicationConfiguration", "elasticfilesystem:DeleteTags", "elasticfilesystem:DescribeBackupPolicy", "elasticfilesystem:DescribeFileSystemPolicy", "elasticfilesystem:DescribeFileSystems", "elasticfilesystem:DescribeLifecycleConfiguration", "elasticfilesystem:DescribeReplicationConfigurations", "elasticfilesystem:ListTagsForResource", "elasticfilesystem:PutBackupPolicy", "elasticfilesystem:PutFileSystemPolicy", "elasticfilesystem:PutLifecycleConfiguration", "elasticfilesystem:TagResource", "elasticfilesystem:UntagResource", "elasticfilesystem:UpdateFileSystem", "elasticfilesystem:UpdateFileSystemProtection", "iam:CreateServiceLinkedRole", "iam:PassRole", "kms:CreateGrant", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext"],
    ),
    (
        "AWS::EFS::MountTarget",
        &["elasticfilesystem:CreateMountTarget", "elasticfilesystem:DeleteMountTarget", "elasticfilesystem:DescribeMountTargetSecurityGroups", "elasticfilesystem:DescribeMountTargets", "elasticfilesystem:ModifyMountTargetSecurityGroups"],
    ),
    (
        "AWS::ElasticLoadBalancingV2::Listener",
        &["elasticloadbalancing:AddTags", "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener", "elasticloadbalancing:DescribeListenerAttributes", "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTags", "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:RemoveTags"],
    ),
    (
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        &["ec2:DescribeIpamPools", "elasticloadbalancing:AddTags", "elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:DescribeCapacityReservation", "elasticloadbalancing:DescribeLoadBalancerAttributes", "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags", "elasticloadbalancing:ModifyCapacityReservation", "elasticloadbalancing:ModifyIpPools", "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:RemoveTags", "elasticloadbalancing:SetIpAddressType", "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets"],
    ),
    (
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        &["ec2:DescribeVpcs", "elasticloadbalancing:AddTags", "elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:RegisterTargets", "elasticloadbalancing:RemoveTags"],
    ),
    (
        "AWS::IAM::InstanceProfile",
        &["iam:AddRoleToInstanceProfile", "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:GetInstanceProfile", "iam:PassRole", "iam:RemoveRoleFromInstanceProfile"],
    ),
    (
        "AWS::IAM::Role",
        &["iam:AttachRolePolicy", "iam:CreateRole", "iam:DeleteRole", "iam:DeleteRolePermissionsBoundary", "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription"],
    ),
    (
        "AWS::KMS::Alias",
        &["kms:CreateAlias", "kms:DeleteAlias", "kms:ListAliases", "kms:UpdateAlias"],
    ),
    (
        "AWS::KMS::Key",
        &["kms:CreateKey", "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription"],
    ),
    (
        "AWS::Logs::LogGroup",
        &["logs:AssociateKmsKey", "logs:CreateLogDelivery", "logs:CreateLogGroup", "logs:DeleteDataProtectionPolicy", "logs:DeleteIndexPolicy", "logs:DeleteLogGroup", "logs:DeleteResourcePolicy", "logs:DeleteRetentionPolicy", "logs:DescribeIndexPolicies", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies", "logs:DisassociateKmsKey", "logs:GetDataProtectionPolicy", "logs:ListTagsForResource", "logs:PutBearerTokenAuthentication", "logs:PutDataProtectionPolicy", "logs:PutIndexPolicy", "logs:PutLogGroupDeletionProtection", "logs:PutResourcePolicy", "logs:PutRetentionPolicy", "logs:TagResource", "logs:UntagResource"],
    ),
    (
        "AWS::Route53::RecordSet",
        &["route53:ChangeResourceRecordSets", "route53:GetChange", "route53:GetHostedZone", "route53:ListHostedZones", "route53:ListResourceRecordSets"],
    ),
    (
        "AWS::S3::Bucket",
        &["iam:PassRole", "s3:CreateBucket", "s3:CreateBucketMetadataTableConfiguration", "s3:DeleteBucket", "s3:DeleteBucketAnalyticsConfiguration", "s3:DeleteBucketCors", "s3:DeleteBucketEncryption", "s3:DeleteBucketLifecycle", "s3:DeleteBucketMetadataTableConfiguration", "s3:DeleteBucketMetricsConfiguration", "s3:DeleteBucketReplication", "s3:DeleteBucketWebsite", "s3:DeleteObject", "s3:GetAccelerateConfiguration", "s3:GetAnalyticsConfiguration", "s3:GetBucketAbac", "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketLogging", "s3:GetBucketMetadataTableConfiguration", "s3:GetBucketNotification", "s3:GetBucketObjectLockConfiguration", "s3:GetBucketOwnershipControls", "s3:GetBucketPublicAccessBlock", "s3:GetBucketTagging", "s3:GetBucketVersioning", "s3:GetBucketWebsite", "s3:GetEncryptionConfiguration", "s3:GetIntelligentTieringConfiguration", "s3:GetInventoryConfiguration", "s3:GetLifecycleConfiguration", "s3:GetMetricsConfiguration", "s3:GetReplicationConfiguration", "s3:ListBucket", "s3:ListTagsForResource", "s3:PutAccelerateConfiguration", "s3:PutAnalyticsConfiguration", "s3:PutBucketAbac", "s3:PutBucketAcl", "s3:PutBucketCORS", "s3:PutBucketLogging", "s3:PutBucketNotification", "s3:PutBucketObjectLockConfiguration", "s3:PutBucketOwnershipControls", "s3:PutBucketPublicAccessBlock", "s3:PutBucketReplication", "s3:PutBucketTagging", "s3:PutBucketVersioning", "s3:PutBucketWebsite", "s3:PutEncryptionConfiguration", "s3:PutIntelligentTieringConfiguration", "s3:PutInventoryConfiguration", "s3:PutLifecycleConfiguration", "s3:PutMetricsConfiguration", "s3:PutObjectAcl", "s3:PutObjectLockConfiguration", "s3:PutReplicationConfiguration", "s3:TagResource", "s3:UntagResource", "s3:UpdateBucketMetadataAnnotationTableConfiguration", "s3:UpdateBucketMetadataInventoryTableConfiguration", "s3:UpdateBucketMetadataJournalTableConfiguration"],
    ),
    (
        "AWS::S3::BucketPolicy",
        &["s3:DeleteBucketPolicy", "s3:GetBucketPolicy", "s3:PutBucketPolicy"],
    ),
    (
        "AWS::SNS::Topic",
        &["iam:GetRole", "iam:PassRole", "sns:CreateTopic", "sns:DeleteTopic", "sns:GetDataProtectionPolicy", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource", "sns:PutDataProtectionPolicy", "sns:SetTopicAttributes", "sns:Subscribe", "sns:TagResource", "sns:Unsubscribe", "sns:UntagResource"],
    ),
    (
        "AWS::SNS::TopicPolicy",
        &["sns:SetTopicAttributes"],
    ),
    (
        "AWS::SecretsManager::ResourcePolicy",
        &["secretsmanager:DeleteResourcePolicy", "secretsmanager:GetResourcePolicy", "secretsmanager:PutResourcePolicy"],
    ),
    (
        "AWS::SecretsManager::Secret",
        // kms:GenerateDataKey, kms:Decrypt: the secret is encrypted with the
        // deployment's key, which Secrets Manager uses as the caller.
        &["kms:Decrypt", "kms:GenerateDataKey", "secretsmanager:CreateSecret", "secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret", "secretsmanager:GetRandomPassword", "secretsmanager:GetSecretValue", "secretsmanager:RemoveRegionsFromReplication", "secretsmanager:ReplicateSecretToRegions", "secretsmanager:TagResource", "secretsmanager:UntagResource", "secretsmanager:UpdateSecret"],
    ),
];

/// Schema permissions left out of [`RESOURCE_ACTIONS`] on purpose: other
/// services' features the templates never use. (resource type or `*`,
/// action prefix, why.)
pub const NOT_NEEDED: &[(&str, &str, &str)] = &[
    ("AWS::ApplicationAutoScaling::ScalableTarget", "lambda:", "provisioned concurrency of Lambda scalable targets: pypictl scales an ECS service"),
    ("AWS::AutoScaling::AutoScalingGroup", "managed-fleets:", "managed fleets: not used by the group"),
    ("AWS::AutoScaling::AutoScalingGroup", "vpc-lattice:", "VPC Lattice traffic sources: the group registers with an ALB target group"),
    ("AWS::CertificateManager::Certificate", "acm-pca:", "private CA certificates: pypictl's certificate is public, DNS-validated"),
    ("AWS::ElasticLoadBalancingV2::Listener", "cognito-idp:", "Cognito authentication actions: the listener forwards"),
    ("AWS::Logs::LogGroup", "firehose:", "Firehose log delivery: not configured"),
    ("AWS::Logs::LogGroup", "s3:REST.PUT.OBJECT", "not an IAM action (an S3 access-log operation name)"),
    ("AWS::S3::Bucket", "s3tables:", "S3 Tables metadata configuration: not configured"),
];

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

/// One statement of a policy document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub sid: String,
    pub actions: BTreeSet<String>,
    pub resources: Vec<String>,
    /// `{"StringEquals": {"iam:PassedToService": [...]}}` and the like.
    pub condition: Option<Value>,
}

impl Statement {
    pub fn to_json(&self) -> Value {
        let mut s = Map::new();
        s.insert("Sid".into(), json!(self.sid));
        s.insert("Effect".into(), json!("Allow"));
        s.insert("Action".into(), json!(self.actions));
        let resource = if self.resources.len() == 1 { json!(self.resources[0]) } else { json!(self.resources) };
        s.insert("Resource".into(), resource);
        if let Some(c) = &self.condition {
            s.insert("Condition".into(), c.clone());
        }
        Value::Object(s)
    }
}

/// `{"Version": "2012-10-17", "Statement": [...]}`.
pub fn document(statements: &[Statement]) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements.iter().map(Statement::to_json).collect::<Vec<_>>()})
}

/// Whether an IAM action pattern (`*` and `?` wildcards, case-insensitive
/// as IAM compares actions) matches an action.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], a) || (!a.is_empty() && go(p, &a[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &a[1..]),
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => go(&p[1..], &a[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

/// Every resource type the deployment's templates declare: the root, the
/// nested stacks and the staging bucket's stack.
pub fn resource_types(assembly: &Assembly) -> BTreeSet<&'static str> {
    let mut types: BTreeSet<&'static str> = assembly.root.resource_types().map(|(_, t)| t).collect();
    for n in &assembly.nested {
        types.extend(n.template.resource_types().map(|(_, t)| t));
    }
    types.extend(crate::staging::template().resource_types().map(|(_, t)| t));
    types
}

/// The IAM actions of a resource type; None for a type without an entry.
pub fn actions_of(resource_type: &str) -> Option<&'static [&'static str]> {
    RESOURCE_ACTIONS.iter().find(|(t, _)| *t == resource_type).map(|(_, a)| *a)
}

/// Actions CloudFormation needs for the templates' parameters: an
/// `AWS::SSM::Parameter::Value<...>` parameter is read from SSM.
fn parameter_actions(assembly: &Assembly) -> BTreeSet<&'static str> {
    let bodies = std::iter::once(assembly.root_body.as_str()).chain(assembly.nested.iter().map(|n| n.body.as_str()));
    let ssm = bodies.filter_map(|b| serde_json::from_str::<Value>(b).ok()).any(|t| {
        t["Parameters"].as_object().is_some_and(|ps| ps.values().any(|p| p["Type"].as_str().is_some_and(|ty| ty.starts_with("AWS::SSM::Parameter::"))))
    });
    if ssm {
        BTreeSet::from(["ssm:GetParameters"])
    } else {
        BTreeSet::new()
    }
}

/// The services that receive the roles the templates create: EC2 (the
/// instance profile), ECS tasks, AWS Backup.
pub const ROLE_SERVICES: &[&str] = &["backup.amazonaws.com", "ec2.amazonaws.com", "ecs-tasks.amazonaws.com"];

fn pascal(service: &str) -> String {
    service
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// What CloudFormation does for the templates, as statements: one per IAM
/// service and scope (`Cfn<Service><Scope>`), sorted by id, and
/// `iam:PassRole` on the roles the templates create, only to the services
/// that use them. Errors name the resource types without an entry.
pub fn resource_statements(assembly: &Assembly, target: &Target) -> Result<Vec<Statement>, String> {
    let types = resource_types(assembly);
    let missing: Vec<&str> = types.iter().copied().filter(|t| actions_of(t).is_none()).collect();
    if !missing.is_empty() {
        return Err(format!("no IAM actions known for {} (stacks/src/permissions.rs)", missing.join(", ")));
    }
    let mut actions: BTreeSet<&str> = types.iter().flat_map(|t| actions_of(t).unwrap_or_default().iter().copied()).collect();
    actions.extend(parameter_actions(assembly));
    let mut groups: BTreeMap<String, (Scope, BTreeSet<String>)> = BTreeMap::new();
    let mut pass_role = false;
    for action in actions {
        if action == "iam:PassRole" {
            pass_role = true;
            continue;
        }
        let service = action.split(':').next().unwrap_or(action);
        let scope = resource_scope(action);
        let sid = format!("Cfn{}{}", pascal(service), scope.label());
        groups.entry(sid).or_insert_with(|| (scope, BTreeSet::new())).1.insert(action.to_string());
    }
    let mut statements: Vec<Statement> = groups
        .into_iter()
        .map(|(sid, (scope, actions))| Statement { sid, actions, resources: target.arns(scope), condition: None })
        .collect();
    if pass_role {
        statements.push(Statement {
            sid: "CfnPassRoles".into(),
            actions: BTreeSet::from(["iam:PassRole".to_string()]),
            resources: target.arns(Scope::Roles),
            condition: Some(json!({"StringEquals": {"iam:PassedToService": ROLE_SERVICES}})),
        });
    }
    statements.sort_by(|a, b| a.sid.cmp(&b.sid));
    Ok(statements)
}

/// The staging bucket's stack is created with the deployer's own
/// credentials, service role or not: its resources' actions, on the
/// staging bucket only (`PypictlStagingBucketStack`).
pub fn staging_statement(target: &Target) -> Statement {
    let actions = crate::staging::template()
        .resource_types()
        .flat_map(|(_, t)| actions_of(t).unwrap_or_default().iter())
        // The bucket has no replication role to pass.
        .filter(|a| a.starts_with("s3:"))
        .map(|a| a.to_string())
        .collect();
    Statement { sid: "PypictlStagingBucketStack".into(), actions, resources: target.arns(Scope::StagingBucket), condition: None }
}

/// The trust policy of a CloudFormation service role.
pub fn cloudformation_trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Deployment;

    fn examples() -> Vec<(String, Deployment)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/examples");
        let mut out: Vec<(String, Deployment)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| {
                let cfg = Config::from_toml(&std::fs::read_to_string(&p).unwrap()).unwrap();
                (p.file_stem().unwrap().to_string_lossy().into_owned(), Deployment::new(cfg).unwrap())
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(out.len() >= 6, "the example configurations in {}", dir.display());
        out
    }

    #[test]
    fn every_resource_type_of_every_example_has_its_actions() {
        let mut seen = BTreeSet::new();
        for (name, d) in examples() {
            let assembly = crate::app::synthesize(&d).unwrap();
            for t in resource_types(&assembly) {
                assert!(actions_of(t).is_some(), "{name}: {t} has no entry in RESOURCE_ACTIONS: add the IAM actions CloudFormation needs for it");
                seen.insert(t);
            }
            resource_statements(&assembly, &Target::new(&d.config, None)).unwrap();
        }
        // No entry outlives its type.
        for (t, _) in RESOURCE_ACTIONS {
            assert!(seen.contains(t), "{t}: no example uses it any more; remove its entry");
        }
    }

    #[test]
    fn the_table_is_sorted_and_well_formed() {
        let names: Vec<&str> = RESOURCE_ACTIONS.iter().map(|(t, _)| *t).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted, "sorted by type, one entry each");
        for (t, actions) in RESOURCE_ACTIONS {
            assert!(!actions.is_empty(), "{t}");
            for a in *actions {
                let (service, name) = a.split_once(':').unwrap_or_else(|| panic!("{t}: {a} is not service:Action"));
                assert!(!service.is_empty() && !name.is_empty() && !a.contains(' '), "{t}: {a}");
                assert!(!NOT_NEEDED.iter().any(|(ty, prefix, _)| (*ty == "*" || ty == t) && a.starts_with(prefix)), "{t}: {a} is listed as not needed");
            }
        }
    }

    #[test]
    fn the_staging_stack_needs_only_s3_on_its_bucket() {
        let cfg = examples().remove(0).1.config;
        let s = staging_statement(&Target::new(&cfg, None));
        assert!(s.actions.contains("s3:CreateBucket") && s.actions.contains("s3:PutBucketPolicy") && s.actions.contains("s3:DeleteBucket"), "{s:?}");
        let staging: BTreeSet<&str> = crate::staging::template().resource_types().map(|(_, t)| t).collect();
        let all: usize = staging.iter().map(|t| actions_of(t).unwrap().iter().filter(|a| **a != "iam:PassRole").count()).sum();
        assert!(s.actions.len() <= all && s.actions.iter().all(|a| a.starts_with("s3:")));
        assert_eq!(s.resources, vec!["arn:aws:s3:::pypictl-staging-*".to_string()]);
    }

    #[test]
    fn wildcards_match_as_iam_matches_actions() {
        assert!(action_matches("ec2:Describe*", "ec2:DescribeVpcs"));
        assert!(action_matches("s3:*", "s3:PutObject"));
        assert!(action_matches("*", "sts:GetCallerIdentity"));
        assert!(action_matches("cloudformation:describestacks", "cloudformation:DescribeStacks"));
        assert!(action_matches("ec2:Describe?pcs", "ec2:DescribeVpcs"));
        assert!(!action_matches("ec2:Describe*", "ec2:RunInstances"));
        assert!(!action_matches("s3:Get*", "s3:PutObject"));
        assert!(!action_matches("ecs:DescribeServices", "ecs:DescribeService"));
    }

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

    #[test]
    fn pass_role_only_to_the_services_that_use_the_roles() {
        let (_, d) = examples().into_iter().find(|(n, _)| n == "all-features").unwrap();
        let statements = resource_statements(&crate::app::synthesize(&d).unwrap(), &Target::new(&d.config, None)).unwrap();
        let pass: Vec<&Statement> = statements.iter().filter(|s| s.actions.contains("iam:PassRole")).collect();
        assert_eq!(pass.len(), 1);
        assert_eq!(pass[0].resources, vec!["arn:aws:iam::*:role/packages-prod-*".to_string()]);
        assert!(pass[0].condition.is_some());
        let sids: Vec<&str> = statements.iter().map(|s| s.sid.as_str()).collect();
        let mut sorted = sids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sids, sorted, "sorted, unique statement ids");
        // all-features names its AMI; heavy reads the ECS-optimized one from SSM.
        assert!(!statements.iter().any(|s| s.actions.contains("ssm:GetParameters")));
        let (_, d) = examples().into_iter().find(|(n, _)| n == "heavy").unwrap();
        let statements = resource_statements(&crate::app::synthesize(&d).unwrap(), &Target::new(&d.config, None)).unwrap();
        assert!(statements.iter().any(|s| s.actions.contains("ssm:GetParameters")), "the AMI parameter");
    }
}
