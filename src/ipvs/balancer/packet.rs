//! The balancer's packet path: parse, find or create the connection, account, rewrite.
//!
//! Everything here runs per packet: no allocation, no lock, bounded work, and no panic on any
//! input (headers are read through `wire`'s checked views; slots through `get`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

use super::{Balancer, Verdict};
use crate::buf::PacketBuf;
use crate::ipvs::conn::{
    ConnId, ConnKey, ConnSpec, Direction, FwdMethod, InsertError, TemplateKey, TemplateSpec,
    NO_INDEX,
};
use crate::ipvs::counters::IpvsDropReason as R;
use crate::ipvs::proto::tcp::{flags, is_suspicious};
use crate::ipvs::proto::{IPPROTO_TCP, IPPROTO_UDP};
use crate::ipvs::reset::reset_in_place;
use crate::ipvs::sched::SchedKey;
use crate::ipvs::xmit::{self, XmitCtx, XmitError};
use crate::net::{AddrKind, IcmpError};
use crate::time::Instant;
use crate::wire::{Ipv4Packet, TcpPacket, UdpPacket};

/// The IPv4 header fields the balancer decides on.
#[derive(Debug, Clone, Copy)]
struct IpHead {
    proto: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    /// Non-first fragment (no transport header).
    later_fragment: bool,
    /// Any fragment (first with MF, or later).
    fragment: bool,
    /// IPv4 total length.
    len: u32,
    ihl: usize,
}

/// A TCP or UDP packet's flow tuple.
#[derive(Debug, Clone, Copy)]
struct Flow {
    proto: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    /// TCP flags (0 for UDP).
    flags: u8,
    len: u32,
    /// The segment carries TCP payload.
    tcp_data: bool,
}

impl Flow {
    fn key(&self) -> ConnKey<Ipv4Addr> {
        ConnKey::new(self.proto, self.src, self.sport, self.dst, self.dport)
    }
}

fn parse_ip(data: &[u8], l3: usize) -> Option<IpHead> {
    let ip = Ipv4Packet::new_checked(data.get(l3..)?).ok()?;
    Some(IpHead {
        proto: u8::from(ip.protocol()),
        src: ip.src_addr(),
        dst: ip.dst_addr(),
        later_fragment: ip.frag_offset() != 0,
        fragment: ip.is_fragment(),
        len: u32::from(ip.total_len()),
        ihl: ip.header_len(),
    })
}

fn parse_l4(data: &[u8], l3: usize, h: &IpHead) -> Option<Flow> {
    let l4 = data.get(l3 + h.ihl..l3 + h.len as usize)?;
    let mut tcp_data = false;
    let (sport, dport, flags) = match h.proto {
        IPPROTO_TCP => {
            let t = TcpPacket::new_checked(l4).ok()?;
            tcp_data = l4.len() > t.header_len();
            (t.src_port(), t.dst_port(), t.flags().bits())
        }
        IPPROTO_UDP if h.fragment => {
            // A first fragment's UDP length covers the whole datagram.
            let b = l4.get(..4)?;
            (u16::from_be_bytes([b[0], b[1]]), u16::from_be_bytes([b[2], b[3]]), 0)
        }
        IPPROTO_UDP => {
            let u = UdpPacket::new_checked(l4).ok()?;
            (u.src_port(), u.dst_port(), 0)
        }
        _ => return None,
    };
    Some(Flow { proto: h.proto, src: h.src, dst: h.dst, sport, dport, flags, len: h.len, tcp_data })
}

const ICMP: u8 = 1;

impl Balancer {
    #[inline]
    fn drop<B>(&mut self, pkt: B, reason: R) -> Verdict<B> {
        self.counters.count_drop(reason);
        Verdict::Drop { pkt, reason }
    }

    /// Drops an owned packet, or hands back one that is not addressed to the director.
    #[inline]
    fn refuse<B>(&mut self, pkt: B, owner: Option<AddrKind>, reason: R) -> Verdict<B> {
        if owner.is_none() {
            Verdict::NotMine { pkt }
        } else {
            self.drop(pkt, reason)
        }
    }

