//! The alarms of a deployment, in one table: what each watches (namespace,
//! metric, dimensions, statistic), when it fires (comparison, threshold —
//! fixed or from the configuration —, period and evaluation) and what to do
//! then. The Monitoring stack builds its `AWS::CloudWatch::Alarm`s from it
//! ([`crate::components::monitoring`]) and `pypictl doctor` reads it: the
//! same metrics, compared to the same thresholds, and an alarm found firing
//! is recognised by its [`AlarmId`] (an exhaustive `match` there, so a new
//! or renamed alarm does not compile until doctor knows it).
//!
//! Like the AWS CDK's `metricCpuUtilization()` on a resource, the metrics
//! are named once, in [`metrics`].

use crate::config::{Config, ThroughputMode};

/// A CloudWatch dimension of pypictl's metrics; the Monitoring stack gives
/// each its value (a parameter), doctor its value from the root stack's
/// outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    FileSystemId,
    ClusterName,
    ServiceName,
    LoadBalancer,
    TargetGroup,
}

impl Dim {
    /// The dimension's name in CloudWatch.
    pub const fn name(self) -> &'static str {
        match self {
            Dim::FileSystemId => "FileSystemId",
            Dim::ClusterName => "ClusterName",
            Dim::ServiceName => "ServiceName",
            Dim::LoadBalancer => "LoadBalancer",
            Dim::TargetGroup => "TargetGroup",
        }
    }
}

/// A CloudWatch metric and the dimensions it is read with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metric {
    pub namespace: &'static str,
    pub name: &'static str,
    pub dimensions: &'static [Dim],
}

/// The metrics pypictl's alarms watch and doctor reads.
pub mod metrics {
    use super::{Dim, Metric};

    const EFS: &str = "AWS/EFS";
    const ECS: &str = "AWS/ECS";
    const ALB: &str = "AWS/ApplicationELB";
    const FS: &[Dim] = &[Dim::FileSystemId];
    const SERVICE: &[Dim] = &[Dim::ClusterName, Dim::ServiceName];
    const LB: &[Dim] = &[Dim::LoadBalancer];

    pub const EFS_BURST_CREDIT_BALANCE: Metric = Metric { namespace: EFS, name: "BurstCreditBalance", dimensions: FS };
    pub const EFS_PERCENT_IO_LIMIT: Metric = Metric { namespace: EFS, name: "PercentIOLimit", dimensions: FS };
    pub const ECS_CPU_UTILIZATION: Metric = Metric { namespace: ECS, name: "CPUUtilization", dimensions: SERVICE };
    pub const ECS_MEMORY_UTILIZATION: Metric = Metric { namespace: ECS, name: "MemoryUtilization", dimensions: SERVICE };
    pub const ALB_TARGET_RESPONSE_TIME: Metric = Metric { namespace: ALB, name: "TargetResponseTime", dimensions: LB };
    pub const ALB_TARGET_5XX: Metric = Metric { namespace: ALB, name: "HTTPCode_Target_5XX_Count", dimensions: LB };
    pub const ALB_ELB_5XX: Metric = Metric { namespace: ALB, name: "HTTPCode_ELB_5XX_Count", dimensions: LB };
    pub const ALB_REQUEST_COUNT: Metric = Metric { namespace: ALB, name: "RequestCount", dimensions: LB };
    pub const ALB_UNHEALTHY_HOSTS: Metric =
        Metric { namespace: ALB, name: "UnHealthyHostCount", dimensions: &[Dim::TargetGroup, Dim::LoadBalancer] };
}

/// How a metric's data points in a period are reduced to one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statistic {
    Minimum,
    Maximum,
    Average,
    Sum,
    /// The 95th percentile, an extended statistic.
    P95,
}

impl Statistic {
    pub const fn as_str(self) -> &'static str {
        match self {
            Statistic::Minimum => "Minimum",
            Statistic::Maximum => "Maximum",
            Statistic::Average => "Average",
            Statistic::Sum => "Sum",
            Statistic::P95 => "p95",
        }
    }

    /// A percentile: an alarm's `ExtendedStatistic`, not its `Statistic`.
    pub const fn is_extended(self) -> bool {
        matches!(self, Statistic::P95)
    }
}

