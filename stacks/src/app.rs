//! Synthesis: a validated deployment → the root template, one template per
//! nested stack, and the manifest that names them. Pure and deterministic:
//! the same configuration gives byte-identical output.

use indexmap::IndexMap;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::cfn::resources::cloudformation::Stack;
use crate::cfn::{render, Binding, Expr, Parameter, StackOutput, Template};
use crate::outputs::RootOutput;
use crate::components::{self as c, Ctx};
use crate::validate::Deployment;

/// Root parameter: the bucket the nested templates are uploaded to.
pub const STAGING_BUCKET_PARAM: &str = "StagingBucket";
pub const ROOT_FILE: &str = "root.template.json";
pub const MANIFEST_FILE: &str = "manifest.json";
/// Prefix of the nested templates' keys in the staging bucket.
pub const ASSET_PREFIX: &str = "pypictl/templates";

/// Resource types whose loss loses data: never replaced or removed by an
/// update unless the user says so explicitly.
pub const STATEFUL_TYPES: &[&str] = &[
    "AWS::EFS::FileSystem",
    "AWS::EFS::MountTarget",
    "AWS::Backup::BackupVault",
    "AWS::SecretsManager::Secret",
    "AWS::KMS::Key",
];

#[derive(Clone, Debug)]
pub struct NestedStack {
    /// Component name, e.g. `storage`.
    pub name: &'static str,
    /// Logical id in the root template, e.g. `Storage`.
    pub logical_id: String,
    pub file: String,
    pub body: String,
    pub sha256: String,
    /// Key in the staging bucket: content-addressed.
    pub asset_key: String,
    pub template: Template,
}

#[derive(Clone, Debug)]
pub struct Assembly {
    pub stack_name: String,
    pub root: Template,
    pub root_body: String,
    pub nested: Vec<NestedStack>,
    /// The staging bucket's stack (shared by deployments in an account and region).
    pub staging_body: String,
    pub manifest: Value,
}

impl Assembly {
    /// Every file to write, in order: root, nested templates, manifest.
    pub fn files(&self) -> Vec<(String, String)> {
        let mut files = vec![(ROOT_FILE.to_string(), self.root_body.clone())];
        files.extend(self.nested.iter().map(|n| (n.file.clone(), n.body.clone())));
        files.push((crate::staging::FILE.to_string(), self.staging_body.clone()));
        files.push((MANIFEST_FILE.to_string(), render(&self.manifest)));
        files
    }

    /// The root template's key in the staging bucket: content-addressed too.
    pub fn root_asset_key(&self) -> String {
        format!("{ASSET_PREFIX}/root-{}.json", sha256_hex(&self.root_body))
    }

