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
use crate::cfn::resources::iam::{InlinePolicy, Role as IamRole};
use crate::cfn::resources::logs::LogGroup;
use crate::cfn::{aws, Expr, Policy, PolicyDocument, StackOutput, Statement, Template};
use crate::indexer;
use crate::sizing;
use crate::proxy::{self, PROXY_PORT};
use crate::pypiserver::{self as pypi, CONTAINER_NAME, PACKAGES_DIR, SCRATCH_DIR, SCRATCH_MIB};

use credentials::Role;

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

/// One container of the task as its module's contract states it, and as
/// sized; [`hardened`] adds what every container shares.
struct Container<'a> {
    name: &'a str,
    image: String,
    entry_point: Vec<String>,
    command: Vec<String>,
    environment: Vec<(String, String)>,
    /// The health check's command, timeout and start period (s).
    health_check: (Vec<String>, u32, u32),
    /// CPU units, hard memory limit and soft reservation (MiB; 0: none).
    size: (u32, u32, u32),
}

/// What every container of the task shares, each stating only what differs
/// on top (struct update syntax): hardened (read-only root file system,
/// unprivileged, an init process), run as the package files' owner (reads
/// and writes go through the EFS access point as this user anyway),
/// essential, its logs in the task's `logs_group` under its name, health
/// checked every 30 s (3 retries), 30 s to stop.
fn hardened(c: Container, logs_group: &Expr) -> ContainerDefinition {
    let exprs = |v: Vec<String>| v.into_iter().map(Expr::from).collect::<Vec<_>>();
    let (health_check, timeout, start_period) = c.health_check;
    let (cpu, memory, reservation) = c.size;
    ContainerDefinition {
        name: c.name.into(),
        image: c.image.into(),
        essential: Some(true),
        entry_point: Some(exprs(c.entry_point)),
        command: Some(exprs(c.command)),
        environment: Some(c.environment.into_iter().map(|(k, v)| NameValue { name: k.into(), value: v.into() }).collect()),
        log_configuration: Some(LogConfiguration {
            log_driver: "awslogs".into(),
            options: Some(Expr::object(vec![
                ("awslogs-group", logs_group.clone()),
                ("awslogs-region", aws::region()),
                ("awslogs-stream-prefix", c.name.into()),
            ])),
        }),
        health_check: Some(HealthCheck {
            command: exprs(health_check),
            interval: Some(30u32.into()),
            timeout: Some(timeout.into()),
            retries: Some(3u32.into()),
            start_period: Some(start_period.into()),
        }),
        cpu: Some(cpu.into()),
        memory: Some(memory.into()),
        memory_reservation: (reservation > 0).then(|| reservation.into()),
        readonly_root_filesystem: Some(true),
        privileged: Some(false),
        user: Some(format!("{}:{}", pypi::PYPISERVER_UID, pypi::PYPISERVER_GID).into()),
        linux_parameters: Some(LinuxParameters { init_process_enabled: Some(true), tmpfs: None }),
        stop_timeout: Some(30u32.into()),
        ..Default::default()
    }
}

/// An init process and a writable in-memory scratch directory at `path`
/// (the root file system is read-only).
fn with_scratch(path: &str, mib: u32) -> Option<LinuxParameters> {
    Some(LinuxParameters {
        init_process_enabled: Some(true),
        tmpfs: Some(vec![Tmpfs {
            container_path: path.into(),
            size: mib.into(),
            mount_options: Some(vec!["rw".into(), "nosuid".into(), "nodev".into(), "noexec".into()]),
        }]),
    })
}

/// 65536 open files (connections and files), for the servers.
fn many_open_files() -> Option<Vec<Ulimit>> {
    Some(vec![Ulimit { name: "nofile".into(), soft_limit: 65536u32.into(), hard_limit: 65536u32.into() }])
}

/// The task volume of the proxy's upload buffers (their access point).
const BUFFERS_VOLUME: &str = "upload-buffers";

/// A task volume on the file system through an access point: encrypted in
/// transit, authorized by the task role.
fn efs_volume(name: &str, fs_id: &Expr, access_point_id: Expr) -> Volume {
    Volume {
        name: name.into(),
        efs_volume_configuration: Some(EfsVolumeConfiguration {
            filesystem_id: fs_id.clone(),
            root_directory: None,
            transit_encryption: Some("ENABLED".into()),
            authorization_config: Some(EfsAuthorization { access_point_id: Some(access_point_id), iam: Some("ENABLED".into()) }),
        }),
        docker_volume_configuration: None,
        host: None,
    }
}