/// Which side of the threshold is the alarm's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    GreaterThan,
    LessThan,
}

impl Comparison {
    /// The alarm's `ComparisonOperator`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Comparison::GreaterThan => "GreaterThanThreshold",
            Comparison::LessThan => "LessThanThreshold",
        }
    }

    /// Whether `value` is on the alarm's side of `threshold`.
    pub fn breached(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThan => value > threshold,
            Comparison::LessThan => value < threshold,
        }
    }
}

/// What an alarm compares to its threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// One metric's statistic.
    Stat { metric: Metric, statistic: Statistic },
    /// The sum of several metrics' statistic (metric math, a missing series
    /// counting as zero), each under its query id.
    Sum { terms: &'static [(&'static str, Metric)], statistic: Statistic, label: &'static str },
}

/// Where an alarm's threshold comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threshold {
    Fixed(u32),
    /// `monitoring.efs_burst_credit_threshold` (bytes).
    EfsBurstCreditThreshold,
}

/// The configurations an alarm exists in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Always,
    /// `storage.throughput_mode = "bursting"`: the only mode with burst credits.
    Bursting,
}

/// pypictl's alarms, each named `<service_name>-<environment>-<suffix>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlarmId {
    EfsBurstCredits,
    EfsThroughput,
    EcsCpuHigh,
    EcsMemoryHigh,
    AlbP95Latency,
    Http5xx,
    UnhealthyHosts,
}

impl AlarmId {
    /// Every alarm, in the order of [`TABLE`] (and of the template).
    pub const ALL: [AlarmId; 7] = [
        AlarmId::EfsBurstCredits,
        AlarmId::EfsThroughput,
        AlarmId::EcsCpuHigh,
        AlarmId::EcsMemoryHigh,
        AlarmId::AlbP95Latency,
        AlarmId::Http5xx,
        AlarmId::UnhealthyHosts,
    ];

    /// The alarm's row of the table.
    pub fn spec(self) -> &'static Alarm {
        &TABLE[self as usize]
    }

    /// The end of the alarm's name, after `<service_name>-<environment>-`.
    pub fn suffix(self) -> &'static str {
        self.spec().suffix
    }

    /// The alarm whose name ends in `suffix`.
    pub fn from_suffix(suffix: &str) -> Option<AlarmId> {
        TABLE.iter().find(|a| a.suffix == suffix).map(|a| a.id)
    }
}

/// One alarm: what it watches, when it fires, what to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alarm {
    pub id: AlarmId,
    /// `<service_name>-<environment>-<suffix>` is the alarm's name.
    pub suffix: &'static str,
    /// The resource's logical id in the Monitoring stack.
    pub logical_id: &'static str,
    pub measure: Measure,
    pub period_seconds: u32,
    pub evaluation_periods: u32,
    /// Of the evaluated periods, how many must breach (all when None).
    pub datapoints_to_alarm: Option<u32>,
    pub comparison: Comparison,
    pub threshold: Threshold,
    pub when: When,
    /// The alarm's description: what it means and what to do.
    pub advice: &'static str,
}

impl Alarm {
    /// Whether the deployment of `cfg` has this alarm.
    pub fn applies(&self, cfg: &Config) -> bool {
        match self.when {
            When::Always => true,
            When::Bursting => cfg.storage.throughput_mode == ThroughputMode::Bursting,
        }
    }

    /// The threshold in the deployment of `cfg`.
    pub fn threshold(&self, cfg: &Config) -> u64 {
        match self.threshold {
            Threshold::Fixed(n) => n.into(),
            Threshold::EfsBurstCreditThreshold => cfg.monitoring.efs_burst_credit_threshold,
        }
    }

    /// Whether `value` would set the alarm off in the deployment of `cfg`.
    pub fn breached(&self, cfg: &Config, value: f64) -> bool {
        self.comparison.breached(value, self.threshold(cfg) as f64)
    }

