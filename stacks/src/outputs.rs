//! The root stack's outputs: the root template writes them (`app.rs`) and
//! pypictl's commands read them, both through [`RootOutput`], so that a
//! renamed output fails to compile instead of failing a deploy.

macro_rules! root_outputs {
    ($($name:ident: $description:literal,)*) => {
        /// One output of the root stack.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum RootOutput {
            $(#[doc = $description] $name,)*
        }

        impl RootOutput {
            /// Every output, in template order.
            pub const ALL: &[RootOutput] = &[$(RootOutput::$name,)*];

            /// Its name in the template and in DescribeStacks.
            pub const fn name(self) -> &'static str {
                match self {
                    $(RootOutput::$name => stringify!($name),)*
                }
            }

            /// Its description in the template.
            pub const fn description(self) -> &'static str {
                match self {
                    $(RootOutput::$name => $description,)*
                }
            }
        }
    };
}

root_outputs! {
    PypiServerUrls: "URLs of the package index, comma-separated",
    PypiUserSecret: "Name of the Secrets Manager secret with the read credential (list and download)",
    PypiUserSecretArn: "ARN of the secret with the read credential",
    PypiPublishSecret: "Name of the Secrets Manager secret with the publish credential (upload)",
    PypiPublishSecretArn: "ARN of the secret with the publish credential",
    PypiLoadBalancerArn: "ARN of the load balancer",
    LoadBalancerDnsName: "DNS name of the load balancer",
    TargetGroupArn: "ARN of the target group",
    AccessLogBucketName: "Bucket of the load balancer's access logs",
    EcsClusterName: "ECS cluster running pypiserver",
    EcsServiceName: "ECS service running pypiserver",
    EcsServiceArn: "ARN of the ECS service",
    LogGroupName: "CloudWatch Logs group of the containers",
    AsgName: "Auto Scaling group of the container instances",
    FileSystemId: "EFS file system holding the packages",
    CloudwatchAlarmSnsTopicArn: "SNS topic of the alarm notifications",
    CloudwatchAlarmArns: "ARNs of the CloudWatch alarms, comma-separated",
    TaskMinCount: "task_min_count in use (auto-calculated unless set)",
    CapacityInfo: "Instance capacity and task packing (JSON)",
    CloudwatchDashboardUrl: "CloudWatch dashboard",
    BackupVaultName: "AWS Backup vault of the file system",
    CdnDomainName: "CloudFront domain in front of the load balancer",
    CdnLogBucketName: "Bucket of the CloudFront access logs",
}

impl std::fmt::Display for RootOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::RootOutput;

    #[test]
    fn names_are_unique_and_what_cloudformation_accepts() {
        let mut seen = std::collections::HashSet::new();
        for o in RootOutput::ALL {
            assert!(seen.insert(o.name()), "{o} twice");
            // Output logical ids: alphanumeric, at most 255 characters.
            assert!(o.name().chars().all(|c| c.is_ascii_alphanumeric()) && o.name().len() <= 255, "{o}");
            assert!(!o.description().is_empty());
        }
    }
}
