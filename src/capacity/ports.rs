//! Local ports: every connection to one server takes a port of this machine's ephemeral range
//! (Linux: `net.ipv4.ip_local_port_range`, 32768–60999 by default, about 28 000), and a race
//! that needs more connections at once to one server than that would fail half-way with
//! "cannot assign requested address" (`EADDRNOTAVAIL`). Checked before the race instead.

use std::collections::BTreeMap;

/// Ports of the range left to other sockets of this machine (and this process: the mocks'
/// listeners, the exporter, DNS), so a race is not refused only when it takes the last one.
pub const SPARE_PORTS: u64 = 1000;

/// The ports the kernel hands out to outgoing connections, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    pub low: u16,
    pub high: u16,
}

impl PortRange {
    /// This machine's range; `None` where it cannot be told (then ports are not checked).
    #[must_use]
    pub fn of_machine() -> Option<PortRange> {
        let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
        PortRange::parse(&text)
    }

    fn parse(text: &str) -> Option<PortRange> {
        let mut words = text.split_whitespace();
        let low = words.next()?.parse().ok()?;
        let high = words.next()?.parse().ok()?;
        (low <= high).then_some(PortRange { low, high })
    }

    /// How many connections one destination can take from this machine at once.
    #[must_use]
    pub fn usable(self) -> u64 {
        (u64::from(self.high) - u64::from(self.low) + 1).saturating_sub(SPARE_PORTS)
    }
}

/// Where an endpoint's connections go, as far as ports count: each (host, port) has the whole
/// range to itself; a built-in mock has a port of its own.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Destination {
    Server { host: String, port: u16 },
    Mock(usize),
}

impl Destination {
    /// The destination of an endpoint whose base URL is `base_url` (the `index`th endpoint).
    #[must_use]
    pub fn of(index: usize, base_url: &str) -> Destination {
        let Ok(uri) = base_url.parse::<http::Uri>() else {
            return Destination::Mock(index);
        };
        match (uri.scheme_str(), uri.host()) {
            (Some(scheme @ ("http" | "https")), Some(host)) => Destination::Server {
                host: host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_ascii_lowercase(),
                port: uri
                    .port_u16()
                    .unwrap_or(if scheme == "https" { 443 } else { 80 }),
            },
            // `mock://…`: a server of its own on a port of its own.
            _ => Destination::Mock(index),
        }
    }
}

/// A destination that needs more connections at once than the range offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Over {
    /// As a user knows it: `localhost:8000`.
    pub name: String,
    pub connections: u64,
    /// The endpoints that go there.
    pub endpoints: u64,
}

/// The first destination that needs more connections at once than the range offers: endpoints
/// going to the same server add up.
#[must_use]
pub fn over(connections: &[(Destination, u64)], range: PortRange) -> Option<Over> {
    let mut per: BTreeMap<&Destination, (u64, u64)> = BTreeMap::new();
    for (destination, n) in connections {
        let entry = per.entry(destination).or_default();
        entry.0 += n;
        entry.1 += 1;
    }
    per.into_iter().find(|(_, (n, _))| *n > range.usable()).map(
        |(destination, (connections, endpoints))| {
            let name = match destination {
                Destination::Server { host, port } if host.contains(':') => {
                    format!("[{host}]:{port}")
                }
                Destination::Server { host, port } => format!("{host}:{port}"),
                Destination::Mock(_) => "its built-in mock".to_string(),
            };
            Over {
                name,
                connections,
                endpoints,
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: PortRange = PortRange {
        low: 32768,
        high: 60999,
    };

    #[test]
    fn the_kernels_range_is_read_and_nonsense_is_not() {
        assert_eq!(PortRange::parse("32768\t60999\n"), Some(DEFAULT));
        assert_eq!(DEFAULT.usable(), 28_232 - SPARE_PORTS);
        assert_eq!(PortRange::parse("60999 32768"), None);
        assert_eq!(PortRange::parse("1024"), None);
        assert_eq!(PortRange::parse(""), None);
        // A range smaller than the spare leaves nothing, without overflowing.
        let tiny = PortRange::parse("5000 5010").unwrap();
        assert_eq!(tiny.usable(), 0);
    }

    #[test]
    fn endpoints_on_one_server_add_up_and_other_servers_do_not() {
        let a = Destination::of(0, "http://LocalHost:8000/v1");
        let b = Destination::of(1, "http://localhost:8000/v2");
        let c = Destination::of(2, "http://localhost:8001/v1");
        assert_eq!(a, b);
        assert_ne!(a, c);
        let fits = [(a.clone(), 20_000), (c.clone(), 20_000)];
        assert_eq!(over(&fits, DEFAULT), None);
        let shared = [(a, 15_000), (b, 15_000), (c, 1)];
        let too_many = over(&shared, DEFAULT).unwrap();
        assert_eq!(too_many.name, "localhost:8000");
        assert_eq!((too_many.connections, too_many.endpoints), (30_000, 2));
    }

    #[test]
    fn default_ports_and_mocks_and_ipv6_are_named_as_a_user_knows_them() {
        assert_eq!(
            Destination::of(0, "https://api.example.com/v1"),
            Destination::Server {
                host: "api.example.com".into(),
                port: 443
            }
        );
        assert_eq!(Destination::of(3, "mock://steady"), Destination::Mock(3));
        let v6 = [(Destination::of(0, "http://[::1]:9000"), 40_000)];
        assert_eq!(over(&v6, DEFAULT).unwrap().name, "[::1]:9000");
        let mock = [(Destination::of(0, "mock://fast"), 40_000)];
        assert_eq!(over(&mock, DEFAULT).unwrap().name, "its built-in mock");
    }
}
