//! Ctrl-C and SIGTERM. Before the DELETE nothing has changed, so an interruption exits at once
//! (130). Once armed (the DELETE is about to go out) signals are handed to the scenario, which
//! recovers the VMI before exiting.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use tokio::sync::mpsc;

pub struct Signals {
    rx: mpsc::UnboundedReceiver<()>,
    armed: Arc<AtomicBool>,
}

impl Signals {
    pub fn install() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let armed = Arc::new(AtomicBool::new(false));
        let flag = armed.clone();
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
                tokio::select! {
                    r = tokio::signal::ctrl_c() => if r.is_err() { return },
                    _ = terminate => {},
                }
                if !flag.load(Ordering::SeqCst) {
                    let _ = console::Term::stderr().show_cursor();
                    eprintln!("\ninterrupted: nothing was changed");
                    std::process::exit(130);
                }
                if tx.send(()).is_err() {
                    return;
                }
            }
        });
        Signals { rx, armed }
    }

    /// From now on signals go to the scenario instead of exiting.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// The next signal (never returns if there is none).
    pub async fn recv(&mut self) {
        if self.rx.recv().await.is_none() {
            std::future::pending::<()>().await
        }
    }
}