    pub(super) fn process<B: PacketBuf>(
        &mut self,
        pkt: B,
        l3: usize,
        owner: Option<AddrKind>,
        now: Instant,
        may_redirect: bool,
    ) -> Verdict<B> {
        if owner == Some(AddrKind::Host) {
            return Verdict::NotMine { pkt };
        }
        let Some(head) = parse_ip(pkt.data(), l3) else {
            return self.refuse(pkt, owner, R::BadL4);
        };
        match head.proto {
            IPPROTO_TCP | IPPROTO_UDP => {}
            ICMP => return self.icmp(pkt, l3, &head, owner, now, may_redirect),
            _ => return self.refuse(pkt, owner, R::UnsupportedProto),
        }
        if head.later_fragment {
            return self.refuse(pkt, owner, R::Fragment);
        }
        let Some(flow) = parse_l4(pkt.data(), l3, &head) else {
            return self.refuse(pkt, owner, R::BadL4);
        };
        if let Some((id, dir)) = self.conns.lookup(&flow.key(), now) {
            if head.fragment {
                return self.drop(pkt, R::Fragment);
            }
            return self.forward_conn(pkt, l3, id, dir, &flow, now);
        }
        if head.fragment {
            return self.refuse(pkt, owner, R::Fragment);
        }
        match owner {
            Some(kind) => {
                if let Some(si) = self.snap.find(flow.proto, flow.dst, flow.dport) {
                    if let Some(&slot) = self.book.svc_of_snap.get(si as usize) {
                        let mask = self.book.svcs.get(slot as usize).and_then(|s| s.steer_mask);
                        if let (Some(mask), true) = (mask, may_redirect) {
                            let k = self.steer_core(flow.src, mask);
                            if k != self.cfg.core {
                                self.counters.redirected += 1;
                                return Verdict::Redirect { pkt, core: k };
                            }
                        }
                        return self.new_conn(pkt, l3, &flow, slot, now);
                    }
                }
                if kind != AddrKind::Local {
                    return self.drop(pkt, R::NoService);
                }
                self.not_here(pkt, flow.dport, may_redirect, R::NoConn)
            }
            None => self.snat_new(pkt, l3, &flow, now, may_redirect),
        }
    }

    /// The core that owns new connections of `client` (masked by `mask`) when a service's
    /// traffic is steered by client: persistent services keep a client network's template on
    /// one core, and NAT services keep each connection where its replies, which RSS spreads by
    /// the real server's tuple, can be sent back to by client address alone. Every core
    /// computes the same answer; with symmetric RSS on a real NIC about (n-1)/n of such packets
    /// cross cores once (rte_flow steering would remove that hop).
    #[inline]
    pub(super) fn steer_core(&self, client: Ipv4Addr, mask: Ipv4Addr) -> usize {
        let n = self.cfg.n_cores.max(1) as u64;
        let x = u64::from(u32::from(client) & u32::from(mask));
        // Fibonacci hashing: spreads neighbouring addresses over the cores.
        let h = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
        (h % n) as usize
    }

    /// A packet to a local address and port with no connection here: another core's, or stale.
    /// `miss` is the reason to drop it for when this core owns the port.
    fn not_here<B>(&mut self, pkt: B, lport: u16, may_redirect: bool, miss: R) -> Verdict<B> {
        let owner = self.book.ownership.owner_of(lport);
        let me = self.cfg.core;
        match owner {
            Some(k) if k != me && may_redirect => {
                self.counters.redirected += 1;
                Verdict::Redirect { pkt, core: k }
            }
            Some(k) if k != me => self.drop(pkt, R::RedirectLoop),
            _ => self.drop(pkt, miss),
        }
    }

