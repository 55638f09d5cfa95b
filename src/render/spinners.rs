//! Live progress on a terminal: one spinner line per phase, a tick or a cross with its duration
//! when it ends, and the recovery steps as they happen.

use std::time::Duration;

use console::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{format_duration, format_offset};
use crate::outage::events::{Event, Phase, Renderer};

pub struct Spinners {
    bar: Option<ProgressBar>,
    /// The running phase's own message, kept beside the latest step.
    message: String,
    color: bool,
}

impl Spinners {
    pub fn new(color: bool) -> Self {
        Spinners {
            bar: None,
            message: String::new(),
            color,
        }
    }

    fn style(&self, style: Style) -> Style {
        if self.color {
            style.force_styling(true)
        } else {
            Style::new().force_styling(false)
        }
    }

    fn println(&self, text: String) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
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
        eprintln!(
            "{} {:<12} {message} {}",
            style.apply_to(mark),
            phase.label(),
            dim.apply_to(format_duration(elapsed))
        );
    }
}

impl Renderer for Spinners {
    fn event(&mut self, event: &Event) {
        match event {
            Event::Started { phase, message } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                let template = if self.color {
                    "{spinner:.cyan} {prefix:<12} {msg} {elapsed:.dim}"
                } else {
                    "{spinner} {prefix:<12} {msg} {elapsed}"
                };
                bar.set_style(
                    ProgressStyle::with_template(template)
                        .unwrap_or_else(|_| ProgressStyle::default_spinner())
                        .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "),
                );
                bar.set_prefix(phase.label());
                bar.set_message(message.clone());
                self.message = message.clone();
                bar.enable_steady_tick(Duration::from_millis(80));
                self.bar = Some(bar);
            }
            Event::Progress { message, .. } => {
                self.message = message.clone();
                if let Some(bar) = &self.bar {
                    bar.set_message(message.clone());
                }
            }
            Event::Step {
                since_delete,
                message,
                ..
            } => {
                // The spinner shows the latest step; the line above it keeps the history.
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("{} · {message}", self.message));
                }
                let dim = self.style(Style::new().dim());
                self.println(format!(
                    "  {} {message}",
                    dim.apply_to(format!("{:>9}", format_offset(*since_delete)))
                ));
            }
            Event::Finished {
                phase,
                message,
                elapsed,
            } => self.end(*phase, true, message, *elapsed),
            Event::Failed {
                phase,
                message,
                elapsed,
            } => self.end(*phase, false, message, *elapsed),
            Event::Note { message } => {
                let warn = self.style(Style::new().yellow());
                self.println(format!("{} {message}", warn.apply_to("!")));
            }
        }
    }

    fn flush(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
