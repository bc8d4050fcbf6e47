//! The balancer's packet path: parse, find or create the connection, account, rewrite.
//!
//! Everything here runs per packet: no allocation, no lock, bounded work, and no panic on any
//! input (headers are read through `wire`'s checked views; slots through `get`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

use super::{Balancer, Verdict};
use crate::buf::PacketBuf;
use crate::ipvs::conn::{
    Conn, ConnId, ConnKey, ConnSpec, ConnTable, Direction, FwdMethod, InsertError, TemplateKey,
    TemplateSpec, NO_INDEX,
};
use crate::ipvs::counters::IpvsDropReason as R;
use crate::ipvs::frag::{FragAction, FragKey};
use crate::ipvs::guard::Embryo;
use crate::ipvs::limits::SvcLimits;
use crate::ipvs::proto::tcp::is_suspicious;
use crate::ipvs::proto::tcp::TcpState;
use crate::ipvs::proto::ConnState;
use crate::ipvs::reset::reset_in_place;
use crate::ipvs::xmit::{self, XmitCtx, XmitError};
use crate::net::{AddrKind, IcmpError};
use crate::time::Instant;
use crate::wire::{FlowMeta, IpProtocol, Ipv4Meta, PacketMeta, TcpFlags, L4};

/// Most local ports one FULLNAT allocation tries (see `Balancer::alloc_local`).
const LOCAL_PORT_TRIES: u32 = 16;

impl Balancer {
    #[inline]
    pub(super) fn drop<B>(&mut self, pkt: B, reason: R) -> Verdict<B> {
        self.counters.count_drop(reason);
        Verdict::Drop { pkt, reason }
    }

    /// Drops an owned packet, or hands back one that is not addressed to the director.
    #[inline]
    pub(super) fn refuse<B>(&mut self, pkt: B, owner: Option<AddrKind>, reason: R) -> Verdict<B> {
        if owner.is_none() {
            Verdict::NotMine { pkt }
        } else {
            self.drop(pkt, reason)
        }
    }

    /// The balancer's part of a packet whose headers the stack checked (see [`PacketMeta`]):
    /// nothing here views or checks them again.
    pub(super) fn process<B: PacketBuf>(
        &mut self,
        pkt: B,
        meta: &PacketMeta,
        owner: Option<AddrKind>,
        now: Instant,
        may_redirect: bool,
    ) -> Verdict<B> {
        if owner == Some(AddrKind::Host) {
            return Verdict::NotMine { pkt };
        }
        let head = &meta.ip;
        match head.protocol {
            IpProtocol::TCP | IpProtocol::UDP => {}
            IpProtocol::ICMP => {
                if let Some(flow @ FlowMeta { l4: L4::Echo { request }, .. }) = &meta.flow {
                    return self.echo(pkt, head, flow, *request, owner, now, may_redirect);
                }
                return self.icmp(pkt, head, owner, now, may_redirect);
            }
            _ => return self.refuse(pkt, owner, R::UnsupportedProto),
        }
        if head.frag_offset != 0 {
            return self.later_fragment(pkt, head, owner, now, may_redirect);
        }
        // Read in place: a copy of it here is a wide load of what the stack just wrote with
        // narrow stores (a store-forwarding stall per packet).
        let Some(flow) = meta.flow.as_ref() else {
            return self.refuse(pkt, owner, R::BadL4);
        };
        if !head.is_fragment() {
            return self.flow_input(pkt, head, flow, owner, now, may_redirect);
        }
        // A first fragment: whatever happens to it is recorded for the rest of its datagram.
        let key = FragKey::new(head.src_addr, head.dst_addr, flow.tuple.proto, head.ident);
        self.frag_first = Some((key, now));
        let v = self.flow_input(pkt, head, flow, owner, now, may_redirect);
        self.frag_first = None;
        if let Verdict::Redirect { core, .. } = &v {
            let action = FragAction::Redirect { core: *core };
            if self.frags.record(key, action, now).is_err() {
                self.counters.count_drop(R::FragTableFull);
                if let Verdict::Redirect { pkt, .. } = v {
                    return Verdict::Drop { pkt, reason: R::FragTableFull };
                }
            }
        }
        v
    }

