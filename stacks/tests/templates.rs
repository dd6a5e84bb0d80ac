//! What the synthesized templates must contain, checked on every example:
//! docs/architecture.md's "What gets deployed", property by property.

mod common;

use pypictl_stacks::app::{Assembly, STATEFUL_TYPES};
use serde_json::Value;

fn template(a: &Assembly, name: &str) -> Value {
    common::json(&a.nested(name).unwrap_or_else(|| panic!("no {name} stack")).body)
}

fn resources_of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"].as_object().unwrap().iter().filter(|(_, r)| r["Type"] == ty).collect()
}

fn one<'a>(t: &'a Value, ty: &str) -> &'a Value {
    let found = resources_of_type(t, ty);
    assert_eq!(found.len(), 1, "expected one {ty}");
    &found[0].1["Properties"]
}

fn all_assemblies() -> Vec<(String, Assembly)> {
    common::examples().into_iter().map(|(n, _)| (n.clone(), common::example(&n))).collect()
}

/// Every IAM-style statement anywhere in a JSON value.
fn statements(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(sts)) = m.get("Statement") {
                out.extend(sts.iter().cloned());
            }
            m.values().for_each(|x| statements(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| statements(x, out)),
        _ => {}
    }
}

/// Every string value, except human-readable descriptions.
fn string_values(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Object(m) => m.iter().filter(|(k, _)| !k.ends_with("Description")).for_each(|(_, x)| string_values(x, out)),
        Value::Array(a) => a.iter().for_each(|x| string_values(x, out)),
        _ => {}
    }
}

#[test]
fn no_policy_allows_a_wildcard_action() {
    for (name, a) in all_assemblies() {
        for n in &a.nested {
            let mut sts = Vec::new();
            statements(&common::json(&n.body), &mut sts);
            for st in sts.iter().filter(|s| s["Effect"] == "Allow") {
                let actions: Vec<&str> = match &st["Action"] {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(a) => a.iter().map(|x| x.as_str().unwrap()).collect(),
                    other => panic!("{name}/{}: statement without Action: {other}", n.name),
                };
                for action in actions {
                    assert!(action != "*" && !action.ends_with(":*"), "{name}/{}: Allow {action}", n.name);
                }
            }
        }
    }
}

#[test]
fn the_password_never_appears_in_synthesized_output() {
    for (name, a) in all_assemblies() {
        let creds = template(&a, "credentials");
        let secrets = resources_of_type(&creds, "AWS::SecretsManager::Secret");
        assert_eq!(secrets.len(), 2, "{name}: the read and the publish credential");
        let mut usernames = Vec::new();
        for (_, secret) in secrets {
            let secret = &secret["Properties"];
            assert!(secret.get("SecretString").is_none(), "{name}: a literal secret value");
            assert_eq!(secret["GenerateSecretString"]["GenerateStringKey"], "password", "{name}");
            let tmpl: Value = serde_json::from_str(secret["GenerateSecretString"]["SecretStringTemplate"].as_str().unwrap()).unwrap();
            assert_eq!(tmpl.as_object().unwrap().keys().collect::<Vec<_>>(), vec!["username"], "{name}: only the username is templated");
            usernames.push(tmpl["username"].as_str().unwrap().to_string());
        }
        assert_eq!(usernames[1], format!("{}-publish", usernames[0]), "{name}: distinct usernames, the publish one derived");

        for (file, body) in a.files() {
            // No dynamic reference resolves the secret into a template value,
            // and no parameter carries one in.
            assert!(!body.contains("{{resolve:secretsmanager"), "{name}/{file}: resolves a secret");
            assert!(!body.contains("NoEcho"), "{name}/{file}: a NoEcho parameter passes secret material");
            assert!(!body.contains("\"SecretString\""), "{name}/{file}: a secret string");
            // Outside descriptions and the containers' programs (which read
            // the secrets at start), "password" appears only as the
            // generated key's name.
            let mut values = Vec::new();
            string_values(&common::json(&body), &mut values);
            for v in values.iter().filter(|v| !v.contains('\n')) {
                assert!(v == "password" || !v.to_lowercase().contains("password"), "{name}/{file}: {v:?}");
            }
        }

        let service = template(&a, "service");
        for container in one(&service, "AWS::ECS::TaskDefinition")["ContainerDefinitions"].as_array().unwrap() {
            for env in container["Environment"].as_array().unwrap() {
                assert!(!env["Name"].as_str().unwrap().contains("CREDENTIALS"), "{name}: a secret is injected as a secret, never as an environment value");
            }
            let Some(secrets) = container["Secrets"].as_array() else { continue };
            let secrets: Vec<&str> = secrets.iter().map(|s| s["Name"].as_str().unwrap()).collect();
            assert_eq!(secrets, ["PYPI_READ_CREDENTIALS", "PYPI_PUBLISH_CREDENTIALS"], "{name}: {}", container["Name"]);
        }
    }
}

