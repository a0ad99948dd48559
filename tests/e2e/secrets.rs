//! A race with known fake secrets — an API key from the environment (flag and race file), a
//! header built from `${VAR}`, key-like query parameters in URLs — sent through every output
//! path: the headless race, its result files and replay, `report` in every format, `report
//! --results`, `replay`, `compare`, error messages of failing endpoints, stdout and stderr.
//! A proxy in front of the mock proves the secrets were sent; then every file and every output
//! is searched for them. Also: a redirect is never followed, so a key never goes elsewhere.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::common::running::{self, BIN};

const ENV_KEY: &str = "sk-llmrace-envkey-4b7e19d2c0";
const HEADER_KEY: &str = "sk-llmrace-headerkey-81f3a6";
const URL_KEY: &str = "sk-llmrace-urlkey-c59d02";
const SECRETS: [&str; 3] = [ENV_KEY, HEADER_KEY, URL_KEY];

/// A TCP proxy that keeps every byte clients send, so the test can see what went out.
struct Proxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let log = Arc::clone(&log);
                std::thread::spawn(move || relay(client, upstream, &log));
            }
        });
        Proxy { addr, seen }
    }

    fn seen(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }
}

fn relay(mut client: TcpStream, upstream: SocketAddr, log: &Arc<Mutex<Vec<u8>>>) {
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    let (Ok(mut from_client), Ok(mut to_server)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let log = Arc::clone(log);
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = from_client.read(&mut buf) {
            if n == 0 {
                break;
            }
            log.lock().unwrap().extend_from_slice(&buf[..n]);
            if to_server.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to_server.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut server, &mut client);
    let _ = client.shutdown(std::net::Shutdown::Both);
}

/// The built-in mock, in this process, on 127.0.0.1.
fn mock() -> (tokio::runtime::Runtime, llmrace::mock::MockServer) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let profile = llmrace::mock::Profile::parse("instant,tokens=6").unwrap();
    let server = runtime
        .block_on(llmrace::mock::MockServer::start(
            ([127, 0, 0, 1], 0).into(),
            profile,
        ))
        .unwrap();
    (runtime, server)
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Runs llmrace with the secrets in its environment; returns stdout and stderr together.
fn llmrace(args: &[&str]) -> (i32, String) {
    running::run_to_end(
        Command::new(BIN)
            .args(args)
            .env("LLMRACE_TEST_KEY", ENV_KEY)
            .env("LLMRACE_TEST_HEADER_KEY", HEADER_KEY)
            .env("NO_COLOR", "1"),
    )
}

/// Every file under `dir`, gzip ones decompressed, as text.
fn every_file(dir: &Path, found: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            every_file(&path, found);
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let bytes = if path.extension().is_some_and(|e| e == "gz") {
            let mut text = Vec::new();
            // A replay is read to its end; a damaged one would fail the test elsewhere.
            let _ = flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut text);
            text
        } else {
            bytes
        };
        found.push((
            path.display().to_string(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
}

/// The race file: five endpoints through the proxy at `p` (or to the key quoter, or to a
/// closed port) that carry the secrets every way a user can give them.
fn race_file_text(p: SocketAddr) -> String {
    let dead = closed_port();
    let quoter = key_quoter();
    format!(
        r#"name = "secrets"
[workload]
max_tokens = 8
[load]
requests = 3
concurrency = 1
[[endpoint]]
name = "env"
protocol = "openai"
base_url = "http://{p}/v1"
model = "m"
[[endpoint]]
name = "query"
protocol = "anthropic"
base_url = "http://{p}/v1?key={URL_KEY}&api-key={URL_KEY}"
model = "m"
headers = {{ "Authorization" = "Bearer ${{LLMRACE_TEST_HEADER_KEY}}" }}
[[endpoint]]
name = "rejected"
protocol = "openai"
base_url = "http://{p}/v1?api-key={URL_KEY}"
model = "m"
api_key_env = "LLMRACE_TEST_KEY"
headers = {{ "x-mock-fault" = "http_401" }}
[[endpoint]]
name = "quoted"
protocol = "openai"
base_url = "http://{quoter}/v1"
model = "m"
api_key_env = "LLMRACE_TEST_KEY"
[[endpoint]]
name = "refused"
protocol = "ollama"
base_url = "http://127.0.0.1:{dead}?key={URL_KEY}"
model = "m"
api_key_env = "LLMRACE_TEST_KEY"
"#
    )
}

#[test]
fn no_secret_reaches_any_file_or_output() {
    let (_runtime, server) = mock();
    let proxy = Proxy::start(server.addr());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = out.join("run");
    // The race file is the user's own and holds a URL key, as such files do: it stays outside
    // the folder that is searched.
    let race_file = dir.path().join("race.toml");
    std::fs::write(&race_file, race_file_text(proxy.addr)).unwrap();

    let run_dir = run.display().to_string();
    let mut outputs = Vec::new();
    let (code, text) = llmrace(&[
        "race",
        &race_file.display().to_string(),
        "--headless",
        "--api-key-env",
        "env=LLMRACE_TEST_KEY",
        "-o",
        &run_dir,
    ]);
    assert_eq!(code, 0, "{text}");
    outputs.push(("race".to_string(), text));

    // The secrets did go out, each where it belongs.
    let sent = proxy.seen();
    assert!(sent.contains(&format!("Bearer {ENV_KEY}")), "{sent}");
    assert!(sent.contains(&format!("Bearer {HEADER_KEY}")), "{sent}");
    assert!(
        sent.contains(&format!("?key={URL_KEY}&api-key={URL_KEY}")),
        "{sent}"
    );
    // And the race did what it should: successes, a 401, a refused connection.
    let summary = std::fs::read_to_string(run.join("summary.json")).unwrap();
    assert!(summary.contains("\"auth\""), "{summary}");
    // The server's own words stay, with the key it quoted blanked.
    let records = std::fs::read_to_string(run.join("requests.jsonl")).unwrap();
    assert!(
        records.contains("Incorrect API key provided: Bearer REDACTED"),
        "{records}"
    );
    assert!(summary.contains("\"connect\""), "{summary}");

    for format in ["text", "md", "json", "csv", "html"] {
        let (code, text) = llmrace(&["report", &run_dir, "-f", format]);
        assert_eq!(code, 0, "{text}");
        outputs.push((format!("report -f {format}"), text));
        let file = out.join(format!("report.{format}"));
        let (code, text) = llmrace(&[
            "report",
            &run_dir,
            "-f",
            format,
            "-o",
            &file.display().to_string(),
        ]);
        assert_eq!(code, 0, "{text}");
    }
    let rebuilt = out.join("rebuilt").display().to_string();
    outputs.push((
        "report --results".to_string(),
        llmrace(&["report", &run_dir, "--results", &rebuilt]).1,
    ));
    outputs.push((
        "replay".to_string(),
        llmrace(&["replay", "--headless", &run_dir]).1,
    ));
    for format in ["text", "md"] {
        outputs.push((
            format!("compare -f {format}"),
            llmrace(&["compare", &run_dir, &rebuilt, "--format", format]).1,
        ));
    }
    // The shared page and recording (llmrace share) carry the race's text: no key either.
    for name in ["share.html", "share.cast"] {
        let file = out.join(name).display().to_string();
        let (code, text) = llmrace(&["share", &run_dir, "-o", &file]);
        assert_eq!(code, 0, "{text}");
        outputs.push((format!("share -o {name}"), text));
    }

    let mut files = Vec::new();
    every_file(&out, &mut files);
    assert!(files.len() >= 14, "{} files searched", files.len());
    for (what, text) in outputs.iter().chain(&files) {
        for secret in SECRETS {
            assert!(
                !text.contains(secret),
                "{secret} leaked into {what}:\n{text}"
            );
        }
    }
    // What the files say instead.
    let run_json = std::fs::read_to_string(run.join("run.json")).unwrap();
    assert!(run_json.contains("key=REDACTED"), "{run_json}");
    assert!(
        run_json.contains("${LLMRACE_TEST_HEADER_KEY}"),
        "{run_json}"
    );
}

/// A one-trick HTTP server: every request's head goes to `respond`, whose answer is sent back.
fn server(respond: impl Fn(&str) -> String + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let respond = Arc::new(respond);
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { break };
            let respond = Arc::clone(&respond);
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while let Ok(n) = client.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    head.extend_from_slice(&buf[..n]);
                    // Bodies are small JSON: once the head is in, answer (the rest is dropped).
                    if head.windows(4).any(|w| w == b"\r\n\r\n") {
                        let answer = respond(&String::from_utf8_lossy(&head));
                        let _ = client.write_all(answer.as_bytes());
                        head.clear();
                    }
                }
            });
        }
    });
    addr
}

