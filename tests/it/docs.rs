//! The documentation against the code: docs/commands.md names every flag
//! `--help` lists and no flag that does not exist; `pypictl completions` and
//! `pypictl man` cover every command; every relative link and anchor in the
//! README and docs/ resolves; docs/architecture.md's Layout names the modules
//! on disk and no module that is gone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::common;

fn read(path: &str) -> String {
    std::fs::read_to_string(common::repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The headings of a Markdown text outside code fences, with their level
/// and the line each starts at.
fn headings(markdown: &str) -> Vec<(usize, String, usize)> {
    let mut fenced = false;
    let mut found = Vec::new();
    for (n, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let level = line.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&level) && line[level..].starts_with(' ') {
            found.push((level, line[level + 1..].trim().to_string(), n));
        }
    }
    found
}

/// The text under a heading: to the next heading of the same level or higher.
fn section(markdown: &str, level: usize, title: &str) -> Option<String> {
    let lines: Vec<&str> = markdown.lines().collect();
    let all = headings(markdown);
    let at = all.iter().position(|(l, t, _)| *l == level && t == title)?;
    let start = all[at].2 + 1;
    let end = all[at + 1..].iter().find(|(l, _, _)| *l <= level).map_or(lines.len(), |h| h.2);
    Some(lines[start..end].join("\n"))
}

/// GitHub's anchor for a heading: lower case, punctuation other than `-`
/// and `_` dropped, spaces to `-`.
fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown text, with GitHub's `-1`, `-2` for repeats.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for (_, title, _) in headings(markdown) {
        let base = slug(&title);
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

fn is_flag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// `--flag` written in the text as itself, not as the start of a longer flag.
fn mentions(text: &str, flag: &str) -> bool {
    text.match_indices(flag).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + flag.len()..].chars().next();
        !before.is_some_and(is_flag_char) && !after.is_some_and(is_flag_char)
    })
}

/// The long (`--name`) and short (`-x`) flags written in a usage block.
fn usage_flags(usage: &str) -> (BTreeSet<String>, BTreeSet<char>) {
    let (mut long, mut short) = (BTreeSet::new(), BTreeSet::new());
    let chars: Vec<char> = usage.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i] == '-' && (i == 0 || !is_flag_char(chars[i - 1]));
        if starts && chars.get(i + 1) == Some(&'-') {
            let name: String = chars[i + 2..].iter().take_while(|&&c| is_flag_char(c)).collect();
            i += 2 + name.len();
            long.insert(name);
            continue;
        }
        if starts && chars.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic()) && !chars.get(i + 2).copied().is_some_and(is_flag_char) {
            short.insert(chars[i + 1]);
        }
        i += 1;
    }
    (long, short)
}

/// The first fenced block of a section: its usage.
fn first_block(text: &str) -> Option<String> {
    let start = text.find("```")?;
    let body = &text[start..];
    let body = &body[body.find('\n')? + 1..];
    Some(body[..body.find("```")?].to_string())
}

/// Every disagreement between a command reference and the CLI's definition.
fn command_doc_problems(doc: &str) -> Vec<String> {
    let cli = pypictl::cli::Cli::command();
    let mut problems = Vec::new();
    let global_long: BTreeSet<String> = cli.get_arguments().filter_map(|a| a.get_long()).map(str::to_string).chain(["help".into(), "version".into()]).collect();
    let global_short: BTreeSet<char> = cli.get_arguments().filter_map(|a| a.get_short()).chain(['h', 'V']).collect();

    match section(doc, 2, "Global flags and exit codes") {
        None => problems.push("no section \"Global flags and exit codes\"".into()),
        Some(text) => {
            for arg in cli.get_arguments().filter(|a| !a.is_hide_set()) {
                if let Some(long) = arg.get_long() {
                    if !mentions(&text, &format!("--{long}")) {
                        problems.push(format!("the global flag --{long} is not in \"Global flags and exit codes\""));
                    }
                }
            }
        }
    }

    let names: BTreeSet<String> = cli.get_subcommands().map(|s| s.get_name().to_string()).collect();
    for (level, title, _) in headings(doc) {
        if let Some(name) = title.strip_prefix("`pypictl ").and_then(|t| t.strip_suffix('`')) {
            if level == 2 && !names.contains(name) {
                problems.push(format!("section {title}: pypictl has no command {name:?}"));
            }
        }
    }

    for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        let title = format!("`pypictl {name}`");
        let Some(text) = section(doc, 2, &title) else {
            problems.push(format!("no section {title}"));
            continue;
        };
        let own: Vec<&clap::Arg> = sub.get_arguments().filter(|a| !a.is_global_set()).collect();
        let own_long: BTreeSet<String> = own.iter().filter_map(|a| a.get_long()).map(str::to_string).collect();
        let own_short: BTreeSet<char> = own.iter().filter_map(|a| a.get_short()).collect();
        for long in own.iter().filter(|a| !a.is_hide_set()).filter_map(|a| a.get_long()) {
            if long != "help" && long != "version" && !mentions(&text, &format!("--{long}")) {
                problems.push(format!("{title} does not name --{long}, which `pypictl {name} --help` lists"));
            }
        }
        let Some(usage) = first_block(&text).filter(|u| u.starts_with(&format!("pypictl {name}"))) else {
            problems.push(format!("{title} does not open with a usage block starting `pypictl {name}`"));
            continue;
        };
        let (long, short) = usage_flags(&usage);
        for flag in long.difference(&own_long).filter(|f| !global_long.contains(*f)) {
            problems.push(format!("{title}'s usage has --{flag}, which `pypictl {name}` does not accept"));
        }
        for flag in short.iter().filter(|f| !own_short.contains(f) && !global_short.contains(f)) {
            problems.push(format!("{title}'s usage has -{flag}, which `pypictl {name}` does not accept"));
        }
    }
    problems
}

