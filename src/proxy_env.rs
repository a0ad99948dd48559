//! HTTP proxies found as curl finds them: `https_proxy`/`HTTPS_PROXY`, `http_proxy` (lower case
//! only), `all_proxy`/`ALL_PROXY`, `no_proxy`/`NO_PROXY` (lower case wins, an empty value is
//! unset), or `--proxy URL`; and which endpoint goes through which. A proxy URL is checked
//! here, its credentials kept out of every `Debug` and `Display` (`ProxyUrl::shown` is the
//! redacted URL, the only form that leaves the process).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine;

/// Where a race's proxies come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ProxyChoice {
    /// The environment, as curl reads it (the default).
    #[default]
    Env,
    /// `--no-proxy`: none, whatever the environment says.
    Off,
    /// `--proxy URL`: this one for every endpoint (`NO_PROXY` still exempts hosts, as in curl).
    Url(String),
}

/// Why a proxy URL whose user name or password holds a `/`, `?` or `#` as it is is refused.
const UNENCODED_CREDENTIALS: &str = "its user name or password holds a character that must be \
     percent-encoded in a URL: write `@` as %40, `:` as %3A, `/` as %2F (and `?` as %3F, `#` \
     as %23, `%` as %25): a password `a@b/c` is written `a%40b%2Fc`";

/// The port of a proxy URL that names none: curl's.
pub const DEFAULT_PROXY_PORT: u16 = 1080;

/// An HTTP proxy: where to connect, and the `Proxy-Authorization` to send it.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    host: String,
    port: u16,
    /// `Basic base64(user:password)`, when the URL has credentials.
    authorization: Option<String>,
    /// The password, to be blanked wherever text leaves the process.
    password: Option<String>,
    /// The URL as every file and message shows it: `http://user:REDACTED@host:port`.
    shown: String,
}

impl ProxyUrl {
    /// Parses a proxy URL (`[http://][user[:password]@]host[:port][/]`) given by `from` (the
    /// variable or flag, for messages).
    pub fn parse(text: &str, from: &str) -> Result<ProxyUrl, ProxyError> {
        let text = text.trim();
        let shown = redact_userinfo(text);
        let bad = |problem: &str| ProxyError::Malformed {
            from: from.to_string(),
            shown: shown.clone(),
            problem: problem.to_string(),
        };
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("http".to_string(), text),
        };
        match scheme.as_str() {
            "http" => {}
            "https" | "socks4" | "socks4a" | "socks5" | "socks5h" => {
                return Err(ProxyError::Unsupported {
                    from: from.to_string(),
                    shown,
                    scheme,
                });
            }
            _ => return Err(bad("the scheme must be http:// (or none)")),
        }
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            // A `/` (or `?`, `#`) before the last `@` is in the credentials, not a path.
            let in_userinfo = authority
                .rsplit_once('@')
                .is_some_and(|(userinfo, _)| userinfo.contains(['/', '?', '#']));
            return Err(bad(if in_userinfo {
                UNENCODED_CREDENTIALS
            } else {
                "a proxy URL has no path, query or fragment"
            }));
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport).map_err(|p| bad(&p))?;
        let (authorization, password) = match userinfo {
            None => (None, None),
            Some(userinfo) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let decode = |part: &str| {
                    percent_encoding::percent_decode_str(part)
                        .decode_utf8()
                        .map(std::borrow::Cow::into_owned)
                        .map_err(|_| bad("the credentials are not valid UTF-8 once decoded"))
                };
                let (user, password) = (decode(user)?, decode(password)?);
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                (
                    Some(format!("Basic {token}")),
                    (!password.is_empty()).then_some(password),
                )
            }
        };
        let port = port.unwrap_or(DEFAULT_PROXY_PORT);
        let user = userinfo.map_or(String::new(), |u| match u.split_once(':') {
            Some((user, _)) => format!("{user}:{}@", crate::secret::REDACTED),
            None => format!("{u}@"),
        });
        let bracketed = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        let shown = format!("http://{user}{bracketed}:{port}");
        Ok(ProxyUrl {
            host,
            port,
            authorization,
            password,
            shown,
        })
    }

    /// The proxy's host name or address (an IPv6 address without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The redacted URL: the only form of it any output carries.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The `Proxy-Authorization` header's value, when the URL has credentials.
    pub fn authorization(&self) -> Option<&str> {
        self.authorization.as_deref()
    }

    /// What must be blanked wherever text leaves the process: the password and the header.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        self.password
            .as_deref()
            .into_iter()
            .chain(self.authorization.as_deref())
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyUrl({})", self.shown)
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// `text` with everything before the last `@` of its authority blanked: a malformed URL is
/// shown without what may be a password, wherever its slashes are.
fn redact_userinfo(text: &str) -> String {
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), text),
    };
    match rest.rsplit_once('@') {
        Some((_, after)) => format!("{scheme}{}@{after}", crate::secret::REDACTED),
        None => text.to_string(),
    }
}

