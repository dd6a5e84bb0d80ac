//! Security groups: who may talk to the load balancer, the instances and the
//! file system. Rules between groups are separate resources so that the
//! groups can refer to each other without a cycle.

use crate::cfn::resources::ec2::{Egress, Ingress, SecurityGroup, SecurityGroupEgress, SecurityGroupIngress};
use crate::cfn::{Expr, StackOutput, Template};

use super::Ctx;

/// ECS assigns dynamic host ports (bridge network mode) from this range.
pub const EPHEMERAL_PORTS: (u32, u32) = (32768, 65535);
pub const NFS_PORT: u32 = 2049;
/// The root parameter that carries the id of CloudFront's origin-facing
/// managed prefix list in the deployment's region (`pl-...`, different in
/// every region): `pypictl deploy` looks it up by [`CLOUDFRONT_PREFIX_LIST_NAME`].
pub const CLOUDFRONT_PREFIX_LIST_PARAM: &str = "CloudFrontOriginPrefixList";
/// "com.amazonaws.global.cloudfront.origin-facing": the addresses CloudFront
/// connects to origins from (CloudFront Developer Guide, "Restrict access
/// to Application Load Balancers"; Amazon VPC, "AWS-managed prefix lists").
pub const CLOUDFRONT_PREFIX_LIST_NAME: &str = "com.amazonaws.global.cloudfront.origin-facing";
/// What the CloudFront prefix list weighs against the inbound rules quota
/// of a security group (60 by default): its maximum number of entries, not
/// its current one ("AWS-managed prefix lists" weights, Amazon VPC User Guide).
pub const CLOUDFRONT_PREFIX_LIST_WEIGHT: u32 = 55;
/// Inbound rules a security group may have by default (Amazon VPC quotas).
pub const SECURITY_GROUP_INBOUND_RULES: u32 = 60;

pub struct Outputs {
    pub alb_sg: StackOutput,
    pub instance_sg: StackOutput,
    pub efs_sg: StackOutput,
}

/// A rule that matches nothing: without one, CloudFormation gives a new group
/// an allow-all egress rule.
fn no_egress() -> Vec<Egress> {
    vec![Egress {
        ip_protocol: "icmp".into(),
        from_port: Some(252u32.into()),
        to_port: Some(86u32.into()),
        cidr_ip: Some("255.255.255.255/32".into()),
        description: Some("Disallow all traffic".into()),
        ..Default::default()
    }]
}

