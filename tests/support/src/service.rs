//! ECS, CloudWatch, Secrets Manager, and the service's HTTP answers.

use pypictl::engine::cloud::{Clock, CloudResult, Probe, Secrets, Service};
use pypictl::engine::model::*;

use crate::script::ms;
use crate::ScriptedCloud;

impl Service for ScriptedCloud {
    async fn service(&self, _cluster: &str, _service: &str) -> CloudResult<Option<ServiceSnapshot>> {
        self.call("DescribeServices", true)?;
        // Relative to the latest operation; without one, the lines at or before 0 s.
        let started = self.state.borrow().running.last().map(|r| r.started);
        let elapsed = started.map_or(0, |s| s.elapsed().as_millis() as i64);
        let mut current = None;
        for line in self.ecs_lines() {
            let mut parts = line.split_whitespace();
            if ms(parts.next().unwrap()) > elapsed {
                break;
            }
            let ours = self.deployment_id(0);
            let mut s = ServiceSnapshot { primary: Some(ours.clone()), ..ServiceSnapshot::default() };
            let mut rolled_back = false;
            for kv in parts {
                let (k, v) = kv.split_once('=').unwrap_or_else(|| panic!("ecs line {line:?}"));
                match k {
                    "desired" => s.desired = v.parse().unwrap(),
                    "running" => s.running = v.parse().unwrap(),
                    "pending" => s.pending = v.parse().unwrap(),
                    "failed" => s.failed = v.parse().unwrap(),
                    "rollout" => s.rollout_state = Some(v.into()),
                    "deployments" => s.deployments = v.parse().unwrap(),
                    // The circuit breaker failed ours and ECS's rollback
                    // deployment is the primary, as on AWS.
                    "rollback" => rolled_back = v == "1",
                    other => panic!("ecs line {line:?}: unknown {other}"),
                }
            }
            s.listed = vec![ListedDeployment { id: ours.clone(), rollout_state: s.rollout_state.clone(), rollout_reason: None }];
            if rolled_back {
                let rollback = format!("{ours}-rollback");
                s.listed[0].rollout_state = Some("FAILED".into());
                s.listed[0].rollout_reason = Some("ECS deployment circuit breaker: tasks failed to start.".into());
                s.listed.insert(0, ListedDeployment { id: rollback.clone(), rollout_state: s.rollout_state.clone(), rollout_reason: None });
                s.primary = Some(rollback);
            }
            current = Some(s);
        }
        Ok(current)
    }

    async fn stopped_tasks(&self, _cluster: &str, _service: &str) -> CloudResult<Vec<StoppedTask>> {
        self.call("DescribeTasks", true)?;
        // Relative to the latest operation; without one, the lines at or before 0 s.
        let started = self.state.borrow().running.last().map(|r| r.started);
        let elapsed = started.map_or(0, |s| s.elapsed().as_millis() as i64);
        let base = self.clock_base + started.map_or(0, |s| (s - self.origin).as_millis() as Millis);
        let deployment = self.deployment_id(0);
        let previous = self.deployment_id(1);
        let mut out: Vec<StoppedTask> = self
            .script
            .stopped_tasks
            .iter()
            .filter_map(|line| {
                let mut parts = line.splitn(3, ' ');
                let at = ms(parts.next()?);
                let id = parts.next()?.to_string();
                let reason = parts.next().unwrap_or("").to_string();
                let started_by = Some(if at < 0 { previous.clone() } else { deployment.clone() });
                (at <= elapsed).then_some(StoppedTask { task_id: id, stopped_at: base + at, reason, started_by })
            })
            .collect();
        out.sort_by_key(|t| std::cmp::Reverse(t.stopped_at));
        Ok(out)
    }

    async fn target_health(&self, _target_group_arn: &str) -> CloudResult<Vec<TargetHealth>> {
        self.call("DescribeTargetHealth", true)?;
        Ok(self
            .script
            .targets
            .iter()
            .map(|l| {
                let mut p = l.splitn(3, ' ');
                TargetHealth { target: p.next().unwrap_or("").into(), state: p.next().unwrap_or("").into(), reason: p.next().map(str::to_string) }
            })
            .collect())
    }

    async fn alarms_firing(&self, prefix: &str) -> CloudResult<Vec<Alarm>> {
        self.call("DescribeAlarms", true)?;
        Ok(self
            .script
            .alarms
            .iter()
            .filter(|l| l.starts_with(prefix))
            .map(|l| {
                let (name, reason) = l.split_once(' ').unwrap_or((l, ""));
                Alarm { name: name.into(), state: "ALARM".into(), reason: reason.into() }
            })
            .collect())
    }

    async fn force_new_deployment(&self, cluster: &str, service: &str) -> CloudResult<Deployment> {
        self.call("UpdateService", false)?;
        self.log.borrow_mut().push(format!("UpdateService {cluster}/{service} force_new_deployment"));
        let op = self.script.operations.get("force_new_deployment").cloned().unwrap_or_default();
        self.start("force_new_deployment", op);
        // Its tasks read the secrets as they start.
        let accepted = self.accepted_now();
        self.state.borrow_mut().accepted.push(accepted);
        Ok(Deployment { id: self.deployment_id(0), created_at: self.now() })
    }

