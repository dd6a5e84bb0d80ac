//! The sizing guide's workload profiles (light to very heavy) and what it
//! expects each to do under the reference's burst: `pypictl init` offers
//! the profiles, `pypictl bench` compares its results with the expectations.

use super::SizingInput;

/// The sizing guide's workload profiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    pub key: &'static str,
    pub title: &'static str,
    pub packages: &'static str,
    pub users: &'static str,
    pub instance_type: &'static str,
    pub instances: u32,
    /// None: auto (enough instances for task_max_count).
    pub asg_max_size: Option<u32>,
    pub container_memory: u32,
}

pub const PROFILES: [Profile; 4] = [
    Profile { key: "light", title: "Light", packages: "< 50", users: "< 5", instance_type: "t3.small", instances: 2, asg_max_size: None, container_memory: 512 },
    Profile { key: "medium", title: "Medium", packages: "50-200", users: "5-20", instance_type: "c6a.large", instances: 2, asg_max_size: Some(4), container_memory: 512 },
    Profile { key: "heavy", title: "Heavy", packages: "200-500", users: "20-50", instance_type: "c6a.xlarge", instances: 2, asg_max_size: Some(4), container_memory: 512 },
    Profile { key: "very-heavy", title: "Very Heavy", packages: "500+", users: "50+", instance_type: "c6a.2xlarge", instances: 2, asg_max_size: Some(4), container_memory: 1024 },
];

impl Profile {
    pub fn sizing_input(&self) -> SizingInput {
        SizingInput {
            container_memory: self.container_memory,
            asg_min_size: Some(self.instances),
            asg_max_size: self.asg_max_size,
            ..SizingInput::defaults_for(self.instance_type)
        }
    }
}

/// What the sizing guide says a deployment on this profile does under the
/// reference's stress test (a burst of 510 simultaneous requests against two
/// instances). Only the heavy profile was measured; the other figures are the
/// guide's stated expectations, so fields it gives no number for are None.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BurstExpectation {
    pub profile: &'static str,
    pub instance_type: &'static str,
    /// Simultaneous requests the figures are for.
    pub burst_requests: u32,
    pub p95_ms: Option<u64>,
    pub p99_ms: Option<u64>,
    pub throughput_rps: Option<f64>,
    /// Upper bound of the error rate under the burst, in percent.
    pub error_rate_pct: f64,
    /// True for the stress-tested baseline, false for the guide's estimates.
    pub measured: bool,
}

/// Sizing guide, "Validated Performance" (Heavy), the profiles' "Expected
/// Performance" and "Error Rate Expectations" (burst column).
pub const BURST_EXPECTATIONS: [BurstExpectation; 4] = [
    BurstExpectation { profile: "light", instance_type: "t3.small", burst_requests: 510, p95_ms: None, p99_ms: None, throughput_rps: None, error_rate_pct: 5.0, measured: false },
    BurstExpectation { profile: "medium", instance_type: "c6a.large", burst_requests: 510, p95_ms: Some(10_000), p99_ms: None, throughput_rps: None, error_rate_pct: 1.0, measured: false },
    BurstExpectation { profile: "heavy", instance_type: "c6a.xlarge", burst_requests: 510, p95_ms: Some(14_000), p99_ms: Some(20_000), throughput_rps: Some(20.0), error_rate_pct: 0.05, measured: true },
    BurstExpectation { profile: "very-heavy", instance_type: "c6a.2xlarge", burst_requests: 510, p95_ms: Some(15_000), p99_ms: None, throughput_rps: None, error_rate_pct: 0.05, measured: false },
];

/// The guide's burst figures for an instance type, if it has any.
pub fn burst_expectation(instance_type: &str) -> Option<BurstExpectation> {
    BURST_EXPECTATIONS.iter().copied().find(|e| e.instance_type == instance_type)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sizing::plan;

    #[test]
    fn burst_expectations_follow_the_profiles_and_the_stress_test() {
        for (p, e) in PROFILES.iter().zip(BURST_EXPECTATIONS) {
            assert_eq!((p.key, p.instance_type), (e.profile, e.instance_type));
        }
        let heavy = burst_expectation("c6a.xlarge").unwrap();
        assert_eq!((heavy.p95_ms, heavy.p99_ms, heavy.throughput_rps, heavy.error_rate_pct), (Some(14_000), Some(20_000), Some(20.0), 0.05));
        assert!(heavy.measured);
        assert_eq!(burst_expectation("m7i.large"), None);
    }

    #[test]
    fn medium_profile_max_follows_the_formula_not_the_guide_figure() {
        // The guide's Medium example says 24; 2 x (2 x 3) is 12 and the formula stands.
        let medium = PROFILES.iter().find(|p| p.key == "medium").unwrap();
        let p = plan(&medium.sizing_input()).unwrap();
        assert_eq!((p.tasks_per_instance, p.task_min_count, p.task_max_count), (3, 6, 12));
        assert_eq!(p.asg_max_size, 4);
    }
}
