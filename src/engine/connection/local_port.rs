//! A connect that found no local port free: said as what it is and what to do, rather than the
//! kernel's "cannot assign requested address" (`EADDRNOTAVAIL`). The check before a race
//! (`capacity/ports.rs`) refuses the races whose own connections would not fit; this is what
//! is left: an open loop with no cap on the requests in flight, other programs' sockets, or
//! connections closed by llmrace waiting out `TIME_WAIT`.

use std::net::SocketAddr;

/// Why connecting to `addr` failed with `error`, for the request's message.
pub(super) fn why(addr: &SocketAddr, error: &std::io::Error) -> String {
    if error.kind() == std::io::ErrorKind::AddrNotAvailable {
        format!(
            "{addr}: no local port was free to connect from ({error}): this machine's ephemeral \
             ports (net.ipv4.ip_local_port_range) are taken by open connections or ones waiting \
             out TIME_WAIT; cap the requests in flight (--max-in-flight), lower the concurrency, \
             or widen the range"
        )
    } else {
        format!("{addr}: {error}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_free_port_says_what_to_do_and_other_errors_stay_as_they_are() {
        let addr: SocketAddr = "127.0.0.1:8000".parse().unwrap();
        let none_free = std::io::Error::from(std::io::ErrorKind::AddrNotAvailable);
        let text = why(&addr, &none_free);
        assert!(
            text.starts_with("127.0.0.1:8000: no local port was free"),
            "{text}"
        );
        assert!(text.contains("--max-in-flight"), "{text}");
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(why(&addr, &refused), format!("127.0.0.1:8000: {refused}"));
    }
}
