//! Races through an HTTP proxy on 127.0.0.1: the real binary, the proxy named by the
//! environment as curl reads it (or `--proxy`), an http endpoint (absolute-form requests) and
//! an https one (a CONNECT tunnel, TLS end to end), with credentials that must never appear in
//! any output; `NO_PROXY` and `--no-proxy` going direct; a proxy's refusal named. First
//! against a proxy written in the test (`common/proxy.rs`), then against Debian's `tinyproxy`
//! (ignored by default: `.ci/run` installs it and runs `proxy::tinyproxy` with `--ignored`).
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::io::Read;
use std::path::Path;
use std::process::Command;

use crate::common::proxy::{Behaviour, TinyProxy};
use crate::common::running::{self, BIN};
use crate::tls::{Authority, HttpsMock};
use llmrace::mock::{MockServer, Profile};
use llmrace::protocol::Protocol;

const USER: &str = "racer";
const PASSWORD: &str = "pr0xy-Pa55word";
/// `Basic base64("racer:pr0xy-Pa55word")`.
const AUTHORIZATION: &str = "Basic cmFjZXI6cHIweHktUGE1NXdvcmQ=";

/// An http mock on 127.0.0.1, kept running by its runtime.
struct HttpMock {
    mock: MockServer,
    _runtime: tokio::runtime::Runtime,
}

impl HttpMock {
    fn start() -> HttpMock {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let profile = Profile::parse("instant,ttft=5ms,tokens=8").unwrap();
        let mock = runtime
            .block_on(MockServer::start(([127, 0, 0, 1], 0).into(), profile))
            .unwrap();
        HttpMock {
            mock,
            _runtime: runtime,
        }
    }

    fn endpoint(&self) -> String {
        format!(
            "plain=openai:{}#mock",
            self.mock.base_url(Protocol::OpenAiChat)
        )
    }
}

/// What a race left: exit code, everything printed, and the results folder.
struct Raced {
    code: i32,
    text: String,
    dir: tempfile::TempDir,
}

impl Raced {
    fn out(&self) -> std::path::PathBuf {
        self.dir.path().join("race")
    }

    /// Each endpoint's `proxy` in `run.json`.
    fn proxies(&self) -> Vec<Option<String>> {
        let run: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.out().join("run.json")).unwrap()).unwrap();
        run["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["proxy"].as_str().map(str::to_string))
            .collect()
    }

    fn succeeded(&self) -> usize {
        let records = std::fs::read_to_string(self.out().join("requests.jsonl"))
            .unwrap_or_else(|e| panic!("{e}: {}", self.text));
        records
            .lines()
            .filter(|l| l.contains("\"outcome\":\"succeeded\""))
            .count()
    }

    /// The password is nowhere: not printed, not in any file (the replay read unzipped).
    fn assert_no_password(&self) {
        assert!(!self.text.contains(PASSWORD), "{}", self.text);
        for entry in std::fs::read_dir(self.out()).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let text = if path.extension().is_some_and(|e| e == "gz") {
                let mut text = Vec::new();
                flate2::read::GzDecoder::new(&bytes[..])
                    .read_to_end(&mut text)
                    .unwrap();
                String::from_utf8_lossy(&text).into_owned()
            } else {
                String::from_utf8_lossy(&bytes).into_owned()
            };
            for secret in [PASSWORD, AUTHORIZATION, "cmFjZXI6cHIweHktUGE1NXdvcmQ"] {
                assert!(!text.contains(secret), "{} holds {secret}", path.display());
            }
        }
    }
}

/// Races `endpoint` headless (4 requests, 2 at a time), with `env` set (and every proxy
/// variable of this machine removed) and `more` arguments, trusting `cert_file` if any.
fn race(endpoint: &str, env: &[(&str, String)], more: &[&str], cert_file: Option<&Path>) -> Raced {
    let dir = tempfile::tempdir().unwrap();
    let name = endpoint.split('=').next().unwrap();
    let mut command = Command::new(BIN);
    command
        .args([
            "race",
            "--headless",
            "-q",
            "-n",
            "4",
            "-c",
            "2",
            "-e",
            endpoint,
        ])
        .args(more)
        .arg("--out")
        .arg(dir.path().join("race"))
        .env("NO_COLOR", "1")
        .env_remove("SSL_CERT_DIR");
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ] {
        command.env_remove(var);
    }
    match cert_file {
        Some(file) => command.env("SSL_CERT_FILE", file),
        None => command.env_remove("SSL_CERT_FILE"),
    };
    for (name, value) in env {
        command.env(name, value);
    }
    if !more.contains(&"--server-metrics") {
        command.args(["--server-metrics", &format!("{name}=off")]);
    }
    let (code, text) = running::run_to_end(&mut command);
    Raced { code, text, dir }
}