#[test]
fn the_command_reference_names_every_flag_and_only_real_ones() {
    let problems = command_doc_problems(&read("docs/commands.md"));
    assert!(problems.is_empty(), "docs/commands.md disagrees with `pypictl --help`:\n  {}", problems.join("\n  "));
}

/// The check above can fail: a flag dropped from the page, or a usage block
/// with a flag the command lacks, is reported.
#[test]
fn the_command_reference_check_catches_a_missing_or_invented_flag() {
    let doc = read("docs/commands.md");
    let dropped = doc.replace("--rollback-skip-failed", "--rollback-skip");
    let problems = command_doc_problems(&dropped);
    assert!(problems.iter().any(|p| p.contains("`pypictl deploy` does not name --rollback-skip-failed")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("usage has --rollback-skip,")), "{problems:?}");

    let invented = doc.replacen("pypictl upgrade [-c|--config pypictl.toml]", "pypictl upgrade [-c|--config pypictl.toml] [--allow-replace-stateful] [-x]", 1);
    assert_ne!(invented, doc, "the upgrade usage block moved: update this test");
    let problems = command_doc_problems(&invented);
    assert!(problems.iter().any(|p| p.contains("usage has --allow-replace-stateful, which `pypictl upgrade` does not accept")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("usage has -x,")), "{problems:?}");

    let no_section = doc.replace("## `pypictl man`", "## pypictl's man page");
    assert!(command_doc_problems(&no_section).iter().any(|p| p == "no section `pypictl man`"));
}

#[test]
fn completions_are_printed_for_bash_zsh_and_fish() {
    let names: Vec<String> = pypictl::cli::Cli::command().get_subcommands().map(|s| s.get_name().to_string()).collect();
    for shell in ["bash", "zsh", "fish"] {
        let out = common::pypictl().args(["completions", shell]).assert().success().get_output().stdout.clone();
        let script = String::from_utf8(out).unwrap();
        assert!(script.contains("pypictl"), "{shell}: {script}");
        for name in &names {
            assert!(script.contains(name.as_str()), "{shell}'s script lacks the command {name}");
        }
        assert!(script.contains("rollback-skip-failed"), "{shell}'s script lacks deploy's flags");
    }
    let bash = common::pypictl().args(["completions", "bash"]).assert().success().get_output().stdout.clone();
    let bash = String::from_utf8(bash).unwrap();
    assert!(bash.contains("deploy") && bash.contains("complete -F _pypictl"), "{bash}");
    common::pypictl().args(["completions", "powershell"]).assert().code(2);
}

#[test]
fn the_man_page_is_roff_and_lists_every_command() {
    let out = common::pypictl().arg("man").assert().success().get_output().stdout.clone();
    let page = String::from_utf8(out).unwrap();
    assert!(page.starts_with(".TH pypictl 1"), "{}", &page[..page.len().min(200)]);
    assert!(page.contains("\n.SH NAME\n") && page.contains("\n.SH SYNOPSIS\n") && page.contains("\n.SH COMMANDS\n"));
    for sub in pypictl::cli::Cli::command().get_subcommands() {
        // roff writes a hyphen as `\-`.
        let name = format!("pypictl {}", sub.get_name().replace('-', "\\-"));
        assert!(page.contains(&format!(".SS \"{name}\"")), "the man page has no section for {name}");
        for long in sub.get_arguments().filter(|a| !a.is_hide_set()).filter_map(|a| a.get_long()) {
            let flag = format!("\\fB\\-\\-{}\\fR", long.replace('-', "\\-"));
            assert!(page.contains(&flag), "the man page lacks {name} --{long}");
        }
    }
    assert!(!page.contains("(1)\n"), "commands are sections of this page, not pages of their own");
}

fn markdown_files() -> Vec<PathBuf> {
    let root = common::repo_root();
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "md")).collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The targets of `[text](target)` outside code fences and inline code.
fn links(markdown: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            found.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    found
}

