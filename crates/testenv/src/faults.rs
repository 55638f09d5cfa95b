//! Network faults on purpose, between the tool and the API server: a TCP proxy on loopback that
//! passes, drops every connection, stalls (accepts but forwards nothing, existing connections
//! frozen) or refuses; and an HTTP CONNECT proxy for kubeconfig's `proxy-url`. Each runs on a
//! small runtime of its own, so a test drives it with plain calls while the tool runs; the calls
//! never `block_on`, so they work from async code too.

use std::{
    io,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        tcp::{OwnedReadHalf, OwnedWriteHalf},
        TcpListener, TcpStream,
    },
    sync::{oneshot, watch},
};

/// What the fault proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwards both ways.
    Pass,
    /// Accepts new connections but forwards nothing, and freezes the open ones: what a hung
    /// server or a black-holing middlebox looks like from the client.
    Stall,
    /// Nothing listens: new connections are refused (ECONNREFUSED); open ones go on.
    Refuse,
}

fn runtime(name: &str) -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(name)
        .enable_all()
        .build()
}

struct Shared {
    upstream: SocketAddr,
    mode: watch::Sender<Mode>,
    /// Bumped by `drop_connections`: every connection opened before closes.
    drops: watch::Sender<u64>,
    /// Bumped by every mode change, so a timed stall doesn't end a later one.
    epoch: AtomicU64,
    accepted: AtomicU64,
    open: AtomicUsize,
}

/// A TCP proxy on loopback in front of the API server (or anything): see [`Mode`].
pub struct FaultProxy {
    runtime: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// While listening: how to stop the accept loop, and its word that the socket is closed.
    listener: Mutex<Option<Listening>>,
}

struct Listening {
    stop: oneshot::Sender<()>,
    closed: std::sync::mpsc::Receiver<()>,
}

impl FaultProxy {
    /// A proxy on 127.0.0.1 (a free port) to `upstream`, passing traffic.
    pub fn start(upstream: SocketAddr) -> io::Result<Self> {
        Self::start_on(IpAddr::V4(Ipv4Addr::LOCALHOST), upstream)
    }

    /// The same on another loopback address (e.g. 127.0.0.2, which the API server's
    /// certificate doesn't name: a kubeconfig then needs `tls-server-name`).
    pub fn start_on(ip: IpAddr, upstream: SocketAddr) -> io::Result<Self> {
        assert!(ip.is_loopback(), "the fault proxy listens on loopback only");
        let runtime = runtime("fault-proxy")?;
        let (mode, _) = watch::channel(Mode::Pass);
        let (drops, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            upstream,
            mode,
            drops,
            epoch: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            open: AtomicUsize::new(0),
        });
        let listener = std::net::TcpListener::bind(SocketAddr::new(ip, 0))?;
        let addr = listener.local_addr()?;
        let listening = listen(&runtime, listener, shared.clone())?;
        Ok(Self {
            runtime: Some(runtime),
            addr,
            shared,
            listener: Mutex::new(Some(listening)),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://<addr>`: the API server's URL through the proxy.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn mode(&self) -> Mode {
        *self.shared.mode.borrow()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections open now (client side accepted and not yet closed).
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        self.runtime.as_ref().expect("runtime lives until drop")
    }

    fn set_mode(&self, mode: Mode) -> u64 {
        let epoch = self.shared.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        self.shared.mode.send_replace(mode);
        epoch
    }

    /// Back to forwarding (listening again on the same address after `refuse`); frozen
    /// connections resume with the data they held.
    pub fn pass(&self) {
        self.set_mode(Mode::Pass);
        self.listen_again();
    }

    /// Closes every open connection now; new ones pass as before.
    pub fn drop_connections(&self) {
        self.shared.drops.send_modify(|generation| *generation += 1);
    }

    /// Stalls until `pass`: new connections are accepted but get nothing, open ones freeze.
    pub fn stall(&self) {
        self.listen_again();
        self.set_mode(Mode::Stall);
    }

    /// Stalls for `duration`, then passes again (unless the mode was changed meanwhile).
    pub fn stall_for(&self, duration: Duration) {
        self.listen_again();
        let epoch = self.set_mode(Mode::Stall);
        let shared = self.shared.clone();
        self.rt().spawn(async move {
            tokio::time::sleep(duration).await;
            if shared.epoch.load(Ordering::SeqCst) == epoch {
                shared.mode.send_replace(Mode::Pass);
            }
        });
    }

    /// Stops listening: new connections are refused until `pass`. Open connections go on.
    pub fn refuse(&self) {
        self.set_mode(Mode::Refuse);
        if let Some(listening) = self.listener.lock().unwrap().take() {
            let _ = listening.stop.send(());
            // Returns once the accept loop has closed the socket.
            let _ = listening.closed.recv_timeout(Duration::from_secs(10));
        }
    }

    fn listen_again(&self) {
        let mut listener = self.listener.lock().unwrap();
        if listener.is_some() {
            return;
        }
        let listening = std::net::TcpListener::bind(self.addr)
            .and_then(|bound| listen(self.rt(), bound, self.shared.clone()))
            .unwrap_or_else(|e| panic!("fault proxy: cannot listen on {} again: {e}", self.addr));
        *listener = Some(listening);
    }
}

/// Starts the accept loop on `listener` (bound with std, so no runtime is needed to call this).
fn listen(
    runtime: &tokio::runtime::Runtime,
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
) -> io::Result<Listening> {
    listener.set_nonblocking(true)?;
    let (stop, stopped) = oneshot::channel();
    let (closed_tx, closed) = std::sync::mpsc::channel();
    runtime.spawn(async move {
        let Ok(listener) = TcpListener::from_std(listener) else {
            return;
        };
        tokio::select! {
            _ = accept_loop(&listener, shared) => {}
            _ = stopped => {}
        }
        drop(listener);
        let _ = closed_tx.send(());
    });
    Ok(Listening { stop, closed })
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn accept_loop(listener: &TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(relay(client, shared.clone()));
    }
}

/// Counts a connection as open for as long as it lives.
struct OpenGuard(Arc<Shared>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn relay(client: TcpStream, shared: Arc<Shared>) {
    shared.open.fetch_add(1, Ordering::SeqCst);
    let _open = OpenGuard(shared.clone());
    let mut drops = shared.drops.subscribe();
    let generation = *drops.borrow_and_update();
    let _ = client.set_nodelay(true);
    let work = async {
        flowing(&shared).await;
        let server = TcpStream::connect(shared.upstream).await?;
        let _ = server.set_nodelay(true);
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        tokio::try_join!(
            pipe(client_read, server_write, &shared),
            pipe(server_read, client_write, &shared)
        )
        .map(|_| ())
    };
    tokio::select! {
        _ = work => {}
        _ = drops.wait_for(|g| *g != generation) => {}
    }
    // Dropping both sockets closes them.
}

/// Returns once the proxy doesn't stall.
async fn flowing(shared: &Shared) {
    let mut mode = shared.mode.subscribe();
    let _ = mode.wait_for(|m| *m != Mode::Stall).await;
}

async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, shared: &Shared) -> io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        flowing(shared).await;
        let n = from.read(&mut buf).await?;
        if n == 0 {
            let _ = to.shutdown().await;
            return Ok(());
        }
        // Bytes read just as a stall began are held back with the rest.
        flowing(shared).await;
        to.write_all(&buf[..n]).await?;
    }
}

