//! Where a target's connections go: the scheme, host and port of a URL, checked, and the path
//! to ask for on it.

/// Where a target's connections go: scheme, host and port of its base URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// The `Host` header: the host, and the port when it is not the scheme's default.
    pub authority: String,
    /// The HTTP proxy connections go through (`connection/proxy.rs`), if any.
    pub proxy: Option<std::sync::Arc<crate::proxy_env::ProxyUrl>>,
}

impl Origin {
    /// The origin of `url` and the path (with query) to request on it.
    pub fn parse(url: &str) -> Result<(Origin, String), String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("`{url}` is not a URL: {e}"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("`{url}` must start with http:// or https://")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("`{url}` has no host"))?;
        if authority.as_str().contains('@') {
            return Err(
                "credentials in the URL are not supported: use api_key_env or headers".into(),
            );
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = crate::config::authority_port(authority.as_str())
            .map_err(|e| format!("`{}`: {e}", crate::secret::redact_url(url)))?
            .unwrap_or(if https { 443 } else { 80 });
        let path = uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
        Ok((
            Origin {
                https,
                host,
                port,
                authority: authority.as_str().to_string(),
                proxy: None,
            },
            path,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_paths() {
        let (o, path) =
            Origin::parse("http://127.0.0.1:8000/proxy/v1/chat/completions?x=1").unwrap();
        assert_eq!(
            (o.https, o.host.as_str(), o.port),
            (false, "127.0.0.1", 8000)
        );
        assert_eq!(o.authority, "127.0.0.1:8000");
        assert_eq!(path, "/proxy/v1/chat/completions?x=1");
        let (o, path) = Origin::parse("https://api.example.com/v1/messages").unwrap();
        assert_eq!(
            (o.https, o.port, o.authority.as_str()),
            (true, 443, "api.example.com")
        );
        assert_eq!(path, "/v1/messages");
        let (o, _) = Origin::parse("http://[::1]:9/").unwrap();
        assert_eq!(o.host, "::1");
        assert!(Origin::parse("ftp://x/").is_err());
        assert!(Origin::parse("http://user:pw@x/").is_err());
    }

    #[test]
    fn a_port_out_of_range_is_an_error_not_the_default_port() {
        for port in ["99999", "65536", "-5", "abc", "0", "+80"] {
            for host in ["127.0.0.1", "[::1]"] {
                let url = format!("http://{host}:{port}/v1");
                let err = Origin::parse(&url).unwrap_err();
                assert!(err.contains(&format!("port `{port}`")), "{url}: {err}");
            }
        }
        let (o, _) = Origin::parse("http://[::1]:8000/v1").unwrap();
        assert_eq!((o.host.as_str(), o.port), ("::1", 8000));
        let (o, _) = Origin::parse("http://127.0.0.1:/v1").unwrap();
        assert_eq!(o.port, 80);
    }
}
