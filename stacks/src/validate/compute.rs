//! Compute rules: the instances (AMI, group sizes, root volume, extra
//! instance-profile permissions) and what cloud-init writes on them (users,
//! files, commands), which must survive YAML and fit EC2's user data.

use crate::components::{self, Ctx};
use crate::config::{CloudInitUser, Compute, Config, Sudo};
use crate::sizing::CapacityPlan;

use super::credentials::check_policy_document;
use super::{is_resource_id, quoted, Checker, Invalid};

/// The first character of a cloud-config string that cannot travel in it
/// as written, with what it is. The user data is YAML, and YAML's streams
/// hold only its printable characters (YAML 1.2 spec, 5.1 "Character Set":
/// tab, LF, CR, U+0020-U+007E, U+0085, U+00A0-U+D7FF, U+E000-U+FFFD,
/// U+10000-U+10FFFF). The JSON pypictl writes escapes only U+0000-U+001F,
/// which covers C0 controls for the parser, but a command, path or user
/// field has no use for them (NUL cannot be in a path or an argument). DEL
/// and the C1 controls are written raw, and cloud-init's YAML parser
/// (PyYAML) refuses the whole document. U+0085, U+2028 and U+2029 are printable but
/// are line breaks to YAML 1.1, which PyYAML folds into a space or trims
/// around, so the value would silently change. Unicode noncharacters
/// (U+FDD0-U+FDEF and every U+xFFFE, U+xFFFF: Unicode Standard, 23.7
/// "Noncharacters") are not for interchange; U+FFFE and U+FFFF are outside
/// YAML's set too.
fn cloud_config_char(s: &str) -> Option<(char, &'static str)> {
    s.chars().find_map(|ch| {
        let what = match u32::from(ch) {
            0x09 | 0x0A | 0x0D => return None,
            0x00..=0x1F => "a control character",
            0x7F => "DEL, a control character",
            0x85 | 0x2028 | 0x2029 => "a line break to YAML 1.1, which cloud-init's YAML parser folds into a space",
            0x80..=0x9F => "a C1 control character",
            0xFDD0..=0xFDEF => "a Unicode noncharacter",
            c if c & 0xFFFE == 0xFFFE => "a Unicode noncharacter",
            _ => return None,
        };
        Some((ch, what))
    })
}

/// The rule a string with such a character breaks.
fn cloud_config_char_rule(ch: char, what: &str) -> String {
    format!("contains U+{:04X} ({what}); cloud-init reads the user data as YAML, whose printable characters (YAML 1.2 spec, 5.1 \"Character Set\") are the only ones pypictl passes on", u32::from(ch))
}

