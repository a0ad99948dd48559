//! Races over HTTPS, the way every hosted provider is reached: the real binary against the
//! built-in mock behind a TLS terminator on 127.0.0.1, with a certificate from a test CA made
//! for each run. Trust comes from `SSL_CERT_FILE`, as for curl, Python and OpenSSL tools.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use crate::common::running::{self, BIN};
use llmrace::mock::{MockServer, Profile};
use llmrace::protocol::Protocol;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::net::TcpListener;

/// The mock's first-token delay: a request timed through TLS must never show less.
const MOCK_TTFT_MS: f64 = 40.0;

/// A certificate authority of this test alone.
pub(crate) struct Authority {
    pub(crate) pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Authority {
    pub(crate) fn new(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Authority {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for 127.0.0.1 signed by this authority, and its key.
    pub(crate) fn server_config(&self) -> rustls::ServerConfig {
        let params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap()
    }
}

/// The mock on 127.0.0.1, and in front of it a TLS terminator: the HTTPS origin to race.
pub(crate) struct HttpsMock {
    mock: MockServer,
    pub(crate) https: std::net::SocketAddr,
    /// Runs the mock and the terminator; dropped last (fields drop in order).
    _runtime: tokio::runtime::Runtime,
}

impl HttpsMock {
    pub(crate) fn start(tls: rustls::ServerConfig) -> HttpsMock {
        HttpsMock::start_with(tls, "")
    }

    /// As [`HttpsMock::start`], the mock's profile given more settings (`,key=value…`).
    fn start_with(tls: rustls::ServerConfig, more: &str) -> HttpsMock {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let profile = format!("instant,ttft={MOCK_TTFT_MS}ms,tokens=8{more}");
        let profile = Profile::parse(&profile).unwrap();
        let mock = runtime
            .block_on(MockServer::start(([127, 0, 0, 1], 0).into(), profile))
            .unwrap();
        let plain = mock.addr();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let https = listener.local_addr().unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that rejects the certificate ends the handshake: nothing to relay.
                    let Ok(mut client) = acceptor.accept(client).await else {
                        return;
                    };
                    let mut server = tokio::net::TcpStream::connect(plain).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
            }
        });
        HttpsMock {
            mock,
            https,
            _runtime: runtime,
        }
    }

    /// The endpoint spec of the HTTPS origin, as `base_url` gives it for plain HTTP.
    pub(crate) fn endpoint(&self) -> String {
        let plain = self.mock.base_url(Protocol::OpenAiChat);
        let url = plain.replace(
            &format!("http://{}", self.mock.addr()),
            &format!("https://{}", self.https),
        );
        assert!(url.starts_with("https://"), "{plain} was not rewritten");
        format!("secure=openai:{url}#mock")
    }
}

/// Runs a headless race of 6 requests at concurrency 2 against `endpoint`, trusting what
/// `cert_file` holds; returns the exit code and everything printed.
fn race(endpoint: &str, cert_file: &Path, out: &Path) -> (i32, String) {
    race_with(endpoint, &[("SSL_CERT_FILE", cert_file)], out)
}

/// As [`race`], with the trust settings `trust` (variable, path) alone.
fn race_with(endpoint: &str, trust: &[(&str, &Path)], out: &Path) -> (i32, String) {
    let mut command = Command::new(BIN);
    command
        .args([
            "race",
            "--headless",
            "-q",
            "-n",
            "6",
            "-c",
            "2",
            "-e",
            endpoint,
        ])
        // The server's connections and requests are counted: no `/metrics` scrape among them.
        .arg("--server-metrics")
        .arg(format!(
            "{}=off",
            endpoint.split('=').next().unwrap_or_default()
        ))
        .arg("--out")
        .arg(out)
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .env("NO_COLOR", "1");
    for (name, path) in trust {
        command.env(name, path);
    }
    running::run_to_end(&mut command)
}

/// What a race over HTTPS left: the server, the exit code, the output, the request records.
struct Raced {
    server: HttpsMock,
    code: i32,
    text: String,
    records: Vec<serde_json::Value>,
}

