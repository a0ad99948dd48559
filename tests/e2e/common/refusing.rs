//! A port on 127.0.0.1 that refuses every connection for as long as the test holds it: bound
//! but never listening, so no other process can take it meanwhile (a fixed port such as 1 is
//! closed only until something listens there; a port bound and released could be taken again).

#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::net::{Ipv4Addr, SocketAddr};

use socket2::{Domain, Socket, Type};

/// A bound, never listening TCP socket: a connect to its address is refused (the kernel
/// answers the SYN with a reset) until it drops.
pub struct RefusingPort {
    socket: Socket,
}

impl RefusingPort {
    pub fn reserve() -> RefusingPort {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        socket
            .bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
            .unwrap();
        RefusingPort { socket }
    }

    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap().as_socket().unwrap()
    }
}

#[test]
fn a_connection_to_a_reserved_port_is_refused() {
    let port = RefusingPort::reserve();
    let refused = std::net::TcpStream::connect(port.addr()).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}
