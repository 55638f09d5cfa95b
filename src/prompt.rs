//! The interactive picker and the confirmation prompt, on stderr. Only called on a terminal.

use dialoguer::{theme::ColorfulTheme, Confirm};

use crate::{
    error::{Error, Result},
    targets::Target,
};

fn prompt_error(e: dialoguer::Error) -> Error {
    // Ctrl-C can reach the prompt's read first (EINTR) rather than the signal handler: it
    // declines all the same.
    let dialoguer::Error::IO(io) = &e;
    if io.kind() == std::io::ErrorKind::Interrupted {
        return interrupted(crate::signals::Signal::Interrupt, true);
    }
    Error::usage(
        format!("the prompt failed: {e}"),
        "name the VMI and pass --yes to run without prompts",
    )
}

/// The picker's rows, in aligned columns: where it runs and how it would come back.
pub fn picker_rows(targets: &[Target]) -> Vec<String> {
    let cells: Vec<[String; 4]> = targets
        .iter()
        .map(|t| {
            let owner = t.owner_words();
            [
                format!("{}/{}", t.namespace, t.name),
                format!("node {}", t.node.as_deref().unwrap_or("?")),
                format!("age {}", t.age),
                owner,
            ]
        })
        .collect();
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2), width(3)];
    cells
        .iter()
        .zip(targets)
        .map(|(c, t)| {
            format!(
                "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  → {}",
                c[0],
                c[1],
                c[2],
                c[3],
                t.refused
                    .as_ref()
                    .map_or(t.expected_recovery.describe().to_string(), |r| format!(
                        "refused: {r}"
                    )),
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            )
        })
        .collect()
}

/// Whether a prompt (a confirmation or a picker) waits for the user right now.
static AT_PROMPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// While a prompt is shown (dropping it says it is gone).
struct Prompting;

impl Prompting {
    fn start() -> Self {
        AT_PROMPT.store(true, std::sync::atomic::Ordering::SeqCst);
        Prompting
    }
}

impl Drop for Prompting {
    fn drop(&mut self) {
        AT_PROMPT.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Whether a prompt is shown now: ask it where the signal is received, before `select!` drops
/// the prompt's future.
pub fn at_prompt() -> bool {
    AT_PROMPT.load(std::sync::atomic::Ordering::SeqCst)
}

/// Ctrl-C arrived: at a prompt it declines (exit 2, nothing changed, as the README says), on a
/// line of its own and with the cursor shown again; elsewhere it interrupts.
pub fn interrupted(signal: crate::signals::Signal, at_prompt: bool) -> Error {
    if at_prompt {
        let term = console::Term::stderr();
        let _ = term.show_cursor();
        let _ = term.write_line("");
        Error::Declined
    } else {
        Error::Interrupted { signal }
    }
}

/// Yes/no, default no.
pub async fn confirm(question: String) -> Result<bool> {
    let _prompting = Prompting::start();
    tokio::task::spawn_blocking(move || {
        Confirm::with_theme(&ColorfulTheme::default())
            .with_prompt(question)
            .default(false)
            .interact_opt()
    })
    .await
    .map_err(|e| Error::usage(format!("the prompt failed: {e}"), "pass --yes to skip it"))?
    .map(|a| a.unwrap_or(false))
    .map_err(prompt_error)
}

/// What a key does to the picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickerKey {
    Char(char),
    Backspace,
    Up,
    Down,
    /// Space or Tab: mark or unmark the highlighted row.
    Toggle,
    Enter,
    Escape,
}

/// The multi-select picker's state, separate from the terminal so it can be tested: a filter
/// typed by the user (letters in order, like a fuzzy finder), a highlighted row, marked rows.
/// Refused rows are shown with their reason but cannot be marked or picked.
#[derive(Debug, Clone)]
pub struct Picker {
    lines: Vec<String>,
    /// What the filter matches: each row's NAMESPACE/NAME (not its node, owner or plan).
    names: Vec<String>,
    selectable: Vec<bool>,
    reasons: Vec<Option<String>>,
    filter: String,
    cursor: usize,
    marked: Vec<bool>,
    message: Option<String>,
}

/// What the picker ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picked {
    /// Indexes into the rows, in listing order.
    Rows(Vec<usize>),
    Cancelled,
}

