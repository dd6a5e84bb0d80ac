//! Container instances: the ECS cluster and the Auto Scaling group of
//! ECS-optimized Amazon Linux 2023 instances it runs on, with the launch
//! template, instance role, capacity provider and cloud-init user data.

use base64::Engine as _;
use serde_json::json;

use crate::cfn::resources::autoscaling::{AutoScalingGroup, LaunchTemplateSpec, MetricsCollection};
use crate::cfn::resources::ec2::{
    BlockDeviceMapping, Ebs, IamInstanceProfile, LaunchTemplate, LaunchTemplateData, MetadataOptions, TagSpecification,
};
use crate::cfn::resources::ecs::{
    AutoScalingGroupProvider, CapacityProvider, CapacityProviderStrategyItem, Cluster, ClusterCapacityProviderAssociations,
    ManagedScaling, NameValue,
};
use crate::cfn::resources::iam::{InlinePolicy, InstanceProfile, Role};
use crate::cfn::{Expr, Parameter, PolicyDocument, StackOutput, Statement, Tag, Template};
use crate::catalogue::{self, Arch};

use super::{managed_policy, network, Ctx};

pub const ASG_LOGICAL_ID: &str = "AutoScalingGroup";
/// How long an instance may take to boot and register with ECS before the
/// rollout (or creation) fails.
pub const SIGNAL_TIMEOUT: &str = "PT15M";

pub struct Outputs {
    pub cluster_name: StackOutput,
    pub capacity_provider: StackOutput,
    pub asg_name: StackOutput,
}

fn ami_parameter_path(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id",
        Arch::Arm64 => "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id",
    }
}

/// Where the stack's own name goes in the user data (known only to
/// CloudFormation); replaced by `${AWS::StackName}` after every other `${`
/// has been escaped, so no `${…}` in users' commands or files is taken for
/// a variable.
const STACK_NAME_MARK: &str = "@@PYPICTL_STACK_NAME@@";
/// Where the cluster's name goes: replaced by `${Cluster}`, a reference.
/// The reference is what makes CloudFormation delete the instances before
/// the cluster; with the name written out, nothing orders them and
/// DeleteCluster fails with ClusterContainsContainerInstances ("You can't
/// delete a cluster that has registered container instances": ECS API
/// reference, DeleteCluster).
const CLUSTER_MARK: &str = "@@PYPICTL_CLUSTER@@";
/// Logical id of the cluster, referenced by the user data.
pub const CLUSTER_LOGICAL_ID: &str = "Cluster";

/// The cloud-config document (JSON is YAML, and cloud-init reads it as such).
pub fn cloud_config(ctx: Ctx) -> serde_json::Value {
    let cfg = ctx.cfg;
    let ecs_config = format!(
        "ECS_CLUSTER={CLUSTER_MARK}\nECS_ENABLE_TASK_IAM_ROLE=true\nECS_ENABLE_CONTAINER_METADATA=true\nECS_CONTAINER_STOP_TIMEOUT=45s\nECS_IMAGE_PULL_BEHAVIOR=prefer-cached\n",
    );
    let mut files = vec![json!({"path": "/etc/ecs/ecs.config", "content": ecs_config, "permissions": "0644", "owner": "root:root", "append": true})];
    for f in &cfg.compute.extra_files {
        files.push(json!({
            "path": f.path,
            "encoding": "b64",
            "content": base64::engine::general_purpose::STANDARD.encode(f.content.as_bytes()),
            "permissions": format!("{:0>4}", f.permissions.trim_start_matches('0')),
            "owner": "root:root",
        }));
    }
    // Tell CloudFormation the instance is ready once the ECS agent has
    // registered it; in the background, because the agent itself starts
    // after cloud-init has finished.
    let ready = format!(
        "dnf install -y aws-cfn-bootstrap && systemd-run --no-block --unit=pypictl-ready /bin/sh -c 'for i in $(seq 1 160); do if curl -sf http://localhost:51678/v1/metadata | grep -q ContainerInstanceArn; then exec /opt/aws/bin/cfn-signal --exit-code 0 --stack {STACK_NAME_MARK} --resource {ASG_LOGICAL_ID} --region {region}; fi; sleep 5; done; exec /opt/aws/bin/cfn-signal --exit-code 1 --reason \"ECS agent did not register\" --stack {STACK_NAME_MARK} --resource {ASG_LOGICAL_ID} --region {region}'",
        region = cfg.region
    );
    let mut runcmd: Vec<serde_json::Value> = cfg.compute.extra_commands.iter().map(|c| json!(c)).collect();
    runcmd.push(json!(ready));

    let mut doc = serde_json::Map::new();
    if !cfg.compute.users.is_empty() {
        let mut users = vec![json!("default")];
        users.extend(cfg.compute.users.iter().map(|u| serde_json::to_value(u).expect("users serialize")));
        doc.insert("users".into(), json!(users));
    }
    doc.insert("write_files".into(), json!(files));
    doc.insert("runcmd".into(), json!(runcmd));
    serde_json::Value::Object(doc)
}