    async fn metric(&self, query: &MetricQuery) -> CloudResult<Option<f64>> {
        self.call("GetMetricData", true)?;
        Ok(self.script.metrics.get(&format!("{} {} {}", query.namespace, query.metric, query.stat)).copied())
    }
}

impl ScriptedCloud {
    /// The id of the ECS deployment `back` operations before the latest
    /// (each operation of the script starts one).
    fn deployment_id(&self, back: usize) -> String {
        format!("ecs-svc/{:019}", self.state.borrow().running.len().saturating_sub(back))
    }

    /// The ECS lines of the latest forced deployment.
    fn ecs_lines(&self) -> &[String] {
        let forced = self.state.borrow().running.iter().filter(|r| r.name == "force_new_deployment").count();
        match self.script.ecs_rollouts.len() {
            0 => &self.script.ecs,
            n => &self.script.ecs_rollouts[forced.saturating_sub(1).min(n - 1)],
        }
    }

    /// What a task starting now accepts: every secret's username with its
    /// password and pending password.
    pub(crate) fn accepted_now(&self) -> Vec<(String, String)> {
        let st = self.state.borrow();
        let mut out = Vec::new();
        for v in st.secret.iter().chain(st.secrets.values()) {
            let user = v["username"].as_str().unwrap_or("").to_string();
            for key in ["password", "pending_password"] {
                if let Some(p) = v[key].as_str().filter(|p| !p.is_empty()) {
                    out.push((user.clone(), p.to_string()));
                }
            }
        }
        out
    }

    /// Whether the previous deployment's tasks still serve.
    fn old_password_served(&self) -> bool {
        match self.script.old_password_served_ms {
            Some(until) => self.since_forced_deployment().is_some_and(|ms| ms < until),
            None => !self.rollout_complete(),
        }
    }

    fn since_forced_deployment(&self) -> Option<i64> {
        self.state.borrow().running.iter().rev().find(|r| r.name == "force_new_deployment").map(|r| r.started.elapsed().as_millis() as i64)
    }

    /// Whether the latest forced deployment has replaced every old task.
    fn rollout_complete(&self) -> bool {
        let Some(run) = self.state.borrow().running.iter().rev().find(|r| r.name == "force_new_deployment").map(|r| r.started) else { return true };
        let elapsed = run.elapsed().as_millis() as i64;
        self.ecs_lines()
            .iter()
            .rfind(|l| ms(l.split_whitespace().next().unwrap_or("0")) <= elapsed)
            .is_some_and(|l| l.contains("rollout=COMPLETED") && l.contains("deployments=1"))
    }
}

impl Secrets for ScriptedCloud {
    async fn secret_value(&self, id: &str) -> CloudResult<String> {
        self.call("GetSecretValue", true)?;
        let st = self.state.borrow();
        st.secrets.get(id).or(st.secret.as_ref()).map(|v| v.to_string()).ok_or_else(|| CloudError::new(ErrorKind::NotFound, "ResourceNotFoundException", format!("Secrets Manager can't find the specified secret {id}")))
    }

    async fn put_secret_value(&self, id: &str, value: &str) -> CloudResult<()> {
        self.call("PutSecretValue", false)?;
        self.log.borrow_mut().push(format!("PutSecretValue {id}"));
        let mut st = self.state.borrow_mut();
        let value: serde_json::Value = serde_json::from_str(value).expect("the secret is JSON");
        match st.secrets.get_mut(id) {
            Some(v) => *v = value,
            None => st.secret = Some(value),
        }
        Ok(())
    }

    async fn random_password(&self, length: u32, exclude_characters: &str) -> CloudResult<String> {
        self.call("GetRandomPassword", false)?;
        let mut st = self.state.borrow_mut();
        st.passwords_generated += 1;
        let base = format!("Rotated{}:p@ss/w%rd+", st.passwords_generated);
        let password: String = base.chars().cycle().filter(|c| !exclude_characters.contains(*c)).take(length as usize).collect();
        Ok(password)
    }
}

impl Probe for ScriptedCloud {
    async fn http_status(&self, url: &str, basic_auth: Option<(&str, &str)>) -> Result<u16, String> {
        *self.calls.borrow_mut().entry("HTTP GET").or_default() += 1;
        let who = basic_auth.map(|(u, _)| u).unwrap_or("-");
        if let Some(answer) = self.script.http.get(&format!("{url} {who}")) {
            return match answer {
                serde_json::Value::Number(n) => Ok(n.as_u64().unwrap_or(0) as u16),
                other => Err(other.as_str().unwrap_or("error").trim_start_matches("error: ").to_string()),
            };
        }
        let Some((user, password)) = basic_auth else { return Ok(401) };
        let pair = (user.to_string(), password.to_string());
        let old_served = self.old_password_served();
        let st = self.state.borrow();
        let n = st.accepted.len();
        let ok = st.accepted[n - 1].contains(&pair) || (old_served && n >= 2 && st.accepted[n - 2].contains(&pair));
        Ok(if ok { 200 } else { 401 })
    }
}