impl Picker {
    pub fn new(rows: &[Target]) -> Self {
        Picker {
            lines: picker_rows(rows),
            names: rows
                .iter()
                .map(|r| format!("{}/{}", r.namespace, r.name).to_lowercase())
                .collect(),
            selectable: rows.iter().map(|r| r.is_candidate()).collect(),
            reasons: rows
                .iter()
                .map(|r| r.plan.refusal().map(|x| x.reason()))
                .collect(),
            filter: String::new(),
            cursor: 0,
            marked: vec![false; rows.len()],
            message: None,
        }
    }

    /// Row indexes matching the filter: its letters appear in the row's NAMESPACE/NAME in
    /// order, ignoring case (a fuzzy finder's rule, on names only: typing `web` never picks
    /// `vm-always` for the letters of its owner or plan).
    pub fn visible(&self) -> Vec<usize> {
        let needle: Vec<char> = self.filter.to_lowercase().chars().collect();
        (0..self.lines.len())
            .filter(|&i| {
                let mut want = needle.iter().peekable();
                for c in self.names[i].chars() {
                    if want.peek() == Some(&&c) {
                        want.next();
                    }
                }
                want.peek().is_none()
            })
            .collect()
    }

    fn current(&self) -> Option<usize> {
        self.visible().get(self.cursor).copied()
    }

    fn refuse(&mut self, row: usize) {
        self.message = Some(format!(
            "{} can't be a target: {}",
            self.lines[row]
                .split_whitespace()
                .next()
                .unwrap_or_default(),
            self.reasons[row].as_deref().unwrap_or("refused")
        ));
    }

    /// Applies a key; `Some` when the picker is done.
    pub fn handle(&mut self, key: PickerKey) -> Option<Picked> {
        self.message = None;
        let visible = self.visible().len();
        match key {
            PickerKey::Char(c) => {
                self.filter.push(c);
                self.cursor = 0;
            }
            PickerKey::Backspace => {
                self.filter.pop();
                self.cursor = 0;
            }
            PickerKey::Up if visible > 0 => self.cursor = (self.cursor + visible - 1) % visible,
            PickerKey::Down if visible > 0 => self.cursor = (self.cursor + 1) % visible,
            PickerKey::Up | PickerKey::Down => {}
            PickerKey::Toggle => match self.current() {
                Some(row) if self.selectable[row] => self.marked[row] = !self.marked[row],
                Some(row) => self.refuse(row),
                None => {}
            },
            PickerKey::Enter => {
                let marked: Vec<usize> =
                    (0..self.marked.len()).filter(|&i| self.marked[i]).collect();
                if !marked.is_empty() {
                    return Some(Picked::Rows(marked));
                }
                match self.current() {
                    Some(row) if self.selectable[row] => return Some(Picked::Rows(vec![row])),
                    Some(row) => self.refuse(row),
                    None => self.message = Some("nothing matches the filter".into()),
                }
            }
            PickerKey::Escape => return Some(Picked::Cancelled),
        }
        None
    }

    /// The lines to draw: the prompt with the filter, up to `height` rows around the
    /// highlighted one, and a status line.
    pub fn view(&self, height: usize, color: bool) -> Vec<String> {
        let style = |s: console::Style| {
            if color {
                s.force_styling(true)
            } else {
                console::Style::new().force_styling(false)
            }
        };
        let mut out = vec![format!(
            "{} VMI to delete (type to filter, Space marks several, Enter confirms, Esc cancels): {}",
            style(console::Style::new().yellow().bold()).apply_to("?"),
            self.filter
        )];
        let visible = self.visible();
        let height = height.max(1);
        let start = self
            .cursor
            .saturating_sub(height - 1)
            .min(visible.len().saturating_sub(height));
        for (pos, &row) in visible.iter().enumerate().skip(start).take(height) {
            let pointer = if pos == self.cursor { ">" } else { " " };
            let mark = match (self.selectable[row], self.marked[row]) {
                (false, _) => "   ",
                (true, true) => "[x]",
                (true, false) => "[ ]",
            };
            let line = format!("{pointer} {mark} {}", self.lines[row]);
            out.push(if !self.selectable[row] {
                style(console::Style::new().dim())
                    .apply_to(line)
                    .to_string()
            } else if pos == self.cursor {
                style(console::Style::new().cyan())
                    .apply_to(line)
                    .to_string()
            } else {
                line
            });
        }
        let marked = self.marked.iter().filter(|m| **m).count();
        out.push(match &self.message {
            Some(m) => style(console::Style::new().red()).apply_to(m).to_string(),
            None if visible.is_empty() => "  (nothing matches)".into(),
            None => format!(
                "  {} of {} shown, {marked} marked",
                visible.len(),
                self.lines.len()
            ),
        });
        out
    }
}