fn mount(volume: &str, path: &str, read_only: bool) -> MountPoint {
    MountPoint { source_volume: volume.into(), container_path: path.into(), read_only: Some(read_only) }
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
    let buffers_ap_id = t.import(&inputs.storage.buffers_access_point_id, "Access point of the proxy's upload buffers");
    let buffers_ap_arn = t.import(&inputs.storage.buffers_access_point_arn, "ARN of the upload buffers access point");
    let secret_arns: Vec<(Role, Expr)> = Role::ALL
        .iter()
        .map(|&role| (role, t.import(&inputs.creds.of(role).arn, &format!("ARN of the {} credential's secret", role.as_str()))))
        .collect();
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
            IamRole {
                description: Some(Expr::str(format!("{}: starts tasks (logs, credentials from Secrets Manager)", cfg.service_name))),
                assume_role_policy_document: ecs_tasks_trust(),
                policies: Some(vec![InlinePolicy {
                    policy_name: "start-task".into(),
                    policy_document: PolicyDocument::new(vec![
                        Statement::allow(&["logs:CreateLogStream", "logs:PutLogEvents"]).sid("WriteLogs").on(vec![logs.att("Arn")]),
                        Statement::allow(&["secretsmanager:GetSecretValue"])
                            .sid("ReadCredentials")
                            .on(secret_arns.iter().map(|(_, arn)| arn.clone()).collect()),
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

    // What the running containers may do: mount and write the packages and
    // the upload buffers through their access points, nothing else.
    let task_role = t
        .add(
            "TaskRole",
            IamRole {
                description: Some(Expr::str(format!("{}: pypiserver containers (EFS through the access point)", cfg.service_name))),
                assume_role_policy_document: ecs_tasks_trust(),
                policies: Some(vec![InlinePolicy {
                    policy_name: "packages".into(),
                    policy_document: PolicyDocument::new(vec![Statement::allow(&["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"])
                        .sid("MountPackagesThroughAccessPoint")
                        .on(vec![fs_arn])
                        .when(Expr::object(vec![(
                            "StringEquals",
                            Expr::object(vec![("elasticfilesystem:AccessPointArn", Expr::list(vec![ap_arn, buffers_ap_arn]))]),
                        )]))])
                    .to_expr(),
                }]),
                ..Default::default()
            },
        )
        .handle();

    // Each secret whole (its ARN alone): ECS injects the secret's JSON text.
    // A JSON key in valueFrom would make `pending_password`, present only
    // during a rotation, a key that must exist: ECS fails to start a task
    // whose secret lacks the key it names ("Specifying sensitive data using
    // Secrets Manager secrets", Amazon ECS Developer Guide). A version stage
    // (AWSPENDING) that exists only during a rotation would do the same.
    let secrets = || Some(secret_arns.iter().map(|(role, arn)| Secret { name: role.env_var().into(), value_from: arn.clone() }).collect());
    // The sizing formulas size the task; the proxy's small share of its CPU
    // units and memory reservation is carved out of them (placement is
    // unchanged). Each container keeps its own hard memory limit.
    // The same for the indexer, out of what is left to pypiserver.
    let (pypi_cpu, proxy_cpu) = proxy::proxy_share(cap.container_cpu, proxy::PROXY_CPU_UNITS);
    let (pypi_cpu, indexer_cpu) = proxy::proxy_share(pypi_cpu, indexer::CPU_UNITS);
    let shares = sizing::task_shares(cap.container_memory_reservation, cap.index.reservation_mib());
    let (reservation, proxy_reservation, indexer_reservation) = (shares.pypiserver, shares.proxy, shares.indexer);
    let logs_group = logs.r();
    let container = |c: Container| hardened(c, &logs_group);

    let pypiserver = ContainerDefinition {
        secrets: secrets(),
        // No published port: only the proxy reaches pypiserver, through the
        // container link.
        mount_points: Some(vec![mount("packages", PACKAGES_DIR, false)]),
        ulimits: many_open_files(),
        // gunicorn's worker heartbeats (uploads go to the package volume).
        linux_parameters: with_scratch(SCRATCH_DIR, SCRATCH_MIB),
        ..container(Container {
            name: CONTAINER_NAME,
            image: pypi::image(cfg),
            entry_point: pypi::entry_point(),
            command: pypi::command(cfg),
            environment: pypi::environment(cfg, cap.gunicorn_workers),
            health_check: (pypi::health_check_command(), 15, 60),
            size: (pypi_cpu, cap.container_memory, reservation),
        })
    };

    // The proxy sidecar: the load balancer's target. It reads the packages
    // (read-only) and the credentials, and reaches pypiserver by its link.
    let sidecar = ContainerDefinition {
        secrets: secrets(),
        port_mappings: Some(vec![PortMapping {
            container_port: PROXY_PORT.into(),
            host_port: Some(0u32.into()),
            protocol: Some("tcp".into()),
            name: None,
        }]),
        // The packages read-only; the upload buffers read-write, where it
        // buffers request bodies.
        mount_points: Some(vec![
            mount("packages", PACKAGES_DIR, true),
            mount(BUFFERS_VOLUME, proxy::UPLOAD_BUFFER_DIR, false),
            mount(indexer::VOLUME_NAME, indexer::PAGES_DIR, true),
        ]),
        ulimits: many_open_files(),
        // Configuration, credentials map, pid, temp files and the page cache.
        linux_parameters: with_scratch(proxy::RUN_DIR, proxy::RUN_MIB),
        // Registered with the load balancer only once pypiserver answers.
        depends_on: Some(vec![ContainerDependency { container_name: CONTAINER_NAME.into(), condition: "HEALTHY".into() }]),
        links: Some(vec![CONTAINER_NAME.into()]),
        ..container(Container {
            name: proxy::CONTAINER_NAME,
            image: proxy::IMAGE.into(),
            entry_point: proxy::entry_point(),
            command: proxy::command(),
            environment: proxy::environment(cfg),
            health_check: (proxy::health_check_command(), 15, 30),
            size: (proxy_cpu, proxy::PROXY_MEMORY_MIB, proxy_reservation),
        })
    };

    // The page indexer: pypiserver's image and Python, the packages
    // read-only, the pages volume read-write; no secrets, no port. Not
    // essential: without it the proxy answers from pypiserver (its lease
    // runs out), and ECS restarts it.
    let page_indexer = ContainerDefinition {
        essential: Some(false),
        mount_points: Some(vec![mount("packages", PACKAGES_DIR, true), mount(indexer::VOLUME_NAME, indexer::PAGES_DIR, false)]),
        stop_timeout: Some(10u32.into()),
        restart_policy: Some(RestartPolicy { enabled: Some(true), restart_attempt_period: Some(60u32.into()) }),
        ..container(Container {
            name: indexer::CONTAINER_NAME,
            image: pypi::image(cfg),
            entry_point: indexer::entry_point(),
            command: vec![indexer::PROGRAM.into()],
            environment: indexer::environment(),
            health_check: (indexer::health_check_command(), 10, 60),
            size: (indexer_cpu, cap.index.memory_mib, indexer_reservation),
        })
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
                container_definitions: vec![pypiserver, sidecar, page_indexer],
                volumes: Some(vec![
                    efs_volume("packages", &fs_id, ap_id),
                    efs_volume(BUFFERS_VOLUME, &fs_id, buffers_ap_id),
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
                                        cap.index.pages_mib,
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

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::validate::Deployment;
    use serde_json::Value;

    /// The synthesized task definition's properties of every example.
    fn task_definitions() -> Vec<(String, Value)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/examples");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|x| x != "toml") {
                continue;
            }
            let cfg = Config::from_toml(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let assembly = crate::app::synthesize(&Deployment::new(cfg).unwrap()).unwrap();
            let service: Value = serde_json::from_str(&assembly.nested("service").unwrap().body).unwrap();
            out.push((path.display().to_string(), service["Resources"]["TaskDefinition"]["Properties"].clone()));
        }
        assert!(out.len() >= 6, "the examples in {}", dir.display());
        out
    }

    /// ECS refuses a task definition larger than 64 KiB (Amazon ECS service
    /// quotas, "Task definition size"); the start scripts, nginx's
    /// configuration and the indexer's program travel in it.
    #[test]
    fn the_task_definition_fits_ecs_limit() {
        for (name, task) in task_definitions() {
            let size = serde_json::to_string(&task).unwrap().len();
            assert!(size <= 64 * 1024, "{name}: {size} bytes");
            assert!(size > 10 * 1024, "the measure counts the real definition ({size} bytes)");
        }
    }

    /// Every `${NAME}` (upper case: the environment's, not the shell's or
    /// nginx's own variables) in a container's command — its start script,
    /// nginx's configuration — is set by the task definition: nothing is
    /// filled in at synthesis.
    #[test]
    fn the_commands_read_only_what_the_task_definition_sets() {
        for (name, task) in task_definitions() {
            for c in task["ContainerDefinitions"].as_array().unwrap() {
                let set: Vec<&str> = ["Environment", "Secrets"]
                    .iter()
                    .filter_map(|k| c.get(*k))
                    .flat_map(|v| v.as_array().unwrap())
                    .map(|e| e["Name"].as_str().unwrap())
                    .collect();
                for text in c["Command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()) {
                    for (_, rest) in text.match_indices("${").map(|(i, _)| text.split_at(i + 2)) {
                        let Some((var, _)) = rest.split_once('}') else { continue };
                        if !var.is_empty() && var.chars().all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_') {
                            assert!(set.contains(&var), "{name}: {} reads {var}, which it is not given", c["Name"]);
                        }
                    }
                }
            }
        }
    }
}