fn with_credentials(proxy: &TinyProxy) -> String {
    format!("http://{USER}:{PASSWORD}@{}", proxy.addr)
}

fn shown(proxy: &TinyProxy) -> String {
    format!("http://{USER}:REDACTED@{}", proxy.addr)
}

/// An https origin through the proxy, and the file that trusts its certificate.
fn https_origin() -> (HttpsMock, tempfile::TempDir, std::path::PathBuf) {
    let authority = Authority::new("llmrace proxy test CA");
    let server = HttpsMock::start(authority.server_config());
    let dir = tempfile::tempdir().unwrap();
    let cert_file = dir.path().join("trusted.pem");
    std::fs::write(&cert_file, &authority.pem).unwrap();
    (server, dir, cert_file)
}

#[test]
fn an_http_endpoint_races_through_the_proxy_with_credentials_never_shown() {
    let proxy = TinyProxy::start(Behaviour::Open(Some(AUTHORIZATION.to_string())));
    let origin = HttpMock::start();
    // `http_proxy` in lower case: curl ignores `HTTP_PROXY`.
    // The server's metrics page is scraped through the proxy too.
    let metrics = format!("plain=http://{}/metrics", origin.mock.addr());
    let raced = race(
        &origin.endpoint(),
        &[("http_proxy", with_credentials(&proxy))],
        &["--server-metrics", &metrics],
        None,
    );
    assert_eq!(raced.code, 0, "{}", raced.text);
    assert_eq!(raced.succeeded(), 4, "{}", raced.text);
    let log = proxy.log();
    let absolute = format!("http://{}/", origin.mock.addr());
    assert!(!log.is_empty(), "the proxy saw nothing");
    assert!(log.iter().all(|l| l.contains(&absolute)), "{log:?}");
    let scrape = format!("GET http://{}/metrics HTTP/1.1", origin.mock.addr());
    assert!(log.contains(&scrape), "{log:?}");
    // A replay of the race says it too.
    let (code, replayed) = running::run_to_end(
        Command::new(BIN)
            .arg("replay")
            .arg(raced.out())
            .arg("--headless")
            .env("NO_COLOR", "1"),
    );
    assert_eq!(code, 0, "{replayed}");
    assert!(
        replayed.contains(&format!("via proxy {}", shown(&proxy))),
        "{replayed}"
    );
    assert!(!replayed.contains(PASSWORD), "{replayed}");
    assert_eq!(raced.proxies(), [Some(shown(&proxy))]);
    assert!(
        raced.text.contains(&format!(
            "via proxy {} (its latency is in their figures): plain",
            shown(&proxy)
        )),
        "{}",
        raced.text
    );
    raced.assert_no_password();
}

#[test]
fn an_https_endpoint_races_through_a_connect_tunnel() {
    let proxy = TinyProxy::start(Behaviour::Open(Some(AUTHORIZATION.to_string())));
    let (origin, _dir, cert_file) = https_origin();
    let raced = race(
        &origin.endpoint(),
        &[("HTTPS_PROXY", with_credentials(&proxy))],
        &[],
        Some(&cert_file),
    );
    assert_eq!(raced.code, 0, "{}", raced.text);
    assert_eq!(raced.succeeded(), 4, "{}", raced.text);
    let tunnel = format!("CONNECT 127.0.0.1:{} HTTP/1.1", origin.https.port());
    let log = proxy.log();
    assert!(
        !log.is_empty() && log.iter().all(|l| *l == tunnel),
        "{log:?}"
    );
    assert_eq!(raced.proxies(), [Some(shown(&proxy))]);
    raced.assert_no_password();
}

