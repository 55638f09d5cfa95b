//! Live progress on a terminal. One outage: one spinner line per phase, a tick or a cross with
//! its duration when it ends, and the recovery steps as they happen. A fleet: one line per
//! target with its current step and elapsed time (indicatif's multi-progress), folded into
//! counters when the fleet is taller than the terminal.

use std::time::Duration;

use console::Style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{
    format_duration, format_offset,
    phases::{Draw, Phases},
};
use crate::events::{Event, Phase, Renderer};

pub struct Spinners {
    bar: Option<ProgressBar>,
    /// The running phase's own message, kept beside the latest step.
    message: String,
    color: bool,
    phases: Phases,
    fleet: Option<Fleet>,
}

/// A fleet's lines (or, when they don't fit, one line of counters).
struct Fleet {
    multi: MultiProgress,
    bars: Vec<ProgressBar>,
    counters: Option<ProgressBar>,
    state: Vec<Option<bool>>,
}

impl Spinners {
    pub fn new(color: bool) -> Self {
        Spinners {
            bar: None,
            message: String::new(),
            color,
            phases: Phases::default(),
            fleet: None,
        }
    }

    fn style(&self, style: Style) -> Style {
        if self.color {
            style.force_styling(true)
        } else {
            Style::new().force_styling(false)
        }
    }

    fn spinner_style(&self) -> ProgressStyle {
        let template = if self.color {
            "{spinner:.cyan} {prefix:<12} {msg} {elapsed:.dim}"
        } else {
            "{spinner} {prefix:<12} {msg} {elapsed}"
        };
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ")
    }

    fn println(&self, text: String) {
        match (&self.fleet, &self.bar) {
            (Some(f), _) => {
                let _ = f.multi.println(text);
            }
            (None, Some(bar)) => bar.println(text),
            (None, None) => eprintln!("{text}"),
        }
    }

    fn end(&mut self, phase: Phase, ok: bool, message: &str, elapsed: Duration) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let (mark, style) = if ok {
            ("✔", self.style(Style::new().green()))
        } else {
            ("✘", self.style(Style::new().red().bold()))
        };
        let dim = self.style(Style::new().dim());
        self.println(format!(
            "{} {:<12} {message} {}",
            style.apply_to(mark),
            phase.label(),
            dim.apply_to(format_duration(elapsed))
        ));
    }

    fn start(&mut self, phase: Phase, message: String) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        // A fleet's recovery draws inside its multi-progress, with the per-target lines.
        if phase == Phase::Recovery {
            self.open_fleet();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let bar = match &self.fleet {
            Some(f) => f.multi.insert(0, bar),
            None => bar,
        };
        bar.set_style(self.spinner_style());
        bar.set_prefix(phase.label());
        bar.set_message(message.clone());
        self.message = message;
        bar.enable_steady_tick(Duration::from_millis(80));
        self.bar = Some(bar);
    }

    /// The fleet's lines appear when its recovery begins.
    fn open_fleet(&mut self) {
        if self.fleet.is_some() || !self.phases.fleet() {
            return;
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let rows = console::Term::stderr().size().0 as usize;
        let names = self.phases.names().to_vec();
        let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
        let fits = names.len() + 4 <= rows;
        let mut fleet = Fleet {
            multi,
            bars: Vec::new(),
            counters: None,
            state: vec![None; names.len()],
        };
        let template = format!("  {{spinner}} {{prefix:<{width}}} {{msg}} {{elapsed:.dim}}");
        let style = ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ");
        if fits {
            for name in &names {
                let bar = fleet.multi.add(ProgressBar::new_spinner());
                bar.set_style(style.clone());
                bar.set_prefix(name.clone());
                bar.set_message("waiting");
                bar.enable_steady_tick(Duration::from_millis(120));
                fleet.bars.push(bar);
            }
        } else {
            let bar = fleet.multi.add(ProgressBar::new_spinner());
            bar.set_style(self.spinner_style());
            bar.set_prefix("Fleet");
            bar.enable_steady_tick(Duration::from_millis(120));
            fleet.counters = Some(bar);
        }
        self.fleet = Some(fleet);
        self.count();
    }

    fn count(&self) {
        let Some(f) = &self.fleet else { return };
        if let Some(bar) = &f.counters {
            let ok = f.state.iter().filter(|s| **s == Some(true)).count();
            let bad = f.state.iter().filter(|s| **s == Some(false)).count();
            let busy = f.state.len() - ok - bad;
            bar.set_message(format!(
                "{busy} in progress · {ok} recovered · {bad} failed"
            ));
        }
    }

    fn target_status(&mut self, target: usize, text: String, done: Option<bool>) {
        self.open_fleet();
        let green = self.style(Style::new().green());
        let red = self.style(Style::new().red().bold());
        let Some(f) = &mut self.fleet else { return };
        if let Some(bar) = f.bars.get(target) {
            match done {
                Some(true) => bar.finish_with_message(format!("{} {text}", green.apply_to("✔"))),
                Some(false) => bar.finish_with_message(format!("{} {text}", red.apply_to("✘"))),
                None => bar.set_message(text),
            }
        }
        if let Some(slot) = f.state.get_mut(target) {
            if done.is_some() {
                *slot = done;
            }
        }
        self.count();
    }
}

impl Renderer for Spinners {
    fn event(&mut self, event: &Event) {
        for draw in self.phases.translate(event) {
            match draw {
                Draw::Start { phase, message } => self.start(phase, message),
                Draw::Progress { message } => {
                    self.message = message.clone();
                    if let Some(bar) = &self.bar {
                        bar.set_message(message);
                    }
                }
                // A fleet's steps live in its per-target lines.
                Draw::Line { .. } if self.phases.fleet() => {}
                Draw::Line { at, text, .. } => {
                    // The spinner shows the latest step; the line above it keeps the history.
                    if let Some(bar) = &self.bar {
                        bar.set_message(format!("{} · {text}", self.message));
                    }
                    let dim = self.style(Style::new().dim());
                    self.println(format!(
                        "  {} {text}",
                        dim.apply_to(format!("{:>9}", format_offset(at)))
                    ));
                }
                Draw::End {
                    phase,
                    ok,
                    message,
                    elapsed,
                } => self.end(phase, ok, &message, elapsed),
                Draw::Note { message } => {
                    let warn = self.style(Style::new().yellow());
                    self.println(format!("{} {message}", warn.apply_to("!")));
                }
                Draw::TargetStatus { target, text, done } => self.target_status(target, text, done),
            }
        }
    }

    fn flush(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if let Some(f) = self.fleet.take() {
            for bar in f.bars.iter().chain(&f.counters) {
                if !bar.is_finished() {
                    bar.abandon();
                }
            }
        }
    }
}