    /// The statistic the alarm compares.
    pub fn statistic(&self) -> Statistic {
        match self.measure {
            Measure::Stat { statistic, .. } | Measure::Sum { statistic, .. } => statistic,
        }
    }
}

/// The alarms, in the Monitoring stack's order; row `i` is `AlarmId::ALL[i]`.
pub static TABLE: [Alarm; 7] = [
    Alarm {
        id: AlarmId::EfsBurstCredits,
        suffix: "efs-burst-credits",
        logical_id: "EfsBurstCreditsAlarm",
        measure: Measure::Stat { metric: metrics::EFS_BURST_CREDIT_BALANCE, statistic: Statistic::Minimum },
        period_seconds: 300,
        evaluation_periods: 3,
        datapoints_to_alarm: None,
        comparison: Comparison::LessThan,
        threshold: Threshold::EfsBurstCreditThreshold,
        when: When::Bursting,
        advice: "EFS burst credits are running out: package listing will slow down. Fix: set storage.throughput_mode = \"elastic\" (or \"provisioned\") in pypictl.toml and run `pypictl deploy`.",
    },
    Alarm {
        id: AlarmId::EfsThroughput,
        suffix: "efs-throughput",
        logical_id: "EfsThroughputAlarm",
        measure: Measure::Stat { metric: metrics::EFS_PERCENT_IO_LIMIT, statistic: Statistic::Maximum },
        period_seconds: 300,
        evaluation_periods: 3,
        datapoints_to_alarm: None,
        comparison: Comparison::GreaterThan,
        threshold: Threshold::Fixed(80),
        when: When::Always,
        advice: "EFS I/O above 80 % of its limit for 15 minutes: requests may be throttled. Fix: check storage.throughput_mode (elastic is the default); for 1000+ packages enable cloudfront.",
    },
    Alarm {
        id: AlarmId::EcsCpuHigh,
        suffix: "ecs-cpu-high",
        logical_id: "EcsCpuAlarm",
        measure: Measure::Stat { metric: metrics::ECS_CPU_UTILIZATION, statistic: Statistic::Average },
        period_seconds: 300,
        evaluation_periods: 2,
        datapoints_to_alarm: None,
        comparison: Comparison::GreaterThan,
        threshold: Threshold::Fixed(80),
        when: When::Always,
        advice: "ECS service CPU above 80 % for 10 minutes. Fix: a larger instance type, e.g. `pypictl upgrade --instance-type c6a.xlarge`.",
    },
    Alarm {
        id: AlarmId::EcsMemoryHigh,
        suffix: "ecs-memory-high",
        logical_id: "EcsMemoryAlarm",
        measure: Measure::Stat { metric: metrics::ECS_MEMORY_UTILIZATION, statistic: Statistic::Average },
        period_seconds: 300,
        evaluation_periods: 2,
        datapoints_to_alarm: None,
        comparison: Comparison::GreaterThan,
        threshold: Threshold::Fixed(90),
        when: When::Always,
        advice: "ECS service memory above 90 %: containers risk OOM kills. Fix: `pypictl upgrade --container-memory 1024` (or a larger instance type).",
    },
    Alarm {
        id: AlarmId::AlbP95Latency,
        suffix: "alb-p95-latency",
        logical_id: "LatencyP95Alarm",
        measure: Measure::Stat { metric: metrics::ALB_TARGET_RESPONSE_TIME, statistic: Statistic::P95 },
        period_seconds: 300,
        evaluation_periods: 3,
        datapoints_to_alarm: None,
        comparison: Comparison::GreaterThan,
        threshold: Threshold::Fixed(5),
        when: When::Always,
        advice: "P95 response time above 5 s for 15 minutes. Fix: check `pypictl doctor`; scale up with `pypictl upgrade --instance-type ...`.",
    },
    Alarm {
        id: AlarmId::Http5xx,
        suffix: "5xx-errors",
        logical_id: "Http5xxAlarm",
        measure: Measure::Sum {
            terms: &[("target", metrics::ALB_TARGET_5XX), ("elb", metrics::ALB_ELB_5XX)],
            statistic: Statistic::Sum,
            label: "5xx responses per hour",
        },
        period_seconds: 3600,
        evaluation_periods: 1,
        datapoints_to_alarm: None,
        comparison: Comparison::GreaterThan,
        threshold: Threshold::Fixed(10),
        when: When::Always,
        advice: "More than 10 5xx responses in an hour. Fix: run `pypictl doctor` (stopped tasks, target health, OOM kills).",
    },
    Alarm {
        id: AlarmId::UnhealthyHosts,
        suffix: "unhealthy-hosts",
        logical_id: "UnhealthyHostsAlarm",
        measure: Measure::Stat { metric: metrics::ALB_UNHEALTHY_HOSTS, statistic: Statistic::Maximum },
        period_seconds: 60,
        evaluation_periods: 5,
        datapoints_to_alarm: Some(3),
        comparison: Comparison::GreaterThan,
        threshold: Threshold::Fixed(0),
        when: When::Always,
        advice: "Targets failing the /health check. Fix: run `pypictl doctor` (stopped-task reasons, OOM kills, EFS throughput).",
    },
];