    /// A non-first fragment: forwarded as its datagram's first fragment was, if that is known.
    fn later_fragment<B: PacketBuf>(
        &mut self,
        mut pkt: B,
        head: &Ipv4Meta,
        owner: Option<AddrKind>,
        now: Instant,
        may_redirect: bool,
    ) -> Verdict<B> {
        let key = FragKey::new(head.src_addr, head.dst_addr, head.protocol, head.ident);
        match self.frags.lookup(&key, now) {
            Some(FragAction::Forward { fwd, ctx }) => {
                match xmit::forward_fragment_checked(fwd, &mut pkt, head, None, &ctx) {
                    Ok(x) => {
                        self.counters.forwarded += 1;
                        self.counters.frags_followed += 1;
                        Verdict::Forward { pkt, route_to: x.route_to, conn: None }
                    }
                    Err(e) => self.xmit_failed(pkt, e),
                }
            }
            Some(FragAction::Redirect { core }) if may_redirect => {
                self.counters.redirected += 1;
                Verdict::Redirect { pkt, core }
            }
            Some(FragAction::Redirect { .. }) => self.drop(pkt, R::RedirectLoop),
            None => self.refuse(pkt, owner, R::FragUnmatched),
        }
    }

    /// A TCP/UDP packet (or an ICMP echo) that carries its transport header: its connection's,
    /// a new connection's, or not the balancer's.
    fn flow_input<B: PacketBuf>(
        &mut self,
        pkt: B,
        head: &Ipv4Meta,
        flow: &FlowMeta,
        owner: Option<AddrKind>,
        now: Instant,
        may_redirect: bool,
    ) -> Verdict<B> {
        if let Some((id, dir)) = self.conns.lookup(&flow.tuple, now) {
            if !self.reopens(id, dir, flow) {
                return self.forward_conn(pkt, head, id, dir, flow, now);
            }
            // IPVS's default `conn_reuse_mode`: the old connection ends here and the SYN is a
            // new connection's, scheduled by the service as it is now.
            let book = &mut self.book;
            self.conns.remove(id, |c| book.on_freed(c));
        }
        match owner {
            Some(kind) => {
                let slot = self
                    .snap
                    .find(flow.tuple.proto, flow.tuple.daddr, flow.tuple.dport)
                    .and_then(|si| self.book.svc_of_snap.get(si as usize).copied());
                if may_redirect && (slot.is_some() || kind != AddrKind::Local) {
                    // Steered by what the service ever needed, not only by its current dests:
                    // this may be a connection of a removed dest or service (see `Steering`).
                    let key = (flow.tuple.proto, flow.tuple.daddr, flow.tuple.dport);
                    if let Some(mask) = self.book.steer_mask_of(slot, key) {
                        let k = self.steer_core(flow.tuple.saddr, mask);
                        if k != self.cfg.core {
                            self.counters.redirected += 1;
                            return Verdict::Redirect { pkt, core: k };
                        }
                    }
                }
                if let Some(slot) = slot {
                    if flow.tuple.proto == IpProtocol::TCP && self.synproxy_on(slot) {
                        let to = super::synproxy::Proxied::Service(slot);
                        return self.synproxy_new(pkt, head, flow, to, now);
                    }
                    return self.new_conn(pkt, head, flow, slot, now);
                }
                if kind != AddrKind::Local {
                    return self.drop(pkt, R::NoService);
                }
                self.not_here(pkt, flow.tuple.dport, may_redirect, R::NoConn)
            }
            None => self.snat_new(pkt, head, flow, now, may_redirect),
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
    fn may_open(&mut self, flow: &FlowMeta) -> Result<(), R> {
        if flow.tuple.proto != IpProtocol::TCP {
            return Ok(());
        }
        if is_suspicious(flow.flags) {
            return Err(R::TcpBadFlags);
        }
        let handshake = TcpFlags::SYN | TcpFlags::ACK | TcpFlags::FIN | TcpFlags::RST;
        if flow.flags & handshake != TcpFlags::SYN {
            return Err(R::TcpNotSyn);
        }
        Ok(())
    }

    /// Sloppy TCP: a TCP packet that is not a SYN may open a connection of service slot `svc`
    /// when the service is sloppy and the packet is an ACK without RST (a segment of a flow
    /// another director began).
    fn sloppy_may_open(&self, svc: u32, flow: &FlowMeta) -> bool {
        let ack_no_rst =
            flow.flags & (TcpFlags::ACK | TcpFlags::RST | TcpFlags::SYN) == TcpFlags::ACK;
        ack_no_rst && self.book.svcs.get(svc as usize).is_some_and(|s| s.sloppy)
    }

    /// A connection opened sloppily is taken up as if its handshake had been seen: a SYN moves
    /// it to SYN_RECV and the packet itself then to ESTABLISHED, as for a connection opened
    /// here (without it the ACK would leave it in CLOSE with CLOSE's short timeout).
    fn sloppy_handshake(&mut self, id: ConnId, d: u32, now: Instant) {
        if let Some(tr) = self.conns.on_packet(id, Direction::In, TcpFlags::SYN, 0, now) {
            if let Some(up) = tr.activity_change() {
                self.book.activity(d, up);
            }
        }
    }

    /// No dest for a new connection: TCP clients get a reset, everything is counted.
    fn no_dest<B: PacketBuf>(
        &mut self,
        mut pkt: B,
        head: &Ipv4Meta,
        flow: &FlowMeta,
        now: Instant,
    ) -> Verdict<B> {
        self.counters.count_drop(R::NoDest);
        if flow.tuple.proto == IpProtocol::TCP && self.book.guard.may_reset(now) {
            if let Some(route_to) = reset_in_place(&mut pkt, head) {
                self.counters.resets_sent += 1;
                return Verdict::Reply { pkt, route_to };
            }
        }
        Verdict::Drop { pkt, reason: R::NoDest }
    }

    /// Service slot `svc`'s admission limits for a new connection from `src` (see
    /// [`crate::ipvs::limits`]): the lists, the connection limit, then the source's bucket, so a
    /// refused source spends no token. Nothing is changed when it is refused.
    #[inline]
    fn admit_limits(&mut self, svc: u32, src: Ipv4Addr, now: Instant) -> Result<(), R> {
        let Some((s, l)) = self.svc_limits(svc) else { return Ok(()) };
        l.check_source(src)?;
        if s.conn_share != 0 && s.conns >= s.conn_share {
            return Err(R::ServiceConnLimit);
        }
        if let Some(p) = l.rate {
            if !self.rates.admit(svc, src, p, now) {
                return Err(R::SourceRateLimited);
            }
        }
        Ok(())
    }

    /// Whether service slot `svc`'s lists admit `src` (for a SYN the SYN proxy would answer).
    #[inline]
    pub(super) fn source_listed(&self, svc: u32, src: Ipv4Addr) -> Result<(), R> {
        self.svc_limits(svc).map_or(Ok(()), |(_, l)| l.check_source(src))
    }

    /// Service slot `svc` and its admission limits, when it has any (the one lookup both
    /// [`Balancer::admit_limits`] and [`Balancer::source_listed`] make).
    #[inline]
    fn svc_limits(&self, svc: u32) -> Option<(&super::book::SvcSlot, &SvcLimits)> {
        let s = self.book.svcs.get(svc as usize)?;
        Some((s, s.limits.as_deref()?))
    }

    /// Room in `proto`'s share of the table for a new connection: a TCP one evicts the oldest
    /// embryonic connection when the share is full (see [`crate::ipvs::guard`]).
    fn share_room(&mut self, proto: IpProtocol) -> Result<(), R> {
        if self.book.guard.share_has_room(proto) {
            return Ok(());
        }
        if proto == IpProtocol::TCP && self.evict_oldest_embryo() {
            return Ok(());
        }
        Err(R::ProtoShareFull)
    }

    /// Evicts the oldest embryonic connection, if there is one.
    fn evict_oldest_embryo(&mut self) -> bool {
        let conns = &self.conns;
        let Some(v) = self.book.guard.oldest_embryo(|e| still_embryonic(conns, e)) else {
            return false;
        };
        let book = &mut self.book;
        self.conns.remove(v.id, |c| book.on_freed(c))
    }

    /// Inserts a new connection and counts it against its share; a TCP connection that finds
    /// the table full evicts the oldest embryonic connection and tries once more.
    fn insert_conn(
        &mut self,
        spec: &ConnSpec<Ipv4Addr>,
        now: Instant,
    ) -> Result<ConnId, InsertError> {
        let book = &mut self.book;
        let mut r = self.conns.insert(spec, now, |c| book.on_freed(c));
        if matches!(r, Err(InsertError::TableFull { .. }))
            && spec.key.proto == IpProtocol::TCP
            && self.evict_oldest_embryo()
        {
            let book = &mut self.book;
            r = self.conns.insert(spec, now, |c| book.on_freed(c));
        }
        if r.is_ok() {
            self.book.guard.conn_added(spec.key.proto);
        }
        r
    }

    /// The guard's view of connection `id` entering or leaving SYN_RECV (`from` -> `to`): a
    /// new embryo may evict the oldest one.
    fn embryo_transition(&mut self, id: ConnId, from: ConnState, to: ConnState) {
        let syn_recv = ConnState::Tcp(TcpState::SynRecv);
        if from == syn_recv && to != syn_recv {
            self.book.guard.embryo_established();
            return;
        }
        if to != syn_recv || from == syn_recv {
            return;
        }
        let Some(c) = self.conns.get(id) else { return };
        let e = Embryo { id, caddr: c.caddr(), cport: c.cport(), gen: 0 };
        let conns = &self.conns;
        // The connection being admitted is never its own victim (an older handle of it can
        // still be in the FIFO when it re-entered SYN_RECV).
        let victim = self.book.guard.admit_embryo(e, |v| v.id != id && still_embryonic(conns, v));
        if let Some(v) = victim {
            let book = &mut self.book;
            self.conns.remove(v.id, |c| book.on_freed(c));
        }
    }

    /// The dest slot for a new connection of service slot `svc`: through the persistence
    /// template when the service has one, otherwise straight from the scheduler.
    fn pick_dest(
        &mut self,
        svc: u32,
        flow: &FlowMeta,
        now: Instant,
    ) -> Result<(u32, Option<ConnId>), R> {
        let key = flow.tuple.to_ip();
        let Some(s) = self.book.svcs.get(svc as usize) else { return Err(R::NoService) };
        let Some(timeout) = s.persistence else {
            return self.book.schedule(svc, &key).map(|d| (d, None)).ok_or(R::NoDest);
        };
        let t = &flow.tuple;
        let tkey = TemplateKey::new(t.proto, t.saddr, s.netmask, t.daddr, s.port);
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

    pub(super) fn new_conn<B: PacketBuf>(
        &mut self,
        pkt: B,
        head: &Ipv4Meta,
        flow: &FlowMeta,
        svc: u32,
        now: Instant,
    ) -> Verdict<B> {
        let sloppy = match self.may_open(flow) {
            Ok(()) => false,
            Err(R::TcpNotSyn) if self.sloppy_may_open(svc, flow) => true,
            Err(r) => return self.drop(pkt, r),
        };
        if let Err(r) = self.admit_limits(svc, flow.tuple.saddr, now) {
            return self.drop(pkt, r);
        }
        if let Err(r) = self.share_room(flow.tuple.proto) {
            return self.drop(pkt, r);
        }
        let (d, template) = match self.pick_dest(svc, flow, now) {
            Ok(v) => v,
            Err(R::NoDest) => return self.no_dest(pkt, head, flow, now),
            Err(r) => return self.drop(pkt, r),
        };
        let Some(x) = self.book.dests.get(d as usize) else { return self.drop(pkt, R::NoDest) };
        let (daddr, dport_cfg, fwd) = (x.addr, x.port, x.fwd);
        if sloppy && !matches!(fwd, FwdMethod::Route | FwdMethod::Tunnel) {
            // Only DR and TUN can take over a flow: the real server answers the client itself.
            return self.drop(pkt, R::TcpNotSyn);
        }
        let dport = match fwd {
            FwdMethod::Route | FwdMethod::Tunnel => flow.tuple.dport,
            _ if dport_cfg == 0 => flow.tuple.dport,
            _ => dport_cfg,
        };
        let one_packet = self.book.svcs.get(svc as usize).is_some_and(|s| s.one_packet);
        let pool_key = SocketAddr::new(IpAddr::V4(daddr), dport_cfg);
        let local = if fwd == FwdMethod::FullNat {
            match self.alloc_local(svc, pool_key, flow.tuple.proto, (daddr, dport), now) {
                Ok(l) => Some(l),
                Err(r) => return self.drop(pkt, r),
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
            let t = &flow.tuple;
            let ctx = self.ctx(
                Direction::In,
                t.proto,
                (t.saddr, t.sport),
                (t.daddr, t.dport),
                (daddr, dport),
                local,
                fwd,
                d,
                false,
            );
            return self.transmit(pkt, head, fwd, &ctx, Some(flow.l4), None, |b, _| {
                b.book.traffic(svc, d, Direction::In, head.total_len as u32)
            });
        }
        let spec = ConnSpec {
            key: flow.tuple,
            dest_addr: (daddr, dport),
            local,
            fwd,
            dest: d,
            svc,
            template,
        };
        match self.insert_conn(&spec, now) {
            Ok(id) => {
                self.book.bind(svc, d);
                self.counters.conns_created += 1;
                if sloppy {
                    self.sloppy_handshake(id, d, now);
                }
                self.forward_conn(pkt, head, id, Direction::In, flow, now)
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

    /// A FULLNAT local address and port toward `dest` for a new connection of service slot
    /// `svc`.
    ///
    /// Port pools are per service, but what must be unique is the tuple the real server sees,
    /// `(laddr, lport) -> (dest, dport)`: two services sharing a local address toward the same
    /// dest draw from separate pools and can hand out the same tuple. A port whose reply tuple a
    /// live connection (of any service) already holds is given back and the next one taken;
    /// each pool's cursor moves past it, so over a cursor's lap every port held by another
    /// service is stepped over at most once (amortised O(1)), and one allocation tries at most
    /// [`LOCAL_PORT_TRIES`] ports before the SYN is dropped as `conn_conflict`.
    fn alloc_local(
        &mut self,
        svc: u32,
        pool_key: SocketAddr,
        proto: IpProtocol,
        dest: (Ipv4Addr, u16),
        now: Instant,
    ) -> Result<(Ipv4Addr, u16), R> {
        for _ in 0..LOCAL_PORT_TRIES {
            let pool = self.book.svcs.get_mut(svc as usize).and_then(|s| s.pool.as_mut());
            let Some(pool) = pool else { return Err(R::LaddrExhausted) };
            let (a, p) = match pool.alloc(pool_key) {
                Ok((IpAddr::V4(a), p)) => (a, p),
                _ => return Err(R::LaddrExhausted),
            };
            let reply = ConnKey::new(proto, dest.0, dest.1, a, p);
            if !self.conns.holds(&reply, now) {
                return Ok((a, p));
            }
            let _ = pool.release(IpAddr::V4(a), p, pool_key);
            self.counters.local_port_conflicts += 1;
        }
        Err(R::ConnConflict)
    }

    /// A packet from inside to an address the director does not own: SNAT if a rule matches.
    pub(super) fn snat_new<B: PacketBuf>(
        &mut self,
        pkt: B,
        head: &Ipv4Meta,
        flow: &FlowMeta,
        now: Instant,
        may_redirect: bool,
    ) -> Verdict<B> {
        let t = &flow.tuple;
        let Some(rule) = self.snap.snat_match(t.proto, t.saddr, t.daddr) else {
            // A NAT dest's reply whose connection lives on the core the client address
            // points to (see `steer_core`).
            if may_redirect
                && t.proto != IpProtocol::ICMP
                && self.book.is_nat_dest(t.saddr, t.sport)
            {
                let k = self.steer_core(t.daddr, Ipv4Addr::BROADCAST);
                if k != self.cfg.core {
                    self.counters.redirected += 1;
                    return Verdict::Redirect { pkt, core: k };
                }
            }
            return Verdict::NotMine { pkt };
        };
        // The inside host's packets may reach any core; its connections live on the core its
        // address points to (the core allocates the local port, so replies find it too).
        if may_redirect && self.cfg.n_cores > 1 {
            let k = self.steer_core(flow.tuple.saddr, Ipv4Addr::BROADCAST);
            if k != self.cfg.core {
                self.counters.redirected += 1;
                return Verdict::Redirect { pkt, core: k };
            }
        }
        if t.proto == IpProtocol::TCP && self.snat_synproxy_on(rule) {
            return self.synproxy_new(pkt, head, flow, super::synproxy::Proxied::Snat(rule), now);
        }
        self.snat_open(pkt, head, flow, rule, now)
    }

    /// A new connection of SNAT rule `rule` (its index in the snapshot): a port from the WAN
    /// address's pool, the entry, and the packet forwarded.
    pub(super) fn snat_open<B: PacketBuf>(
        &mut self,
        pkt: B,
        head: &Ipv4Meta,
        flow: &FlowMeta,
        rule: usize,
        now: Instant,
    ) -> Verdict<B> {
        let t = &flow.tuple;
        if let Err(r) = self.may_open(flow).and_then(|()| self.share_room(flow.tuple.proto)) {
            return self.drop(pkt, r);
        }
        let slot = self.book.snat_of_rule.get(rule).copied().unwrap_or(NO_INDEX);
        let rule_slot = self.book.snat_rule_of_rule.get(rule).copied().unwrap_or(NO_INDEX);
        let pool_port = super::book::snat_pool_port(t.proto, t.dport);
        let server = SocketAddr::new(IpAddr::V4(t.daddr), pool_port);
        let local = match self.book.snat.get_mut(slot as usize).map(|s| s.pool.alloc(server)) {
            Some(Ok((IpAddr::V4(a), p))) => (a, p),
            _ => return self.drop(pkt, R::LaddrExhausted),
        };
        // An echo reply carries the translated identifier in both "port" places.
        let server_port = if t.proto == IpProtocol::ICMP { local.1 } else { t.dport };
        let spec = ConnSpec {
            key: *t,
            dest_addr: (t.daddr, server_port),
            local: Some(local),
            fwd: FwdMethod::Snat,
            dest: slot,
            svc: rule_slot,
            template: None,
        };
        match self.insert_conn(&spec, now) {
            Ok(id) => {
                if let Some(s) = self.book.snat.get_mut(slot as usize) {
                    s.refs = s.refs.saturating_add(1);
                    s.stats.conns += 1;
                }
                self.book.snat_rule_bind(rule_slot);
                self.counters.conns_created += 1;
                self.forward_conn(pkt, head, id, Direction::In, flow, now)
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
        proto: IpProtocol,
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
            (FwdMethod::Tunnel, Some(x)) => x.tun.zip(x.tun_src),
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

    /// The forwarding context of a packet in `dir` of connection `c`.
    fn conn_ctx(&self, c: &Conn<Ipv4Addr>, dir: Direction, toa: bool) -> XmitCtx {
        let fwd = c.fwd();
        self.ctx(
            dir,
            c.proto(),
            (c.caddr(), c.cport()),
            (c.vaddr(), c.vport()),
            (c.daddr(), c.dport()),
            fwd.uses_local_addr().then_some((c.laddr(), c.lport())),
            fwd,
            c.dest(),
            toa,
        )
    }

    /// Rewrites with the forwarding mode, handing it the IPv4 header the stack checked (`head`)
    /// and the transport header checked here (`l4`), so neither is checked again; on success
    /// runs `on_sent` and returns the verdict (naming `conn` for the send path's L2 cache).
    #[allow(clippy::too_many_arguments)]
    fn transmit<B: PacketBuf>(
        &mut self,
        mut pkt: B,
        head: &Ipv4Meta,
        fwd: FwdMethod,
        ctx: &XmitCtx,
        l4: Option<L4>,
        conn: Option<(ConnId, Direction)>,
        on_sent: impl FnOnce(&mut Self, &xmit::Xmit),
    ) -> Verdict<B> {
        if fwd == FwdMethod::Tunnel && ctx.tun.is_none() {
            return self.drop(pkt, R::NoRoute);
        }
        let result = match self.frag_first {
            None => xmit::forward_checked(fwd, &mut pkt, head, l4, ctx),
            Some((_, now)) if !self.frags.has_room(now) => {
                return self.drop(pkt, R::FragTableFull);
            }
            Some(_) => xmit::forward_fragment_checked(fwd, &mut pkt, head, l4, ctx),
        };
        match result {
            Ok(x) => {
                if let Some((key, now)) = self.frag_first {
                    let _ = self.frags.record(key, FragAction::Forward { fwd, ctx: *ctx }, now);
                }
                if x.tx_csum && self.cfg.tx_csum_offload {
                    // The worker may leave these checksums to the NIC (see `xmit::Xmit`).
                    pkt.want_tx_csum(head.l3);
                }
                on_sent(self, &x);
                self.counters.forwarded += 1;
                Verdict::Forward { pkt, route_to: x.route_to, conn }
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

    /// A packet of connection `id`, travelling in `dir`: the SYN proxy's connections go
    /// through it first (`balancer::synproxy`).
    #[inline]
    pub(super) fn forward_conn<B: PacketBuf>(
        &mut self,
        pkt: B,
        head: &Ipv4Meta,
        id: ConnId,
        dir: Direction,
        flow: &FlowMeta,
        now: Instant,
    ) -> Verdict<B> {
        if self.conns.get(id).is_some_and(|c| c.synproxy()) {
            return self.synproxy_conn(pkt, head, id, dir, flow, now);
        }
        self.forward_plain(pkt, head, id, dir, flow, now)
    }

    /// A packet of connection `id`, travelling in `dir`, rewritten by its forwarding mode.
    pub(super) fn forward_plain<B: PacketBuf>(
        &mut self,
        pkt: B,
        head: &Ipv4Meta,
        id: ConnId,
        dir: Direction,
        flow: &FlowMeta,
        now: Instant,
    ) -> Verdict<B> {
        // The entry is read in place (no copy of it per packet): what the rest needs is taken
        // out of it here.
        let Some(c) = self.conns.get(id) else { return self.drop(pkt, R::NoConn) };
        let fwd = c.fwd();
        let toa = fwd == FwdMethod::FullNat
            && dir == Direction::In
            && !c.toa_done()
            && self.book.svcs.get(c.svc() as usize).is_some_and(|s| s.toa);
        let ctx = self.conn_ctx(c, dir, toa);
        let (svc, d, len) = (c.svc(), c.dest(), head.total_len as u32);
        let tcp_data = flow.tcp_data;
        let mut flags = flow.flags;
        if held_bare_ack(c, dir, flags, tcp_data) {
            // Accounted as a repeated SYN: the connection stays in SYN_RECV (see `guard`), and
            // goes to the back of the embryonic FIFO: its client answered the handshake.
            flags = TcpFlags::SYN;
            self.book.guard.count_bare_ack_held();
            let e = Embryo { id, caddr: c.caddr(), cport: c.cport(), gen: 0 };
            let conns = &self.conns;
            self.book.guard.requeue_embryo(e, |v| still_embryonic(conns, v));
        }
        self.transmit(pkt, head, fwd, &ctx, Some(flow.l4), Some((id, dir)), |b, x| {
            // TOA rides on the handshake's last ACK (where real servers' TOA modules read it)
            // and on every segment until one carrying data has had it.
            if x.toa_inserted && tcp_data {
                if let Some(e) = b.conns.get_mut(id) {
                    e.set_toa_done(true);
                }
            }
            let mut reset_release = false;
            if let Some(tr) = b.conns.on_packet(id, dir, flags, len, now) {
                b.embryo_transition(id, tr.from, tr.to);
                b.sync_note(id, dir, tr);
                // A reset connection is over at both ends (no TIME_WAIT follows a reset): a
                // FULLNAT/SNAT local port goes back to the pool now, not after CLOSE's
                // timeout, so spoofed SYNs and resets cannot hold the pool. That includes a
                // client's reset in SYN_RECV, which the state table (as IPVS's) ignores.
                let syn_recv = ConnState::Tcp(TcpState::SynRecv);
                reset_release = fwd.uses_local_addr()
                    && flags.contains(TcpFlags::RST)
                    && (tr.to == ConnState::Tcp(TcpState::Close) || tr.from == syn_recv);
                if let Some(up) = tr.activity_change() {
                    if fwd == FwdMethod::Snat {
                        b.book.snat_rule_activity(svc, up);
                    } else {
                        b.book.activity(d, up);
                    }
                }
            }
            if fwd == FwdMethod::Snat {
                b.book.snat_traffic(d, dir, len);
                b.book.snat_rule_traffic(svc, dir, len);
            } else {
                b.book.traffic(svc, d, dir, len);
            }
            if reset_release {
                let book = &mut b.book;
                if b.conns.remove(id, |c| book.on_freed(c)) {
                    b.book.guard.count_reset_release();
                }
            }
        })
    }

    /// Whether a client's SYN without ACK finds its connection `id` in TIME_WAIT or CLOSE: a
    /// client that reuses its port after a close opens a new connection (as IPVS does with its
    /// default `conn_reuse_mode`), which must not go on to the old connection's real server (it
    /// may be at weight 0 or gone by now).
    #[inline]
    fn reopens(&self, id: ConnId, dir: Direction, flow: &FlowMeta) -> bool {
        dir == Direction::In
            && flow.flags.contains(TcpFlags::SYN)
            && !flow.flags.contains(TcpFlags::ACK)
            && self.conns.get(id).is_some_and(|c| {
                matches!(c.state(), ConnState::Tcp(TcpState::TimeWait | TcpState::Close))
            })
    }

    /// An ICMP echo request or reply: a SNAT echo flow's packet, a new one from an inside host
    /// (a request matching a SNAT rule), or not the balancer's.
    #[allow(clippy::too_many_arguments)]
    fn echo<B: PacketBuf>(
        &mut self,
        pkt: B,
        head: &Ipv4Meta,
        flow: &FlowMeta,
        request: bool,
        owner: Option<AddrKind>,
        now: Instant,
        may_redirect: bool,
    ) -> Verdict<B> {
        if let Some((id, dir)) = self.conns.lookup(&flow.tuple, now) {
            return self.forward_conn(pkt, head, id, dir, flow, now);
        }
        match owner {
            None if request => self.snat_new(pkt, head, flow, now, may_redirect),
            // A reply to a translated identifier: the core that owns it has the flow.
            Some(AddrKind::Local) if !request => {
                self.not_here(pkt, flow.tuple.dport, may_redirect, R::IcmpNoConn)
            }
            _ => self.refuse(pkt, owner, R::IcmpUnsupported),
        }
    }

    /// ICMP to a VIP or local address, or passing through: an error about a connection is
    /// translated and forwarded to the connection's other side (never answered with an ICMP
    /// error of its own). Echo requests to owned addresses never get here (the stack answers).
    fn icmp<B: PacketBuf>(
        &mut self,
        mut pkt: B,
        head: &Ipv4Meta,
        owner: Option<AddrKind>,
        now: Instant,
        may_redirect: bool,
    ) -> Verdict<B> {
        if head.is_fragment() {
            return self.refuse(pkt, owner, R::Fragment);
        }
        let Some(err) = xmit::icmp::check_error(pkt.data(), head) else {
            return self.refuse(pkt, owner, R::IcmpUnsupported);
        };
        let key = err.conn_key();
        let Some((id, dir)) = self.conns.lookup(&key, now) else {
            if owner == Some(AddrKind::Local) {
                // About a packet sent from a local port: that port's core has the connection.
                return self.not_here(pkt, key.dport, may_redirect, R::IcmpNoConn);
            }
            return self.refuse(pkt, owner, R::IcmpNoConn);
        };
        let Some(c) = self.conns.get(id).copied() else { return self.drop(pkt, R::IcmpNoConn) };
        let fwd = c.fwd();
        let ctx = self.conn_ctx(&c, dir, false);
        if fwd == FwdMethod::Tunnel && ctx.tun.is_none() {
            return self.drop(pkt, R::NoRoute);
        }
        match xmit::icmp::translate_checked(fwd, &mut pkt, &err, &ctx) {
            Ok(x) => {
                self.counters.icmp_forwarded += 1;
                self.counters.forwarded += 1;
                Verdict::Forward { pkt, route_to: x.route_to, conn: None }
            }
            Err(e) => {
                // No ICMP error about an ICMP error.
                let (reason, _) = xmit_error_verdict(e);
                self.drop(pkt, reason)
            }
        }
    }
}

/// Whether handle `e` still names an embryonic connection: the slot is live, in SYN_RECV, and
/// holds the same client (a freed slot may hold another connection now).
fn still_embryonic(conns: &ConnTable<Ipv4Addr>, e: &Embryo) -> bool {
    conns.get(e.id).is_some_and(|c| {
        c.state() == ConnState::Tcp(TcpState::SynRecv)
            && c.caddr() == e.caddr
            && c.cport() == e.cport
            && !c.is_template()
    })
}

/// Whether a client packet is the bare ACK that ends a handshake the director sees only half
/// of (DR, TUN: replies bypass it): an ACK without SYN, FIN, RST or data, to a connection in
/// SYN_RECV that has seen only its SYN. It does not make the connection ESTABLISHED; data, or
/// any later segment, does (see [`crate::ipvs::guard`]).
fn held_bare_ack(c: &Conn<Ipv4Addr>, dir: Direction, flags: TcpFlags, data: bool) -> bool {
    let handshake = TcpFlags::SYN | TcpFlags::ACK | TcpFlags::FIN | TcpFlags::RST;
    dir == Direction::In
        && matches!(c.fwd(), FwdMethod::Route | FwdMethod::Tunnel)
        && c.state() == ConnState::Tcp(TcpState::SynRecv)
        && flags & handshake == TcpFlags::ACK
        && !data
        && c.counters.in_pkts < 2
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