    /// A TCP packet may open a connection only as a plain SYN.
    fn may_open(&mut self, flow: &Flow) -> Result<(), R> {
        if flow.proto != IPPROTO_TCP {
            return Ok(());
        }
        if is_suspicious(flow.flags) {
            return Err(R::TcpBadFlags);
        }
        if flow.flags & (flags::SYN | flags::ACK | flags::FIN | flags::RST) != flags::SYN {
            return Err(R::TcpNotSyn);
        }
        Ok(())
    }

    /// No dest for a new connection: TCP clients get a reset, everything is counted.
    fn no_dest<B: PacketBuf>(&mut self, mut pkt: B, l3: usize, flow: &Flow) -> Verdict<B> {
        self.counters.count_drop(R::NoDest);
        if flow.proto == IPPROTO_TCP {
            if let Some(route_to) = reset_in_place(&mut pkt, l3) {
                self.counters.resets_sent += 1;
                return Verdict::Reply { pkt, route_to };
            }
        }
        Verdict::Drop { pkt, reason: R::NoDest }
    }

    /// The dest slot for a new connection of service slot `svc`: through the persistence
    /// template when the service has one, otherwise straight from the scheduler.
    fn pick_dest(
        &mut self,
        svc: u32,
        flow: &Flow,
        now: Instant,
    ) -> Result<(u32, Option<ConnId>), R> {
        let key = SchedKey {
            proto: flow.proto,
            src: IpAddr::V4(flow.src),
            src_port: flow.sport,
            dst: IpAddr::V4(flow.dst),
            dst_port: flow.dport,
        };
        let Some(s) = self.book.svcs.get(svc as usize) else { return Err(R::NoService) };
        let Some(timeout) = s.persistence else {
            return self.book.schedule(svc, &key).map(|d| (d, None)).ok_or(R::NoDest);
        };
        let tkey = TemplateKey::new(flow.proto, flow.src, s.netmask, flow.dst, s.port);
        if let Some(t) = self.conns.template_lookup(&tkey, now) {
            let d = self.conns.get(t).map_or(NO_INDEX, |e| e.dest());
            if self.book.dests.get(d as usize).is_some_and(|x| x.live) {
                return Ok((d, Some(t)));
            }
            // Its dest is gone: forget the template and schedule anew.
            let book = &mut self.book;
            self.conns.remove(t, |c| book.on_freed(c));
        }
        let d = self.book.schedule(svc, &key).ok_or(R::NoDest)?;
        let Some(x) = self.book.dests.get(d as usize) else { return Err(R::NoDest) };
        let spec = TemplateSpec {
            key: tkey,
            dest_addr: (x.addr, x.port),
            dest: d,
            svc,
            timeout_secs: timeout,
        };
        let book = &mut self.book;
        let t =
            self.conns.template_insert(&spec, now, |c| book.on_freed(c)).map_err(insert_reason)?;
        self.book.bind_template(svc, d);
        self.counters.templates_created += 1;
        Ok((d, Some(t)))
    }

