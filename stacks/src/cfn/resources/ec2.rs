use crate::cfn::{props, resource, Expr, Tag};

resource!("AWS::EC2::SecurityGroup", SecurityGroup {
    group_description: Expr,
    vpc_id: Option<Expr>,
    security_group_ingress: Option<Vec<Ingress>>,
    security_group_egress: Option<Vec<Egress>>,
    tags: Option<Vec<Tag>>,
});

props!(Ingress {
    ip_protocol: Expr,
    from_port: Option<Expr>,
    to_port: Option<Expr>,
    cidr_ip: Option<Expr>,
    cidr_ipv6: Option<Expr>,
    source_prefix_list_id: Option<Expr>,
    source_security_group_id: Option<Expr>,
    description: Option<Expr>,
});

props!(Egress {
    ip_protocol: Expr,
    from_port: Option<Expr>,
    to_port: Option<Expr>,
    cidr_ip: Option<Expr>,
    cidr_ipv6: Option<Expr>,
    destination_security_group_id: Option<Expr>,
    description: Option<Expr>,
});

resource!("AWS::EC2::SecurityGroupIngress", SecurityGroupIngress {
    group_id: Expr,
    ip_protocol: Expr,
    from_port: Option<Expr>,
    to_port: Option<Expr>,
    cidr_ip: Option<Expr>,
    source_security_group_id: Option<Expr>,
    description: Option<Expr>,
});

resource!("AWS::EC2::SecurityGroupEgress", SecurityGroupEgress {
    group_id: Expr,
    ip_protocol: Expr,
    from_port: Option<Expr>,
    to_port: Option<Expr>,
    cidr_ip: Option<Expr>,
    destination_security_group_id: Option<Expr>,
    description: Option<Expr>,
});

resource!("AWS::EC2::LaunchTemplate", LaunchTemplate {
    launch_template_data: LaunchTemplateData,
    tag_specifications: Option<Vec<TagSpecification>>,
});

props!(LaunchTemplateData {
    image_id: Option<Expr>,
    instance_type: Option<Expr>,
    iam_instance_profile: Option<IamInstanceProfile>,
    security_group_ids: Option<Vec<Expr>>,
    user_data: Option<Expr>,
    metadata_options: Option<MetadataOptions>,
    block_device_mappings: Option<Vec<BlockDeviceMapping>>,
    monitoring: Option<Monitoring>,
    ebs_optimized: Option<bool>,
    tag_specifications: Option<Vec<TagSpecification>>,
});

props!(IamInstanceProfile { arn: Option<Expr>, name: Option<Expr> });

props!(MetadataOptions {
    http_tokens: Expr,
    http_endpoint: Option<Expr>,
    http_put_response_hop_limit: Option<Expr>,
    instance_metadata_tags: Option<Expr>,
});

props!(BlockDeviceMapping { device_name: Expr, ebs: Option<Ebs> });

props!(Ebs {
    encrypted: Option<bool>,
    kms_key_id: Option<Expr>,
    volume_size: Option<Expr>,
    volume_type: Option<Expr>,
    delete_on_termination: Option<bool>,
});

props!(Monitoring { enabled: bool });
props!(TagSpecification { resource_type: Expr, tags: Vec<Tag> });
