//! Cleanup that survives the test process. Rust never drops statics, and a panic, Ctrl-C or
//! SIGKILL skips every destructor anyway, so a tiny `sh` in a process group of its own holds the
//! read end of a pipe whose write end only the test process has. We write each child's PID into
//! it; when the pipe reaches EOF (the test process ended, however), the watchdog SIGTERMs the
//! children, SIGKILLs what is left after ~5 s, and removes the cluster's directory.

use std::{
    io::Write,
    os::unix::process::CommandExt,
    path::Path,
    process::{Child, ChildStdin, Command, Stdio},
};

use anyhow::{Context, Result};

const SCRIPT: &str = r#"
trap '' HUP INT
pids=
while read -r pid; do pids="$pids $pid"; done
alive() { # running, not a zombie
  state=$(sed 's/.*) //; s/ .*//' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}
left=
for p in $pids; do alive "$p" && { kill -TERM "$p" 2>/dev/null; left="$left $p"; }; done
i=0
while [ -n "$left" ] && [ "$i" -lt 50 ]; do
  sleep 0.1; i=$((i + 1))
  still=
  for p in $left; do alive "$p" && still="$still $p"; done
  left=$still
done
for p in $left; do kill -KILL "$p" 2>/dev/null; done
if [ -n "$1" ]; then rm -rf "$1"; fi
"#;

pub struct Watchdog {
    child: Child,
    pipe: Option<ChildStdin>,
}

impl Watchdog {
    /// Starts the watchdog; `remove` is the directory it deletes at the end (None: keep it).
    pub fn spawn(remove: Option<&Path>) -> Result<Self> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("vmchaos-watchdog")
            .arg(remove.map(|p| p.as_os_str()).unwrap_or_default())
            .stdin(Stdio::piped())
            // Not the test's stdout/stderr: whoever reads those must not wait for the watchdog.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: Ctrl-C in a terminal (SIGINT to the foreground group)
            // and a test runner that kills the test's group leave it alive to clean up.
            .process_group(0)
            .spawn()
            .context("failed to start the cleanup watchdog (sh)")?;
        let pipe = child.stdin.take();
        Ok(Self { child, pipe })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// From now on, `pid` is terminated when the test process ends.
    pub fn watch(&mut self, pid: u32) -> Result<()> {
        let pipe = self
            .pipe
            .as_mut()
            .context("the watchdog has already finished")?;
        writeln!(pipe, "{pid}").context("failed to tell the watchdog a PID")?;
        pipe.flush()?;
        Ok(())
    }

    /// Lets the watchdog do its work now and waits for it.
    pub fn finish(&mut self) {
        drop(self.pipe.take());
        let _ = self.child.wait();
    }
}
