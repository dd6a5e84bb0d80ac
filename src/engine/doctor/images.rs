//! Check 8 (`images`): the container images of the configuration's task
//! definition exist in their registries.

use pypictl_stacks::config::Config;

use super::names::IMAGES;
use super::Check;
use crate::engine::cloud::Registry;
use crate::engine::images;

/// The images of the configuration's task definition, in their registries:
/// one missing fails (a deploy would fail every task with
/// CannotPullContainerError), one that cannot be checked warns.
pub(super) async fn image_check<R: Registry>(registry: &R, cfg: &Config) -> Check {
    let wanted = match images::of_config(cfg) {
        Ok(w) => w,
        Err(e) => return Check::skip(IMAGES, format!("the configuration does not synthesize: {e}")),
    };
    if wanted.is_empty() {
        return Check::skip(IMAGES, "the task definition names no image");
    }
    let found = images::check(registry, &wanted).await;
    if !found.problems.is_empty() {
        let detail = found.problems.iter().map(|p| p.what.clone()).chain(found.warnings.iter().cloned()).collect::<Vec<_>>().join("; ");
        let mut fixes: Vec<String> = Vec::new();
        for p in &found.problems {
            if !fixes.contains(&p.fix) {
                fixes.push(p.fix.clone());
            }
        }
        return Check::fail(IMAGES, detail, format!("{}; then run `pypictl deploy`", fixes.join("; ")));
    }
    if !found.warnings.is_empty() {
        return Check::warn(
            IMAGES,
            found.warnings.join("; "),
            "check that this machine reaches the registries (proxy, firewall; PYPICTL_REGISTRY_URL points the check at another registry) and run `pypictl doctor` again; until then make sure `service.image_tag` in pypictl.toml names a tag that exists",
        );
    }
    Check::pass(IMAGES, format!("{} exist{}: {}", if found.found.len() == 1 { "the image".to_string() } else { format!("all {} images", found.found.len()) }, if found.found.len() == 1 { "s" } else { "" }, found.found.join(", ")))
}
