//! Service and sizing rules: the pypiserver container's settings, and the
//! capacity plan they give on the instance type (every value within AWS's
//! bounds, a task that fits), with the rules that need that plan.

use crate::config::Config;
use crate::sizing::{self, CapacityPlan, SizingError, SizingInput};

use super::compute::user_data_too_large;
use super::{quoted, Checker};

pub const IMAGE_TAG_RULE: &str = "must be a Docker image tag: 1-128 of letters, digits, '_', '.' and '-', not starting with '.' or '-'";

pub fn is_image_tag(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && !s.starts_with(['.', '-']) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

pub const LOG_RETENTION_DAYS: [u32; 22] =
    [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/// The container: image tag, memory and CPU, workers, task counts, log
/// retention.
pub(super) fn service(c: &mut Checker, cfg: &Config) {
    let s = &cfg.service;
    c.check(is_image_tag(&s.image_tag), "service.image_tag", quoted(&s.image_tag), IMAGE_TAG_RULE);
    c.check(s.container_memory >= 128, "service.container_memory", s.container_memory, "must be at least 128 (MB)");
    if let Some(r) = s.container_memory_reservation {
        c.check(r < s.container_memory, "service.container_memory_reservation", r, &format!("must be less than service.container_memory ({}); 0 disables the soft limit", s.container_memory));
    }
    if let Some(cpu) = s.container_cpu {
        c.check(cpu >= 2, "service.container_cpu", cpu, "must be at least 2 CPU units (the ECS minimum; 1024 = 1 vCPU)");
    }
    if let Some(w) = s.gunicorn_workers {
        c.check((1..=16).contains(&w), "service.gunicorn_workers", w, "must be 1-16");
    }
    if let Some(t) = s.task_min_count {
        c.check(t >= 1, "service.task_min_count", t, "must be at least 1 task");
    }
    if let (Some(min), Some(max)) = (s.task_min_count, s.task_max_count) {
        c.check(min <= max, "service.task_min_count", min, &format!("must not exceed service.task_max_count ({max})"));
    }
    c.check(
        (1..=crate::config::MAX_UPLOAD_MB_LIMIT).contains(&s.max_upload_mb),
        "service.max_upload_mb",
        s.max_upload_mb,
        &format!("must be 1-{} (MB, the largest file an upload may carry)", crate::config::MAX_UPLOAD_MB_LIMIT),
    );
    c.check(
        (1..=crate::indexer::MAX_EXPECTED_PROJECTS).contains(&s.expected_projects),
        "service.expected_projects",
        s.expected_projects,
        &format!("must be 1-{} (the projects the index is sized for)", crate::indexer::MAX_EXPECTED_PROJECTS),
    );
    // Storing the largest upload must end before whoever waits for the
    // answer gives up: the load balancer after its idle timeout, CloudFront
    // after its origin read timeout.
    let store = crate::pypiserver::upload_store_seconds(s.max_upload_mb);
    let idle = cfg.load_balancer.idle_timeout_seconds;
    if store > idle {
        c.fail(
            "service.max_upload_mb",
            s.max_upload_mb,
            format!("needs load_balancer.idle_timeout_seconds of at least {store} (it is {idle}): storing a file that large takes up to {store} s after the upload, and the load balancer answers 504 to a request idle longer than its timeout"),
        );
    }
    let origin = crate::components::cdn::ORIGIN_READ_TIMEOUT_SECONDS;
    if cfg.cloudfront.enabled && store > origin {
        let most = (origin - 10) * 10;
        c.fail(
            "service.max_upload_mb",
            s.max_upload_mb,
            format!("must be at most {most} with cloudfront.enabled: storing a file that large takes up to {store} s after the upload, and CloudFront waits {origin} s for the load balancer's answer"),
        );
    }
    c.check(LOG_RETENTION_DAYS.contains(&s.log_retention_days), "service.log_retention_days", s.log_retention_days, &format!("must be one of CloudWatch Logs' retention periods: {:?}", LOG_RETENTION_DAYS));
}

/// Sizing: every value within AWS's bounds, the instance type known, a
/// task that fits; then the rules that need the plan. Returns the plan when
/// sizing succeeded.
pub(super) fn capacity(c: &mut Checker, cfg: &Config) -> Option<CapacityPlan> {
    let s = &cfg.service;
    let input = SizingInput::from_config(cfg);
    for e in sizing::out_of_range(&input) {
        if let SizingError::OutOfRange { key, value, rule } = e {
            c.fail(key, value, rule);
        }
    }
    let plan = match sizing::plan(&input) {
        Ok(p) => Some(p),
        Err(e @ SizingError::UnknownInstanceType { .. }) => {
            c.fail("compute.instance_type", quoted(&cfg.compute.instance_type), e.to_string());
            None
        }
        Err(SizingError::DoesNotFit { reason }) => {
            c.fail("service.container_memory", s.container_memory, format!("{reason}; choose a larger compute.instance_type or smaller service.container_memory / container_cpu"));
            None
        }
        // Reported above, or by a rule on the same key (gunicorn_workers 1-16).
        Err(SizingError::OutOfRange { key, value, rule }) => {
            if !c.errors.iter().any(|e| e.key == key) {
                c.fail(key, value, rule);
            }
            None
        }
    };
    if let Some(p) = &plan {
        if let (None, Some(max)) = (s.task_min_count, s.task_max_count) {
            c.check(p.task_min_count <= max, "service.task_max_count", max, &format!("must be at least task_min_count ({}, auto-calculated)", p.task_min_count));
        }
        if let Some(cpu) = s.container_cpu {
            let total = p.vcpus * 1024;
            c.check(cpu <= total, "service.container_cpu", cpu, &format!("must not exceed the instance's {total} CPU units"));
        }
        if let Some(e) = user_data_too_large(cfg, p) {
            c.errors.push(e);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::{problem, problems};

    /// Sizing values near u32::MAX are refused naming their key, not an
    /// overflow panic. Bounds: ECS ContainerDefinition memory/cpu/
    /// memoryReservation are int32; ECS ManagedScaling maximumScalingStepSize
    /// (the group's MaxSize) is at most 10,000 (Amazon ECS API reference).
    #[test]
    fn sizing_values_beyond_aws_bounds_name_their_key() {
        type Edit = fn(&mut Config);
        let cases: [(&str, Edit); 8] = [
            ("service.gunicorn_workers", |c| c.service.gunicorn_workers = Some(u32::MAX)),
            ("service.container_memory", |c| c.service.container_memory = u32::MAX),
            ("compute.min_size", |c| c.compute.min_size = Some(u32::MAX)),
            ("compute.max_size", |c| c.compute.max_size = Some(u32::MAX)),
            ("service.task_min_count", |c| c.service.task_min_count = Some(u32::MAX)),
            ("service.task_max_count", |c| c.service.task_max_count = Some(u32::MAX)),
            ("service.container_cpu", |c| c.service.container_cpu = Some(u32::MAX)),
            ("service.container_memory_reservation", |c| c.service.container_memory_reservation = Some(u32::MAX)),
        ];
        for (key, edit) in cases {
            let errors = problems(edit);
            assert!(errors.iter().any(|e| e.key == key), "{key}: {errors:#?}");
            assert!(errors.iter().filter(|e| e.key == key).count() <= 2, "{key}: {errors:#?}");
        }
        let e = problem(|c| c.compute.max_size = Some(10_001));
        assert_eq!((e.key.as_str(), e.value.as_str()), ("compute.max_size", "10001"));
        assert!(e.rule.contains("at most 10000") && e.rule.contains("ManagedScaling"), "{e}");
        let e = problem(|c| c.service.container_memory = 1_431_655_766);
        assert!(e.rule.contains("no task fits"), "{e}");
        let e = problem(|c| c.service.container_memory = 2_147_483_648);
        assert!(e.rule.contains("32-bit"), "{e}");
    }
}