fn cloud_config_text(ctx: Ctx) -> String {
    format!("#cloud-config\n{}\n", serde_json::to_string_pretty(&cloud_config(ctx)).expect("JSON"))
}

fn user_data(ctx: Ctx) -> Expr {
    let text = cloud_config_text(ctx)
        .replace("${", "${!")
        .replace(STACK_NAME_MARK, "${AWS::StackName}")
        .replace(CLUSTER_MARK, &format!("${{{CLUSTER_LOGICAL_ID}}}"));
    Expr::base64(Expr::sub(text))
}

/// The most bytes the user data can have once CloudFormation has put the
/// nested stack's name in (at most 128 characters), before base64. EC2
/// refuses more than 16 KB ("User data is limited to 16 KB, in raw form,
/// before it is base64-encoded": EC2 User Guide, "Work with instance user data").
pub fn user_data_max_bytes(ctx: Ctx) -> usize {
    let text = cloud_config_text(ctx);
    let cluster_name = super::name_prefix(ctx.cfg).len();
    text.len() + text.matches(STACK_NAME_MARK).count() * (128 - STACK_NAME_MARK.len())
        + text.matches(CLUSTER_MARK).count() * cluster_name - text.matches(CLUSTER_MARK).count() * CLUSTER_MARK.len()
}

/// EC2's limit on user data, in raw bytes.
pub const USER_DATA_LIMIT_BYTES: usize = 16 * 1024;

