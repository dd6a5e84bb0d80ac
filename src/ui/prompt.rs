//! Questions on a terminal; without one, nothing is asked and nothing that
//! needs an answer is done.

use std::io::IsTerminal;

use dialoguer::{theme::ColorfulTheme, Confirm, Input};

use crate::engine::changeset::Change;
use crate::engine::deploy::Interaction;

/// The terminal the command runs on, if any.
pub struct Terminal {
    interactive: bool,
    color: bool,
}

impl Terminal {
    pub fn detect() -> Terminal {
        let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        Terminal { interactive, color: std::io::stdout().is_terminal() && console::colors_enabled() }
    }

    /// Asks the user to type `expected` (e.g. the stack name) to go on.
    pub fn type_to_confirm(&mut self, prompt: &str, expected: &str) -> bool {
        if !self.interactive {
            return false;
        }
        Input::<String>::with_theme(&ColorfulTheme::default())
            .with_prompt(prompt)
            .allow_empty(true)
            .interact_text()
            .map(|typed| typed.trim() == expected)
            .unwrap_or(false)
    }
}

impl Interaction for Terminal {
    fn interactive(&self) -> bool {
        self.interactive
    }

    fn confirm(&mut self, question: &str) -> bool {
        // Ctrl-C or a closed terminal at the prompt is a "no".
        Confirm::with_theme(&ColorfulTheme::default()).with_prompt(question).default(false).interact().unwrap_or(false)
    }

    fn show_changes(&mut self, stack: &str, changes: &[Change]) {
        print!("{}", super::preview::render(stack, changes, self.color));
    }
}
