//! The pypiserver service: task definition (pypiserver, the container
//! contract of `crate::pypiserver`, behind the nginx sidecar of
//! `crate::proxy`), ECS service behind the target group, its logs, roles and
//! auto scaling between task_min_count and task_max_count.

use crate::cfn::resources::appscaling::{PredefinedMetric, ScalableTarget, ScalingPolicy, TargetTracking};
use crate::cfn::resources::ecs::{
    CapacityProviderStrategyItem, CircuitBreaker, ContainerDefinition, DeploymentConfiguration, EfsAuthorization,
    EfsVolumeConfiguration, HealthCheck, LinuxParameters, LogConfiguration, MountPoint, NameValue, PlacementStrategy,
    ContainerDependency, DockerVolumeConfiguration, PortMapping, RestartPolicy, Secret, Service, ServiceLoadBalancer, TaskDefinition, Tmpfs, Ulimit, Volume,
};
use crate::cfn::resources::iam::{InlinePolicy, Role};
use crate::cfn::resources::logs::LogGroup;
use crate::cfn::{aws, Expr, Policy, PolicyDocument, StackOutput, Statement, Template};
use crate::indexer;
use crate::proxy::{self, PROXY_PORT};
use crate::pypiserver::{self as pypi, CONTAINER_NAME, PACKAGES_DIR, PASSWORD_VAR, SCRATCH_DIR, SCRATCH_MIB, USERNAME_VAR};

use super::{compute, credentials, encryption, load_balancer, storage, Ctx};

/// CPU utilisation the service's auto scaling keeps tasks at.
pub const TARGET_CPU_PERCENT: u32 = 60;

pub struct Inputs<'a> {
    pub enc: &'a encryption::Outputs,
    pub storage: &'a storage::Outputs,
    pub creds: &'a credentials::Outputs,
    pub lb: &'a load_balancer::Outputs,
    pub compute: &'a compute::Outputs,
}

pub struct Outputs {
    pub service_name: StackOutput,
    pub service_arn: StackOutput,
    pub log_group: StackOutput,
}