/// `host[:port]` with `[v6]` brackets taken off; the port when one is given.
fn split_host_port(hostport: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address is missing its closing `]`")?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or("unexpected text after the IPv6 address")?,
            ),
        };
        (host, port)
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err("no host".to_string());
    }
    if host.contains(|c: char| c.is_whitespace() || c.is_control() || c == '@') {
        return Err("the host has a character no host name has".to_string());
    }
    let port = match port {
        None | Some("") => None,
        Some(port) => Some(
            port.parse::<u16>()
                .ok()
                .filter(|p| *p != 0 && port.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| format!("port `{port}` is not a port (1 to 65535)"))?,
        ),
    };
    Ok((host.to_string(), port))
}

/// A proxy setting that cannot be used. Messages name where it came from and show the URL
/// redacted, never a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error(
        "{from}: `{shown}` is not a proxy URL: {problem}\n  help: write it as \
         http://[user:password@]host:port, or pass --no-proxy to ignore the proxy variables"
    )]
    Malformed {
        from: String,
        shown: String,
        problem: String,
    },
    #[error(
        "{from}: `{shown}` is a {scheme}:// proxy, which llmrace does not support (only \
         http:// proxies, with CONNECT for https endpoints)\n  help: use an http:// proxy, or \
         pass --no-proxy to ignore the proxy variables"
    )]
    Unsupported {
        from: String,
        shown: String,
        scheme: String,
    },
    #[error("{from} is not valid UTF-8\n  help: set it again as plain text, or pass --no-proxy")]
    NotUnicode { from: String },
    #[error(
        "endpoint `{endpoint}` speaks HTTP/2 with prior knowledge to an http:// URL, but its \
         requests would go through the proxy `{shown}`, to which they are sent in HTTP/1.1 \
         (absolute form)\n  help: leave `http` at \"auto\" or \"1.1\" for it (no \
         --http2-prior-knowledge), add its host to NO_PROXY, or pass --no-proxy"
    )]
    PriorKnowledge { endpoint: String, shown: String },
}

/// One variable's proxy, parsed when it is read and its problem told only if it is used (curl
/// too only reads the variable of the scheme it needs).
type Slot = Option<Result<Arc<ProxyUrl>, ProxyError>>;

/// The race's proxies: which one an endpoint goes through.
#[derive(Clone, Debug, Default)]
pub struct Proxies {
    https: Slot,
    http: Slot,
    no_proxy: NoProxy,
}

impl Proxies {
    /// No proxy for anything.
    pub fn none() -> Proxies {
        Proxies::default()
    }

