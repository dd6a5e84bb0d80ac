//! Built-in catalogue of current EC2 instance types: vCPUs, memory and the
//! on-demand price that the sizing guide's cost figures are based on.
//!
//! Prices are US East (N. Virginia) on-demand Linux rates in USD per hour;
//! other regions differ by a few percent. `deploy` can confirm vCPU and memory
//! with EC2 DescribeInstanceTypes.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Arm64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InstanceType {
    pub name: &'static str,
    pub vcpus: u32,
    pub memory_mib: u32,
    pub usd_per_hour: f64,
    pub arch: Arch,
}

impl InstanceType {
    pub fn family(&self) -> &'static str {
        self.name.split('.').next().unwrap_or(self.name)
    }

    /// Burstable families (t*) run on CPU credits: 20–40 % baseline.
    pub fn burstable(&self) -> bool {
        self.family().starts_with('t')
    }
}

macro_rules! family {
    ($arch:ident, $fam:literal: $( $size:literal => ($vcpu:expr, $gib:expr, $price:expr) ),+ $(,)?) => {
        [ $( InstanceType {
            name: concat!($fam, ".", $size),
            vcpus: $vcpu,
            memory_mib: ($gib * 1024.0) as u32,
            usd_per_hour: $price,
            arch: Arch::$arch,
        } ),+ ]
    };
}

const T3: [InstanceType; 6] = family!(X86_64, "t3":
    "micro" => (2, 1.0, 0.0104), "small" => (2, 2.0, 0.0208), "medium" => (2, 4.0, 0.0416),
    "large" => (2, 8.0, 0.0832), "xlarge" => (4, 16.0, 0.1664), "2xlarge" => (8, 32.0, 0.3328));
const T3A: [InstanceType; 6] = family!(X86_64, "t3a":
    "micro" => (2, 1.0, 0.0094), "small" => (2, 2.0, 0.0188), "medium" => (2, 4.0, 0.0376),
    "large" => (2, 8.0, 0.0752), "xlarge" => (4, 16.0, 0.1504), "2xlarge" => (8, 32.0, 0.3008));
const T4G: [InstanceType; 6] = family!(Arm64, "t4g":
    "micro" => (2, 1.0, 0.0084), "small" => (2, 2.0, 0.0168), "medium" => (2, 4.0, 0.0336),
    "large" => (2, 8.0, 0.0672), "xlarge" => (4, 16.0, 0.1344), "2xlarge" => (8, 32.0, 0.2688));
const C6A: [InstanceType; 4] = family!(X86_64, "c6a":
    "large" => (2, 4.0, 0.0765), "xlarge" => (4, 8.0, 0.153), "2xlarge" => (8, 16.0, 0.306), "4xlarge" => (16, 32.0, 0.612));
const C6I: [InstanceType; 4] = family!(X86_64, "c6i":
    "large" => (2, 4.0, 0.085), "xlarge" => (4, 8.0, 0.17), "2xlarge" => (8, 16.0, 0.34), "4xlarge" => (16, 32.0, 0.68));
const C6G: [InstanceType; 4] = family!(Arm64, "c6g":
    "large" => (2, 4.0, 0.068), "xlarge" => (4, 8.0, 0.136), "2xlarge" => (8, 16.0, 0.272), "4xlarge" => (16, 32.0, 0.544));
const C7A: [InstanceType; 4] = family!(X86_64, "c7a":
    "large" => (2, 4.0, 0.10264), "xlarge" => (4, 8.0, 0.20528), "2xlarge" => (8, 16.0, 0.41056), "4xlarge" => (16, 32.0, 0.82112));
const C7I: [InstanceType; 4] = family!(X86_64, "c7i":
    "large" => (2, 4.0, 0.08925), "xlarge" => (4, 8.0, 0.1785), "2xlarge" => (8, 16.0, 0.357), "4xlarge" => (16, 32.0, 0.714));
const C7G: [InstanceType; 4] = family!(Arm64, "c7g":
    "large" => (2, 4.0, 0.0725), "xlarge" => (4, 8.0, 0.145), "2xlarge" => (8, 16.0, 0.29), "4xlarge" => (16, 32.0, 0.58));