/// The instances: AMI, group sizes, root volume, instance profile, and the
/// users, files and commands cloud-init gets.
pub(super) fn compute(c: &mut Checker, cfg: &Config) {
    let cp = &cfg.compute;
    if let Some(ami) = &cp.ami_id {
        c.check(is_resource_id(ami, "ami"), "compute.ami_id", quoted(ami), "must be an AMI id such as \"ami-0123456789abcdef0\"");
    }
    if let Some(min) = cp.min_size {
        c.check(min >= 1, "compute.min_size", min, "must be at least 1 instance");
    }
    if let Some(max) = cp.max_size {
        c.check(max >= 1, "compute.max_size", max, "must be at least 1 instance");
        let min = cp.min_size.unwrap_or(cfg.network.asg_subnets.len() as u32);
        if max < min {
            let source = if cp.min_size.is_some() { "compute.min_size".to_string() } else { "the number of network.asg_subnets".to_string() };
            c.fail("compute.max_size", max, format!("must be at least asg_min_size ({min}, {source})"));
        }
    }
    c.check(cp.root_volume_size >= 30, "compute.root_volume_size", cp.root_volume_size, "must be at least 30 GiB (the ECS-optimized AMI's root snapshot)");
    // The root volume is gp3, in the launch template: "gp2 and gp3: 1 -
    // 16,384 GiB" (EC2 API reference, LaunchTemplateEbsBlockDeviceRequest;
    // EBS User Guide, "Amazon EBS volume types").
    c.check(cp.root_volume_size <= 16_384, "compute.root_volume_size", cp.root_volume_size, "must be at most 16384 GiB (16 TiB, the largest gp3 volume a launch template takes: EBS volume types)");
    if let Some(doc) = &cp.extra_instance_profile_permissions {
        if let Err(rule) = check_policy_document(doc) {
            c.fail("compute.extra_instance_profile_permissions", quoted(doc), rule);
        }
    }
    for (i, u) in cp.users.iter().enumerate() {
        let ok = !u.name.is_empty()
            && u.name.len() <= 32
            && u.name.starts_with(|ch: char| ch.is_ascii_lowercase() || ch == '_')
            && u.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        c.check(ok, format!("compute.users[{i}].name"), quoted(&u.name), "must be a Linux user name: 1-32 of a-z, 0-9, '_' and '-', starting with a letter or '_'");
        // cloud-init's users `sudo` "Accepts a sudo rule string, a list of
        // sudo rule strings or False" (cloud-init docs, "Users and Groups");
        // given true, Distro.write_sudo_rules raises a TypeError ("Can not
        // create sudoers rule addition with type 'bool'") and the user's
        // setup fails on every instance.
        if u.sudo == Some(Sudo::Disabled(true)) {
            c.fail(format!("compute.users[{i}].sudo"), "true", "must be false or a list of sudoers rules such as [\"ALL=(ALL) NOPASSWD:ALL\"]: cloud-init's users module takes no `true` (cloud-init docs, \"Users and Groups\")");
        }
        for (field, value) in user_strings(u) {
            if let Some((ch, what)) = cloud_config_char(value) {
                c.fail(format!("compute.users[{i}].{field}"), quoted(value), cloud_config_char_rule(ch, what));
            }
        }
    }
    for (i, f) in cp.extra_files.iter().enumerate() {
        let path_ok = f.path.starts_with('/') && !f.path.split('/').any(|p| p == "..") && !f.path.ends_with('/');
        c.check(path_ok, format!("compute.extra_files[{i}].path"), quoted(&f.path), "must be an absolute file path without '..'");
        // The content needs no such check: it is written base64-encoded
        // (`encoding: b64`), so it may hold any bytes.
        if let Some((ch, what)) = cloud_config_char(&f.path) {
            c.fail(format!("compute.extra_files[{i}].path"), quoted(&f.path), cloud_config_char_rule(ch, what));
        }
        let perm = f.permissions.strip_prefix('0').unwrap_or(&f.permissions);
        let perm_ok = perm.len() == 3 && perm.bytes().all(|b| (b'0'..=b'7').contains(&b));
        c.check(perm_ok, format!("compute.extra_files[{i}].permissions"), quoted(&f.permissions), "must be an octal mode such as \"644\" or \"0755\"");
    }
    for (i, cmd) in cp.extra_commands.iter().enumerate() {
        c.check(!cmd.trim().is_empty(), format!("compute.extra_commands[{i}]"), quoted(cmd), "must not be empty");
        if let Some((ch, what)) = cloud_config_char(cmd) {
            c.fail(format!("compute.extra_commands[{i}]"), quoted(cmd), cloud_config_char_rule(ch, what));
        }
    }
}

/// Every string field of a cloud-init user that goes into the user data,
/// with its key below `compute.users[N]`.
fn user_strings(u: &CloudInitUser) -> Vec<(String, &str)> {
    let mut out: Vec<(String, &str)> = [
        ("expiredate", &u.expiredate),
        ("gecos", &u.gecos),
        ("homedir", &u.homedir),
        ("primary_group", &u.primary_group),
        ("groups", &u.groups),
        ("selinux_user", &u.selinux_user),
        ("passwd", &u.passwd),
        ("snapuser", &u.snapuser),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_deref().map(|v| (k.to_string(), v)))
    .collect();
    let lists = [("ssh_import_id", u.ssh_import_id.as_ref()), ("ssh_authorized_keys", u.ssh_authorized_keys.as_ref())];
    let sudo = match &u.sudo {
        Some(Sudo::Rules(r)) => Some(r),
        _ => None,
    };
    for (k, items) in lists.into_iter().chain([("sudo", sudo)]) {
        out.extend(items.into_iter().flatten().enumerate().map(|(j, v)| (format!("{k}[{j}]"), v.as_str())));
    }
    out
}

