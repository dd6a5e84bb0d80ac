//! Sizing advice: what to change in pypictl.toml (or which `pypictl
//! upgrade` to run) when a limit is hit — memory, CPU, EFS throughput. Pure
//! functions of the configuration and the catalogue; `pypictl doctor` puts
//! them in its fixes.

use crate::catalogue::{self, InstanceType};
use crate::config::{Config, ThroughputMode};

use super::{plan, SizingInput};

/// The largest provisioned throughput EFS accepts, in MiB/s (validation's
/// bound for `storage.provisioned_throughput_mibps`).
pub const MAX_PROVISIONED_MIBPS: u32 = 3414;

/// Elastic throughput: no burst credits to run out of, and no ceiling to
/// provision.
pub const ELASTIC_THROUGHPUT: &str = "set `storage.throughput_mode = \"elastic\"` in pypictl.toml and run `pypictl deploy`";

/// The container memory limit to try after an out-of-memory kill: double.
pub fn doubled_memory(cfg: &Config) -> u32 {
    cfg.service.container_memory.saturating_mul(2)
}

/// Double the memory limit; if that no longer fits the instance type, a
/// larger type that fits it too.
pub fn memory_fix(cfg: &Config) -> String {
    let doubled = doubled_memory(cfg);
    let mut input = SizingInput::from_config(cfg);
    input.container_memory = doubled;
    let current = &cfg.compute.instance_type;
    let now = plan(&SizingInput::from_config(cfg)).map(|p| format!(" instead of {}", p.tasks_per_instance)).unwrap_or_default();
    match plan(&input) {
        Ok(p) => format!(
            "set `service.container_memory = {doubled}` in pypictl.toml and run `pypictl deploy`, or run `pypictl upgrade --container-memory {doubled}` ({} tasks per {current}{now}; `pypictl size --container-memory {doubled}` shows the plan)",
            p.tasks_per_instance
        ),
        Err(why) => match larger_fitting(&input) {
            Some(t) => format!(
                "{doubled} MB does not fit on {current} ({why}): set `service.container_memory = {doubled}` and `compute.instance_type = \"{t}\"` in pypictl.toml and run `pypictl deploy`, or run `pypictl upgrade --instance-type {t} --container-memory {doubled}`"
            ),
            None => format!(
                "{doubled} MB does not fit on {current} ({why}) nor on any catalogued instance type: lower `service.gunicorn_workers` to use less memory per task"
            ),
        },
    }
}

/// The cheapest catalogued type, the same family first, larger than the
/// input's, on which the input's plan fits.
pub fn larger_fitting(input: &SizingInput) -> Option<&'static str> {
    let current = catalogue::lookup(&input.instance_type)?;
    let mut candidates: Vec<&InstanceType> =
        catalogue::all().filter(|t| t.arch == current.arch && t.memory_mib > current.memory_mib && t.vcpus >= current.vcpus).collect();
    candidates.sort_by(|a, b| (a.family() != current.family()).cmp(&(b.family() != current.family())).then(a.usd_per_hour.total_cmp(&b.usd_per_hour)));
    candidates.into_iter().find(|t| plan(&SizingInput { instance_type: t.name.to_string(), ..input.clone() }).is_ok()).map(|t| t.name)
}

/// The next size up in the same family, from the catalogue.
pub fn next_size_up(instance_type: &str) -> Option<&'static str> {
    let current = catalogue::lookup(instance_type)?;
    catalogue::all()
        .filter(|t| t.family() == current.family() && (t.vcpus, t.memory_mib) > (current.vcpus, current.memory_mib))
        .min_by_key(|t| (t.vcpus, t.memory_mib))
        .map(|t| t.name)
}

/// More CPU: the next size up, or more instances at the largest size.
pub fn instance_fix(cfg: &Config) -> String {
    match next_size_up(&cfg.compute.instance_type) {
        Some(t) => format!(
            "a larger instance type: set `compute.instance_type = \"{t}\"` in pypictl.toml and run `pypictl deploy`, or run `pypictl upgrade --instance-type {t}`"
        ),
        None => format!(
            "{} is the largest catalogued size of its family: add instances (`compute.min_size`, `compute.max_size`) and run `pypictl deploy`",
            cfg.compute.instance_type
        ),
    }
}