    pub fn nested(&self, name: &str) -> Option<&NestedStack> {
        self.nested.iter().find(|n| n.name == name)
    }
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn out(stack: &str, output: &str) -> StackOutput {
    StackOutput { stack: stack.to_string(), output: output.to_string() }
}

/// Builds every template of the deployment.
pub fn synthesize(d: &Deployment) -> Result<Assembly, String> {
    let cfg = &d.config;
    let ctx = Ctx { cfg, cap: &d.capacity };

    let mut components: Vec<(&'static str, Template)> = Vec::new();
    let (t, enc) = c::encryption::build(ctx);
    components.push(("encryption", t));
    let (t, net) = c::network::build(ctx);
    components.push(("network", t));
    let (t, storage) = c::storage::build(ctx, &net, &enc);
    components.push(("storage", t));
    let (t, creds) = c::credentials::build(ctx, &enc);
    components.push(("credentials", t));
    let (t, lb) = c::load_balancer::build(ctx, &net);
    components.push(("load_balancer", t));
    let (t, compute) = c::compute::build(ctx, &net);
    components.push(("compute", t));
    let (t, service) = c::service::build(
        ctx,
        c::service::Inputs { enc: &enc, storage: &storage, creds: &creds, lb: &lb, compute: &compute },
    );
    components.push(("service", t));
    if cfg.backup.enabled {
        let (t, _) = c::backup::build(ctx, &enc, &storage);
        components.push(("backup", t));
    }
    let (t, monitoring) = c::monitoring::build(
        ctx,
        c::monitoring::Inputs { enc: &enc, storage: &storage, lb: &lb, service: &service, cluster_name: &compute.cluster_name },
    );
    components.push(("monitoring", t));
    if cfg.cloudfront.enabled {
        components.push(("cdn", c::cdn::build(ctx)));
    }

    let mut nested = Vec::new();
    for (name, template) in components {
        let body = render(&template.to_json()?);
        let sha256 = sha256_hex(&body);
        nested.push(NestedStack {
            name,
            logical_id: template.stack_id().to_string(),
            file: format!("{name}.template.json"),
            asset_key: format!("{ASSET_PREFIX}/{name}-{sha256}.json"),
            sha256,
            body,
            template,
        });
    }

    let root = root_template(d, &nested, &creds, &lb, &compute, &service, &monitoring)?;
    let root_body = render(&root.to_json()?);
    let manifest = manifest(d, &root_body, &nested);
    let staging_body = render(&crate::staging::template().to_json()?);
    Ok(Assembly { stack_name: cfg.stack_name().to_string(), root, root_body, nested, staging_body, manifest })
}

#[allow(clippy::too_many_arguments)]
fn root_template(
    d: &Deployment,
    nested: &[NestedStack],
    creds: &c::credentials::Outputs,
    lb: &c::load_balancer::Outputs,
    compute: &c::compute::Outputs,
    service: &c::service::Outputs,
    monitoring: &c::monitoring::Outputs,
) -> Result<Template, String> {
    let cfg = &d.config;
    let cap = &d.capacity;
    let mut root = Template::new("", format!("pypictl {} ({}): private Python package index", cfg.service_name, cfg.environment));
    root.parameter(
        STAGING_BUCKET_PARAM,
        Parameter {
            type_: "String".into(),
            description: "S3 bucket holding the nested templates (pypictl creates it on first deploy)".into(),
            default: None,
            no_echo: None,
        },
    );

    for n in nested {
        for (p, src) in n.template.bindings() {
            if *src == Binding::RootParameter {
                let description = n.template.parameter_description(p).unwrap_or_default().to_string();
                root.parameter(p, Parameter { type_: "String".into(), description, default: None, no_echo: None });
            }
        }
        let params: Vec<(String, Expr)> = n.template.bindings().iter().map(|(p, src)| (p.clone(), src.in_root(p))).collect();
        let url = Expr::sub(format!("https://${{{STAGING_BUCKET_PARAM}}}.s3.${{AWS::Region}}.${{AWS::URLSuffix}}/{}", n.asset_key));
        // Nested stacks hold no data themselves; the stateful resources
        // inside them carry their own Retain policies.
        let mut entry = root
            .add(
                &n.logical_id,
                Stack { template_url: url, parameters: (!params.is_empty()).then_some(Expr::Object(params)), timeout_in_minutes: None },
            )
            .deletion_policy(crate::cfn::Policy::Delete);
        // The CDN's origin name is created by the load balancer stack.
        if n.name == "cdn" {
            entry = entry.depends_on(&crate::cfn::Res::<Stack>::named("LoadBalancer"));
        }
        let _ = entry.handle();
    }

    // The reference module's outputs, and what pypictl's commands read.
    let urls = cfg.service_urls().join(",");
    let capacity_info = serde_json::to_string(&json!({
        "instance_type": cap.instance_type,
        "vcpus": cap.vcpus,
        "memory_mib": cap.memory_mib,
        "tasks_per_instance": cap.tasks_per_instance,
        "gunicorn_workers": cap.gunicorn_workers,
        "container_cpu": cap.container_cpu,
        "container_memory": cap.container_memory,
        "container_memory_reservation": cap.container_memory_reservation,
        "task_min_count": cap.task_min_count,
        "task_max_count": cap.task_max_count,
        "asg_min_size": cap.asg_min_size,
        "asg_max_size": cap.asg_max_size,
    }))
    .expect("JSON");
    let mut outputs: Vec<(RootOutput, Expr)> = vec![
        (RootOutput::PypiServerUrls, Expr::str(urls)),
        (RootOutput::PypiUserSecret, creds.read.name.in_root()),
        (RootOutput::PypiUserSecretArn, creds.read.arn.in_root()),
        (RootOutput::PypiPublishSecret, creds.publish.name.in_root()),
        (RootOutput::PypiPublishSecretArn, creds.publish.arn.in_root()),
        (RootOutput::PypiLoadBalancerArn, lb.load_balancer_arn.in_root()),
        (RootOutput::LoadBalancerDnsName, out("LoadBalancer", "LoadBalancerDnsName").in_root()),
        (RootOutput::TargetGroupArn, lb.target_group_arn.in_root()),
        (RootOutput::AccessLogBucketName, lb.access_log_bucket.in_root()),
        (RootOutput::EcsClusterName, compute.cluster_name.in_root()),
        (RootOutput::EcsServiceName, service.service_name.in_root()),
        (RootOutput::EcsServiceArn, service.service_arn.in_root()),
        (RootOutput::LogGroupName, service.log_group.in_root()),
        (RootOutput::AsgName, compute.asg_name.in_root()),
        (RootOutput::FileSystemId, out("Storage", "FileSystemId").in_root()),
        (RootOutput::CloudwatchAlarmSnsTopicArn, monitoring.topic_arn.in_root()),
        (RootOutput::CloudwatchAlarmArns, out("Monitoring", "AlarmArns").in_root()),
        (RootOutput::TaskMinCount, Expr::str(cap.task_min_count.to_string())),
        (RootOutput::CapacityInfo, Expr::str(capacity_info)),
    ];
    if cfg.monitoring.dashboard {
        outputs.push((RootOutput::CloudwatchDashboardUrl, out("Monitoring", "DashboardUrl").in_root()));
    }
    if cfg.backup.enabled {
        outputs.push((RootOutput::BackupVaultName, out("Backup", "BackupVaultName").in_root()));
    }
    if cfg.cloudfront.enabled {
        outputs.push((RootOutput::CdnDomainName, out("Cdn", "DistributionDomainName").in_root()));
        outputs.push((RootOutput::CdnLogBucketName, out("Cdn", "LogBucketName").in_root()));
    }
    for (name, value) in outputs {
        if let Expr::GetAtt(stack, attr) = &value {
            let output = attr.trim_start_matches("Outputs.");
            let known = nested.iter().any(|n| &n.logical_id == stack && n.template.output_names().any(|o| o == output));
            if !known {
                return Err(format!("root output {name} refers to {stack}.{output}, which that stack does not output"));
            }
        }
        root.output(name.name(), name.description(), value);
    }
    Ok(root)
}

/// The root template's parameters, each with who supplies it.
fn root_parameters(nested: &[NestedStack]) -> IndexMap<String, Value> {
    let mut params = IndexMap::new();
    params.insert(STAGING_BUCKET_PARAM.to_string(), json!("name of the staging bucket, supplied by `pypictl deploy`"));
    for n in nested {
        for (p, src) in n.template.bindings() {
            if *src == Binding::RootParameter {
                params.insert(p.clone(), json!(format!("{}, looked up by `pypictl deploy`", n.template.parameter_description(p).unwrap_or_default())));
            }
        }
    }
    params
}

fn manifest(d: &Deployment, root_body: &str, nested: &[NestedStack]) -> Value {
    let cfg = &d.config;
    let stacks: Vec<Value> = nested
        .iter()
        .map(|n| {
            let params: IndexMap<&str, Value> = n
                .template
                .bindings()
                .iter()
                .map(|(p, src)| (p.as_str(), serde_json::to_value(src.in_root(p)).expect("JSON")))
                .collect();
            json!({
                "name": n.name,
                "logicalId": n.logical_id,
                "file": n.file,
                "sha256": n.sha256,
                "assetKey": n.asset_key,
                "resources": n.template.resource_count(),
                "parameters": params,
            })
        })
        .collect();
    let stateful: Vec<Value> = nested
        .iter()
        .flat_map(|n| {
            n.template
                .resource_types()
                .filter(|(_, ty)| STATEFUL_TYPES.contains(ty))
                .map(|(id, ty)| json!({"stack": n.logical_id, "logicalId": id, "type": ty}))
                .collect::<Vec<_>>()
        })
        .collect();
    let retained: Vec<Value> = nested
        .iter()
        .flat_map(|n| n.template.retained().map(|(id, ty)| json!({"stack": n.logical_id, "logicalId": id, "type": ty})).collect::<Vec<_>>())
        .collect();
    json!({
        "version": 1,
        "stackName": cfg.stack_name(),
        "region": cfg.region,
        "root": {
            "file": ROOT_FILE,
            "sha256": sha256_hex(root_body),
            "assetKey": format!("{ASSET_PREFIX}/root-{}.json", sha256_hex(root_body)),
            "parameters": root_parameters(nested),
        },
        "stacks": stacks,
        "staging": { "file": crate::staging::FILE, "stackName": crate::staging::STACK_NAME },
        "stateful": stateful,
        "retained": retained,
    })
}