    fn new_conn<B: PacketBuf>(
        &mut self,
        pkt: B,
        l3: usize,
        flow: &Flow,
        svc: u32,
        now: Instant,
    ) -> Verdict<B> {
        if let Err(r) = self.may_open(flow) {
            return self.drop(pkt, r);
        }
        let (d, template) = match self.pick_dest(svc, flow, now) {
            Ok(v) => v,
            Err(R::NoDest) => return self.no_dest(pkt, l3, flow),
            Err(r) => return self.drop(pkt, r),
        };
        let Some(x) = self.book.dests.get(d as usize) else { return self.drop(pkt, R::NoDest) };
        let (daddr, dport_cfg, fwd) = (x.addr, x.port, x.fwd);
        let dport = match fwd {
            FwdMethod::Dr | FwdMethod::Tun => flow.dport,
            _ if dport_cfg == 0 => flow.dport,
            _ => dport_cfg,
        };
        let one_packet = self.book.svcs.get(svc as usize).is_some_and(|s| s.one_packet);
        let pool_key = SocketAddr::new(IpAddr::V4(daddr), dport_cfg);
        let local = if fwd == FwdMethod::FullNat {
            let pool = self.book.svcs.get_mut(svc as usize).and_then(|s| s.pool.as_mut());
            match pool.map(|p| p.alloc(pool_key)) {
                Some(Ok((IpAddr::V4(a), p))) => Some((a, p)),
                _ => return self.drop(pkt, R::LaddrExhausted),
            }
        } else {
            None
        };
        if one_packet {
            // Scheduled, forwarded, forgotten: no connection is kept (and a FULLNAT port goes
            // back at once; replies to it are not translated).
            if let (Some((a, p)), Some(pool)) =
                (local, self.book.svcs.get_mut(svc as usize).and_then(|s| s.pool.as_mut()))
            {
                let _ = pool.release(IpAddr::V4(a), p, pool_key);
            }
            self.book.count_one_packet(svc, d);
            self.counters.conns_created += 1;
            let ctx = self.ctx(
                Direction::In,
                flow.proto,
                (flow.src, flow.sport),
                (flow.dst, flow.dport),
                (daddr, dport),
                local,
                fwd,
                d,
                false,
            );
            return self.transmit(pkt, l3, fwd, &ctx, |b, _| {
                b.book.traffic(svc, d, Direction::In, flow.len)
            });
        }
        let spec = ConnSpec {
            proto: flow.proto,
            client: (flow.src, flow.sport),
            virt: (flow.dst, flow.dport),
            dest_addr: (daddr, dport),
            local,
            fwd,
            dest: d,
            svc,
            template,
        };
        let book = &mut self.book;
        match self.conns.insert(&spec, now, |c| book.on_freed(c)) {
            Ok(id) => {
                self.book.bind(svc, d);
                self.counters.conns_created += 1;
                self.forward_conn(pkt, l3, id, Direction::In, flow, now)
            }
            Err(e) => {
                if let (Some((a, p)), Some(pool)) =
                    (local, self.book.svcs.get_mut(svc as usize).and_then(|s| s.pool.as_mut()))
                {
                    let _ = pool.release(IpAddr::V4(a), p, pool_key);
                }
                self.drop(pkt, insert_reason(e))
            }
        }
    }

    /// A packet from inside to an address the director does not own: SNAT if a rule matches.
    fn snat_new<B: PacketBuf>(
        &mut self,
        pkt: B,
        l3: usize,
        flow: &Flow,
        now: Instant,
        may_redirect: bool,
    ) -> Verdict<B> {
        let Some(rule) = self.snap.snat_match(flow.proto, flow.src, flow.dst) else {
            // A NAT dest's reply whose connection lives on the core the client address
            // points to (see `steer_core`).
            if may_redirect && self.book.is_nat_dest(flow.src, flow.sport) {
                let k = self.steer_core(flow.dst, Ipv4Addr::BROADCAST);
                if k != self.cfg.core {
                    self.counters.redirected += 1;
                    return Verdict::Redirect { pkt, core: k };
                }
            }
            return Verdict::NotMine { pkt };
        };
        if let Err(r) = self.may_open(flow) {
            return self.drop(pkt, r);
        }
        let slot = self.book.snat_of_rule.get(rule).copied().unwrap_or(NO_INDEX);
        let server = SocketAddr::new(IpAddr::V4(flow.dst), flow.dport);
        let local = match self.book.snat.get_mut(slot as usize).map(|s| s.pool.alloc(server)) {
            Some(Ok((IpAddr::V4(a), p))) => (a, p),
            _ => return self.drop(pkt, R::LaddrExhausted),
        };
        let spec = ConnSpec {
            proto: flow.proto,
            client: (flow.src, flow.sport),
            virt: (flow.dst, flow.dport),
            dest_addr: (flow.dst, flow.dport),
            local: Some(local),
            fwd: FwdMethod::Snat,
            dest: slot,
            svc: NO_INDEX,
            template: None,
        };
        let book = &mut self.book;
        match self.conns.insert(&spec, now, |c| book.on_freed(c)) {
            Ok(id) => {
                if let Some(s) = self.book.snat.get_mut(slot as usize) {
                    s.refs = s.refs.saturating_add(1);
                    s.stats.conns += 1;
                }
                self.counters.conns_created += 1;
                self.forward_conn(pkt, l3, id, Direction::In, flow, now)
            }
            Err(e) => {
                if let Some(s) = self.book.snat.get_mut(slot as usize) {
                    let _ = s.pool.release(IpAddr::V4(local.0), local.1, server);
                }
                self.drop(pkt, insert_reason(e))
            }
        }
    }

