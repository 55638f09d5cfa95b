//! Ctrl-C and SIGTERM, delivered to whoever is waiting as values: nothing here exits the
//! process. Before the DELETE the command stops with "nothing was changed"; after it, the
//! outage core recovers what is down before exiting.

use tokio::sync::mpsc;

/// Which signal stopped the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl-C (SIGINT).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

pub struct Signals {
    rx: mpsc::UnboundedReceiver<Signal>,
}

impl Signals {
    pub fn install() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            #[cfg(unix)]
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            loop {
                #[cfg(unix)]
                let terminate = async {
                    match term.as_mut() {
                        Some(t) => {
                            t.recv().await;
                        }
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let terminate = std::future::pending::<()>();
                let signal = tokio::select! {
                    r = tokio::signal::ctrl_c() => match r {
                        Ok(()) => Signal::Interrupt,
                        Err(_) => return,
                    },
                    _ = terminate => Signal::Terminate,
                };
                if tx.send(signal).is_err() {
                    return;
                }
            }
        });
        Signals { rx }
    }

    /// The next signal (never returns if there is none).
    pub async fn recv(&mut self) -> Signal {
        match self.rx.recv().await {
            Some(s) => s,
            None => std::future::pending().await,
        }
    }
}