const M6A: [InstanceType; 4] = family!(X86_64, "m6a":
    "large" => (2, 8.0, 0.0864), "xlarge" => (4, 16.0, 0.1728), "2xlarge" => (8, 32.0, 0.3456), "4xlarge" => (16, 64.0, 0.6912));
const M6I: [InstanceType; 4] = family!(X86_64, "m6i":
    "large" => (2, 8.0, 0.096), "xlarge" => (4, 16.0, 0.192), "2xlarge" => (8, 32.0, 0.384), "4xlarge" => (16, 64.0, 0.768));
const M7I: [InstanceType; 4] = family!(X86_64, "m7i":
    "large" => (2, 8.0, 0.1008), "xlarge" => (4, 16.0, 0.2016), "2xlarge" => (8, 32.0, 0.4032), "4xlarge" => (16, 64.0, 0.8064));
const M7G: [InstanceType; 4] = family!(Arm64, "m7g":
    "large" => (2, 8.0, 0.0816), "xlarge" => (4, 16.0, 0.1632), "2xlarge" => (8, 32.0, 0.3264), "4xlarge" => (16, 64.0, 0.6528));
const R6I: [InstanceType; 4] = family!(X86_64, "r6i":
    "large" => (2, 16.0, 0.126), "xlarge" => (4, 32.0, 0.252), "2xlarge" => (8, 64.0, 0.504), "4xlarge" => (16, 128.0, 1.008));

const FAMILIES: [&[InstanceType]; 14] =
    [&T3, &T3A, &T4G, &C6A, &C6I, &C6G, &C7A, &C7I, &C7G, &M6A, &M6I, &M7I, &M7G, &R6I];

/// Every catalogued type, family by family.
pub fn all() -> impl Iterator<Item = &'static InstanceType> {
    FAMILIES.iter().flat_map(|f| f.iter())
}

pub fn lookup(name: &str) -> Option<&'static InstanceType> {
    all().find(|t| t.name == name)
}

/// Catalogued types whose name is closest to `name` (same family first), for
/// "did you mean" hints.
pub fn suggestions(name: &str) -> Vec<&'static str> {
    let family = name.split('.').next().unwrap_or("");
    let same: Vec<_> = all().filter(|t| t.family() == family).map(|t| t.name).collect();
    if !same.is_empty() {
        return same;
    }
    let size = name.split('.').nth(1).unwrap_or("");
    all().filter(|t| t.name.ends_with(&format!(".{size}"))).map(|t| t.name).take(6).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_the_families_and_sizes_pypictl_promises() {
        for fam in ["t3", "t3a", "t4g"] {
            for size in ["micro", "small", "medium", "large", "xlarge", "2xlarge"] {
                assert!(lookup(&format!("{fam}.{size}")).is_some(), "{fam}.{size}");
            }
        }
        for fam in ["c6a", "c6i", "c7a", "c7i", "c7g", "m6a", "m6i", "m7i", "m7g", "r6i"] {
            for size in ["large", "xlarge", "2xlarge", "4xlarge"] {
                assert!(lookup(&format!("{fam}.{size}")).is_some(), "{fam}.{size}");
            }
        }
    }

    #[test]
    fn sizing_guide_figures() {
        let small = lookup("t3.small").unwrap();
        assert_eq!((small.vcpus, small.memory_mib, small.usd_per_hour), (2, 2048, 0.0208));
        let xl = lookup("c6a.xlarge").unwrap();
        assert_eq!((xl.vcpus, xl.memory_mib, xl.usd_per_hour), (4, 8192, 0.153));
        assert_eq!(lookup("c6a.2xlarge").unwrap().usd_per_hour, 0.306);
        assert!(small.burstable() && !xl.burstable());
        assert_eq!(lookup("c7g.large").unwrap().arch, Arch::Arm64);
    }

    #[test]
    fn names_are_unique_and_unknown_types_are_absent() {
        let mut names: Vec<_> = all().map(|t| t.name).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
        assert!(lookup("c6a.huge").is_none());
        assert!(suggestions("c6a.huge").contains(&"c6a.xlarge"));
    }
}