    /// The forwarding context of a packet in `dir` of a connection to dest slot `d`.
    #[allow(clippy::too_many_arguments)]
    fn ctx(
        &self,
        dir: Direction,
        proto: u8,
        client: (Ipv4Addr, u16),
        vip: (Ipv4Addr, u16),
        dest: (Ipv4Addr, u16),
        local: Option<(Ipv4Addr, u16)>,
        fwd: FwdMethod,
        d: u32,
        toa: bool,
    ) -> XmitCtx {
        let slot = if fwd == FwdMethod::Snat { None } else { self.book.dests.get(d as usize) };
        let mtu = match (dir, slot) {
            (Direction::In, Some(x)) => x.mtu,
            _ => self.cfg.mtu,
        };
        let tun = match (fwd, slot) {
            (FwdMethod::Tun, Some(x)) => x.tun.zip(x.tun_src),
            _ => None,
        };
        XmitCtx {
            dir,
            proto,
            client: SocketAddrV4::new(client.0, client.1),
            vip: SocketAddrV4::new(vip.0, vip.1),
            dest: SocketAddrV4::new(dest.0, dest.1),
            local: local.map(|(a, p)| SocketAddrV4::new(a, p)),
            tun,
            mtu,
            toa,
        }
    }

    /// Rewrites with the forwarding mode; on success runs `on_sent` and returns the verdict.
    fn transmit<B: PacketBuf>(
        &mut self,
        mut pkt: B,
        l3: usize,
        fwd: FwdMethod,
        ctx: &XmitCtx,
        on_sent: impl FnOnce(&mut Self, &xmit::Xmit),
    ) -> Verdict<B> {
        if fwd == FwdMethod::Tun && ctx.tun.is_none() {
            return self.drop(pkt, R::NoRoute);
        }
        match xmit::forward(fwd, &mut pkt, l3, ctx) {
            Ok(x) => {
                on_sent(self, &x);
                self.counters.forwarded += 1;
                Verdict::Forward { pkt, route_to: x.route_to }
            }
            Err(e) => self.xmit_failed(pkt, e),
        }
    }

    fn xmit_failed<B>(&mut self, pkt: B, e: XmitError) -> Verdict<B> {
        let (reason, error) = xmit_error_verdict(e);
        self.counters.count_drop(reason);
        match error {
            Some(error) => Verdict::DropWithIcmp { pkt, reason, error },
            None => Verdict::Drop { pkt, reason },
        }
    }

    /// A packet of connection `id`, travelling in `dir`.
    fn forward_conn<B: PacketBuf>(
        &mut self,
        pkt: B,
        l3: usize,
        id: ConnId,
        dir: Direction,
        flow: &Flow,
        now: Instant,
    ) -> Verdict<B> {
        let Some(c) = self.conns.get(id).copied() else { return self.drop(pkt, R::NoConn) };
        let fwd = c.fwd();
        let toa = fwd == FwdMethod::FullNat
            && dir == Direction::In
            && !c.toa_done()
            && self.book.svcs.get(c.svc() as usize).is_some_and(|s| s.toa);
        let ctx = self.ctx(
            dir,
            c.proto(),
            (c.caddr(), c.cport()),
            (c.vaddr(), c.vport()),
            (c.daddr(), c.dport()),
            fwd.uses_local_addr().then_some((c.laddr(), c.lport())),
            fwd,
            c.dest(),
            toa,
        );
        let (svc, d, flags, len) = (c.svc(), c.dest(), flow.flags, flow.len);
        let tcp_data = flow.tcp_data;
        self.transmit(pkt, l3, fwd, &ctx, |b, x| {
            // TOA rides on the handshake's last ACK (where real servers' TOA modules read it)
            // and on every segment until one carrying data has had it.
            if x.toa_inserted && tcp_data {
                if let Some(e) = b.conns.get_mut(id) {
                    e.set_toa_done(true);
                }
            }
            if let Some(tr) = b.conns.on_packet(id, dir, flags, len, now) {
                if fwd != FwdMethod::Snat {
                    if let Some(up) = tr.activity_change() {
                        b.book.activity(d, up);
                    }
                }
            }
            if fwd == FwdMethod::Snat {
                b.book.snat_traffic(d, dir, len);
            } else {
                b.book.traffic(svc, d, dir, len);
            }
        })
    }

