//! What a plan costs a month: EC2 on demand for its instances, plus the
//! sizing guide's EFS and ALB figures for the profile it falls in.

use serde::Serialize;

use crate::catalogue::InstanceType;

/// Hours in the month of the sizing guide's cost figures.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// The sizing guide's cost profile a deployment falls in: EFS and ALB costs
/// are the guide's figures for that profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CostTier {
    Light,
    Medium,
    Heavy,
    VeryHeavy,
}

impl CostTier {
    pub fn of(it: &InstanceType) -> CostTier {
        match it.vcpus {
            0..=2 if it.burstable() => CostTier::Light,
            0..=2 => CostTier::Medium,
            3..=4 => CostTier::Heavy,
            _ => CostTier::VeryHeavy,
        }
    }

    /// (EFS storage, ALB base, ALB LCU) per month, from the sizing guide's
    /// cost analysis. The guide gives no Medium breakdown; Medium sits halfway
    /// between Light and Heavy.
    fn guide_figures(self) -> (f64, f64, f64) {
        match self {
            CostTier::Light => (0.30, 16.20, 1.0),
            CostTier::Medium => (1.50, 16.20, 2.0),
            CostTier::Heavy => (3.00, 16.20, 3.0),
            CostTier::VeryHeavy => (10.00, 16.20, 5.0),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostEstimate {
    pub tier: CostTier,
    pub ec2_usd: f64,
    pub efs_usd: f64,
    pub alb_usd: f64,
    pub total_usd: f64,
    pub basis: &'static str,
}

pub const COST_BASIS: &str = "sizing guide figures: EC2 on-demand (us-east-1, Linux) x 730 h for asg_min_size instances, plus the guide's EFS and ALB (base + LCU) estimates for this profile";

impl CostEstimate {
    /// A month of `instances` instances of `it`, with the guide's EFS and
    /// ALB figures for its tier; the sums are rounded to cents.
    pub(super) fn monthly(it: &InstanceType, instances: u32) -> CostEstimate {
        let tier = CostTier::of(it);
        let (efs, alb_base, lcu) = tier.guide_figures();
        let ec2 = round_cents(f64::from(instances) * it.usd_per_hour * HOURS_PER_MONTH);
        let alb = round_cents(alb_base + lcu);
        let total = round_cents(ec2 + efs + alb);
        CostEstimate { tier, ec2_usd: ec2, efs_usd: efs, alb_usd: alb, total_usd: total, basis: COST_BASIS }
    }
}

fn round_cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use crate::sizing::tests::on;

    #[test]
    fn monthly_costs_match_the_sizing_guide() {
        // Light: 2 x $0.0208 x 730 = $30.37 EC2, total ~$48.
        let light = on("t3.small", 512);
        assert_eq!(light.cost.ec2_usd, 30.37);
        assert_eq!(light.monthly_cost_usd, 47.87);
        // Heavy: $223.38 EC2, total ~$245.
        let heavy = on("c6a.xlarge", 512);
        assert_eq!(heavy.cost.ec2_usd, 223.38);
        assert_eq!(heavy.monthly_cost_usd, 245.58);
        // Very heavy: $446.76 EC2, total ~$478.
        let vh = on("c6a.2xlarge", 1024);
        assert_eq!(vh.cost.ec2_usd, 446.76);
        assert_eq!(vh.monthly_cost_usd, 477.96);
    }
}