fn ecs_tasks_trust() -> Expr {
    PolicyDocument::new(vec![Statement::allow(&["sts:AssumeRole"])
        .service(&["ecs-tasks.amazonaws.com"])
        .when(Expr::object(vec![(
            "ArnLike",
            Expr::object(vec![("aws:SourceArn", Expr::sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:*"))]),
        )]))])
    .to_expr()
}

pub fn build(ctx: Ctx, inputs: Inputs) -> (Template, Outputs) {
    let cfg = ctx.cfg;
    let cap = ctx.cap;
    let mut t = Template::new("Service", format!("pypictl {}: pypiserver ECS service", cfg.service_name));
    let key_arn = t.import(&inputs.enc.key_arn, "KMS key of the secret and logs");
    let fs_id = t.import(&inputs.storage.file_system_id, "EFS file system of the packages");
    let fs_arn = t.import(&inputs.storage.file_system_arn, "ARN of the file system");
    let ap_id = t.import(&inputs.storage.access_point_id, "Access point of the package directory");
    let ap_arn = t.import(&inputs.storage.access_point_arn, "ARN of the access point");
    let secret_arn = t.import(&inputs.creds.secret_arn, "ARN of the credentials secret");
    let tg_arn = t.import(&inputs.lb.target_group_arn, "Target group of the load balancer");
    let cluster = t.import(&inputs.compute.cluster_name, "ECS cluster");
    let capacity_provider = t.import(&inputs.compute.capacity_provider, "Capacity provider of the instances");

    let logs = t
        .add(
            "LogGroup",
            LogGroup {
                log_group_name: Some(Expr::str(format!("/pypictl/{}/{}", cfg.service_name, cfg.environment))),
                retention_in_days: Some(cfg.service.log_retention_days.into()),
                kms_key_id: Some(key_arn.clone()),
                tags: None,
            },
        )
        // Container logs expire by retention; a redeploy recreates the group by name.
        .deletion_policy(Policy::Delete)
        .handle();

    // Starts the task: pulls nothing private, writes logs, reads the secret.
    let execution_role = t
        .add(
            "TaskExecutionRole",
            Role {
                description: Some(Expr::str(format!("{}: starts tasks (logs, credentials from Secrets Manager)", cfg.service_name))),
                assume_role_policy_document: ecs_tasks_trust(),
                policies: Some(vec![InlinePolicy {
                    policy_name: "start-task".into(),
                    policy_document: PolicyDocument::new(vec![
                        Statement::allow(&["logs:CreateLogStream", "logs:PutLogEvents"]).sid("WriteLogs").on(vec![logs.att("Arn")]),
                        Statement::allow(&["secretsmanager:GetSecretValue"]).sid("ReadCredentials").on(vec![secret_arn.clone()]),
                        Statement::allow(&["kms:Decrypt"])
                            .sid("DecryptCredentials")
                            .on(vec![key_arn.clone()])
                            .when(Expr::object(vec![(
                                "StringEquals",
                                Expr::object(vec![("kms:ViaService", Expr::sub("secretsmanager.${AWS::Region}.amazonaws.com"))]),
                            )])),
                    ])
                    .to_expr(),
                }]),
                ..Default::default()
            },
        )
        .handle();

    // What the running container may do: mount and write the packages
    // through the access point, nothing else.
    let task_role = t
        .add(
            "TaskRole",
            Role {
                description: Some(Expr::str(format!("{}: pypiserver containers (EFS through the access point)", cfg.service_name))),
                assume_role_policy_document: ecs_tasks_trust(),
                policies: Some(vec![InlinePolicy {
                    policy_name: "packages".into(),
                    policy_document: PolicyDocument::new(vec![Statement::allow(&["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"])
                        .sid("MountPackagesThroughAccessPoint")
                        .on(vec![fs_arn])
                        .when(Expr::object(vec![("StringEquals", Expr::object(vec![("elasticfilesystem:AccessPointArn", ap_arn)]))]))])
                    .to_expr(),
                }]),
                ..Default::default()
            },
        )
        .handle();

    let secret_key = |key: &str| Expr::sub_with(format!("${{Arn}}:{key}::"), vec![("Arn", secret_arn.clone())]);
    let secrets = || {
        Some(vec![
            Secret { name: USERNAME_VAR.into(), value_from: secret_key("username") },
            Secret { name: PASSWORD_VAR.into(), value_from: secret_key("password") },
        ])
    };
    let log_configuration = |prefix: &str| {
        Some(LogConfiguration {
            log_driver: "awslogs".into(),
            options: Some(Expr::object(vec![
                ("awslogs-group", logs.r()),
                ("awslogs-region", aws::region()),
                ("awslogs-stream-prefix", prefix.into()),
            ])),
        })
    };
    let environment = |env: Vec<(String, String)>| Some(env.into_iter().map(|(k, v)| NameValue { name: k.into(), value: v.into() }).collect());
    // The sizing formulas size the task; the proxy's small share of its CPU
    // units and memory reservation is carved out of them (placement is
    // unchanged). Each container keeps its own hard memory limit.
    // The same for the indexer, out of what is left to pypiserver.
    let (pypi_cpu, proxy_cpu) = proxy::proxy_share(cap.container_cpu, proxy::PROXY_CPU_UNITS);
    let (pypi_cpu, indexer_cpu) = proxy::proxy_share(pypi_cpu, indexer::CPU_UNITS);
    let (reservation, proxy_reservation) = proxy::proxy_share(cap.container_memory_reservation, proxy::PROXY_MEMORY_RESERVATION_MIB);
    let (reservation, indexer_reservation) = proxy::proxy_share(reservation, indexer::MEMORY_RESERVATION_MIB);
    let container = ContainerDefinition {
        name: CONTAINER_NAME.into(),
        image: pypi::image(cfg).into(),
        essential: Some(true),
        entry_point: Some(pypi::entry_point().into_iter().map(Expr::from).collect()),
        command: Some(vec![pypi::start_script(cfg).into()]),
        environment: environment(pypi::environment(cap.gunicorn_workers)),
        secrets: secrets(),
        // No published port: only the proxy reaches pypiserver, through the
        // container link.
        port_mappings: None,
        mount_points: Some(vec![MountPoint { source_volume: "packages".into(), container_path: PACKAGES_DIR.into(), read_only: Some(false) }]),
        log_configuration: log_configuration(CONTAINER_NAME),
        health_check: Some(HealthCheck {
            command: pypi::health_check_command().into_iter().map(Expr::from).collect(),
            interval: Some(30u32.into()),
            timeout: Some(15u32.into()),
            retries: Some(3u32.into()),
            start_period: Some(60u32.into()),
        }),
        cpu: Some(pypi_cpu.into()),
        memory: Some(cap.container_memory.into()),
        memory_reservation: (reservation > 0).then(|| reservation.into()),
        readonly_root_filesystem: Some(true),
        privileged: Some(false),
        user: Some(format!("{}:{}", pypi::PYPISERVER_UID, pypi::PYPISERVER_GID).into()),
        ulimits: Some(vec![Ulimit { name: "nofile".into(), soft_limit: 65536u32.into(), hard_limit: 65536u32.into() }]),
        linux_parameters: Some(LinuxParameters {
            init_process_enabled: Some(true),
            // The root file system is read-only; the htpasswd file and
            // gunicorn's worker heartbeats live in memory.
            tmpfs: Some(vec![Tmpfs {
                container_path: SCRATCH_DIR.into(),
                size: SCRATCH_MIB.into(),
                mount_options: Some(vec!["rw".into(), "nosuid".into(), "nodev".into(), "noexec".into()]),
            }]),
        }),
        stop_timeout: Some(30u32.into()),
        depends_on: None,
        links: None,
        working_directory: None,
        restart_policy: None,
    };

    // The proxy sidecar: the load balancer's target. It reads the packages
    // (read-only) and the credentials, and reaches pypiserver by its link.
    let sidecar = ContainerDefinition {
        name: proxy::CONTAINER_NAME.into(),
        image: proxy::IMAGE.into(),
        essential: Some(true),
        entry_point: Some(proxy::entry_point().into_iter().map(Expr::from).collect()),
        command: Some(vec![proxy::start_script().into()]),
        environment: environment(proxy::environment(cfg)),
        secrets: secrets(),
        port_mappings: Some(vec![PortMapping {
            container_port: PROXY_PORT.into(),
            host_port: Some(0u32.into()),
            protocol: Some("tcp".into()),
            name: None,
        }]),
        mount_points: Some(vec![
            MountPoint { source_volume: "packages".into(), container_path: PACKAGES_DIR.into(), read_only: Some(true) },
            MountPoint { source_volume: indexer::VOLUME_NAME.into(), container_path: indexer::PAGES_DIR.into(), read_only: Some(true) },
        ]),
        log_configuration: log_configuration(proxy::CONTAINER_NAME),
        health_check: Some(HealthCheck {
            command: proxy::health_check_command().into_iter().map(Expr::from).collect(),
            interval: Some(30u32.into()),
            timeout: Some(15u32.into()),
            retries: Some(3u32.into()),
            start_period: Some(30u32.into()),
        }),
        cpu: Some(proxy_cpu.into()),
        memory: Some(proxy::PROXY_MEMORY_MIB.into()),
        memory_reservation: (proxy_reservation > 0).then(|| proxy_reservation.into()),
        readonly_root_filesystem: Some(true),
        privileged: Some(false),
        // The image's uid of the package files: reads go through the EFS
        // access point as this user anyway.
        user: Some(format!("{}:{}", pypi::PYPISERVER_UID, pypi::PYPISERVER_GID).into()),
        ulimits: Some(vec![Ulimit { name: "nofile".into(), soft_limit: 65536u32.into(), hard_limit: 65536u32.into() }]),
        linux_parameters: Some(LinuxParameters {
            init_process_enabled: Some(true),
            // Configuration, htpasswd, pid, temp files and the page cache.
            tmpfs: Some(vec![Tmpfs {
                container_path: proxy::RUN_DIR.into(),
                size: proxy::RUN_MIB.into(),
                mount_options: Some(vec!["rw".into(), "nosuid".into(), "nodev".into(), "noexec".into()]),
            }]),
        }),
        stop_timeout: Some(30u32.into()),
        // Registered with the load balancer only once pypiserver answers.
        depends_on: Some(vec![ContainerDependency { container_name: CONTAINER_NAME.into(), condition: "HEALTHY".into() }]),
        links: Some(vec![CONTAINER_NAME.into()]),
        working_directory: None,
        restart_policy: None,
    };

    // The page indexer: pypiserver's image and Python, the packages
    // read-only, the pages volume read-write; no secrets, no port. Not
    // essential: without it the proxy answers from pypiserver (its lease
    // runs out), and ECS restarts it.
    let page_indexer = ContainerDefinition {
        name: indexer::CONTAINER_NAME.into(),
        image: pypi::image(cfg).into(),
        essential: Some(false),
        entry_point: Some(indexer::entry_point().into_iter().map(Expr::from).collect()),
        command: Some(vec![indexer::PROGRAM.into()]),
        environment: environment(indexer::environment()),
        secrets: None,
        port_mappings: None,
        mount_points: Some(vec![
            MountPoint { source_volume: "packages".into(), container_path: PACKAGES_DIR.into(), read_only: Some(true) },
            MountPoint { source_volume: indexer::VOLUME_NAME.into(), container_path: indexer::PAGES_DIR.into(), read_only: Some(false) },
        ]),
        log_configuration: log_configuration(indexer::CONTAINER_NAME),
        health_check: Some(HealthCheck {
            command: indexer::health_check_command().into_iter().map(Expr::from).collect(),
            interval: Some(30u32.into()),
            timeout: Some(10u32.into()),
            retries: Some(3u32.into()),
            start_period: Some(60u32.into()),
        }),
        cpu: Some(indexer_cpu.into()),
        memory: Some(indexer::MEMORY_MIB.into()),
        memory_reservation: (indexer_reservation > 0).then(|| indexer_reservation.into()),
        readonly_root_filesystem: Some(true),
        privileged: Some(false),
        user: Some(format!("{}:{}", pypi::PYPISERVER_UID, pypi::PYPISERVER_GID).into()),
        ulimits: None,
        linux_parameters: Some(LinuxParameters { init_process_enabled: Some(true), tmpfs: None }),
        stop_timeout: Some(10u32.into()),
        depends_on: None,
        links: None,
        working_directory: None,
        restart_policy: Some(RestartPolicy { enabled: Some(true), restart_attempt_period: Some(60u32.into()) }),
    };

    let task = t
        .add(
            "TaskDefinition",
            TaskDefinition {
                family: Some(super::name_prefix(cfg).into()),
                network_mode: Some("bridge".into()),
                requires_compatibilities: Some(vec!["EC2".into()]),
                execution_role_arn: Some(execution_role.att("Arn")),
                task_role_arn: Some(task_role.att("Arn")),
                container_definitions: vec![container, sidecar, page_indexer],
                volumes: Some(vec![
                    Volume {
                        name: "packages".into(),
                        efs_volume_configuration: Some(EfsVolumeConfiguration {
                            filesystem_id: fs_id,
                            root_directory: None,
                            transit_encryption: Some("ENABLED".into()),
                            authorization_config: Some(EfsAuthorization { access_point_id: Some(ap_id), iam: Some("ENABLED".into()) }),
                        }),
                        docker_volume_configuration: None,
                        host: None,
                    },
                    // The indexer's pages: a task-scoped Docker volume in
                    // memory, owned by the pypiserver uid, gone with the task.
                    Volume {
                        name: indexer::VOLUME_NAME.into(),
                        efs_volume_configuration: None,
                        docker_volume_configuration: Some(DockerVolumeConfiguration {
                            scope: Some("task".into()),
                            autoprovision: None,
                            driver: Some("local".into()),
                            driver_opts: Some(Expr::object(vec![
                                ("type", "tmpfs".into()),
                                ("device", "tmpfs".into()),
                                (
                                    "o",
                                    format!(
                                        "size={}m,uid={},gid={},mode=0755,nosuid,nodev,noexec",
                                        indexer::PAGES_MIB,
                                        pypi::PYPISERVER_UID,
                                        pypi::PYPISERVER_GID
                                    )
                                    .into(),
                                ),
                            ])),
                        }),
                        host: None,
                    },
                ]),
                tags: None,
            },
        )
        .handle();

    let service = t
        .add(
            "Service",
            Service {
                cluster: Some(cluster.clone()),
                service_name: Some(super::name_prefix(cfg).into()),
                task_definition: Some(task.r()),
                desired_count: Some(cap.task_min_count.into()),
                capacity_provider_strategy: Some(vec![CapacityProviderStrategyItem { capacity_provider, weight: Some(1u32.into()), base: None }]),
                deployment_configuration: Some(DeploymentConfiguration {
                    // Full capacity during a rollout (new tasks start before
                    // old ones stop) while a slot is free; at a peak that
                    // fills every instance, one task at a time (sizing).
                    minimum_healthy_percent: Some(cap.deployment_min_healthy_percent.into()),
                    maximum_percent: Some(200u32.into()),
                    deployment_circuit_breaker: Some(CircuitBreaker { enable: true, rollback: true }),
                }),
                load_balancers: Some(vec![ServiceLoadBalancer {
                    container_name: proxy::CONTAINER_NAME.into(),
                    container_port: PROXY_PORT.into(),
                    target_group_arn: tg_arn,
                }]),
                health_check_grace_period_seconds: Some(120u32.into()),
                placement_strategies: Some(vec![
                    PlacementStrategy { type_: "spread".into(), field: Some("attribute:ecs.availability-zone".into()) },
                    PlacementStrategy { type_: "spread".into(), field: Some("instanceId".into()) },
                ]),
                enable_ecs_managed_tags: Some(true),
                propagate_tags: Some("SERVICE".into()),
                scheduling_strategy: Some("REPLICA".into()),
                tags: None,
            },
        )
        .handle();

    let target = t
        .add(
            "ScalableTarget",
            ScalableTarget {
                min_capacity: cap.task_min_count.into(),
                max_capacity: cap.task_max_count.into(),
                resource_id: Expr::join("/", vec!["service".into(), cluster, service.att("Name")]),
                scalable_dimension: "ecs:service:DesiredCount".into(),
                service_namespace: "ecs".into(),
                role_arn: None,
            },
        )
        .handle();
    t.add(
        "CpuScalingPolicy",
        ScalingPolicy {
            policy_name: Expr::str(ctx.name("cpu-target")),
            policy_type: "TargetTrackingScaling".into(),
            scaling_target_id: Some(target.r()),
            target_tracking_scaling_policy_configuration: Some(TargetTracking {
                target_value: TARGET_CPU_PERCENT.into(),
                predefined_metric_specification: Some(PredefinedMetric {
                    predefined_metric_type: "ECSServiceAverageCPUUtilization".into(),
                    resource_label: None,
                }),
                scale_in_cooldown: Some(300u32.into()),
                scale_out_cooldown: Some(60u32.into()),
                disable_scale_in: None,
            }),
        },
    );

    let service_name = t.export("ServiceName", "ECS service running pypiserver", service.att("Name"));
    let service_arn = t.export("ServiceArn", "ARN of the ECS service", service.r());
    let log_group = t.export("LogGroupName", "CloudWatch Logs group of the containers", logs.r());
    t.output("TaskDefinitionArn", "Task definition in use", task.r());
    (t, Outputs { service_name, service_arn, log_group })
}
