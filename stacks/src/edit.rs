//! Changing pypictl.toml the way a person would: only the keys that change,
//! every comment and the layout kept (for `pypictl upgrade`).

use toml_edit::{value, DocumentMut, Item, Table};

use crate::config::Config;

/// What `pypictl upgrade` may change; None keeps the current value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Upgrade {
    pub instance_type: Option<String>,
    pub image_tag: Option<String>,
    pub container_memory: Option<u32>,
    pub task_min: Option<u32>,
    pub task_max: Option<u32>,
    pub asg_min: Option<u32>,
    pub asg_max: Option<u32>,
}

impl Upgrade {
    pub fn is_empty(&self) -> bool {
        *self == Upgrade::default()
    }

    /// (table, key, flag) of every change requested.
    pub fn keys(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        let mut k = Vec::new();
        if self.instance_type.is_some() {
            k.push(("compute", "instance_type", "--instance-type"));
        }
        if self.image_tag.is_some() {
            k.push(("service", "image_tag", "--image-tag"));
        }
        if self.container_memory.is_some() {
            k.push(("service", "container_memory", "--container-memory"));
        }
        if self.task_min.is_some() {
            k.push(("service", "task_min_count", "--task-min"));
        }
        if self.task_max.is_some() {
            k.push(("service", "task_max_count", "--task-max"));
        }
        if self.asg_min.is_some() {
            k.push(("compute", "min_size", "--asg-min"));
        }
        if self.asg_max.is_some() {
            k.push(("compute", "max_size", "--asg-max"));
        }
        k
    }

    /// The configuration with the changes applied.
    pub fn apply(&self, cfg: &Config) -> Config {
        let mut c = cfg.clone();
        if let Some(v) = &self.instance_type {
            c.compute.instance_type = v.clone();
        }
        if let Some(v) = &self.image_tag {
            c.service.image_tag = v.clone();
        }
        if let Some(v) = self.container_memory {
            c.service.container_memory = v;
        }
        if let Some(v) = self.task_min {
            c.service.task_min_count = Some(v);
        }
        if let Some(v) = self.task_max {
            c.service.task_max_count = Some(v);
        }
        if let Some(v) = self.asg_min {
            c.compute.min_size = Some(v);
        }
        if let Some(v) = self.asg_max {
            c.compute.max_size = Some(v);
        }
        c
    }

    /// The TOML text with the changes written in, everything else untouched.
    pub fn write_into(&self, text: &str) -> Result<String, String> {
        let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| e.to_string())?;
        let mut set = |table: &str, key: &str, item: Item| {
            if !doc.contains_key(table) {
                doc.insert(table, Item::Table(Table::new()));
            }
            let t = doc[table].as_table_like_mut().ok_or_else(|| format!("`{table}` is not a table"))?;
            match t.get_mut(key) {
                // Keep the key's decoration (comments after the value).
                Some(existing) if existing.is_value() => {
                    let decor = existing.as_value().map(|v| v.decor().clone());
                    *existing = item;
                    if let (Some(decor), Some(v)) = (decor, existing.as_value_mut()) {
                        *v.decor_mut() = decor;
                    }
                }
                _ => {
                    t.insert(key, item);
                }
            }
            Ok::<(), String>(())
        };
        if let Some(v) = &self.instance_type {
            set("compute", "instance_type", value(v.as_str()))?;
        }
        if let Some(v) = &self.image_tag {
            set("service", "image_tag", value(v.as_str()))?;
        }
        if let Some(v) = self.container_memory {
            set("service", "container_memory", value(i64::from(v)))?;
        }
        if let Some(v) = self.task_min {
            set("service", "task_min_count", value(i64::from(v)))?;
        }
        if let Some(v) = self.task_max {
            set("service", "task_max_count", value(i64::from(v)))?;
        }
        if let Some(v) = self.asg_min {
            set("compute", "min_size", value(i64::from(v)))?;
        }
        if let Some(v) = self.asg_max {
            set("compute", "max_size", value(i64::from(v)))?;
        }
        Ok(doc.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# Heavy workload.
region = "us-east-1"

[network]
vpc_id = "vpc-0a1b2c3d4e5f60718"
load_balancer_subnets = ["subnet-0aa11bb22cc33dd44", "subnet-0ee55ff6677889900"]
asg_subnets = ["subnet-01234567890abcdef", "subnet-0fedcba9876543210"]

[dns]
zone_id = "Z0123456789ABCDEFGHIJ"
zone_name = "example.com"

[compute]
# Compute-optimized: the stress-tested baseline.
instance_type = "c6a.xlarge"   # keep in sync with the capacity plan
min_size = 2

[monitoring]
alarm_emails = ["ops@example.com"]
"#;

    #[test]
    fn only_the_changed_keys_change_and_comments_stay() {
        let up = Upgrade { instance_type: Some("c6a.2xlarge".into()), container_memory: Some(1024), ..Default::default() };
        let out = up.write_into(TEXT).unwrap();
        assert!(out.contains("instance_type = \"c6a.2xlarge\"   # keep in sync with the capacity plan"), "{out}");
        assert!(out.contains("# Compute-optimized: the stress-tested baseline."));
        assert!(out.contains("[service]\ncontainer_memory = 1024"), "a missing table is added: {out}");
        let before: Vec<&str> = TEXT.lines().filter(|l| !l.contains("instance_type")).collect();
        for line in before {
            assert!(out.contains(line), "line {line:?} kept");
        }
        let cfg = Config::from_toml(&out).unwrap();
        assert_eq!(cfg, up.apply(&Config::from_toml(TEXT).unwrap()));
    }

    #[test]
    fn keys_name_their_flags() {
        let up = Upgrade { task_min: Some(4), asg_max: Some(6), ..Default::default() };
        assert_eq!(up.keys(), [("service", "task_min_count", "--task-min"), ("compute", "max_size", "--asg-max")]);
        assert!(Upgrade::default().is_empty());
    }
}
