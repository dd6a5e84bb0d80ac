//! The README's commented example configuration is valid and its defaults
//! are pypictl's defaults.

use crate::common;

fn readme_example() -> String {
    let readme = std::fs::read_to_string(common::repo_root().join("README.md")).unwrap();
    let after = readme.split("<!-- example-config -->").nth(1).expect("README marks its example configuration");
    let start = after.find("```toml\n").expect("a toml block follows the marker") + "```toml\n".len();
    let end = after[start..].find("```").unwrap();
    after[start..start + end].to_string()
}

#[test]
fn the_readme_example_configuration_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pypictl.toml");
    std::fs::write(&path, readme_example()).unwrap();
    common::pypictl().args(["synth", "-c"]).arg(&path).arg("-o").arg(dir.path().join("out")).assert().success();
}

#[test]
fn the_readme_example_states_the_real_defaults() {
    use pypictl_stacks::Config;
    let documented = Config::from_toml(&readme_example()).unwrap();
    // The same file with only the required keys parses to the same configuration.
    let required = r#"
region = "us-east-1"
[network]
vpc_id = "vpc-0123456789abcdef0"
load_balancer_subnets = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
asg_subnets = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
[dns]
zone_id = "Z0123456789ABCDEFGHIJ"
zone_name = "example.com"
[monitoring]
alarm_emails = ["ops@example.com"]
"#;
    assert_eq!(documented, Config::from_toml(required).unwrap());
}