/// EC2 refuses user data over 16 KB ("User data is limited to 16 KB, in raw
/// form, before it is base64-encoded": EC2 User Guide, "Work with instance
/// user data"), and the launch template's creation fails mid-deploy. Names
/// whichever of extra_files, extra_commands and users adds the most.
pub(super) fn user_data_too_large(cfg: &Config, cap: &CapacityPlan) -> Option<Invalid> {
    let size = |cfg: &Config| components::compute::user_data_max_bytes(Ctx { cfg, cap });
    let total = size(cfg);
    if total <= components::compute::USER_DATA_LIMIT_BYTES {
        return None;
    }
    let without = |clear: fn(&mut Compute)| {
        let mut less = cfg.clone();
        clear(&mut less.compute);
        total.saturating_sub(size(&less))
    };
    let cp = &cfg.compute;
    let parts = [
        ("compute.extra_files", cp.extra_files.len(), without(|c| c.extra_files.clear())),
        ("compute.extra_commands", cp.extra_commands.len(), without(|c| c.extra_commands.clear())),
        ("compute.users", cp.users.len(), without(|c| c.users.clear())),
    ];
    let (key, entries, bytes) = parts.into_iter().max_by_key(|(_, _, bytes)| *bytes)?;
    Some(Invalid {
        key: key.into(),
        value: format!("{entries} {}, {bytes} bytes of the user data", if entries == 1 { "entry" } else { "entries" }),
        rule: format!(
            "makes the instances' user data {total} bytes (raw, counting a 128-character stack name); EC2 takes at most {} (16 KB, before base64: EC2 User Guide, \"Work with instance user data\"); fetch large files at boot (S3) or bake them into the AMI",
            components::compute::USER_DATA_LIMIT_BYTES
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::{problem, problems};

    /// gp3: 1-16,384 GiB in a launch template (EC2 API reference,
    /// LaunchTemplateEbsBlockDeviceRequest; EBS volume types).
    #[test]
    fn root_volume_at_most_16_tib() {
        assert_eq!(problems(|c| c.compute.root_volume_size = 16_384), vec![]);
        let e = problem(|c| c.compute.root_volume_size = 16_385);
        assert_eq!(e.key, "compute.root_volume_size");
        assert!(problem(|c| c.compute.root_volume_size = u32::MAX).rule.contains("16384"));
    }

    /// EC2 user data is at most 16 KB raw (EC2 User Guide, "Work with
    /// instance user data").
    #[test]
    fn user_data_over_16_kb_names_the_largest_contributor() {
        let file = |n: usize| crate::config::ExtraFile { path: "/etc/big".into(), content: "x".repeat(n), permissions: "644".into() };
        assert_eq!(problems(|c| c.compute.extra_files = vec![file(10_000)]), vec![]);
        let e = problem(|c| {
            c.compute.extra_files = vec![file(9_000), file(4_000)];
            c.compute.extra_commands = vec!["echo hi".into()];
        });
        assert_eq!(e.key, "compute.extra_files");
        assert!(e.value.starts_with("2 entries,"), "{e}");
        assert!(e.rule.contains("at most 16384") && e.rule.contains("Work with instance user data"), "{e}");
        let e = problem(|c| {
            c.compute.extra_files = vec![file(1_000)];
            c.compute.extra_commands = vec!["echo hello".repeat(2_000)];
        });
        assert_eq!(e.key, "compute.extra_commands");
        let e = problem(|c| {
            c.compute.users = (0..60).map(|i| CloudInitUser { name: format!("u{i}"), ssh_authorized_keys: Some(vec![format!("ssh-ed25519 {}", "A".repeat(300))]), ..Default::default() }).collect();
        });
        assert_eq!(e.key, "compute.users");
    }

    /// YAML 1.2 spec, 5.1 "Character Set": the printable characters.
    #[test]
    fn cloud_config_strings_hold_only_yaml_printable_characters() {
        for ok in ["echo 'héllo' | tee /tmp/x\tdone\r\n", "日本語 🚀", "\u{A0}\u{D7FF}\u{E000}\u{FFFD}\u{10000}"] {
            assert_eq!(cloud_config_char(ok), None, "{ok:?}");
        }
        for (bad, cp) in [("a\u{0}", 0x0), ("\u{1b}[0m", 0x1b), ("\u{7f}", 0x7f), ("x\u{80}", 0x80), ("\u{85}", 0x85), ("\u{9f}", 0x9f), ("\u{2028}", 0x2028), ("\u{FDD0}", 0xFDD0), ("\u{FDEF}", 0xFDEF), ("\u{FFFE}", 0xFFFE), ("\u{FFFF}", 0xFFFF), ("\u{1FFFE}", 0x1FFFE), ("\u{10FFFF}", 0x10FFFF)] {
            assert_eq!(cloud_config_char(bad).map(|(ch, _)| u32::from(ch)), Some(cp), "{bad:?}");
        }
        let e = problem(|c| c.compute.extra_commands = vec!["echo \u{85}".into()]);
        assert_eq!(e.key, "compute.extra_commands[0]");
        assert!(e.rule.contains("U+0085") && e.rule.contains("5.1"), "{e}");
        let e = problem(|c| c.compute.extra_files = vec![crate::config::ExtraFile { path: "/etc/a\u{7f}".into(), content: "\u{0}\u{85}\u{FFFF} any bytes".into(), permissions: "644".into() }]);
        assert_eq!(e.key, "compute.extra_files[0].path");
        assert!(e.rule.contains("U+007F"), "{e}");
        let e = problem(|c| c.compute.users = vec![CloudInitUser { name: "ops".into(), ssh_authorized_keys: Some(vec!["ssh-ed25519 AAAA".into(), "ssh-ed25519 B\u{9b}".into()]), ..Default::default() }]);
        assert_eq!(e.key, "compute.users[0].ssh_authorized_keys[1]");
        let e = problem(|c| c.compute.users = vec![CloudInitUser { name: "ops".into(), gecos: Some("Ops\u{1}".into()), ..Default::default() }]);
        assert_eq!(e.key, "compute.users[0].gecos");
        let e = problem(|c| c.compute.users = vec![CloudInitUser { name: "ops".into(), sudo: Some(Sudo::Rules(vec!["ALL=(ALL) ALL\u{FDD0}".into()])), ..Default::default() }]);
        assert_eq!(e.key, "compute.users[0].sudo[0]");
    }

    /// cloud-init "Users and Groups": sudo is a rule string, a list of them, or false.
    #[test]
    fn sudo_true_is_refused() {
        let user = |sudo| CloudInitUser { name: "ops".into(), sudo: Some(sudo), ..Default::default() };
        assert_eq!(problems(|c| c.compute.users = vec![user(Sudo::Disabled(false))]), vec![]);
        assert_eq!(problems(|c| c.compute.users = vec![user(Sudo::Rules(vec!["ALL=(ALL) NOPASSWD:ALL".into()]))]), vec![]);
        let e = problem(|c| c.compute.users = vec![user(Sudo::Rules(vec![])), user(Sudo::Disabled(true))]);
        assert_eq!((e.key.as_str(), e.value.as_str()), ("compute.users[1].sudo", "true"));
        assert!(e.rule.contains("Users and Groups"), "{e}");
    }
}