#[test]
fn no_proxy_and_the_no_proxy_flag_go_direct() {
    let proxy = TinyProxy::start(Behaviour::Open(None));
    let origin = HttpMock::start();
    let via = format!("http://{}", proxy.addr);
    for (env, more) in [
        (
            vec![
                ("ALL_PROXY", via.clone()),
                ("NO_PROXY", "example.com, 127.0.0.0/8".to_string()),
            ],
            &[][..],
        ),
        (vec![("http_proxy", via.clone())], &["--no-proxy"][..]),
    ] {
        let raced = race(&origin.endpoint(), &env, more, None);
        assert_eq!(raced.code, 0, "{}", raced.text);
        assert_eq!(raced.succeeded(), 4, "{}", raced.text);
        assert_eq!(raced.proxies(), [None]);
        assert!(!raced.text.contains("via proxy"), "{}", raced.text);
    }
    assert!(proxy.log().is_empty(), "{:?}", proxy.log());
    // `--proxy` names one when no variable does.
    let raced = race(&origin.endpoint(), &[], &["--proxy", &via], None);
    assert_eq!(raced.succeeded(), 4, "{}", raced.text);
    assert_eq!(raced.proxies(), [Some(via.clone())]);
    assert!(!proxy.log().is_empty());
}

#[test]
fn a_proxy_refusing_is_a_named_failure_without_the_password() {
    let origin = HttpMock::start();
    let (https, _dir, cert_file) = https_origin();
    for (behaviour, endpoint, var, says) in [
        (
            Behaviour::Open(Some("Basic other".to_string())),
            origin.endpoint(),
            "http_proxy",
            "refused to forward the request: it answered `407 Proxy Authentication Required` \
             (it refused the credentials in the proxy URL)",
        ),
        (
            Behaviour::Open(Some("Basic other".to_string())),
            https.endpoint(),
            "https_proxy",
            "`HTTP/1.1 407 Proxy Authentication Required` (it refused the credentials",
        ),
        (
            Behaviour::Refuse("HTTP/1.1 403 Forbidden"),
            https.endpoint(),
            "https_proxy",
            "did not open a tunnel to 127.0.0.1",
        ),
    ] {
        let proxy = TinyProxy::start(behaviour);
        let raced = race(
            &endpoint,
            &[(var, with_credentials(&proxy))],
            &[],
            Some(&cert_file),
        );
        assert_eq!(raced.succeeded(), 0, "{}", raced.text);
        assert!(raced.text.contains("errors: connect ×4"), "{}", raced.text);
        // Each failed request's record says why, naming the proxy redacted.
        let records = std::fs::read_to_string(raced.out().join("requests.jsonl")).unwrap();
        for record in records.lines() {
            assert!(record.contains("\"connect\""), "{record}");
            assert!(record.contains(says), "{says}\n{record}");
            assert!(record.contains(&shown(&proxy)), "{record}");
        }
        raced.assert_no_password();
    }
}

#[test]
fn an_unusable_proxy_variable_stops_the_race_before_it_starts() {
    let (https, _dir, cert_file) = https_origin();
    for (value, says) in [
        (
            format!("socks5://{USER}:{PASSWORD}@127.0.0.1:1080"),
            "socks5:// proxy",
        ),
        (
            format!("http://{USER}:{PASSWORD}@127.0.0.1:99999"),
            "port `99999`",
        ),
    ] {
        let raced = race(
            &https.endpoint(),
            &[("HTTPS_PROXY", value)],
            &[],
            Some(&cert_file),
        );
        assert_eq!(raced.code, 2, "{}", raced.text);
        assert!(raced.text.contains("HTTPS_PROXY: "), "{}", raced.text);
        assert!(raced.text.contains(says), "{}", raced.text);
        assert!(!raced.text.contains(PASSWORD), "{}", raced.text);
    }
    // Unused (the endpoint is http), it does not matter, as in curl.
    let origin = HttpMock::start();
    let raced = race(
        &origin.endpoint(),
        &[("HTTPS_PROXY", "socks5://127.0.0.1:1080".to_string())],
        &[],
        None,
    );
    assert_eq!(raced.code, 0, "{}", raced.text);
}

/// HTTP/2 with prior knowledge cannot go through a forward proxy (it is spoken to in HTTP/1.1):
/// the race stops before it starts and says what to change, the password never shown.
#[test]
fn prior_knowledge_through_a_forward_proxy_is_refused_before_the_start() {
    let origin = HttpMock::start();
    let raced = race(
        &origin.endpoint(),
        &[(
            "http_proxy",
            format!("http://{USER}:{PASSWORD}@127.0.0.1:9"),
        )],
        &["--http2-prior-knowledge"],
        None,
    );
    assert_eq!(raced.code, 2, "{}", raced.text);
    assert!(raced.text.contains("prior knowledge"), "{}", raced.text);
    assert!(raced.text.contains("NO_PROXY"), "{}", raced.text);
    assert!(!raced.text.contains(PASSWORD), "{}", raced.text);
}

