//! TLS for a race's connections: the platform's trusted roots (or `SSL_CERT_FILE`'s, checked
//! at start-up with a message that says what to do), and the handshake, whose failures say what
//! they likely mean.

use std::sync::Arc;

use rustls_platform_verifier::BuilderVerifierExt;
use tokio_rustls::client::TlsStream;

use super::{ConnectFailure, Origin};
use crate::event::ErrorClass;
use crate::rx_time::TimedStream;

/// TLS settings shared by every connection of a race: the platform's trusted roots, HTTP/1.1
/// (HTTP/2 connections use [`Tls::offering`]'s).
///
/// On Linux those roots are the system's, or what `SSL_CERT_FILE` and `SSL_CERT_DIR` name, as
/// for OpenSSL, curl and Python's clients.
#[derive(Clone)]
pub struct Tls(Arc<rustls::ClientConfig>);

impl Tls {
    pub fn new() -> Result<Tls, String> {
        // With a folder named as well, the verifier trusts what loads from either.
        if CERT_ENV_READ && std::env::var_os("SSL_CERT_DIR").is_none_or(|dir| dir.is_empty()) {
            check_cert_file(std::env::var_os(CERT_FILE_VAR).as_deref())?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_platform_verifier()
            .map_err(|e| format!("cannot load the system's trusted certificates: {e}"))?
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls(Arc::new(config)))
    }

    /// The same settings, offering by ALPN what `version` allows: `h2` and `http/1.1` (auto),
    /// one of them otherwise. The server's choice is read after the handshake.
    pub(super) fn offering(&self, version: crate::config::HttpVersion) -> Tls {
        use crate::config::HttpVersion;
        let mut config = (*self.0).clone();
        config.alpn_protocols = match version {
            HttpVersion::Auto => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            HttpVersion::Http1 => vec![b"http/1.1".to_vec()],
            HttpVersion::Http2 => vec![b"h2".to_vec()],
        };
        Tls(Arc::new(config))
    }

    /// The TLS handshake with `origin` over `stream`; a failure says what it likely means.
    pub(super) async fn connect(
        &self,
        origin: &Origin,
        stream: TimedStream,
    ) -> Result<TlsStream<TimedStream>, ConnectFailure> {
        let name = rustls::pki_types::ServerName::try_from(origin.host.clone()).map_err(|e| {
            (
                ErrorClass::Connect,
                format!("`{}` is not a TLS server name: {e}", origin.host),
            )
        })?;
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&self.0));
        connector.connect(name, stream).await.map_err(|e| {
            let text = e.to_string();
            // What rustls says when the other side answers in plain HTTP.
            let hint = if text.contains("corrupt message") {
                " (the server may speak plain HTTP: try an http:// URL)"
            } else if text.contains("NoApplicationProtocol") {
                " (the server speaks none of the HTTP versions offered by ALPN: http = \"2\" and \
                 --http2-prior-knowledge offer h2 alone, http = \"1.1\" and --http1-only \
                 http/1.1 alone; try http = \"auto\")"
            } else if text.contains("UnknownIssuer") && CERT_ENV_READ {
                " (signed by a CA this machine does not trust: for a private CA, set \
                 SSL_CERT_FILE to a PEM file holding its certificate and the system's)"
            } else if text.contains("UnknownIssuer") {
                " (signed by a CA this machine does not trust: for a private CA, add its \
                 certificate to the system's trusted certificates)"
            } else {
                ""
            };
            (
                ErrorClass::Connect,
                format!(
                    "the TLS handshake with {} failed: {text}{hint}",
                    origin.authority
                ),
            )
        })
    }
}

/// The variable that replaces the system's trusted certificates with a file's.
const CERT_FILE_VAR: &str = "SSL_CERT_FILE";

/// Whether the verifier reads `SSL_CERT_FILE` and `SSL_CERT_DIR` here (through
/// rustls-native-certs): Unix but not Apple or Android. Elsewhere the OS store alone decides.
const CERT_ENV_READ: bool = cfg!(all(
    unix,
    not(target_vendor = "apple"),
    not(target_os = "android")
));

/// A certificate file that cannot be read or holds no certificate leaves the verifier with
/// nothing to trust; it refuses at start-up with a message that names neither the variable nor
/// the file. This names both and says what to do.
fn check_cert_file(path: Option<&std::ffi::OsStr>) -> Result<(), String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let Some(path) = path else {
        return Ok(());
    };
    let shown = std::path::Path::new(path).display();
    let what_to_do = "point it at a PEM file of the certificates to trust, or unset it to trust \
                      the system's";
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{CERT_FILE_VAR}={shown} cannot be read ({e}): {what_to_do}"))?;
    if certs.flatten().count() == 0 {
        return Err(format!(
            "{CERT_FILE_VAR}={shown} holds no PEM certificate: {what_to_do}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cert_file_must_hold_certificates() {
        assert_eq!(check_cert_file(None), Ok(()));
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let e = check_cert_file(Some(missing.as_os_str())).unwrap_err();
        assert!(e.starts_with("SSL_CERT_FILE="), "{e}");
        assert!(
            e.contains("missing.pem") && e.contains("cannot be read"),
            "{e}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = check_cert_file(Some(empty.as_os_str())).unwrap_err();
        assert!(e.contains("holds no PEM certificate"), "{e}");
        assert!(e.contains("unset it"), "{e}");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let good = dir.path().join("ca.pem");
        std::fs::write(&good, format!("junk before\n{}", cert.pem())).unwrap();
        assert_eq!(check_cert_file(Some(good.as_os_str())), Ok(()));
    }
}