/// Pick one or more running VMIs (refused ones are shown, not pickable); None on Esc/Ctrl-C.
pub async fn pick_many(rows: Vec<Target>) -> Result<Option<Vec<Target>>> {
    let _prompting = Prompting::start();
    let picker = Picker::new(&rows);
    let picked = tokio::task::spawn_blocking(move || run_picker(picker))
        .await
        .map_err(|e| {
            Error::usage(
                format!("the prompt failed: {e}"),
                "name the VMIs on the command line",
            )
        })?
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::Interrupted {
                return interrupted(crate::signals::Signal::Interrupt, true);
            }
            Error::usage(
                format!("the prompt failed: {e}"),
                "name the VMIs on the command line, and pass --yes to run without prompts",
            )
        })?;
    Ok(match picked {
        Picked::Rows(indexes) => Some(indexes.into_iter().map(|i| rows[i].clone()).collect()),
        Picked::Cancelled => None,
    })
}

fn run_picker(mut picker: Picker) -> std::io::Result<Picked> {
    use console::{Key, Term};
    let term = Term::stderr();
    let color = console::colors_enabled_stderr();
    let height = (term.size().0 as usize).saturating_sub(3).clamp(3, 15);
    term.hide_cursor()?;
    let mut drawn = 0;
    let result = loop {
        term.clear_last_lines(drawn)?;
        let lines = picker.view(height, color);
        // A line wider than the terminal wraps onto more rows: clear them all next time.
        let columns = usize::from(term.size().1).max(1);
        drawn = lines
            .iter()
            .map(|l| console::measure_text_width(l).div_ceil(columns).max(1))
            .sum();
        for line in &lines {
            term.write_line(line)?;
        }
        term.flush()?;
        let key = match term.read_key() {
            Ok(k) => k,
            Err(e) => break Err(e),
        };
        let key = match key {
            Key::Char(' ') | Key::Tab => PickerKey::Toggle,
            Key::Char(c) if !c.is_control() => PickerKey::Char(c),
            Key::Backspace => PickerKey::Backspace,
            Key::ArrowUp | Key::BackTab => PickerKey::Up,
            Key::ArrowDown => PickerKey::Down,
            Key::Enter => PickerKey::Enter,
            Key::Escape | Key::CtrlC => PickerKey::Escape,
            _ => continue,
        };
        if let Some(done) = picker.handle(key) {
            break Ok(done);
        }
    };
    term.clear_last_lines(drawn)?;
    term.show_cursor()?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        kubevirt::Recovery,
        plan::{Plan, Refusal},
    };

    fn row(name: &str, refusal: Option<Refusal>) -> Target {
        let plan = match refusal {
            Some(r) => Plan::Refuse(r),
            None => Plan::Go {
                recovery: Recovery::Automatic,
                warnings: vec![],
            },
        };
        Target {
            namespace: "prod".into(),
            name: name.into(),
            phase: "Running".into(),
            ready: true,
            node: Some("node-a".into()),
            ip: None,
            uid: name.into(),
            age: "1m".into(),
            vm: Some(name.into()),
            run_strategy: Some("Always".into()),
            expected_recovery: plan.recovery(),
            refused: plan.refusal().map(|r| r.reason()),
            group: None,
            owner: Some(crate::targets::OwnerRef {
                kind: "VirtualMachine".into(),
                name: name.into(),
            }),
            plan,
        }
    }

    fn rows() -> Vec<Target> {
        vec![
            row("alpha", None),
            row("bravo", None),
            row(
                "halted",
                Some(Refusal::Halted {
                    vm: "halted".into(),
                    legacy: false,
                }),
            ),
            row("charlie", None),
        ]
    }

    fn typed(p: &mut Picker, text: &str) {
        for c in text.chars() {
            assert_eq!(p.handle(PickerKey::Char(c)), None);
        }
    }

    #[test]
    fn typing_filters_and_enter_takes_the_highlighted_row() {
        let mut p = Picker::new(&rows());
        typed(&mut p, "bravo");
        assert_eq!(p.visible(), [1]);
        assert_eq!(p.handle(PickerKey::Enter), Some(Picked::Rows(vec![1])));
        // Letters in order, not necessarily together: "crl" finds charlie.
        let mut p = Picker::new(&rows());
        typed(&mut p, "crl");
        assert_eq!(p.visible(), [3]);
        // Only names count: every row says "node", so that matches nothing here.
        let mut p = Picker::new(&rows());
        typed(&mut p, "node");
        assert_eq!(p.visible(), Vec::<usize>::new());
    }

    #[test]
    fn space_marks_several() {
        let mut p = Picker::new(&rows());
        assert_eq!(p.handle(PickerKey::Toggle), None);
        p.handle(PickerKey::Down);
        p.handle(PickerKey::Down);
        p.handle(PickerKey::Down);
        p.handle(PickerKey::Toggle);
        assert!(p.view(10, false).last().unwrap().contains("2 marked"));
        assert_eq!(p.handle(PickerKey::Enter), Some(Picked::Rows(vec![0, 3])));
        // Unmarking works, filtering keeps the marks.
        let mut p = Picker::new(&rows());
        p.handle(PickerKey::Toggle);
        typed(&mut p, "charlie");
        p.handle(PickerKey::Toggle);
        assert_eq!(p.handle(PickerKey::Enter), Some(Picked::Rows(vec![0, 3])));
    }

    #[test]
    fn refused_rows_are_shown_with_the_reason_but_not_picked() {
        let mut p = Picker::new(&rows());
        let view = p.view(10, false).join("\n");
        assert!(view.contains("refused: VM halted is Halted"), "{view}");
        typed(&mut p, "halted");
        assert_eq!(p.handle(PickerKey::Toggle), None);
        let status = p.view(10, false).last().unwrap().clone();
        assert!(
            status.contains("prod/halted can't be a target: VM halted is Halted"),
            "{status}"
        );
        assert_eq!(p.handle(PickerKey::Enter), None);
        assert_eq!(p.handle(PickerKey::Escape), Some(Picked::Cancelled));
    }

    /// A replica set's VMI, another controller's and a standalone one say what owns them; a
    /// VMI that is Running but not Ready can't be marked.
    #[test]
    fn rows_name_the_real_owner_and_unready_vmis_are_refused() {
        let owned = |name: &str, kind: &str, owner: &str, refusal: Option<Refusal>| Target {
            vm: None,
            run_strategy: None,
            owner: Some(crate::targets::OwnerRef {
                kind: kind.into(),
                name: owner.into(),
            }),
            ..row(name, refusal)
        };
        let rows = vec![
            owned("webx7k2p", "VirtualMachineInstanceReplicaSet", "web", None),
            owned(
                "thing",
                "MyOperatorThing",
                "x",
                Some(Refusal::ForeignOwner {
                    kind: "MyOperatorThing".into(),
                    name: "x".into(),
                }),
            ),
            Target {
                vm: None,
                run_strategy: None,
                owner: None,
                ..row("alone", None)
            },
            Target {
                ready: false,
                ..row("sick", Some(Refusal::NotReady))
            },
        ];
        let lines = picker_rows(&rows);
        assert!(
            lines[0].contains("VirtualMachineInstanceReplicaSet web"),
            "{lines:?}"
        );
        assert!(!lines[0].contains("standalone"), "{lines:?}");
        assert!(lines[1].contains("MyOperatorThing x"), "{lines:?}");
        assert!(lines[2].contains("standalone"), "{lines:?}");
        assert!(
            lines[3].contains("refused: the VMI is Running but not Ready"),
            "{lines:?}"
        );
        let mut p = Picker::new(&rows);
        for _ in 0..3 {
            p.handle(PickerKey::Down);
        }
        assert_eq!(p.handle(PickerKey::Toggle), None);
        assert_eq!(
            p.handle(PickerKey::Enter),
            None,
            "an unready VMI can't be picked"
        );
    }

    #[test]
    fn the_view_scrolls_to_the_highlighted_row() {
        let many: Vec<Target> = (0..30).map(|i| row(&format!("vm-{i:02}"), None)).collect();
        let mut p = Picker::new(&many);
        for _ in 0..20 {
            p.handle(PickerKey::Down);
        }
        let view = p.view(5, false);
        assert_eq!(view.len(), 7, "prompt, 5 rows, status");
        assert!(view[5].starts_with("> [ ] prod/vm-20"), "{view:?}");
        assert!(view[6].contains("30 of 30 shown"));
        p.handle(PickerKey::Up);
        p.handle(PickerKey::Backspace);
        assert!(p.view(5, false)[1].starts_with("> [ ] prod/vm-00"));
    }
}
