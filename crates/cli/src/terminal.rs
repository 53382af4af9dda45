//! What the terminal on stdout can show: its width (for tables) and whether to colour.

use std::io::IsTerminal;

/// The width tables are fitted to when the terminal reports none (a pty of size 0).
pub const FALLBACK_WIDTH: usize = 80;

/// How stdout is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminal {
    /// The width to fit tables to; `None` when stdout is not a terminal (a file or a pipe:
    /// every column, no limit).
    pub width: Option<usize>,
    /// Whether to colour (a terminal, and `NO_COLOR` unset or empty).
    pub colour: bool,
}

impl Terminal {
    /// The terminal stdout is, read from the environment.
    pub fn detect() -> Self {
        if !std::io::stdout().is_terminal() {
            return Self {
                width: None,
                colour: false,
            };
        }
        // comfy-table asks the terminal; a pty that reports 0 columns gets the fallback.
        let width = comfy_table::Table::new()
            .width()
            .map_or(FALLBACK_WIDTH, usize::from);
        Self {
            width: Some(if width == 0 { FALLBACK_WIDTH } else { width }),
            colour: colour_allowed(),
        }
    }

    /// For text on stderr: fitted to the fallback width when stderr is a terminal, no colour.
    pub fn plain_stderr() -> Self {
        Self {
            width: std::io::stderr().is_terminal().then_some(FALLBACK_WIDTH),
            colour: false,
        }
    }

    /// No terminal: every column, no colour (what files, pipes and tests get).
    #[cfg(test)]
    pub fn plain() -> Self {
        Self {
            width: None,
            colour: false,
        }
    }
}

/// Whether colour is allowed on a terminal: `NO_COLOR` (https://no-color.org) unset or empty.
pub fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
