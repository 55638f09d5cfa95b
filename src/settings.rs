//! Decisions about the terminal, made once from inputs a test can set, and the modes the flags
//! resolve to (`--color`, `--dry-run`).

use std::io::IsTerminal;

/// `--color`: whether to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// `--dry-run`: what a dry run may send (a real run has none). In documents as kubectl writes
/// the flag's values: `client`, `server`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DryRun {
    /// Validate only; send nothing that changes the cluster.
    Client,
    /// Also send the DELETE with dryRun=All (proves admission and RBAC).
    Server,
}

impl std::fmt::Display for DryRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DryRun::Client => "client",
            DryRun::Server => "server",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminal {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// $CI is set (and not "false"): never draw spinners.
    pub ci: bool,
    /// $NO_COLOR is set and not empty.
    pub no_color: bool,
}

impl Terminal {
    pub fn detect() -> Self {
        let env_on = |name: &str| {
            std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
        };
        Terminal {
            stdin: std::io::stdin().is_terminal(),
            stdout: std::io::stdout().is_terminal(),
            stderr: std::io::stderr().is_terminal(),
            ci: env_on("CI"),
            no_color: env_on("NO_COLOR"),
        }
    }

    /// Prompts and the picker need a person at the keyboard.
    pub fn interactive(&self) -> bool {
        self.stdin && self.stderr
    }

    /// Spinners only on a terminal, outside CI, unless --no-progress.
    pub fn spinners(&self, no_progress: bool) -> bool {
        self.stderr && !self.ci && !no_progress
    }

    /// Colour on the given stream.
    pub fn color(&self, choice: ColorChoice, stream_is_terminal: bool) -> bool {
        match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stream_is_terminal && !self.no_color,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTY: Terminal = Terminal {
        stdin: true,
        stdout: true,
        stderr: true,
        ci: false,
        no_color: false,
    };

    #[test]
    fn spinners_need_a_terminal_outside_ci() {
        assert!(TTY.spinners(false));
        assert!(!TTY.spinners(true));
        assert!(!Terminal { ci: true, ..TTY }.spinners(false));
        assert!(!Terminal {
            stderr: false,
            ..TTY
        }
        .spinners(false));
    }

    #[test]
    fn color_honours_no_color_and_the_flag() {
        assert!(TTY.color(ColorChoice::Auto, true));
        assert!(!TTY.color(ColorChoice::Auto, false));
        assert!(!Terminal {
            no_color: true,
            ..TTY
        }
        .color(ColorChoice::Auto, true));
        assert!(Terminal {
            no_color: true,
            ..TTY
        }
        .color(ColorChoice::Always, false));
        assert!(!TTY.color(ColorChoice::Never, true));
    }

    #[test]
    fn prompts_need_stdin_and_stderr() {
        assert!(TTY.interactive());
        assert!(!Terminal {
            stdin: false,
            ..TTY
        }
        .interactive());
    }
}
