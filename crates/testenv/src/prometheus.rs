//! A real Prometheus (Debian's `prometheus` package) scraping the simulator's (or the node
//! agent's) `kubevirt_vmi_*` metrics every second, with one alerting rule, for `prom:` probes.

use std::{
    fs,
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result};

/// The alert the rule file defines: a VMI that exists but is not Running (for 0 s).
pub const VMI_NOT_RUNNING_ALERT: &str = "KubeVirtVMINotRunning";

/// A running Prometheus; dropping it stops it (the watchdog does too, if the test dies).
pub struct Prometheus {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl Prometheus {
    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("prometheus.log")
    }

    /// GET `path` (e.g. `/api/v1/query?query=up`): status and body.
    pub fn get(&self, path: &str) -> Result<(u16, String)> {
        get(self.port, path)
    }

    /// Waits until `path` answers 200 with a body containing `needle`.
    pub fn wait_for(&self, path: &str, needle: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = self.get(path);
            if let Ok((200, body)) = &last {
                if body.contains(needle) {
                    return Ok(());
                }
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "Prometheus: {path} has no {needle:?} after {timeout:?} (last: {last:?})\n{}",
                crate::control_plane::tail(&self.log(), 20)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Where Debian installs it; None (with why) when it is missing.
pub fn binary() -> Result<PathBuf, String> {
    for candidate in ["/usr/bin/prometheus", "/usr/local/bin/prometheus"] {
        if Path::new(candidate).is_file() {
            return Ok(candidate.into());
        }
    }
    Err("prometheus is not installed (scripts/install-deps installs Debian's)".into())
}

fn config(metrics_port: u16) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n\
         scrape_configs:\n  - job_name: kubevirt\n    static_configs:\n      - targets: \
         ['127.0.0.1:{metrics_port}']\n"
    )
}

fn rules() -> String {
    format!(
        "groups:\n  - name: kubevirt\n    interval: 1s\n    rules:\n      - alert: \
         {VMI_NOT_RUNNING_ALERT}\n        expr: kubevirt_vmi_info{{phase!=\"running\"}} == 1\n        \
         labels:\n          severity: critical\n        annotations:\n          summary: \
         VMI {{{{ $labels.namespace }}}}/{{{{ $labels.name }}}} is {{{{ $labels.phase }}}}\n"
    )
}

/// Starts Prometheus in `dir` on a free port, scraping `127.0.0.1:metrics_port`; returns once
/// it is ready and has scraped the target once.
pub(crate) fn start(
    program: &Path,
    dir: &Path,
    metrics_port: u16,
    watch: impl FnOnce(u32) -> Result<()>,
) -> Result<Prometheus> {
    let dir = dir.to_path_buf();
    fs::create_dir_all(dir.join("data"))?;
    fs::write(dir.join("prometheus.yml"), config(metrics_port))?;
    fs::write(dir.join("rules.yml"), rules())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let log = fs::File::create(dir.join("prometheus.log"))?;
    let child = Command::new(program)
        .current_dir(&dir)
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("failed to start {}", program.display()))?;
    let pid = child.id();
    let prometheus = Prometheus {
        child: Some(child),
        port,
        dir,
    };
    watch(pid)?;
    prometheus.wait_for("/-/ready", "Ready", Duration::from_secs(30))?;
    prometheus.wait_for(
        "/api/v1/targets?state=active",
        "\"health\":\"up\"",
        Duration::from_secs(30),
    )?;
    Ok(prometheus)
}

/// A minimal HTTP/1.0 GET on 127.0.0.1 (no client library needed in the harness).
fn get(port: u16, path: &str) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("not an HTTP answer")?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}