/// Debian's `tinyproxy` on 127.0.0.1 in the foreground, its own config in a temp dir, its log
/// (its standard output) collected line by line. Killed when dropped.
struct Tinyproxy {
    addr: std::net::SocketAddr,
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    log: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Tinyproxy {
    fn start(credentials: bool) -> Tinyproxy {
        use std::io::BufRead;
        let binary = std::env::var("LLMRACE_TINYPROXY").unwrap_or("/usr/bin/tinyproxy".into());
        assert!(
            Path::new(&binary).exists(),
            "{binary} is missing: apt-get install tinyproxy (or name it in LLMRACE_TINYPROXY)"
        );
        // A free port: tinyproxy takes no port 0.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let auth = if credentials {
            format!("BasicAuth {USER} {PASSWORD}\n")
        } else {
            String::new()
        };
        // No `ConnectPort` line: CONNECT to any port (the test's origins have random ones).
        let config = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nLogLevel Info\n\
             MaxClients 64\nDisableViaHeader Yes\n{auth}"
        );
        let path = dir.path().join("tinyproxy.conf");
        std::fs::write(&path, config).unwrap();
        let mut child = Command::new(&binary)
            .arg("-d")
            .arg("-c")
            .arg(&path)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // In the foreground it logs to its standard output.
        let stderr = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut proxy = Tinyproxy {
            addr: ([127, 0, 0, 1], port).into(),
            child,
            lines,
            log: Vec::new(),
            _dir: dir,
        };
        proxy.wait_for("Accepting connections");
        proxy
    }

    /// Reads the log until a line holds `text` (a minute at most).
    fn wait_for(&mut self, text: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !self.log.iter().any(|l| l.contains(text)) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.log.push(line),
                Err(
                    std::sync::mpsc::RecvTimeoutError::Timeout
                    | std::sync::mpsc::RecvTimeoutError::Disconnected,
                ) => panic!("tinyproxy never logged `{text}`:\n{}", self.log.join("\n")),
            }
        }
    }

    /// Every line logged so far.
    fn log(&mut self) -> String {
        while let Ok(line) = self.lines.try_recv() {
            self.log.push(line);
        }
        self.log.join("\n")
    }

    fn url(&self, credentials: bool) -> String {
        if credentials {
            format!("http://{USER}:{PASSWORD}@{}", self.addr)
        } else {
            format!("http://{}", self.addr)
        }
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs Debian's tinyproxy: .ci/run installs it and runs this with --ignored"]
fn tinyproxy_carries_http_and_https_races_with_and_without_credentials() {
    let (https, _dir, cert_file) = https_origin();
    for credentials in [true, false] {
        let mut proxy = Tinyproxy::start(credentials);
        let origin = HttpMock::start();
        let raced = race(
            &origin.endpoint(),
            &[("http_proxy", proxy.url(credentials))],
            &[],
            None,
        );
        assert_eq!(raced.code, 0, "{}", raced.text);
        assert_eq!(raced.succeeded(), 4, "{}\n{}", raced.text, proxy.log());
        // The requests really went through it, in absolute form.
        proxy.wait_for(&format!(
            "POST http://{}/v1/chat/completions",
            origin.mock.addr()
        ));
        raced.assert_no_password();

        let raced = race(
            &https.endpoint(),
            &[("HTTPS_PROXY", proxy.url(credentials))],
            &[],
            Some(&cert_file),
        );
        assert_eq!(raced.code, 0, "{}", raced.text);
        assert_eq!(raced.succeeded(), 4, "{}\n{}", raced.text, proxy.log());
        proxy.wait_for(&format!("CONNECT 127.0.0.1:{}", https.https.port()));
        let shown = if credentials {
            shown_at(proxy.addr)
        } else {
            proxy.url(false)
        };
        assert_eq!(raced.proxies(), [Some(shown)]);
        raced.assert_no_password();
    }
    // Going direct: the proxy never hears of this origin.
    let mut proxy = Tinyproxy::start(false);
    let origin = HttpMock::start();
    for (env, more) in [
        (
            vec![
                ("all_proxy", proxy.url(false)),
                ("no_proxy", "127.0.0.1".to_string()),
            ],
            &[][..],
        ),
        (vec![("http_proxy", proxy.url(false))], &["--no-proxy"][..]),
    ] {
        let raced = race(&origin.endpoint(), &env, more, None);
        assert_eq!(raced.succeeded(), 4, "{}", raced.text);
        assert_eq!(raced.proxies(), [None]);
    }
    let port = origin.mock.addr().port().to_string();
    assert!(!proxy.log().contains(&port), "{}", proxy.log());
    // Wrong credentials: tinyproxy's refusal named.
    let mut proxy = Tinyproxy::start(true);
    let wrong = format!("http://{USER}:not-the-password@{}", proxy.addr);
    let raced = race(
        &https.endpoint(),
        &[("https_proxy", wrong)],
        &[],
        Some(&cert_file),
    );
    assert_eq!(raced.succeeded(), 0, "{}", raced.text);
    let records = std::fs::read_to_string(raced.out().join("requests.jsonl")).unwrap();
    // tinyproxy refuses a tunnel's credentials with a 401.
    assert!(
        records.contains("Unauthorized` (it refused the credentials in the proxy URL)"),
        "{records}\n{}",
        proxy.log()
    );
    assert!(!records.contains("not-the-password"), "{records}");
}

fn shown_at(addr: std::net::SocketAddr) -> String {
    format!("http://{USER}:REDACTED@{addr}")
}

/// Shards of one race, one through the proxy and one direct, or both through it: `llmrace
/// merge` and every `llmrace report` format say which, and a mix names no proxy for the race.
#[test]
fn merged_shards_and_reports_say_which_went_through_the_proxy() {
    let proxy = TinyProxy::start(Behaviour::Open(Some(AUTHORIZATION.to_string())));
    let origin = HttpMock::start();
    let via = [("http_proxy", with_credentials(&proxy))];
    let shard = |k: &str, env: &[(&str, String)]| {
        let raced = race(
            &origin.endpoint(),
            env,
            &["--shard", k, "--seed", "3"],
            None,
        );
        assert_eq!(raced.code, 0, "{}", raced.text);
        raced
    };
    let merge = |shards: [&Raced; 2], out: &Path| {
        let (code, text) = running::run_to_end(
            Command::new(BIN)
                .arg("merge")
                .args(shards.map(Raced::out))
                .arg("-o")
                .arg(out)
                .env("NO_COLOR", "1"),
        );
        assert_eq!(code, 0, "{text}");
        text
    };
    let report = |dir: &Path, format: &str| {
        let (code, text) = running::run_to_end(
            Command::new(BIN)
                .args(["report", "--format", format])
                .arg(dir)
                .env("NO_COLOR", "1"),
        );
        assert_eq!(code, 0, "{text}");
        text
    };
    let line = format!(
        "via proxy {} (its latency is in their figures): plain",
        shown(&proxy)
    );
    let (s0, s1) = (shard("0/2", &via), shard("1/2", &via));
    let dir = tempfile::tempdir().unwrap();
    let both = dir.path().join("both");
    let text = merge([&s0, &s1], &both);
    assert!(text.contains(&line), "{text}");
    for format in ["text", "md", "html"] {
        let text = report(&both, format);
        assert!(text.contains(&line), "{format}: {text}");
    }
    assert!(report(&both, "csv").contains(&format!(",{}\n", shown(&proxy))));
    // One direct: no proxy claimed for the race, each shard's way said.
    let direct = shard("1/2", &[]);
    let mixed = dir.path().join("mixed");
    let text = merge([&s0, &direct], &mixed);
    let notice = format!(
        "endpoint plain: shard 0/2 went through the proxy {}, shard 1/2 direct;",
        shown(&proxy)
    );
    assert!(text.contains(&notice), "{text}");
    assert!(!text.contains("via proxy"), "{text}");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(mixed.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["endpoints"][0].get("proxy"), None, "{run}");
    for format in ["text", "md", "html"] {
        let text = report(&mixed, format);
        assert!(!text.contains("via proxy"), "{format}: {text}");
        assert!(text.contains("went through the proxy"), "{format}: {text}");
    }
    for raced in [&s0, &s1, &direct] {
        raced.assert_no_password();
    }
}