pub fn build(ctx: Ctx, net: &network::Outputs) -> (Template, Outputs) {
    let cfg = ctx.cfg;
    let cap = ctx.cap;
    let mut t = Template::new("Compute", format!("pypictl {}: ECS cluster on an Auto Scaling group", cfg.service_name));
    let instance_sg = t.import(&net.instance_sg, "Security group of the container instances");

    let image_id = match &cfg.compute.ami_id {
        Some(ami) => Expr::from(ami),
        None => {
            let arch = catalogue::lookup(&cfg.compute.instance_type).map(|it| it.arch).unwrap_or(Arch::X86_64);
            t.parameter(
                "EcsOptimizedAmi",
                Parameter {
                    type_: "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>".into(),
                    description: "ECS-optimized Amazon Linux 2023 AMI (public SSM parameter)".into(),
                    default: Some(ami_parameter_path(arch).into()),
                    no_echo: None,
                },
            )
        }
    };

    let cluster = t
        .add(
            CLUSTER_LOGICAL_ID,
            Cluster {
                cluster_name: Some(super::name_prefix(cfg).into()),
                cluster_settings: Some(vec![NameValue { name: "containerInsights".into(), value: "enabled".into() }]),
                ..Default::default()
            },
        )
        .handle();

    let mut policies = vec![InlinePolicy {
        policy_name: "signal-readiness".into(),
        policy_document: PolicyDocument::new(vec![Statement::allow(&["cloudformation:SignalResource"])
            .on(vec![Expr::sub("arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${AWS::StackName}/*")])])
        .to_expr(),
    }];
    if let Some(doc) = &cfg.compute.extra_instance_profile_permissions {
        let doc: serde_json::Value = serde_json::from_str(doc).expect("validated as JSON");
        policies.push(InlinePolicy { policy_name: "extra-permissions".into(), policy_document: Expr::Json(doc) });
    }
    let role = t
        .add(
            "InstanceRole",
            Role {
                description: Some(Expr::str(format!("{} container instances: ECS agent, SSM Session Manager", cfg.service_name))),
                assume_role_policy_document: PolicyDocument::new(vec![Statement::allow(&["sts:AssumeRole"]).service(&["ec2.amazonaws.com"])]).to_expr(),
                managed_policy_arns: Some(vec![
                    managed_policy("service-role/AmazonEC2ContainerServiceforEC2Role"),
                    managed_policy("AmazonSSMManagedInstanceCore"),
                ]),
                policies: Some(policies),
                ..Default::default()
            },
        )
        .handle();
    let profile = t.add("InstanceProfile", InstanceProfile { roles: vec![role.r()], path: None }).handle();

    let name_tags = |resource: &str| TagSpecification { resource_type: resource.into(), tags: vec![Tag::new("Name", ctx.name("ecs"))] };
    let lt = t
        .add(
            "LaunchTemplate",
            LaunchTemplate {
                launch_template_data: LaunchTemplateData {
                    image_id: Some(image_id),
                    instance_type: Some((&cfg.compute.instance_type).into()),
                    iam_instance_profile: Some(IamInstanceProfile { arn: Some(profile.att("Arn")), name: None }),
                    security_group_ids: Some(vec![instance_sg]),
                    user_data: Some(user_data(ctx)),
                    // IMDSv2 only, one hop: containers on the bridge network
                    // cannot reach the instance role's credentials.
                    metadata_options: Some(MetadataOptions {
                        http_tokens: "required".into(),
                        http_endpoint: Some("enabled".into()),
                        http_put_response_hop_limit: Some(1u32.into()),
                        instance_metadata_tags: None,
                    }),
                    block_device_mappings: Some(vec![BlockDeviceMapping {
                        device_name: "/dev/xvda".into(),
                        ebs: Some(Ebs {
                            encrypted: Some(true),
                            kms_key_id: None,
                            volume_size: Some(cfg.compute.root_volume_size.into()),
                            volume_type: Some("gp3".into()),
                            delete_on_termination: Some(true),
                        }),
                    }]),
                    monitoring: None,
                    ebs_optimized: None,
                    tag_specifications: Some(vec![name_tags("instance"), name_tags("volume")]),
                },
                tag_specifications: None,
            },
        )
        .handle();

    let min = cap.asg_min_size;
    let max = cap.asg_max_size;
    // Keep every instance in service while a replacement boots; the batch
    // needs one slot of headroom below MaxSize.
    let min_in_service = min.min(max.saturating_sub(1));
    let asg = t
        .add(
            ASG_LOGICAL_ID,
            AutoScalingGroup {
                min_size: min.to_string().into(),
                max_size: max.to_string().into(),
                desired_capacity: None,
                vpc_zone_identifier: Some(cfg.network.asg_subnets.iter().map(Expr::from).collect()),
                launch_template: Some(LaunchTemplateSpec { launch_template_id: lt.r(), version: lt.att("LatestVersionNumber") }),
                health_check_type: Some("EC2".into()),
                health_check_grace_period: Some(300u32.into()),
                default_instance_warmup: Some(300u32.into()),
                // No scale-in protection (and no managed termination
                // protection below): CloudFormation cannot delete a group
                // whose instances are protected from scale in, so `destroy`
                // and the automatic rollback of a failed first create would
                // hang (aws-cdk issues 18179 and 14732). Managed draining
                // moves tasks off an instance before it is terminated.
                new_instances_protected_from_scale_in: Some(false.into()),
                capacity_rebalance: None,
                metrics_collection: Some(vec![MetricsCollection { granularity: "1Minute".into() }]),
                tags: None,
            },
        )
        .creation_policy(json!({
            "ResourceSignal": { "Count": min, "Timeout": SIGNAL_TIMEOUT }
        }))
        .update_policy(json!({
            "AutoScalingRollingUpdate": {
                "MinInstancesInService": min_in_service,
                "MaxBatchSize": 1,
                "PauseTime": SIGNAL_TIMEOUT,
                "WaitOnResourceSignals": true,
                "SuspendProcesses": ["HealthCheck", "ReplaceUnhealthy", "AZRebalance", "AlarmNotification", "ScheduledActions"]
            },
            "AutoScalingScheduledAction": { "IgnoreUnmodifiedGroupSizeProperties": true }
        }))
        .handle();

    let cp = t
        .add(
            "CapacityProvider",
            CapacityProvider {
                // Named explicitly: a generated name starts with the nested
                // stack's, and ECS refuses names that begin with "aws",
                // "ecs" or "fargate" (ECS API reference, CreateCapacityProvider).
                name: Some(ctx.name("instances").into()),
                auto_scaling_group_provider: AutoScalingGroupProvider {
                    auto_scaling_group_arn: asg.r(),
                    managed_scaling: Some(ManagedScaling {
                        status: "ENABLED".into(),
                        target_capacity: Some(100u32.into()),
                        minimum_scaling_step_size: Some(1u32.into()),
                        maximum_scaling_step_size: Some(max.max(1).into()),
                        instance_warmup_period: Some(300u32.into()),
                    }),
                    // Replaced or scaled-in instances are drained first (ECS
                    // stops their tasks gracefully and starts them elsewhere);
                    // termination protection stays off (see the group).
                    managed_termination_protection: Some("DISABLED".into()),
                    managed_draining: Some("ENABLED".into()),
                },
                ..Default::default()
            },
        )
        .handle();

    t.add(
        "ClusterCapacityProviders",
        ClusterCapacityProviderAssociations {
            cluster: cluster.r(),
            capacity_providers: vec![cp.r()],
            default_capacity_provider_strategy: vec![CapacityProviderStrategyItem { capacity_provider: cp.r(), weight: Some(1u32.into()), base: None }],
        },
    );

    let cluster_name = t.export("ClusterName", "ECS cluster", cluster.r());
    t.output("ClusterArn", "ARN of the ECS cluster", cluster.att("Arn"));
    let capacity_provider = t.export("CapacityProviderName", "ECS capacity provider of the Auto Scaling group", cp.r());
    let asg_name = t.export("AutoScalingGroupName", "Auto Scaling group of the container instances", asg.r());
    (t, Outputs { cluster_name, capacity_provider, asg_name })
}
