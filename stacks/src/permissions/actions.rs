//! The resource-type → IAM-actions table: what CloudFormation's handlers
//! call for each resource type pypictl's templates declare, and the schema
//! permissions deliberately left out of it.

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

/// The IAM actions of a resource type; None for a type without an entry.
pub fn actions_of(resource_type: &str) -> Option<&'static [&'static str]> {
    RESOURCE_ACTIONS.iter().find(|(t, _)| *t == resource_type).map(|(_, a)| *a)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
