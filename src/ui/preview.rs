//! The change-set preview: what will be added, modified, replaced or removed,
//! nested stacks expanded, security-relevant and data-losing changes marked.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, Color, Table};

use crate::engine::changeset::{self, Change};

fn action(c: &Change) -> &'static str {
    match (c.change.action.as_str(), c.change.replacement.as_deref()) {
        ("Add", _) => "add",
        ("Remove", _) => "remove",
        ("Modify", Some("True")) => "replace",
        ("Modify", Some("Conditional")) => "may replace",
        ("Modify", _) => "modify",
        ("Import", _) => "import",
        _ => "dynamic",
    }
}

/// The preview as text; `color` adds terminal colours.
pub fn render(stack: &str, changes: &[Change], color: bool) -> String {
    let s = changeset::summarize(changes);
    let mut out = format!(
        "Changes to {stack}: {} to add, {} to modify, {} to replace, {} to remove",
        s.add, s.modify, s.replace, s.remove
    );
    if s.security > 0 {
        out.push_str(&format!("; {} security-relevant (IAM, security groups, policies, keys)", s.security));
    }
    out.push('\n');
    if changes.is_empty() {
        return out;
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    if !color {
        t.force_no_tty();
    }
    t.set_header(vec!["", "stack", "resource", "type", "note"]);
    for c in changes {
        let mut notes = Vec::new();
        if changeset::loses_data(&c.change) {
            notes.push("DATA: stateful resource replaced or removed");
        }
        if changeset::is_security_relevant(&c.change.resource_type) {
            notes.push("security");
        }
        let act = action(c);
        let mut act_cell = Cell::new(act);
        let mut note_cell = Cell::new(notes.join(", "));
        if color {
            act_cell = act_cell.fg(match act {
                "add" => Color::Green,
                "modify" => Color::Yellow,
                _ => Color::Red,
            });
            if changeset::loses_data(&c.change) {
                note_cell = note_cell.fg(Color::Red);
            } else if !notes.is_empty() {
                note_cell = note_cell.fg(Color::Magenta);
            }
        }
        t.add_row(vec![act_cell, Cell::new(&c.stack), Cell::new(&c.change.logical_id), Cell::new(&c.change.resource_type), note_cell]);
    }
    out.push_str(&t.to_string());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::ResourceChange;

    fn change(stack: &str, action: &str, id: &str, ty: &str, replacement: Option<&str>) -> Change {
        Change {
            stack: stack.into(),
            change: ResourceChange {
                action: action.into(),
                logical_id: id.into(),
                physical_id: None,
                resource_type: ty.into(),
                replacement: replacement.map(str::to_string),
                scope: vec![],
                nested_change_set: None,
                details: vec![],
            },
        }
    }

    #[test]
    fn marks_security_and_data_loss() {
        let text = render(
            "pypi",
            &[
                change("Compute", "Modify", "LaunchTemplate", "AWS::EC2::LaunchTemplate", Some("False")),
                change("Storage", "Modify", "FileSystem", "AWS::EFS::FileSystem", Some("True")),
                change("Service", "Add", "TaskRole", "AWS::IAM::Role", None),
            ],
            false,
        );
        assert!(text.starts_with("Changes to pypi: 1 to add, 1 to modify, 1 to replace, 0 to remove; 1 security-relevant"), "{text}");
        let fs = text.lines().find(|l| l.contains("FileSystem")).unwrap();
        assert!(fs.contains("replace") && fs.contains("DATA"), "{fs}");
        let role = text.lines().find(|l| l.contains("TaskRole")).unwrap();
        assert!(role.contains("add") && role.contains("security"), "{role}");
        assert!(!text.contains('\u{1b}'), "no colour codes without colour");
    }
}
