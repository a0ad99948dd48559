//! Linux's receive timestamps: asking a socket for them (`SO_TIMESTAMPNS`) and reading with
//! `recvmsg`, which hands each read's stamp over with its bytes.

use std::io::{self, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};
use nix::sys::time::TimeSpec;

/// The most one read takes: hyper's first read buffer. Loopback token events are far smaller;
/// a larger body takes a few more reads.
pub(super) const MAX_READ: usize = 8 * 1024;

/// Best effort: a socket that refuses is read all the same, stamped at the read.
pub(super) fn stamp_receives(socket: &impl AsFd) {
    let _ = setsockopt(socket, sockopt::ReceiveTimestampns, &true);
}

pub(super) fn control_space() -> Vec<u8> {
    nix::cmsg_space!(TimeSpec)
}

/// One `recvmsg` into `buf`: how many bytes, and the kernel's wall-clock stamp of the
/// last segment they came in, if it gave one.
pub(super) fn receive(
    fd: RawFd,
    buf: &mut [u8],
    control: &mut [u8],
) -> io::Result<(usize, Option<SystemTime>)> {
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<()>(fd, &mut iov, Some(control), MsgFlags::empty())?;
    // A truncated control buffer yields no messages: the read is stamped when it happened.
    let stamp = msg.cmsgs().ok().and_then(|mut cmsgs| {
        cmsgs.find_map(|cmsg| match cmsg {
            ControlMessageOwned::ScmTimestampns(ts) => wall_time(ts),
            _ => None,
        })
    });
    Ok((msg.bytes, stamp))
}

fn wall_time(ts: TimeSpec) -> Option<SystemTime> {
    let secs = u64::try_from(ts.tv_sec()).ok()?;
    let nanos = u32::try_from(ts.tv_nsec()).ok()?;
    if secs == 0 && nanos == 0 {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

/// One `recvmsg` of at most `room` bytes, appended to `buf` (which has that room): how many
/// bytes, and their stamp. `recvmsg` needs initialized memory: the HTTP/1.1 exchange's buffer
/// is, and is read into directly; hyper's spare room (HTTP/2) never is, and the bytes land
/// first in the thread's own buffer, zeroed once, and are copied.
pub(super) fn receive_into(
    fd: RawFd,
    room: usize,
    control: &mut [u8],
    buf: &mut tokio::io::ReadBuf<'_>,
) -> io::Result<(usize, Option<SystemTime>)> {
    let filled = buf.filled().len();
    if buf.initialized().len() >= filled + room {
        let (n, stamp) = receive(
            fd,
            &mut buf.initialized_mut()[filled..filled + room],
            control,
        )?;
        buf.advance(n);
        return Ok((n, stamp));
    }
    SCRATCH
        .try_with(|scratch| {
            // Never taken twice: nothing called while it is held reads.
            let mut scratch = scratch.try_borrow_mut().map_err(io::Error::other)?;
            let room = room.min(scratch.len());
            let (n, stamp) = receive(fd, &mut scratch[..room], control)?;
            buf.put_slice(&scratch[..n]);
            Ok((n, stamp))
        })
        // A read while the thread is being torn down: an error, not a panic.
        .map_err(io::Error::other)?
}

thread_local! {
    /// Where each read of this thread lands before it is copied to its reader's buffer.
    static SCRATCH: std::cell::RefCell<Box<[u8]>> =
        std::cell::RefCell::new(vec![0; MAX_READ].into_boxed_slice());
}

pub(super) fn raw(stream: &tokio::net::TcpStream) -> RawFd {
    stream.as_raw_fd()
}