pub fn build(ctx: Ctx) -> (Template, Outputs) {
    let cfg = ctx.cfg;
    let mut t = Template::new("Network", format!("pypictl {}: security groups", cfg.service_name));
    let vpc: Expr = (&cfg.network.vpc_id).into();

    let mut alb_ingress = Vec::new();
    if cfg.cloudfront.enabled {
        // Behind CloudFront only CloudFront reaches the load balancer, over
        // HTTPS (the origin is https-only). One rule: the prefix list weighs
        // 55 of the group's 60 inbound rules, so port 80 cannot be added too.
        let prefix_list = t.import_root(CLOUDFRONT_PREFIX_LIST_PARAM, "CloudFront origin-facing managed prefix list of the region");
        alb_ingress.push(Ingress {
            ip_protocol: "tcp".into(),
            from_port: Some(443u32.into()),
            to_port: Some(443u32.into()),
            source_prefix_list_id: Some(prefix_list),
            description: Some("HTTPS from CloudFront (origin-facing prefix list)".into()),
            ..Default::default()
        });
    }
    let client_cidrs = if cfg.cloudfront.enabled { vec![] } else { cfg.load_balancer.effective_allowed_cidrs() };
    for cidr in client_cidrs {
        for (port, what) in [(443u32, "HTTPS"), (80, "HTTP, redirected to HTTPS")] {
            alb_ingress.push(Ingress {
                ip_protocol: "tcp".into(),
                from_port: Some(port.into()),
                to_port: Some(port.into()),
                cidr_ip: Some(cidr.clone().into()),
                description: Some(format!("{what} from {cidr}").into()),
                ..Default::default()
            });
        }
    }
    let mut alb_sg = t.add(
        "LoadBalancerSecurityGroup",
        SecurityGroup {
            group_description: Expr::str(format!("{} load balancer", cfg.service_name)),
            vpc_id: Some(vpc.clone()),
            security_group_ingress: Some(alb_ingress),
            security_group_egress: Some(no_egress()),
            ..Default::default()
        },
    );
    if !cfg.load_balancer.internal && cfg.load_balancer.allowed_cidrs.is_none() && !cfg.cloudfront.enabled {
        alb_sg = alb_sg
            .checkov_skip("CKV_AWS_260", "An internet-facing package index must accept port 80 from anywhere to redirect it to HTTPS; the listener on port 80 only redirects.");
    }
    let alb_sg = alb_sg.handle();

    let instance_sg = t
        .add(
            "InstanceSecurityGroup",
            SecurityGroup {
                group_description: Expr::str(format!("{} container instances", cfg.service_name)),
                vpc_id: Some(vpc.clone()),
                security_group_egress: Some(vec![Egress {
                    ip_protocol: "tcp".into(),
                    from_port: Some(443u32.into()),
                    to_port: Some(443u32.into()),
                    cidr_ip: Some("0.0.0.0/0".into()),
                    description: Some("HTTPS to AWS APIs (ECS, SSM, Secrets Manager, logs) and the image registry".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            },
        )
        .handle();

    let efs_sg = t
        .add(
            "FileSystemSecurityGroup",
            SecurityGroup {
                group_description: Expr::str(format!("{} file system: NFS from the instances only", cfg.service_name)),
                vpc_id: Some(vpc),
                security_group_egress: Some(no_egress()),
                ..Default::default()
            },
        )
        .handle();

    let (lo, hi) = EPHEMERAL_PORTS;
    t.add(
        "LoadBalancerToInstances",
        SecurityGroupEgress {
            group_id: alb_sg.att("GroupId"),
            ip_protocol: "tcp".into(),
            from_port: Some(lo.into()),
            to_port: Some(hi.into()),
            destination_security_group_id: Some(instance_sg.att("GroupId")),
            description: Some("To pypiserver containers on their dynamic host ports".into()),
            ..Default::default()
        },
    );
    t.add(
        "InstancesFromLoadBalancer",
        SecurityGroupIngress {
            group_id: instance_sg.att("GroupId"),
            ip_protocol: "tcp".into(),
            from_port: Some(lo.into()),
            to_port: Some(hi.into()),
            source_security_group_id: Some(alb_sg.att("GroupId")),
            description: Some("From the load balancer to the containers' dynamic host ports".into()),
            ..Default::default()
        },
    );
    t.add(
        "InstancesToFileSystem",
        SecurityGroupEgress {
            group_id: instance_sg.att("GroupId"),
            ip_protocol: "tcp".into(),
            from_port: Some(NFS_PORT.into()),
            to_port: Some(NFS_PORT.into()),
            destination_security_group_id: Some(efs_sg.att("GroupId")),
            description: Some("NFS to the package file system".into()),
            ..Default::default()
        },
    );
    t.add(
        "FileSystemFromInstances",
        SecurityGroupIngress {
            group_id: efs_sg.att("GroupId"),
            ip_protocol: "tcp".into(),
            from_port: Some(NFS_PORT.into()),
            to_port: Some(NFS_PORT.into()),
            source_security_group_id: Some(instance_sg.att("GroupId")),
            description: Some("NFS from the container instances".into()),
            ..Default::default()
        },
    );

    let alb_sg = t.export("LoadBalancerSecurityGroupId", "Security group of the load balancer", alb_sg.att("GroupId"));
    let instance_sg = t.export("InstanceSecurityGroupId", "Security group of the container instances", instance_sg.att("GroupId"));
    let efs_sg = t.export("FileSystemSecurityGroupId", "Security group of the file system mount targets", efs_sg.att("GroupId"));
    (t, Outputs { alb_sg, instance_sg, efs_sg })
}
