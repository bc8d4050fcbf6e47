//! The UDP side of single-hop BFD (RFC 5881) for IPv4: the receive socket that reports each
//! packet's TTL, and the per-session send sockets.
//!
//! Owns the socket options: `IP_RECVTTL` on the receive socket (read back as the `IP_TTL`
//! control message through nix, so no `unsafe` here), the TTL of the packets sent (255 unless
//! the instance says otherwise) and a source port in RFC 5881's 49152-65535. The source port of
//! *received* packets is not checked: BIRD sends from ports below 49152. Must not touch: the
//! protocol (the sessions are `rvs_core::bfd`'s) or what a received TTL means (the caller's).

use nix::errno::Errno;
use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrIn};
use std::io::{self, IoSliceMut};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// First source port RFC 5881 allows.
pub const SRC_PORT_MIN: u16 = 49152;

/// One received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Its length in the buffer.
    pub len: usize,
    /// Who sent it.
    pub from: SocketAddrV4,
    /// Its IP TTL, when the kernel reported one.
    pub ttl: Option<u8>,
}

/// The socket BFD control packets arrive on.
pub struct Rx(UdpSocket);

impl Rx {
    /// Listens on `addr:port` and asks the kernel for each packet's TTL.
    pub fn bind(addr: Ipv4Addr, port: u16) -> io::Result<Rx> {
        let s = UdpSocket::bind((addr, port))?;
        setsockopt(&s, sockopt::Ipv4RecvTtl, &true).map_err(io::Error::from)?;
        Ok(Rx(s))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.0.local_addr()
    }

    /// Waits up to `wait` (at least 1 ms) for a datagram; `None` when none came.
    pub fn recv(&self, buf: &mut [u8], wait: Duration) -> io::Result<Option<Received>> {
        self.0.set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
        let mut iov = [IoSliceMut::new(buf)];
        let mut space = nix::cmsg_space!(libc::c_int);
        let r = recvmsg::<SockaddrIn>(
            self.0.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::empty(),
        );
        match r {
            Ok(m) => {
                let mut ttl = None;
                if let Ok(cmsgs) = m.cmsgs() {
                    for c in cmsgs {
                        if let ControlMessageOwned::Ipv4Ttl(t) = c {
                            ttl = u8::try_from(t).ok();
                        }
                    }
                }
                let Some(a) = m.address else { return Ok(None) };
                Ok(Some(Received { len: m.bytes, from: SocketAddrV4::new(a.ip(), a.port()), ttl }))
            }
            Err(Errno::EAGAIN | Errno::EINTR) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// Opens a send socket on `source` (unspecified = the kernel's choice of address) with a free
/// source port in 49152-65535, the search starting at `SRC_PORT_MIN + start % 16384`, and sets
/// the TTL of what it sends.
pub fn tx_socket(source: Option<Ipv4Addr>, start: u32, ttl: u8) -> io::Result<UdpSocket> {
    let ip = source.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let span = u32::from(u16::MAX - SRC_PORT_MIN) + 1;
    let mut last = io::Error::new(io::ErrorKind::AddrInUse, "no free port in 49152-65535");
    for i in 0..span {
        let port = SRC_PORT_MIN as u32 + (start.wrapping_add(i) % span);
        match UdpSocket::bind((ip, port as u16)) {
            Ok(s) => {
                s.set_ttl(u32::from(ttl))?;
                return Ok(s);
            }
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ttl_of_each_packet_is_reported_and_sources_are_in_the_rfc_range() {
        let rx = Rx::bind(Ipv4Addr::LOCALHOST, 0).unwrap();
        let to = rx.local_addr().unwrap();
        for ttl in [255u8, 64, 1] {
            let tx = tx_socket(Some(Ipv4Addr::LOCALHOST), u32::from(ttl) * 7, ttl).unwrap();
            assert!(tx.local_addr().unwrap().port() >= SRC_PORT_MIN);
            tx.send_to(b"hello", to).unwrap();
            let mut buf = [0u8; 64];
            let r = rx.recv(&mut buf, Duration::from_secs(5)).unwrap().expect("a datagram");
            assert_eq!(r.len, 5);
            assert_eq!(r.ttl, Some(ttl));
            assert_eq!(std::net::SocketAddr::V4(r.from), tx.local_addr().unwrap());
        }
        let mut buf = [0u8; 64];
        assert_eq!(rx.recv(&mut buf, Duration::from_millis(20)).unwrap(), None);
    }
}
