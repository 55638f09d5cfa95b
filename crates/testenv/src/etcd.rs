//! etcd's v3 JSON gateway (plain HTTP on the client port): its revision, and compaction, for
//! forcing a watch to get 410 Gone.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// One POST; HTTP/1.0 so the answer is neither chunked nor kept alive.
fn post(port: u16, path: &str, body: &Value) -> Result<Value> {
    let body = body.to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .with_context(|| format!("failed to connect to etcd on port {port}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, text) = answer
        .split_once("\r\n\r\n")
        .context("etcd's answer has no body")?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        bail!("etcd {path}: {head}\n{text}");
    }
    serde_json::from_str(text).with_context(|| format!("etcd {path}: not JSON: {text}"))
}

/// The store's newest revision.
pub fn revision(port: u16) -> Result<i64> {
    // Any key: the header carries the revision even when nothing matches.
    let answer = post(port, "/v3/kv/range", &json!({"key": "AA==", "limit": 1}))?;
    let revision = &answer["header"]["revision"];
    revision
        .as_str()
        .and_then(|r| r.parse().ok())
        .or_else(|| revision.as_i64())
        .with_context(|| format!("no revision in {answer}"))
}

/// Drops every revision older than `revision` (physically: the call returns when it is done).
pub fn compact(port: u16, revision: i64) -> Result<()> {
    post(
        port,
        "/v3/kv/compaction",
        &json!({"revision": revision.to_string(), "physical": true}),
    )?;
    Ok(())
}