    /// The proxies `choice` asks for, the environment read with `var` (`std::env::var`, or
    /// a map in tests).
    pub fn resolve(
        choice: &ProxyChoice,
        var: impl Fn(&str) -> Result<String, std::env::VarError>,
    ) -> Result<Proxies, ProxyError> {
        let lookup = |names: &[&str]| -> Result<Option<(String, String)>, ProxyError> {
            for name in names {
                match var(name) {
                    Ok(value) if !value.trim().is_empty() => {
                        return Ok(Some(((*name).to_string(), value)));
                    }
                    Err(std::env::VarError::NotUnicode(_)) => {
                        return Err(ProxyError::NotUnicode {
                            from: (*name).to_string(),
                        });
                    }
                    _ => {}
                }
            }
            Ok(None)
        };
        let slot = |found: Result<Option<(String, String)>, ProxyError>| -> Slot {
            match found {
                Ok(found) => {
                    found.map(|(name, value)| ProxyUrl::parse(&value, &name).map(Arc::new))
                }
                Err(e) => Some(Err(e)),
            }
        };
        if *choice == ProxyChoice::Off {
            return Ok(Proxies::none());
        }
        let no_proxy = match lookup(&["no_proxy", "NO_PROXY"])? {
            Some((_, list)) => NoProxy::parse(&list),
            None => NoProxy::default(),
        };
        match choice {
            ProxyChoice::Off => Ok(Proxies::none()),
            ProxyChoice::Url(url) => {
                let proxy = Arc::new(ProxyUrl::parse(url, "--proxy")?);
                Ok(Proxies {
                    https: Some(Ok(Arc::clone(&proxy))),
                    http: Some(Ok(proxy)),
                    no_proxy,
                })
            }
            ProxyChoice::Env => {
                let all = ["all_proxy", "ALL_PROXY"];
                // `HTTP_PROXY` in upper case is ignored, as curl does: a CGI program's
                // environment has the request's `Proxy:` header under that name (httpoxy).
                let http = lookup(&["http_proxy"]).and_then(|f| match f {
                    Some(found) => Ok(Some(found)),
                    None => lookup(&all),
                });
                let https = lookup(&["https_proxy", "HTTPS_PROXY"]).and_then(|f| match f {
                    Some(found) => Ok(Some(found)),
                    None => lookup(&all),
                });
                Ok(Proxies {
                    https: slot(https),
                    http: slot(http),
                    no_proxy,
                })
            }
        }
    }

    /// The proxy a connection to `host` (`https` or not) goes through, if any.
    pub fn for_host(&self, https: bool, host: &str) -> Result<Option<Arc<ProxyUrl>>, ProxyError> {
        let slot = if https { &self.https } else { &self.http };
        match slot {
            None => Ok(None),
            Some(_) if self.no_proxy.exempts(host) => Ok(None),
            Some(Ok(proxy)) => Ok(Some(Arc::clone(proxy))),
            Some(Err(e)) => Err(e.clone()),
        }
    }
}

/// `NO_PROXY` as curl reads it: `*` alone exempts every host; otherwise a list separated by
/// commas (blanks around entries ignored) of host names, each matching itself and its
/// subdomains (a leading or trailing dot ignored), and IP addresses, with an optional CIDR
/// prefix length, matching addresses only (`/0` as curl reads it: the address alone). An
/// entry with a port matches nothing (curl has no ports there), and loopback is not exempt
/// unless listed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    entries: Vec<String>,
}

impl NoProxy {
    pub fn parse(list: &str) -> NoProxy {
        let list = list.trim();
        NoProxy {
            all: list == "*",
            entries: list
                .split(',')
                .map(|e| e.trim().to_ascii_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
        }
    }

    /// Whether `host` (a name, or an address with or without IPv6 brackets) is exempt.
    pub fn exempts(&self, host: &str) -> bool {
        if self.all {
            return true;
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(address) = bare.parse::<IpAddr>() {
            return self.entries.iter().any(|e| cidr_matches(e, address));
        }
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        self.entries.iter().any(|entry| {
            let entry = entry.trim_end_matches('.');
            let entry = entry.strip_prefix('.').unwrap_or(entry);
            !entry.is_empty()
                && (name == entry
                    || name
                        .strip_suffix(entry)
                        .is_some_and(|head| head.ends_with('.')))
        })
    }
}

/// Whether `entry` (`address` or `address/bits`) covers `address`.
fn cidr_matches(entry: &str, address: IpAddr) -> bool {
    let (net, bits) = match entry.split_once('/') {
        Some((net, bits)) => match bits.parse::<u32>() {
            Ok(bits) => (net, Some(bits)),
            Err(_) => return false,
        },
        None => (entry, None),
    };
    let Ok(net) = net
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    else {
        return false;
    };
    let (net, address, width) = match (net, address) {
        (IpAddr::V4(n), IpAddr::V4(a)) => (u128::from(n.to_bits()), u128::from(a.to_bits()), 32),
        (IpAddr::V6(n), IpAddr::V6(a)) => (n.to_bits(), a.to_bits(), 128),
        _ => return false,
    };
    // `/0` is read as curl reads it (through 8.x): as no prefix at all, so `10.1.2.3/0`
    // covers 10.1.2.3 alone, not every address (`*` is the entry for every host).
    let bits = bits.filter(|b| *b != 0).unwrap_or(width);
    if bits > width {
        return false;
    }
    let shift = width - bits;
    let mask = if shift >= 128 { 0 } else { u128::MAX << shift };
    (net & mask) == (address & mask)
}

#[cfg(test)]
mod tests;
