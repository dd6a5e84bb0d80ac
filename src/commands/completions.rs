//! `pypictl completions bash|zsh|fish` and `pypictl man`: both generated from
//! the clap definition `--help` prints, so they cannot drift from it.

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs, Shell};

/// The completion script for the shell, on stdout.
pub fn run(args: &CompletionsArgs) -> Result<()> {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "pypictl", &mut script);
    write_stdout(&script)
}

/// The man page, roff, on stdout: `pypictl man > pypictl.1`.
pub fn man(_: &ManArgs) -> Result<()> {
    let page = man_page().context("rendering the man page")?;
    write_stdout(page.as_bytes())
}

/// One page for the whole tool: clap_mangen's page of `pypictl` (global
/// options, the list of commands), then a COMMANDS section with each command's
/// description, synopsis and options. `.TH` comes first.
pub fn man_page() -> std::io::Result<String> {
    let command = Cli::command();
    let main = render(|w| clap_mangen::Man::new(command.clone()).render(w))?;
    let (preamble, body): (Vec<&str>, Vec<&str>) = main.lines().partition(|l| is_preamble(l));
    let title = body.iter().find(|l| l.starts_with(".TH ")).copied().unwrap_or(".TH pypictl 1");
    let mut page = String::new();
    for line in std::iter::once(title).chain(preamble) {
        page.push_str(line);
        page.push('\n');
    }
    for line in body.iter().filter(|l| !l.starts_with(".TH ")) {
        // clap_mangen names each command as a page of its own
        // (`pypictl\-deploy(1)`); here they are sections of this page.
        match line.strip_prefix("pypictl\\-").and_then(|l| l.strip_suffix("(1)")) {
            Some(name) => page.push_str(&format!("\\fBpypictl {name}\\fR")),
            None => page.push_str(line),
        }
        page.push('\n');
    }

    page.push_str(".SH COMMANDS\n");
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("pypictl {}", sub.get_name());
        let man = clap_mangen::Man::new(sub.clone().bin_name(&name).display_name(&name));
        page.push_str(&format!(".SS \"{}\"\n", name.replace('-', "\\-")));
        let mut sections = vec![render(|w| man.render_description_section(w))?, render(|w| man.render_synopsis_section(w))?];
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            sections.push(render(|w| man.render_options_section(w))?);
        }
        if sub.get_after_long_help().is_some() || sub.get_after_help().is_some() {
            sections.push(render(|w| man.render_extra_section(w))?);
        }
        for (i, section) in sections.iter().enumerate() {
            if i > 0 {
                page.push_str(".PP\n");
            }
            // Each section's own `.SH` heading gives way to the command's `.SS`.
            for line in section.lines().filter(|l| !is_preamble(l) && !l.starts_with(".SH ")) {
                page.push_str(line);
                page.push('\n');
            }
        }
    }
    Ok(page)
}

/// The lines roff puts before every rendering (the `\*(Aq` apostrophe string).
fn is_preamble(line: &str) -> bool {
    line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq")
}

fn render(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<String> {
    let mut out = Vec::new();
    f(&mut out)?;
    String::from_utf8(out).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        // `pypictl man | head` closes the pipe early: not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}