/// The alarms of the deployment of `cfg`, in the Monitoring stack's order.
pub fn of(cfg: &Config) -> impl Iterator<Item = &'static Alarm> + '_ {
    TABLE.iter().filter(move |a| a.applies(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_the_order_of_the_ids() {
        for (i, (id, alarm)) in AlarmId::ALL.iter().zip(TABLE.iter()).enumerate() {
            assert_eq!(alarm.id, *id);
            assert_eq!(*id as usize, i);
            assert_eq!(id.spec(), alarm);
            assert_eq!(AlarmId::from_suffix(alarm.suffix), Some(*id));
        }
        assert_eq!(AlarmId::from_suffix("nope"), None);
    }

    #[test]
    fn suffixes_and_logical_ids_are_unique() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                assert_ne!(a.suffix, b.suffix);
                assert_ne!(a.logical_id, b.logical_id);
            }
        }
    }

    /// The description says the threshold and the duration the table has.
    #[test]
    fn the_advice_states_the_table_s_facts() {
        for a in &TABLE {
            if let Threshold::Fixed(n) = a.threshold {
                if n > 0 {
                    assert!(a.advice.contains(&format!("{n} ")), "{}: {}", a.suffix, a.advice);
                }
            }
            let minutes = a.period_seconds * a.evaluation_periods / 60;
            if a.advice.contains(" minutes") {
                assert!(a.advice.contains(&format!("for {minutes} minutes")), "{}: {minutes} minutes: {}", a.suffix, a.advice);
            }
            if a.advice.contains("in an hour") {
                assert_eq!(minutes, 60, "{}", a.suffix);
            }
            assert!(a.advice.contains("Fix: "), "{}", a.suffix);
        }
    }

    #[test]
    fn only_bursting_file_systems_have_a_burst_credit_alarm() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/examples/all-features.toml")).unwrap();
        let mut cfg = Config::from_toml(&text).unwrap();
        assert_eq!(cfg.storage.throughput_mode, ThroughputMode::Bursting);
        assert_eq!(of(&cfg).count(), 7);
        let burst = AlarmId::EfsBurstCredits.spec();
        assert_eq!(burst.threshold(&cfg), cfg.monitoring.efs_burst_credit_threshold);
        assert!(burst.breached(&cfg, cfg.monitoring.efs_burst_credit_threshold as f64 - 1.0));
        assert!(!burst.breached(&cfg, cfg.monitoring.efs_burst_credit_threshold as f64));
        cfg.storage.throughput_mode = ThroughputMode::Elastic;
        assert_eq!(of(&cfg).map(|a| a.id).collect::<Vec<_>>(), AlarmId::ALL[1..].to_vec());
    }

    #[test]
    fn percentiles_are_extended_statistics() {
        assert_eq!(AlarmId::AlbP95Latency.spec().statistic(), Statistic::P95);
        assert!(Statistic::P95.is_extended() && !Statistic::Maximum.is_extended());
        assert!(Comparison::GreaterThan.breached(5.1, 5.0) && !Comparison::GreaterThan.breached(5.0, 5.0));
    }
}