/// More EFS throughput: the next throughput mode, or twice the provisioned
/// throughput.
pub fn throughput_fix(cfg: &Config) -> String {
    match cfg.storage.throughput_mode {
        ThroughputMode::Bursting => ELASTIC_THROUGHPUT.to_string(),
        ThroughputMode::Elastic => "set `storage.throughput_mode = \"provisioned\"` with `storage.provisioned_throughput_mibps = 100` (or more) in pypictl.toml and run `pypictl deploy`; for 1000+ packages also `cloudfront.enabled = true`".to_string(),
        ThroughputMode::Provisioned => {
            let now = cfg.storage.provisioned_throughput_mibps.unwrap_or(0);
            if now >= MAX_PROVISIONED_MIBPS {
                "provisioned throughput is at its maximum: set `storage.throughput_mode = \"elastic\"` in pypictl.toml and run `pypictl deploy`".to_string()
            } else {
                let more = (now.max(1) * 2).min(MAX_PROVISIONED_MIBPS);
                format!("raise `storage.provisioned_throughput_mibps` from {now} to {more} (or set `storage.throughput_mode = \"elastic\"`) in pypictl.toml and run `pypictl deploy`")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> Config {
        let path = format!("{}/../fixtures/examples/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        Config::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn next_sizes_come_from_the_catalogue() {
        assert_eq!(next_size_up("c6a.large"), Some("c6a.xlarge"));
        assert_eq!(next_size_up("c6a.xlarge"), Some("c6a.2xlarge"));
        assert_eq!(next_size_up("t3.small"), Some("t3.medium"));
        assert_eq!(next_size_up("c6a.4xlarge"), None);
        assert_eq!(next_size_up("nope.large"), None);
    }

    #[test]
    fn more_memory_doubles_the_limit_on_the_same_type_when_it_fits() {
        let cfg = example("heavy");
        let fix = memory_fix(&cfg);
        let doubled = cfg.service.container_memory * 2;
        assert_eq!(doubled_memory(&cfg), doubled);
        assert!(fix.starts_with(&format!("set `service.container_memory = {doubled}` in pypictl.toml")), "{fix}");
        assert!(fix.contains(&format!("`pypictl upgrade --container-memory {doubled}`")), "{fix}");
        assert!(fix.contains(&format!("tasks per {} instead of ", cfg.compute.instance_type)), "{fix}");
    }

    #[test]
    fn more_memory_names_a_larger_type_when_the_doubled_limit_does_not_fit() {
        let mut cfg = example("light");
        cfg.service.container_memory = 1536;
        let fix = memory_fix(&cfg);
        let mut input = SizingInput::from_config(&cfg);
        input.container_memory = 3072;
        let larger = larger_fitting(&input).expect("a larger type fits 3072 MB");
        assert!(catalogue::lookup(larger).unwrap().memory_mib > catalogue::lookup("t3.small").unwrap().memory_mib);
        assert!(fix.starts_with("3072 MB does not fit on t3.small ("), "{fix}");
        assert!(fix.contains(&format!("`pypictl upgrade --instance-type {larger} --container-memory 3072`")), "{fix}");
        // Same family first.
        assert!(larger.starts_with("t3."), "{larger}");
    }

    #[test]
    fn more_cpu_is_the_next_size_or_more_instances() {
        let mut cfg = example("medium");
        assert_eq!(
            instance_fix(&cfg),
            "a larger instance type: set `compute.instance_type = \"c6a.xlarge\"` in pypictl.toml and run `pypictl deploy`, or run `pypictl upgrade --instance-type c6a.xlarge`"
        );
        cfg.compute.instance_type = "c6a.4xlarge".into();
        assert!(instance_fix(&cfg).starts_with("c6a.4xlarge is the largest catalogued size of its family: add instances"));
    }

    #[test]
    fn more_throughput_follows_the_mode() {
        let mut cfg = example("heavy");
        cfg.storage.throughput_mode = ThroughputMode::Bursting;
        assert_eq!(throughput_fix(&cfg), ELASTIC_THROUGHPUT);
        cfg.storage.throughput_mode = ThroughputMode::Elastic;
        assert!(throughput_fix(&cfg).contains("`storage.throughput_mode = \"provisioned\"`"));
        cfg.storage.throughput_mode = ThroughputMode::Provisioned;
        cfg.storage.provisioned_throughput_mibps = Some(100);
        assert!(throughput_fix(&cfg).starts_with("raise `storage.provisioned_throughput_mibps` from 100 to 200 "));
        cfg.storage.provisioned_throughput_mibps = Some(3000);
        assert!(throughput_fix(&cfg).contains("from 3000 to 3414 "));
        cfg.storage.provisioned_throughput_mibps = Some(MAX_PROVISIONED_MIBPS);
        assert!(throughput_fix(&cfg).starts_with("provisioned throughput is at its maximum"));
    }
}