/// One CONNECT the HTTP proxy served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequest {
    /// `host:port` asked for.
    pub target: String,
    /// The `Proxy-Authorization` header, if any.
    pub proxy_authorization: Option<String>,
}

/// An HTTP CONNECT proxy on 127.0.0.1 (what a kubeconfig's `proxy-url` points at); it tunnels
/// to loopback targets only and records every CONNECT.
pub struct ConnectProxy {
    runtime: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<ConnectRequest>>>,
}

impl ConnectProxy {
    pub fn start() -> io::Result<Self> {
        let runtime = runtime("connect-proxy")?;
        let listener = runtime.block_on(TcpListener::bind(SocketAddr::from((
            Ipv4Addr::LOCALHOST,
            0,
        ))))?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        runtime.spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(tunnel(client, log.clone()));
            }
        });
        Ok(Self {
            runtime: Some(runtime),
            addr,
            requests,
        })
    }

    /// `http://127.0.0.1:<port>`, for `proxy-url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every CONNECT so far, in order.
    pub fn requests(&self) -> Vec<ConnectRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn tunnel(mut client: TcpStream, log: Arc<Mutex<Vec<ConnectRequest>>>) -> io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let end = loop {
        let n = client.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if head.len() > 16 * 1024 {
            return Ok(());
        }
    };
    let text = String::from_utf8_lossy(&head[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut words = request_line.split_whitespace();
    let (method, target) = (words.next(), words.next().unwrap_or_default().to_string());
    let proxy_authorization = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("proxy-authorization")
            .then(|| value.trim().to_string())
    });
    let loopback = target
        .parse::<SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback());
    if method != Some("CONNECT") || !loopback {
        client
            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            .await?;
        return Ok(());
    }
    log.lock().unwrap().push(ConnectRequest {
        target: target.clone(),
        proxy_authorization,
    });
    let mut server = match TcpStream::connect(&target).await {
        Ok(s) => s,
        Err(_) => {
            client
                .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                .await?;
            return Ok(());
        }
    };
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await?;
    // Anything the client sent after the CONNECT head belongs to the tunnel.
    server.write_all(&head[end..]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}