/// Races the HTTPS mock, whose certificate `signer` signed, trusting only `trusted`; `endpoint`
/// makes the endpoint spec from the server.
fn race_trusting(
    trusted: &Authority,
    signer: &Authority,
    endpoint: impl Fn(&HttpsMock) -> String,
) -> Raced {
    let server = HttpsMock::start(signer.server_config());
    let dir = tempfile::tempdir().unwrap();
    let cert_file = dir.path().join("trusted.pem");
    std::fs::write(&cert_file, &trusted.pem).unwrap();
    let out = dir.path().join("race");
    let (code, text) = race(&endpoint(&server), &cert_file, &out);
    let records = std::fs::read_to_string(out.join("requests.jsonl"))
        .unwrap_or_else(|e| panic!("{e}: {text}"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    Raced {
        server,
        code,
        text,
        records,
    }
}

#[test]
fn a_race_over_https_measures_every_request_through_tls() {
    let authority = Authority::new("llmrace test CA");
    let raced = race_trusting(&authority, &authority, HttpsMock::endpoint);
    assert_eq!(raced.code, 0, "{}", raced.text);
    assert_eq!(raced.records.len(), 6, "{}", raced.text);
    for r in &raced.records {
        assert_eq!(r["outcome"], "succeeded", "{r}");
        // Timed from bytes read under TLS: never before the server sent its first token.
        let ttft = r["ttft_ms"].as_f64().unwrap();
        assert!(
            ttft >= MOCK_TTFT_MS,
            "TTFT {ttft} ms under the mock's {MOCK_TTFT_MS}"
        );
        // Timed from when the request was written under TLS: its answer came after.
        assert!(r["ttfb_ms"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["ttlt_ms"].as_f64().unwrap() >= ttft, "{r}");
        assert_eq!(r["output_tokens"], 8, "{r}");
    }
    // Two workers, each with one connection opened (and its TLS handshake made) before the
    // race and reused by every request.
    assert!(raced.records.iter().all(|r| r["new_connection"] == false));
    assert_eq!(raced.server.mock.stats().connections_accepted, 2);
}

/// A server that closes after each stream, as llama.cpp's does, behind TLS: the terminator
/// sends `close_notify` before its FIN. Those bytes are no answer: a connection holding them is
/// not reused, and a request sent as they came is sent again, not failed.
#[test]
fn a_server_closing_after_each_stream_loses_no_request_over_tls() {
    let authority = Authority::new("llmrace test CA");
    let server = HttpsMock::start_with(authority.server_config(), ",close_after_stream=2ms");
    let dir = tempfile::tempdir().unwrap();
    let cert_file = dir.path().join("trusted.pem");
    std::fs::write(&cert_file, &authority.pem).unwrap();
    let out = dir.path().join("race");
    let (code, text) = race(&server.endpoint(), &cert_file, &out);
    assert_eq!(code, 0, "{text}");
    let records: Vec<serde_json::Value> = std::fs::read_to_string(out.join("requests.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 6, "{text}");
    for r in &records {
        assert_eq!(r["outcome"], "succeeded", "{r}");
    }
    // Each worker's requests after its first found their connection closed.
    let connected = records.iter().filter(|r| r["new_connection"] == true);
    assert!(connected.count() >= 4, "{records:?}");
    assert_eq!(
        server.mock.stats().requests,
        6 + 2,
        "each once, and a warm-up per worker"
    );
}

#[test]
fn an_untrusted_certificate_fails_each_request_with_what_to_do() {
    let authority = Authority::new("llmrace test CA");
    let stranger = Authority::new("some other CA");
    let raced = race_trusting(&stranger, &authority, HttpsMock::endpoint);
    // Failed requests are results: the race ran.
    assert_eq!(raced.code, 0, "{}", raced.text);
    assert!(!raced.records.is_empty(), "{}", raced.text);
    for r in &raced.records {
        assert_eq!(r["outcome"], "failed", "{r}");
        assert_eq!(r["error_class"], "connect", "{r}");
        let message = r["error_message"].as_str().unwrap();
        assert!(message.contains("certificate"), "{message}");
        assert!(message.contains("SSL_CERT_FILE"), "{message}");
    }
    assert_eq!(raced.server.mock.stats().connections_accepted, 0);
}

#[test]
fn a_plain_http_server_behind_an_https_url_is_named() {
    let authority = Authority::new("llmrace test CA");
    // The mock itself speaks plain HTTP.
    let raced = race_trusting(&authority, &authority, |server| {
        format!("plain=openai:https://{}/v1#mock", server.mock.addr())
    });
    assert_eq!(raced.code, 0, "{}", raced.text);
    assert!(!raced.records.is_empty(), "{}", raced.text);
    for r in &raced.records {
        assert_eq!(r["error_class"], "connect", "{r}");
        let message = r["error_message"].as_str().unwrap();
        assert!(message.contains("try an http:// URL"), "{message}");
    }
}

#[test]
fn a_certificate_file_without_certificates_is_refused_before_the_race() {
    let authority = Authority::new("llmrace test CA");
    let server = HttpsMock::start(authority.server_config());
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.pem");
    let not_pem = dir.path().join("notes.pem");
    std::fs::write(&not_pem, "no certificate here\n").unwrap();
    for (file, why) in [
        (&missing, "cannot be read"),
        (&not_pem, "holds no PEM certificate"),
    ] {
        let out = dir.path().join("race");
        let (code, text) = race(&server.endpoint(), file, &out);
        assert_eq!(code, 2, "{text}");
        assert!(
            text.contains(&format!("SSL_CERT_FILE={}", file.display())),
            "{text}"
        );
        assert!(text.contains(why), "{text}");
        assert!(
            !out.exists(),
            "nothing is written for a race that did not start"
        );
    }
    assert_eq!(server.mock.stats().connections_accepted, 0);
}

#[test]
fn a_certificate_folder_is_trusted_beside_a_missing_file() {
    let authority = Authority::new("llmrace test CA");
    let server = HttpsMock::start(authority.server_config());
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("certs");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("private-ca.pem"), &authority.pem).unwrap();
    let missing = dir.path().join("nowhere.pem");
    let out = dir.path().join("race");
    let trust = [
        ("SSL_CERT_FILE", missing.as_path()),
        ("SSL_CERT_DIR", &folder),
    ];
    let (code, text) = race_with(&server.endpoint(), &trust, &out);
    assert_eq!(code, 0, "{text}");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(summary["endpoints"][0]["counts"]["succeeded"], 6, "{text}");
}

#[test]
fn certificate_settings_do_not_touch_a_race_without_https() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.pem");
    let out = dir.path().join("race");
    let (code, text) = race("m=openai:mock://instant,tokens=4#m", &missing, &out);
    assert_eq!(code, 0, "{text}");
    assert!(out.join("summary.json").exists(), "{text}");
}

/// Races 8 requests at concurrency 4 over HTTPS to a server whose TLS offers `h2` and
/// `http/1.1` by ALPN, with `flags`: the HTTP version run.json records and the connections the
/// server accepted.
fn race_alpn(flags: &[&str]) -> (serde_json::Value, u64) {
    let authority = Authority::new("llmrace test CA");
    let mut tls = authority.server_config();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let server = HttpsMock::start(tls);
    let dir = tempfile::tempdir().unwrap();
    let cert_file = dir.path().join("trusted.pem");
    std::fs::write(&cert_file, &authority.pem).unwrap();
    let out = dir.path().join("race");
    let mut command = Command::new(BIN);
    command
        .args(["race", "--headless", "-q", "-n", "8", "-c", "4", "-e"])
        .arg(server.endpoint())
        .args(["--server-metrics", "secure=off"])
        .args(flags)
        .arg("--out")
        .arg(&out)
        .env_remove("SSL_CERT_DIR")
        .env("SSL_CERT_FILE", &cert_file)
        .env("NO_COLOR", "1");
    let (code, text) = running::run_to_end(&mut command);
    assert_eq!(code, 0, "{text}");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(summary["endpoints"][0]["counts"]["succeeded"], 8, "{text}");
    let run = std::fs::read_to_string(out.join("run.json")).unwrap();
    let run: serde_json::Value = serde_json::from_str(&run).unwrap();
    let version = run["endpoints"][0]["http_version"].clone();
    (version, server.mock.stats().connections_accepted)
}

/// A TLS server that offers HTTP/2 by ALPN is spoken HTTP/2: the four workers share one
/// connection.
#[test]
fn alpn_negotiates_http2_and_workers_share_its_connection() {
    assert_eq!(race_alpn(&[]), (serde_json::json!("2"), 1));
}

/// `--http1-only` offers only http/1.1: four workers, four connections.
#[test]
fn http1_only_refuses_http2_offered_by_alpn() {
    assert_eq!(race_alpn(&["--http1-only"]), (serde_json::json!("1.1"), 4));
}

/// HTTP/2 alone to a TLS server that speaks only HTTP/1.1: the handshake fails, and the message
/// says what to change.
#[test]
fn http2_alone_to_an_http1_server_says_what_to_do() {
    let authority = Authority::new("llmrace test CA");
    let mut tls = authority.server_config();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let server = HttpsMock::start(tls);
    let dir = tempfile::tempdir().unwrap();
    let cert_file = dir.path().join("trusted.pem");
    std::fs::write(&cert_file, &authority.pem).unwrap();
    let out = dir.path().join("race");
    let mut command = Command::new(BIN);
    command
        .args([
            "race",
            "--headless",
            "-n",
            "1",
            "--http2-prior-knowledge",
            "-e",
        ])
        .arg(server.endpoint())
        .args(["--server-metrics", "secure=off", "--out"])
        .arg(&out)
        .env_remove("SSL_CERT_DIR")
        .env("SSL_CERT_FILE", &cert_file)
        .env("NO_COLOR", "1");
    let (_, text) = running::run_to_end(&mut command);
    assert!(text.contains("NoApplicationProtocol"), "{text}");
    assert!(text.contains(r#"try http = "auto""#), "{text}");
    assert_eq!(server.mock.stats().requests, 0);
}
