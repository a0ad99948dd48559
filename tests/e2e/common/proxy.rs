//! A tiny HTTP proxy on 127.0.0.1 for the proxy tests: `CONNECT` tunnels and absolute-form
//! forwarding, optionally asking for Basic credentials, logging each connection's first request
//! line. It shows what a real proxy cannot be made to do on demand (a 407, a refused tunnel).
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the proxy answers.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Tunnels and forwards; with `Some(header)`, only requests carrying that
    /// `Proxy-Authorization` value (others get a 407).
    Open(Option<String>),
    /// Answers every request with this status line and closes.
    Refuse(&'static str),
}

pub struct TinyProxy {
    pub addr: SocketAddr,
    /// Each connection's first request line, as the proxy read it.
    log: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

impl TinyProxy {
    pub fn start(behaviour: Behaviour) -> TinyProxy {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&log);
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let behaviour = behaviour.clone();
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let _ = serve(client, behaviour, seen).await;
                });
            }
        });
        TinyProxy {
            addr,
            log,
            _runtime: runtime,
        }
    }

    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

/// Reads a request head, byte by byte so nothing after it is taken (empty at the end).
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut got = Vec::new();
    while !got.ends_with(b"\r\n\r\n") {
        let mut byte = [0; 1];
        if stream.read(&mut byte).await? == 0 {
            break;
        }
        got.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&got).into_owned())
}

async fn serve(
    mut client: TcpStream,
    behaviour: Behaviour,
    seen: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let head = read_head(&mut client).await?;
    let Some(line) = head.lines().next().filter(|l| !l.is_empty()) else {
        return Ok(());
    };
    seen.lock().unwrap().push(line.to_string());
    let wanted = match behaviour {
        Behaviour::Refuse(status) => {
            let answer = format!("{status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            return client.write_all(answer.as_bytes()).await;
        }
        Behaviour::Open(wanted) => wanted,
    };
    if let Some(wanted) = wanted {
        let given = head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("proxy-authorization")
                .then(|| value.trim().to_string())
        });
        if given.as_deref() != Some(wanted.as_str()) {
            let answer = "HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: \
                          Basic realm=\"test\"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
            return client.write_all(answer.as_bytes()).await;
        }
    }
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method == "CONNECT" {
        let mut server = TcpStream::connect(target).await?;
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
        tokio::io::copy_bidirectional(&mut client, &mut server).await?;
        return Ok(());
    }
    // Absolute form: the first request goes to its origin in origin form; the rest of the
    // connection is relayed as it comes (every request of a connection is for one origin).
    let rest = target.strip_prefix("http://").unwrap_or(target);
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut server = TcpStream::connect(authority).await?;
    let mut forwarded = String::new();
    for line in head
        .replacen(target, if path.is_empty() { "/" } else { path }, 1)
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("proxy-authorization:"))
    {
        forwarded.push_str(line);
        forwarded.push_str("\r\n");
    }
    server.write_all(forwarded.as_bytes()).await?;
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}