/// A server that answers everything with a redirect to `to`.
fn redirector(to: &str) -> SocketAddr {
    let response =
        format!("HTTP/1.1 307 Temporary Redirect\r\nlocation: {to}\r\ncontent-length: 0\r\n\r\n");
    server(move |_| response.clone())
}

/// A server that refuses every key, quoting it back as some servers do.
fn key_quoter() -> SocketAddr {
    server(|head| {
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("authorization: "))
            .unwrap_or("none");
        let body = format!(
            r#"{{"error":{{"message":"Incorrect API key provided: {key}","type":"invalid_request_error"}}}}"#
        );
        format!(
            "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
    })
}

#[test]
fn a_redirect_is_never_followed_so_the_key_stays_home() {
    // Where the redirect points: another host (port) that must never be contacted.
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let target = format!(
        "http://{}/v1/chat/completions?key={URL_KEY}",
        elsewhere.local_addr().unwrap()
    );
    let from = redirector(&target);
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let (code, text) = llmrace(&[
        "--headless",
        "-e",
        &format!("moved=openai:http://{from}/v1#m"),
        "--api-key-env",
        "moved=LLMRACE_TEST_KEY",
        "-n",
        "2",
        "-o",
        &run.display().to_string(),
    ]);
    assert_eq!(code, 0, "{text}");
    // Nobody knocked on the other door: a connection would be waiting to be accepted.
    assert_eq!(
        elsewhere.accept().map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock,
        "the client followed the redirect"
    );
    let records = std::fs::read_to_string(run.join("requests.jsonl")).unwrap();
    assert_eq!(records.lines().count(), 2);
    for line in records.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(record["outcome"], "failed", "{record}");
        let message = record["error_message"].as_str().unwrap();
        assert!(message.contains("redirected to"), "{message}");
        assert!(message.contains("key=REDACTED"), "{message}");
    }
    assert!(!text.contains(URL_KEY) && !text.contains(ENV_KEY), "{text}");
}