#[test]
fn every_link_and_anchor_in_the_docs_resolves() {
    let root = common::repo_root();
    let mut problems = Vec::new();
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.strip_prefix(&root).unwrap().display().to_string();
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = link.split_once('#').map_or((link.as_str(), None), |(p, a)| (p, Some(a)));
            let target: PathBuf = if path.is_empty() { file.clone() } else { file.parent().unwrap().join(path) };
            if !target.exists() {
                problems.push(format!("{name}: ({link}): {} does not exist", target.display()));
                continue;
            }
            if let Some(anchor) = anchor {
                let target_text = std::fs::read_to_string(&target).unwrap_or_default();
                if !anchors(&target_text).contains(anchor) {
                    problems.push(format!("{name}: ({link}): no heading with the anchor #{anchor}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "broken links:\n  {}", problems.join("\n  "));
}

#[test]
fn the_readme_maps_every_page_of_the_docs() {
    let readme = read("README.md");
    let map = section(&readme, 2, "Documentation").expect("the README has a Documentation section");
    for file in markdown_files().iter().skip(1) {
        let name = format!("docs/{}", file.file_name().unwrap().to_str().unwrap());
        assert!(map.contains(&format!("]({name})")), "the README's Documentation map does not link {name}");
    }
}

/// The "What lives where" tree of docs/architecture.md, read as a file
/// tree: for each directory, the text that describes its contents (entries
/// indented under it, continuation lines of those entries), and every
/// `*.rs` the tree names, resolved against the directory it is named in.
struct Tree {
    named: BTreeMap<PathBuf, String>,
    files: Vec<(PathBuf, String)>,
}

fn layout_tree(architecture: &str) -> Tree {
    let block = section(architecture, 3, "What lives where").and_then(|s| first_block(&s)).expect("docs/architecture.md has a \"What lives where\" tree");
    let mut tree = Tree { named: BTreeMap::new(), files: Vec::new() };
    // (indentation, directory) of the entries that are directories, outermost first.
    let mut dirs: Vec<(usize, PathBuf)> = Vec::new();
    let mut context = PathBuf::new();
    for line in block.lines() {
        let indent = line.len() - line.trim_start().len();
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        // The names column ends before column 20; further right, a line
        // continues the description above it.
        if indent < 20 {
            while dirs.last().is_some_and(|(i, _)| *i >= indent) {
                dirs.pop();
            }
            let parent = dirs.last().map_or_else(PathBuf::new, |(_, d)| d.clone());
            let (first, rest) = text.split_once(' ').unwrap_or((text, ""));
            tree.named.entry(parent.clone()).or_default().push_str(&format!(" {first}"));
            context = match first.strip_suffix('/') {
                Some(dir) => {
                    let dir = parent.join(dir);
                    dirs.push((indent, dir.clone()));
                    dir
                }
                None => parent,
            };
            tree.named.entry(context.clone()).or_default().push_str(&format!(" {rest}"));
        } else {
            tree.named.entry(context.clone()).or_default().push_str(&format!(" {text}"));
        }
        for token in text.split(|c: char| !(c.is_alphanumeric() || "_./-".contains(c))) {
            if token.ends_with(".rs") {
                tree.files.push((context.join(token), line.to_string()));
            }
        }
    }
    tree
}

fn names_word(text: &str, w: &str) -> bool {
    text.match_indices(w).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + w.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// The placement rule's directories: every module in them is named in
/// docs/architecture.md's Layout under its own directory, and every `*.rs`
/// the Layout names exists where it says.
#[test]
fn the_architecture_layout_lists_the_modules_on_disk() {
    let root = common::repo_root();
    let tree = layout_tree(&read("docs/architecture.md"));
    let mut missing = Vec::new();
    for dir in ["stacks/src", "stacks/src/components", "src", "src/commands", "src/engine", "src/aws", "src/ui", "src/bench"] {
        let named = tree.named.get(Path::new(dir)).map_or("", String::as_str);
        for entry in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            let path = entry.path();
            let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
            let module = path.is_dir() || path.extension().is_some_and(|e| e == "rs");
            if module && stem != "mod" && !names_word(named, &stem) {
                missing.push(format!("{dir}/{}", path.file_name().unwrap().to_str().unwrap()));
            }
        }
    }
    assert!(missing.is_empty(), "docs/architecture.md's \"What lives where\" does not name, under their directory: {missing:?}");

    let gone: Vec<String> = tree.files.iter().filter(|(path, _)| !root.join(path).is_file()).map(|(path, line)| format!("{} ({line:?})", path.display())).collect();
    assert!(gone.is_empty(), "docs/architecture.md's \"What lives where\" names files that do not exist: {gone:?}");
    assert!(tree.files.len() > 40, "the tree names {} files: is it still read as a tree?", tree.files.len());
}