    /// ICMP to a VIP or local address, or passing through: an error about a connection is
    /// translated and forwarded to the connection's other side (never answered with an ICMP
    /// error of its own). Echo requests to owned addresses never get here (the stack answers).
    fn icmp<B: PacketBuf>(
        &mut self,
        mut pkt: B,
        l3: usize,
        head: &IpHead,
        owner: Option<AddrKind>,
        now: Instant,
        may_redirect: bool,
    ) -> Verdict<B> {
        if head.fragment {
            return self.refuse(pkt, owner, R::Fragment);
        }
        let Some(t) = xmit::icmp::embedded_tuple(pkt.data(), l3) else {
            return self.refuse(pkt, owner, R::IcmpUnsupported);
        };
        let key = t.conn_key();
        let Some((id, dir)) = self.conns.lookup(&key, now) else {
            if owner == Some(AddrKind::Local) {
                // About a packet sent from a local port: that port's core has the connection.
                return self.not_here(pkt, key.dport, may_redirect, R::IcmpNoConn);
            }
            return self.refuse(pkt, owner, R::IcmpNoConn);
        };
        let Some(c) = self.conns.get(id).copied() else { return self.drop(pkt, R::IcmpNoConn) };
        let fwd = c.fwd();
        let ctx = self.ctx(
            dir,
            c.proto(),
            (c.caddr(), c.cport()),
            (c.vaddr(), c.vport()),
            (c.daddr(), c.dport()),
            fwd.uses_local_addr().then_some((c.laddr(), c.lport())),
            fwd,
            c.dest(),
            false,
        );
        if fwd == FwdMethod::Tun && ctx.tun.is_none() {
            return self.drop(pkt, R::NoRoute);
        }
        match xmit::icmp::translate(fwd, &mut pkt, l3, &ctx) {
            Ok(x) => {
                self.counters.icmp_forwarded += 1;
                self.counters.forwarded += 1;
                Verdict::Forward { pkt, route_to: x.route_to }
            }
            Err(e) => {
                // No ICMP error about an ICMP error.
                let (reason, _) = xmit_error_verdict(e);
                self.drop(pkt, reason)
            }
        }
    }
}

/// The drop reason of a refused insert.
fn insert_reason(e: InsertError) -> R {
    match e {
        InsertError::TableFull { .. } => R::ConnTableFull,
        InsertError::Exists => R::ConnConflict,
        InsertError::UnsupportedProtocol(_) => R::UnsupportedProto,
        InsertError::NoSuchTemplate => R::ConnTableFull,
    }
}

/// The drop reason, and the ICMP error due to the sender, of a failed rewrite.
fn xmit_error_verdict(e: XmitError) -> (R, Option<IcmpError>) {
    match e {
        XmitError::FragNeeded { mtu } => (R::FragNeeded, Some(IcmpError::FragNeeded { mtu })),
        XmitError::TtlExpired => (R::Ttl, Some(IcmpError::TimeExceeded)),
        XmitError::TooBig => (R::TooBig, None),
        XmitError::Fragment => (R::Fragment, None),
        XmitError::Malformed | XmitError::NoRoom | XmitError::WrongDirection => {
            (R::XmitError, None)
        }
    }
}
