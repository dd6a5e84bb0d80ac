use crate::cfn::{props, resource, Expr, Tag};

resource!("AWS::ECS::Cluster", Cluster {
    cluster_name: Option<Expr>,
    cluster_settings: Option<Vec<NameValue>>,
    configuration: Option<ClusterConfiguration>,
    tags: Option<Vec<Tag>>,
});

props!(ClusterConfiguration { execute_command_configuration: Option<ExecuteCommandConfiguration> });
props!(ExecuteCommandConfiguration { logging: Option<Expr>, kms_key_id: Option<Expr> });

props!(NameValue { name: Expr, value: Expr });

resource!("AWS::ECS::CapacityProvider", CapacityProvider {
    auto_scaling_group_provider: AutoScalingGroupProvider,
    name: Option<Expr>,
    tags: Option<Vec<Tag>>,
});

props!(AutoScalingGroupProvider {
    auto_scaling_group_arn: Expr,
    managed_scaling: Option<ManagedScaling>,
    managed_termination_protection: Option<Expr>,
    managed_draining: Option<Expr>,
});

props!(ManagedScaling {
    status: Expr,
    target_capacity: Option<Expr>,
    minimum_scaling_step_size: Option<Expr>,
    maximum_scaling_step_size: Option<Expr>,
    instance_warmup_period: Option<Expr>,
});

resource!("AWS::ECS::ClusterCapacityProviderAssociations", ClusterCapacityProviderAssociations {
    cluster: Expr,
    capacity_providers: Vec<Expr>,
    default_capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
});

props!(CapacityProviderStrategyItem { capacity_provider: Expr, weight: Option<Expr>, base: Option<Expr> });

resource!("AWS::ECS::TaskDefinition", TaskDefinition {
    family: Option<Expr>,
    network_mode: Option<Expr>,
    requires_compatibilities: Option<Vec<Expr>>,
    execution_role_arn: Option<Expr>,
    task_role_arn: Option<Expr>,
    container_definitions: Vec<ContainerDefinition>,
    volumes: Option<Vec<Volume>>,
    tags: Option<Vec<Tag>>,
});

props!(ContainerDefinition {
    name: Expr,
    image: Expr,
    essential: Option<bool>,
    entry_point: Option<Vec<Expr>>,
    command: Option<Vec<Expr>>,
    environment: Option<Vec<NameValue>>,
    secrets: Option<Vec<Secret>>,
    port_mappings: Option<Vec<PortMapping>>,
    mount_points: Option<Vec<MountPoint>>,
    log_configuration: Option<LogConfiguration>,
    health_check: Option<HealthCheck>,
    cpu: Option<Expr>,
    memory: Option<Expr>,
    memory_reservation: Option<Expr>,
    readonly_root_filesystem: Option<bool>,
    privileged: Option<bool>,
    user: Option<Expr>,
    ulimits: Option<Vec<Ulimit>>,
    linux_parameters: Option<LinuxParameters>,
    stop_timeout: Option<Expr>,
    depends_on: Option<Vec<ContainerDependency>>,
    links: Option<Vec<Expr>>,
    working_directory: Option<Expr>,
    restart_policy: Option<RestartPolicy>,
});

props!(RestartPolicy { enabled: Option<bool>, restart_attempt_period: Option<Expr> });

props!(Secret { name: Expr, value_from: Expr });
props!(PortMapping { container_port: Expr, host_port: Option<Expr>, protocol: Option<Expr>, name: Option<Expr> });
props!(MountPoint { source_volume: Expr, container_path: Expr, read_only: Option<bool> });
props!(LogConfiguration { log_driver: Expr, options: Option<Expr> });
props!(HealthCheck {
    command: Vec<Expr>,
    interval: Option<Expr>,
    timeout: Option<Expr>,
    retries: Option<Expr>,
    start_period: Option<Expr>,
});
props!(Ulimit { name: Expr, soft_limit: Expr, hard_limit: Expr });
props!(LinuxParameters { init_process_enabled: Option<bool>, tmpfs: Option<Vec<Tmpfs>> });
props!(Tmpfs { container_path: Expr, size: Expr, mount_options: Option<Vec<Expr>> });
props!(ContainerDependency { container_name: Expr, condition: Expr });

props!(Volume {
    name: Expr,
    #[serde(rename = "EFSVolumeConfiguration")]
    efs_volume_configuration: Option<EfsVolumeConfiguration>,
    docker_volume_configuration: Option<DockerVolumeConfiguration>,
    host: Option<HostVolume>,
});

props!(DockerVolumeConfiguration {
    scope: Option<Expr>,
    autoprovision: Option<bool>,
    driver: Option<Expr>,
    driver_opts: Option<Expr>,
});

props!(HostVolume { source_path: Option<Expr> });

props!(EfsVolumeConfiguration {
    #[serde(rename = "FilesystemId")]
    filesystem_id: Expr,
    root_directory: Option<Expr>,
    transit_encryption: Option<Expr>,
    authorization_config: Option<EfsAuthorization>,
});

props!(EfsAuthorization {
    access_point_id: Option<Expr>,
    #[serde(rename = "IAM")]
    iam: Option<Expr>,
});

resource!("AWS::ECS::Service", Service {
    cluster: Option<Expr>,
    service_name: Option<Expr>,
    task_definition: Option<Expr>,
    desired_count: Option<Expr>,
    capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    deployment_configuration: Option<DeploymentConfiguration>,
    load_balancers: Option<Vec<ServiceLoadBalancer>>,
    health_check_grace_period_seconds: Option<Expr>,
    placement_strategies: Option<Vec<PlacementStrategy>>,
    #[serde(rename = "EnableECSManagedTags")]
    enable_ecs_managed_tags: Option<bool>,
    propagate_tags: Option<Expr>,
    scheduling_strategy: Option<Expr>,
    tags: Option<Vec<Tag>>,
});

props!(DeploymentConfiguration {
    minimum_healthy_percent: Option<Expr>,
    maximum_percent: Option<Expr>,
    deployment_circuit_breaker: Option<CircuitBreaker>,
});

props!(CircuitBreaker { enable: bool, rollback: bool });
props!(ServiceLoadBalancer { container_name: Expr, container_port: Expr, target_group_arn: Expr });
props!(PlacementStrategy { #[serde(rename = "Type")] type_: Expr, field: Option<Expr> });
