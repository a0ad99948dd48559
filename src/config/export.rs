//! Where the race's own metrics are served for Prometheus (`[export] prometheus`,
//! `--metrics-addr`) and how long after the finish (`[export] linger`, `--metrics-linger`):
//! the address as users write it, loopback unless they name another host.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use super::validate::Problem;

/// The exporter's settings; off (no address) by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportConfig {
    /// Where `/metrics` is served.
    pub prometheus: Option<SocketAddr>,
    /// How long the final values stay served after the finish.
    pub linger: Option<Duration>,
}

const HELP: &str = "write a port (`9464`, `:9464`: 127.0.0.1 only) or an address with its port \
                    (`127.0.0.1:9464`, `[::1]:9464`, `0.0.0.0:9464` to be scraped from other \
                    machines); port 0 picks a free one";

/// An address to listen on: `9464` or `:9464` is 127.0.0.1:9464 (loopback: nothing outside
/// the machine can scrape it unless the user writes another host), `host:port` as written.
pub(crate) fn listen_addr(text: &str) -> Result<SocketAddr, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Problem::new("the metrics address is empty", HELP));
    }
    let port_only = text.strip_prefix(':').unwrap_or(text);
    if port_only.bytes().all(|b| b.is_ascii_digit()) {
        return port(port_only)
            .map(|port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
            .ok_or_else(|| bad_port(text, port_only));
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    // An address alone (`::1` too, which would otherwise read as `::` port 1).
    if let Ok(ip) = text.parse::<IpAddr>() {
        let with_port = SocketAddr::new(ip, 9464);
        return Err(Problem::new(
            format!("`{text}` has no port"),
            format!("{HELP}, e.g. `{with_port}`"),
        ));
    }
    let Some((host, port_text)) = text.rsplit_once(':') else {
        // A name may not resolve (`foo:9464`): suggest what surely works.
        let help = if text.eq_ignore_ascii_case("localhost") {
            format!("{HELP}, e.g. `{text}:9464`")
        } else {
            format!("{HELP}: e.g. `9464` or `127.0.0.1:9464`")
        };
        return Err(Problem::new(format!("`{text}` has no port"), help));
    };
    let port = port(port_text).ok_or_else(|| bad_port(text, port_text))?;
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if host.is_empty() || host.contains(['/', ' ', '[', ']']) {
        return Err(Problem::new(
            format!("`{text}` is not an address to listen on"),
            HELP,
        ));
    }
    // A host name of this machine, as the user wrote it: the first address it resolves to.
    match (host, port).to_socket_addrs().map(|mut a| a.next()) {
        Ok(Some(addr)) => Ok(addr),
        _ => Err(Problem::new(
            format!("the host `{host}` of the metrics address does not resolve"),
            HELP,
        )),
    }
}

/// A linger without an address would wait for nothing: refused rather than ignored.
pub(crate) fn check(export: &ExportConfig) -> Result<(), Problem> {
    if export.linger.is_some() && export.prometheus.is_none() {
        return Err(Problem::new(
            "a metrics linger without a metrics address: nothing is served to linger on",
            "add --metrics-addr 9464 (or `prometheus = \"9464\"` under [export]), or drop the \
             linger",
        ));
    }
    Ok(())
}

fn port(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 {
        return None;
    }
    text.parse().ok()
}

/// `port` (the part of the address `text` after its `:`) is not a port.
fn bad_port(text: &str, port: &str) -> Problem {
    if port.is_empty() {
        return Problem::new(format!("`{text}` has nothing after ':' (no port)"), HELP);
    }
    Problem::new(
        format!("`{port}` is not a port (0 to 65535)"),
        HELP.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> String {
        listen_addr(text).map_or_else(|p| format!("error: {}", p.problem), |a| a.to_string())
    }

    #[test]
    fn a_port_alone_is_loopback() {
        assert_eq!(addr("9464"), "127.0.0.1:9464");
        assert_eq!(addr(":9464"), "127.0.0.1:9464");
        assert_eq!(addr(" 9464 "), "127.0.0.1:9464");
        assert_eq!(addr("0"), "127.0.0.1:0");
        assert_eq!(addr("localhost:9100"), "127.0.0.1:9100");
    }

    #[test]
    fn another_host_only_as_written() {
        assert_eq!(addr("0.0.0.0:9464"), "0.0.0.0:9464");
        assert_eq!(addr("[::1]:9464"), "[::1]:9464");
        assert_eq!(addr("127.0.0.2:80"), "127.0.0.2:80");
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        assert_eq!(addr(""), "error: the metrics address is empty");
        assert_eq!(addr("70000"), "error: `70000` is not a port (0 to 65535)");
        assert_eq!(addr(":"), "error: `:` has nothing after ':' (no port)");
        assert_eq!(
            addr("127.0.0.1:"),
            "error: `127.0.0.1:` has nothing after ':' (no port)"
        );
        assert_eq!(addr("127.0.0.1"), "error: `127.0.0.1` has no port");
        assert_eq!(
            addr("127.0.0.1:http"),
            "error: `http` is not a port (0 to 65535)"
        );
        assert_eq!(
            addr("http://127.0.0.1:9464"),
            "error: `http://127.0.0.1:9464` is not an address to listen on"
        );
        assert_eq!(
            addr("99999999999999999999"),
            "error: `99999999999999999999` is not a port (0 to 65535)"
        );
        assert!(listen_addr("9464").is_ok());
        let p = listen_addr("nope").unwrap_err();
        assert!(
            p.help.ends_with("e.g. `9464` or `127.0.0.1:9464`"),
            "{}",
            p.help
        );
        assert!(!p.help.contains("nope:"), "{}", p.help);
        let p = listen_addr("127.0.0.1").unwrap_err();
        assert!(p.help.ends_with("e.g. `127.0.0.1:9464`"), "{}", p.help);
        let p = listen_addr("::1").unwrap_err();
        assert!(p.help.ends_with("e.g. `[::1]:9464`"), "{}", p.help);
    }
}
