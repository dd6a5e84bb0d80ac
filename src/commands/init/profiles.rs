//! The AWS profiles the user has, read from the shared config and
//! credentials files (the same files, found the same way, as the AWS CLI).

use std::path::PathBuf;

/// One profile: its name and the region its config section sets, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub region: Option<String>,
}

fn home_file(var: &str, rel: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(rel))
}

/// Profiles from `AWS_CONFIG_FILE` (default ~/.aws/config) and
/// `AWS_SHARED_CREDENTIALS_FILE` (default ~/.aws/credentials), sorted with
/// `default` first. Unreadable files count as empty: the SDK reports real
/// problems when it connects.
pub fn load() -> Vec<Profile> {
    let read = |p: Option<PathBuf>| p.and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    parse(&read(home_file("AWS_CONFIG_FILE", ".aws/config")), &read(home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials")))
}

fn index_of(profiles: &mut Vec<Profile>, name: &str) -> usize {
    match profiles.iter().position(|p| p.name == name) {
        Some(i) => i,
        None => {
            profiles.push(Profile { name: name.to_string(), region: None });
            profiles.len() - 1
        }
    }
}

/// The profile sections of a config file (`[default]`, `[profile NAME]`)
/// and a credentials file (`[NAME]`), with the config's `region`.
pub fn parse(config: &str, credentials: &str) -> Vec<Profile> {
    let mut profiles: Vec<Profile> = Vec::new();
    let mut current: Option<usize> = None;
    for line in config.lines().map(str::trim) {
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let section = section.trim();
            current = if section == "default" {
                Some(index_of(&mut profiles, "default"))
            } else {
                // `[sso-session x]` and `[services x]` are not profiles.
                section.strip_prefix("profile ").map(|n| index_of(&mut profiles, n.trim()))
            };
        } else if let (Some(i), Some((k, v))) = (current, line.split_once('=')) {
            if k.trim() == "region" && !v.trim().is_empty() {
                profiles[i].region = Some(v.trim().to_string());
            }
        }
    }
    for line in credentials.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            index_of(&mut profiles, name.trim());
        }
    }
    profiles.sort_by(|a, b| (a.name != "default", &a.name).cmp(&(b.name != "default", &b.name)));
    profiles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_from_both_files_default_first() {
        let config = "[profile prod]\nregion = eu-west-1\n[sso-session corp]\nsso_region = us-east-1\n[default]\nregion=us-east-2\n";
        let creds = "[ci]\naws_access_key_id = x\n[default]\n";
        let p = parse(config, creds);
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["default", "ci", "prod"]);
        assert_eq!(p[0].region.as_deref(), Some("us-east-2"));
        assert_eq!(p[1].region, None);
        assert_eq!(p[2].region.as_deref(), Some("eu-west-1"));
    }
}