#[test]
fn the_container_runs_pypiserver_as_spec_md_describes() {
    for (name, a) in all_assemblies() {
        let service = template(&a, "service");
        let task = one(&service, "AWS::ECS::TaskDefinition");
        let c = &task["ContainerDefinitions"][0];
        // `python -u -c <program> <role>=<variable>...`: pypiserver's own app
        // under gunicorn, simple-dir, authenticated, told where each secret is.
        let entry: Vec<&str> = c["EntryPoint"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(entry, ["python", "-u", "-c"], "{name}");
        let command: Vec<&str> = c["Command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let program = command[0];
        for fact in [
            "pypiserver.app(",
            "backend_arg=\"simple-dir\"",
            "authenticate=[\"download\", \"list\", \"update\"]",
            "overwrite=True",
            "server=\"gunicorn\"",
            "sys.argv = [\"gunicorn\"]",
            "tempfile.tempdir = INCOMING",
            "os.link(",
        ] {
            assert!(program.contains(fact), "{name}: the program has {fact}");
        }
        assert_eq!(command[1..], ["read=PYPI_READ_CREDENTIALS", "publish=PYPI_PUBLISH_CREDENTIALS"], "{name}");
        let env = |k: &str| c["Environment"].as_array().unwrap().iter().find(|e| e["Name"] == k).map(|e| e["Value"].as_str().unwrap().to_string());
        assert_eq!(env("DISABLE_FALLBACK").as_deref(), Some("true"), "{name}: a missing name must never be redirected to pypi.org");
        let deletes = if name == "all-features" { "true" } else { "false" };
        assert_eq!(env("ALLOW_DELETE").as_deref(), Some(deletes), "{name}: uploaded files are immutable unless publish_can_delete");
        assert_eq!(env("PYPISERVER_PORT").as_deref(), Some("8080"));
        let capacity: Value = serde_json::from_str(common::json(&a.root_body)["Outputs"]["CapacityInfo"]["Value"].as_str().unwrap()).unwrap();
        let gunicorn = env("GUNICORN_CMD_ARGS").unwrap();
        assert!(gunicorn.contains(&format!("--workers {} ", capacity["gunicorn_workers"])), "{name}: {gunicorn}");
        assert!(gunicorn.contains("--worker-class sync"), "{name}: {gunicorn}");
        assert_eq!(c["Image"].as_str().unwrap(), "docker.io/pypiserver/pypiserver:v2.4.2", "{name}: pinned image by default");
        assert_eq!(c["User"], "9898:9898");
        assert_eq!(c["ReadonlyRootFilesystem"], true);
        assert!(c["HealthCheck"]["Command"].to_string().contains("/health"));
        assert!(c["HealthCheck"]["Timeout"].as_u64().unwrap() >= 10);
        assert_eq!(c["LogConfiguration"]["LogDriver"], "awslogs");
        let volume = &task["Volumes"][0]["EFSVolumeConfiguration"];
        assert_eq!(volume["TransitEncryption"], "ENABLED", "{name}");
        assert_eq!(volume["AuthorizationConfig"]["IAM"], "ENABLED", "{name}");

        let svc = one(&service, "AWS::ECS::Service");
        assert_eq!(svc["DeploymentConfiguration"]["DeploymentCircuitBreaker"]["Enable"], true);
        assert_eq!(svc["DeploymentConfiguration"]["DeploymentCircuitBreaker"]["Rollback"], true);
        assert!(svc["PlacementStrategies"].to_string().contains("attribute:ecs.availability-zone"), "{name}: spread across AZs");
        let target = one(&service, "AWS::ApplicationAutoScaling::ScalableTarget");
        assert!(target["MinCapacity"].as_u64().unwrap() <= target["MaxCapacity"].as_u64().unwrap());
    }
}

#[test]
fn worker_count_and_task_size_come_from_sizing() {
    let a = common::example("very-heavy");
    let service = template(&a, "service");
    let containers = &one(&service, "AWS::ECS::TaskDefinition")["ContainerDefinitions"];
    let c = &containers[0];
    let proxy = &containers[1];
    let indexer = &containers[2];
    assert_eq!((c["Name"].as_str(), proxy["Name"].as_str(), indexer["Name"].as_str()), (Some("pypiserver"), Some("proxy"), Some("indexer")));
    // The task gets the sized CPU and reservation (placement as docs/sizing.md's
    // formulas say); the proxy's and the indexer's small shares are carved
    // out of them.
    let sum = |k: &str| [c, proxy, indexer].iter().map(|x| x[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(sum("Cpu"), 1240);
    assert_eq!((c["Cpu"].as_u64(), proxy["Cpu"].as_u64(), indexer["Cpu"].as_u64()), (Some(1144), Some(64), Some(32)));
    assert_eq!(c["Memory"], 1024);
    assert_eq!(sum("MemoryReservation"), 768);
    assert_eq!((proxy["Memory"].as_u64(), indexer["Memory"].as_u64()), (Some(128), Some(144)), "the sidecars have their own hard limits");
    // The indexer's, sized for the default 5,000 projects, is reserved but
    // for 16 MiB (its tmpfs pages cannot be reclaimed).
    assert_eq!(indexer["MemoryReservation"], 128);
    assert!(c["Environment"].to_string().contains("--workers 8 "), "8 workers for 1024 MB");
    let svc = one(&service, "AWS::ECS::Service");
    assert_eq!(svc["DesiredCount"], 12);
    let target = one(&service, "AWS::ApplicationAutoScaling::ScalableTarget");
    assert_eq!((target["MinCapacity"].as_u64(), target["MaxCapacity"].as_u64()), (Some(12), Some(24)));
}

#[test]
fn the_load_balancer_is_https_with_a_validated_certificate_and_redirect() {
    for (name, a) in all_assemblies() {
        let lb = template(&a, "load_balancer");
        let listeners = resources_of_type(&lb, "AWS::ElasticLoadBalancingV2::Listener");
        let https = listeners.iter().find(|(_, l)| l["Properties"]["Protocol"] == "HTTPS").expect("HTTPS listener").1;
        assert_eq!(https["Properties"]["SslPolicy"], "ELBSecurityPolicy-TLS13-1-2-2021-06", "{name}");
        let http = listeners.iter().find(|(_, l)| l["Properties"]["Protocol"] == "HTTP").expect("HTTP listener").1;
        assert_eq!(http["Properties"]["DefaultActions"][0]["RedirectConfig"]["Protocol"], "HTTPS", "{name}");

        let cert = one(&lb, "AWS::CertificateManager::Certificate");
        assert_eq!(cert["ValidationMethod"], "DNS");
        let mut names: Vec<String> = vec![cert["DomainName"].as_str().unwrap().to_string()];
        if let Some(sans) = cert["SubjectAlternativeNames"].as_array() {
            names.extend(sans.iter().map(|s| s.as_str().unwrap().to_string()));
        }
        let validated: Vec<&str> = cert["DomainValidationOptions"].as_array().unwrap().iter().map(|o| o["DomainName"].as_str().unwrap()).collect();
        assert_eq!(names, validated, "{name}: every name validated through the zone");

        let alb = one(&lb, "AWS::ElasticLoadBalancingV2::LoadBalancer");
        let attrs = alb["LoadBalancerAttributes"].to_string();
        assert!(attrs.contains("routing.http.drop_invalid_header_fields.enabled\",\"Value\":\"true"), "{name}");
        assert!(attrs.contains("access_logs.s3.enabled\",\"Value\":\"true"), "{name}");

        let tg = one(&lb, "AWS::ElasticLoadBalancingV2::TargetGroup");
        assert_eq!(tg["HealthCheckPath"], "/health");
        assert!(tg["HealthCheckTimeoutSeconds"].as_u64().unwrap() >= 10, "{name}: /health waits in the request queue under bursts");
        assert!(tg["UnhealthyThresholdCount"].as_u64().unwrap() >= 3, "{name}");

        let bucket = one(&lb, "AWS::S3::Bucket");
        assert_eq!(bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"], true);
        assert!(bucket["BucketEncryption"].is_object());
        assert!(bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"].as_u64().is_some());
    }
}

#[test]
fn dns_records_and_certificate_cover_every_name() {
    let a = common::example("all-features");
    let lb = template(&a, "load_balancer");
    let cert = one(&lb, "AWS::CertificateManager::Certificate");
    assert_eq!(cert["DomainName"], "pypi.example.com");
    assert_eq!(cert["SubjectAlternativeNames"], serde_json::json!(["packages.example.com", "origin-pypi.example.com"]));
    // With CloudFront the service names alias the distribution.
    let cdn = template(&a, "cdn");
    let records: Vec<&str> = resources_of_type(&cdn, "AWS::Route53::RecordSet").iter().map(|(_, r)| r["Properties"]["Name"].as_str().unwrap()).collect();
    assert_eq!(records, ["pypi.example.com", "packages.example.com"]);

    let heavy = common::example("heavy");
    let lb = template(&heavy, "load_balancer");
    let records = resources_of_type(&lb, "AWS::Route53::RecordSet");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].1["Properties"]["Name"], "pypi.example.com");
    assert_eq!(records[0].1["Properties"]["AliasTarget"]["DNSName"]["Fn::GetAtt"][0], "LoadBalancer");
}

#[test]
fn compute_uses_imdsv2_encrypted_volumes_and_keeps_capacity_during_rollouts() {
    for (name, a) in all_assemblies() {
        let compute = template(&a, "compute");
        let lt = &one(&compute, "AWS::EC2::LaunchTemplate")["LaunchTemplateData"];
        assert_eq!(lt["MetadataOptions"]["HttpTokens"], "required", "{name}");
        assert_eq!(lt["BlockDeviceMappings"][0]["Ebs"]["Encrypted"], true, "{name}");
        let asg = &resources_of_type(&compute, "AWS::AutoScaling::AutoScalingGroup")[0].1;
        let rolling = &asg["UpdatePolicy"]["AutoScalingRollingUpdate"];
        assert_eq!(rolling["WaitOnResourceSignals"], true);
        let min: u64 = asg["Properties"]["MinSize"].as_str().unwrap().parse().unwrap();
        let max: u64 = asg["Properties"]["MaxSize"].as_str().unwrap().parse().unwrap();
        assert_eq!(rolling["MinInstancesInService"].as_u64().unwrap(), min.min(max - 1), "{name}");
        let cluster = one(&compute, "AWS::ECS::Cluster");
        assert_eq!(cluster["ClusterSettings"][0], serde_json::json!({"Name": "containerInsights", "Value": "enabled"}));
        let cp = one(&compute, "AWS::ECS::CapacityProvider");
        assert_eq!(cp["AutoScalingGroupProvider"]["ManagedScaling"]["Status"], "ENABLED");
        assert_eq!(cp["AutoScalingGroupProvider"]["ManagedDraining"], "ENABLED");
        let role = one(&compute, "AWS::IAM::Role");
        assert!(role["ManagedPolicyArns"].to_string().contains("AmazonSSMManagedInstanceCore"), "{name}: Session Manager access");
    }
}

#[test]
fn ami_from_the_public_parameter_unless_set() {
    let heavy = template(&common::example("heavy"), "compute");
    assert_eq!(heavy["Parameters"]["EcsOptimizedAmi"]["Default"], "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id");
    let all = template(&common::example("all-features"), "compute");
    assert!(all["Parameters"].get("EcsOptimizedAmi").is_none());
    assert_eq!(one(&all, "AWS::EC2::LaunchTemplate")["LaunchTemplateData"]["ImageId"], "ami-0123456789abcdef0");
}

#[test]
fn cloud_init_carries_users_files_and_commands_without_substitution_surprises() {
    let compute = template(&common::example("all-features"), "compute");
    let ud = one(&compute, "AWS::EC2::LaunchTemplate")["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"].as_str().unwrap().to_string();
    assert!(ud.starts_with("#cloud-config\n"));
    // A user's ${HOME} is escaped so that Fn::Sub leaves it alone...
    assert!(ud.contains("echo ${!HOME} is not a CloudFormation variable"));
    // ...and the only variables are the stack's name and the cluster's (a
    // reference, so that the instances are deleted before the cluster).
    let vars: Vec<&str> = ud.match_indices("${").filter(|(i, _)| !ud[*i..].starts_with("${!")).map(|(i, _)| &ud[i..i + 10]).collect();
    assert!(vars.iter().all(|v| v.starts_with("${AWS::Sta") || v.starts_with("${Cluster}")), "{vars:?}");
    assert_eq!(vars.iter().filter(|v| v.starts_with("${Cluster}")).count(), 1, "{vars:?}");
    let doc: Value = serde_json::from_str(&ud["#cloud-config\n".len()..].replace("${!", "${").replace("${AWS::StackName}", "stack").replace("${Cluster}", "cluster")).unwrap();
    assert_eq!(doc["users"][0], "default");
    assert_eq!(doc["users"][1]["name"], "admin");
    assert_eq!(doc["users"][2]["sudo"], false);
    let file = doc["write_files"].as_array().unwrap().iter().find(|f| f["path"] == "/opt/scripts/report.sh").unwrap();
    assert_eq!(file["permissions"], "0755");
    assert_eq!(file["encoding"], "b64");
    assert_eq!(doc["runcmd"][1], "sysctl --system");
    assert!(doc["write_files"][0]["content"].as_str().unwrap().contains("ECS_CLUSTER=cluster\n"), "the cluster by reference");
}

#[test]
fn storage_is_encrypted_retained_and_refuses_plain_nfs() {
    for (name, a) in all_assemblies() {
        let storage = template(&a, "storage");
        let fs = resources_of_type(&storage, "AWS::EFS::FileSystem");
        let (_, fs) = fs[0];
        assert_eq!(fs["DeletionPolicy"], "RetainExceptOnCreate", "{name}");
        assert_eq!(fs["UpdateReplacePolicy"], "Retain", "{name}");
        assert_eq!(fs["Properties"]["Encrypted"], true);
        let policy = fs["Properties"]["FileSystemPolicy"].to_string();
        assert!(policy.contains("aws:SecureTransport"), "{name}");
        let aps = resources_of_type(&storage, "AWS::EFS::AccessPoint");
        assert_eq!(aps.len(), 2, "{name}: the packages and their upload scratch directory");
        for (_, ap) in aps {
            assert_eq!(ap["Properties"]["PosixUser"]["Uid"], "9898");
            assert_eq!(ap["Properties"]["RootDirectory"]["CreationInfo"]["OwnerUid"], "9898");
        }
        let subnets = a.manifest["stacks"].as_array().unwrap().len();
        assert!(subnets > 0);
        let mount_targets = resources_of_type(&storage, "AWS::EFS::MountTarget").len();
        let asg_subnets = common::deployment(&common::examples().into_iter().find(|(n, _)| *n == name).unwrap().1).config.network.asg_subnets.len();
        assert_eq!(mount_targets, asg_subnets, "{name}: a mount target in every instance subnet");
    }
    let all = template(&common::example("all-features"), "storage");
    assert_eq!(one(&all, "AWS::EFS::FileSystem")["ThroughputMode"], "bursting");
    assert_eq!(one(&all, "AWS::EFS::FileSystem")["LifecyclePolicies"][0]["TransitionToIA"], "AFTER_14_DAYS");
    let heavy = template(&common::example("heavy"), "storage");
    assert_eq!(one(&heavy, "AWS::EFS::FileSystem")["ThroughputMode"], "elastic");
    assert_eq!(one(&heavy, "AWS::EFS::FileSystem")["LifecyclePolicies"][0]["TransitionToIA"], "AFTER_30_DAYS");
}

#[test]
fn nfs_is_reachable_only_from_the_instances() {
    let net = template(&common::example("heavy"), "network");
    let nfs: Vec<_> = net["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::EC2::SecurityGroupIngress" && r["Properties"]["FromPort"] == 2049)
        .collect();
    assert_eq!(nfs.len(), 1);
    assert_eq!(nfs[0]["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0], "InstanceSecurityGroup");
    assert!(nfs[0]["Properties"].get("CidrIp").is_none());
}

#[test]
fn optional_features_disappear_entirely_when_off() {
    let minimal = common::example("minimal");
    let names: Vec<&str> = minimal.nested.iter().map(|n| n.name).collect();
    assert!(!names.contains(&"backup") && !names.contains(&"cdn"), "{names:?}");
    let all = minimal.files().into_iter().map(|(_, b)| b).collect::<String>();
    for absent in ["AWS::Backup::", "AWS::CloudWatch::Dashboard", "AWS::CloudFront::", "AWS::SecretsManager::ResourcePolicy", "LifecyclePolicies", "extra-permissions", "BurstCreditBalance", "DashboardUrl"] {
        assert!(!all.contains(absent), "minimal example still contains {absent}");
    }
    let everything = common::example("all-features");
    let names: Vec<&str> = everything.nested.iter().map(|n| n.name).collect();
    assert!(names.contains(&"backup") && names.contains(&"cdn"));
    let all = everything.files().into_iter().map(|(_, b)| b).collect::<String>();
    for present in ["AWS::Backup::BackupVault", "AWS::CloudWatch::Dashboard", "AWS::CloudFront::Distribution", "AWS::SecretsManager::ResourcePolicy", "extra-permissions", "BurstCreditBalance", "arn:aws:sns:eu-west-1:123456789012:pagerduty"] {
        assert!(all.contains(present), "all-features example lacks {present}");
    }
}

#[test]
fn alarms_cover_the_sizing_guides_scale_up_signals() {
    let a = common::example("all-features");
    let mon = template(&a, "monitoring");
    let names: Vec<String> = resources_of_type(&mon, "AWS::CloudWatch::Alarm").iter().map(|(_, r)| r["Properties"]["AlarmName"].as_str().unwrap().to_string()).collect();
    for expected in ["efs-burst-credits", "efs-throughput", "ecs-cpu-high", "ecs-memory-high", "alb-p95-latency", "5xx-errors", "unhealthy-hosts"] {
        assert!(names.contains(&format!("packages-production-{expected}")), "{expected} missing from {names:?}");
    }
    for (_, alarm) in resources_of_type(&mon, "AWS::CloudWatch::Alarm") {
        let actions = alarm["Properties"]["AlarmActions"].to_string();
        assert!(actions.contains("AlarmTopic") && actions.contains("pagerduty"), "every alarm notifies the topic and the extra topics");
    }
    let cpu = resources_of_type(&mon, "AWS::CloudWatch::Alarm").into_iter().find(|(id, _)| *id == "EcsCpuAlarm").unwrap().1;
    let p = &cpu["Properties"];
    assert_eq!(p["Period"].as_u64().unwrap() * p["EvaluationPeriods"].as_u64().unwrap(), 600, "CPU > 80 % for 10 minutes");
    assert_eq!(p["Threshold"], 80);
    let p95 = resources_of_type(&mon, "AWS::CloudWatch::Alarm").into_iter().find(|(id, _)| *id == "LatencyP95Alarm").unwrap().1;
    assert_eq!(p95["Properties"]["ExtendedStatistic"], "p95");
    assert_eq!(p95["Properties"]["Threshold"], 5);
    let topic = one(&mon, "AWS::SNS::Topic");
    assert_eq!(topic["Subscription"].as_array().unwrap().len(), 2);
    // No burst-credit alarm when the file system does not burst.
    let heavy = template(&common::example("heavy"), "monitoring");
    assert!(!heavy.to_string().contains("BurstCreditBalance"));
}

#[test]
fn stateful_resources_are_retained() {
    for (name, a) in all_assemblies() {
        for n in &a.nested {
            let t = common::json(&n.body);
            for (id, r) in t["Resources"].as_object().unwrap() {
                let ty = r["Type"].as_str().unwrap();
                // The vault (whatever backup.force_destroy says) and the log
                // buckets too: see aws_facts.rs for why.
                let must_retain = ["AWS::EFS::FileSystem", "AWS::SecretsManager::Secret", "AWS::KMS::Key", "AWS::Backup::BackupVault", "AWS::S3::Bucket"].contains(&ty);
                if must_retain {
                    // RetainExceptOnCreate for the stateful ones: aws_facts.rs.
                    assert!(r["DeletionPolicy"] == "Retain" || r["DeletionPolicy"] == "RetainExceptOnCreate", "{name}/{}: {id}", n.name);
                    assert_eq!(r["UpdateReplacePolicy"], "Retain", "{name}/{}: {id}", n.name);
                }
            }
        }
        let stateful = a.manifest["stateful"].as_array().unwrap();
        assert!(stateful.iter().all(|s| STATEFUL_TYPES.contains(&s["type"].as_str().unwrap())));
        assert!(stateful.iter().any(|s| s["type"] == "AWS::EFS::FileSystem"), "{name}");
    }
}

#[test]
fn root_wires_every_parameter_and_exposes_the_reference_outputs() {
    for (name, a) in all_assemblies() {
        let root = common::json(&a.root_body);
        for n in &a.nested {
            let child = common::json(&n.body);
            let declared: Vec<&String> = child["Parameters"].as_object().map(|p| p.keys().collect()).unwrap_or_default();
            let passed = &root["Resources"][&n.logical_id]["Properties"]["Parameters"];
            for p in declared {
                if child["Parameters"][p].get("Default").is_some() {
                    continue;
                }
                // A root parameter pypictl deploy looks up, passed through...
                if let Some(r) = passed[p]["Ref"].as_str() {
                    assert_eq!(r, p, "{name}: {} parameter {p}", n.name);
                    assert!(root["Parameters"].get(p).is_some(), "{name}: the root declares {p}");
                    assert!(a.manifest["root"]["parameters"][p].is_string(), "{name}: the manifest says who supplies {p}");
                    continue;
                }
                // ...or a sibling's output.
                let v = &passed[p]["Fn::GetAtt"];
                assert!(v.is_array(), "{name}: {} parameter {p} is not passed by the root", n.name);
                let (stack, output) = (v[0].as_str().unwrap(), v[1].as_str().unwrap().trim_start_matches("Outputs."));
                let source = a.nested.iter().find(|s| s.logical_id == stack).unwrap();
                assert!(common::json(&source.body)["Outputs"].get(output).is_some(), "{name}: {stack} has no output {output}");
            }
            let url = root["Resources"][&n.logical_id]["Properties"]["TemplateURL"]["Fn::Sub"].as_str().unwrap();
            assert!(url.ends_with(&format!("{}.json", n.sha256)), "{name}: content-addressed template URL");
        }
        for output in [
            "PypiServerUrls", "PypiUserSecret", "PypiUserSecretArn", "PypiLoadBalancerArn", "EcsClusterName", "EcsServiceName",
            "EcsServiceArn", "AsgName", "CloudwatchAlarmSnsTopicArn", "CloudwatchAlarmArns", "TaskMinCount", "CapacityInfo",
        ] {
            assert!(root["Outputs"].get(output).is_some(), "{name}: root output {output}");
        }
        assert!(root["Outputs"].get("PypiPassword").is_none() && root["Outputs"].get("PypiUsername").is_none());
        let manifest_stacks = a.manifest["stacks"].as_array().unwrap();
        assert_eq!(manifest_stacks.len(), a.nested.len());
    }
    let heavy = common::json(&common::example("heavy").root_body);
    assert_eq!(heavy["Outputs"]["TaskMinCount"]["Value"], "12");
    assert_eq!(heavy["Outputs"]["PypiServerUrls"]["Value"], "https://pypi.example.com/");
}

#[test]
fn six_or_more_nested_stacks_each_with_resources() {
    for (name, a) in all_assemblies() {
        assert!(a.nested.len() >= 7, "{name}: {}", a.nested.len());
        for n in &a.nested {
            assert!(n.template.resource_count() > 0, "{name}/{}", n.name);
        }
    }
}

/// ECS refuses a container definition whose hard limit is not above its
/// reservation: "If you specify both, memory must be greater than
/// memoryReservation" (Amazon ECS API reference, ContainerDefinition,
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html).
#[test]
fn every_container_limit_is_above_its_reservation() {
    for (name, a) in all_assemblies() {
        let service = template(&a, "service");
        for c in one(&service, "AWS::ECS::TaskDefinition")["ContainerDefinitions"].as_array().unwrap() {
            if let (Some(memory), Some(reservation)) = (c["Memory"].as_u64(), c["MemoryReservation"].as_u64()) {
                assert!(memory > reservation, "{name}: {}: memory {memory} must be greater than memoryReservation {reservation}", c["Name"]);
            }
        }
    }
}
