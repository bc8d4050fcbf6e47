//! The balancer's side of the SYN proxy: which packets of a proxied service it answers, when
//! it opens a connection, and how a proxied connection's segments are carried.
//!
//! - A SYN of no connection gets a cookie SYN-ACK ([`Verdict::Reply`]) if the core's SYN-ACK
//!   bucket has a token; nothing is stored, no port is taken.
//! - An ACK of no connection whose cookie is valid becomes, in its own buffer, the client's
//!   SYN to the service (the client's ISN and options decoded from the cookie), which then goes
//!   the way of any new connection: scheduling, local port, insert, forwarding mode. Data that
//!   came with it is held (one segment, bounded) in the proxy's handshake table.
//! - While the server's handshake is in progress: its SYN-ACK becomes, in its own buffer, the
//!   client's ACK (with the held data) and fixes the translation; its RST goes to the client
//!   in the client's sequence space; a retransmitted bare ACK from the client sends the SYN
//!   again; other client segments are dropped (the client retransmits them); a server that
//!   never answers has its connection ended by [`Balancer::poll`].
//! - Once established every segment is translated ([`crate::ipvs::synproxy::seq`]) before the
//!   forwarding mode rewrites it.
//!
//! SNAT rules with the proxy on (`SnatRule::synproxy`) take the same path: the director
//! answers an inside host's SYN in the outside server's name, and a port is taken from the WAN
//! address's pool only when the host's ACK carries a valid cookie ([`Proxied::Snat`]).
//!
//! A new SYN from the client on a proxied connection's tuple (a port reused after TIME_WAIT)
//! ends that connection and starts over with a cookie.
//!
//! Any other TCP segment of no connection (a forged, stale or out-of-window ACK, a RST, a FIN)
//! is dropped as `synproxy_bad_ack`: the director has nothing to reset.

use super::{Balancer, Verdict};
use crate::buf::PacketBuf;
use crate::ipvs::conn::{ConnId, Direction, FwdMethod};
use crate::ipvs::counters::IpvsDropReason as R;
use crate::ipvs::proto::tcp::is_suspicious;
use crate::ipvs::synproxy::cookie::{self, Tuple};
use crate::ipvs::synproxy::segment::{write_in_place, Seg, SynOpts};
use crate::ipvs::synproxy::seq::{translate_in, translate_out, Deltas};
use crate::ipvs::synproxy::{Pending, NO_PENDING};
use crate::time::Instant;
use crate::wire::{FlowMeta, Ipv4Meta, TcpFlags, TcpPacket};

/// Handshake slots [`Balancer::poll`] looks at per call.
const SWEEP_BUDGET: usize = 64;
/// Bytes of the TOA option FULLNAT adds to a client's first data segments.
const TOA_LEN: u16 = 8;

const HANDSHAKE: TcpFlags = TcpFlags(0x17); // SYN | ACK | RST | FIN

/// What the proxy reads from a TCP segment before rewriting its buffer.
#[derive(Debug, Clone)]
struct SegInfo {
    flags: TcpFlags,
    seq: u32,
    ack: u32,
    win: u16,
    opts: SynOpts,
    payload: std::ops::Range<usize>,
}

fn seg_info(data: &[u8], head: &Ipv4Meta) -> Option<SegInfo> {
    let start = head.l4();
    let end = head.l3 + head.total_len;
    let t = TcpPacket::new_checked(data.get(start..end)?).ok()?;
    Some(SegInfo {
        flags: t.flags(),
        seq: t.seq_number(),
        ack: t.ack_number(),
        win: t.window_len(),
        opts: SynOpts::of(&t),
        payload: start + t.header_len()..end,
    })
}

/// What a proxied handshake opens once its cookie validates.
#[derive(Debug, Clone, Copy)]
pub(super) enum Proxied {
    /// A connection of service slot `.0`.
    Service(u32),
    /// A connection of SNAT rule `.0` (its index in the snapshot).
    Snat(usize),
}

impl Balancer {
    /// Whether SNAT rule `rule` (its index in the snapshot) has the SYN proxy on.
    #[inline]
    pub(super) fn snat_synproxy_on(&self, rule: usize) -> bool {
        self.proxy.enabled() && self.snap.snat().get(rule).is_some_and(|r| r.synproxy)
    }

    /// Whether service slot `svc` has the SYN proxy on.
    #[inline]
    pub(super) fn synproxy_on(&self, svc: u32) -> bool {
        self.proxy.enabled() && self.book.svcs.get(svc as usize).is_some_and(|s| s.synproxy)
    }

    /// Handshakes toward real servers the SYN proxy has in progress on this core.
    pub fn synproxy_pending(&self) -> usize {
        self.proxy.pending_count()
    }

    /// A TCP segment of no connection for a proxied service or SNAT rule (`to`).
    pub(super) fn synproxy_new<B: PacketBuf>(
        &mut self,
        mut pkt: B,
        head: &Ipv4Meta,
        flow: &FlowMeta,
        to: Proxied,
        now: Instant,
    ) -> Verdict<B> {
        if head.is_fragment() {
            return self.drop(pkt, R::Fragment);
        }
        let Some(s) = seg_info(pkt.data(), head) else { return self.drop(pkt, R::BadL4) };
        if is_suspicious(s.flags) {
            return self.drop(pkt, R::TcpBadFlags);
        }
        let tuple = Tuple {
            saddr: flow.tuple.saddr,
            daddr: flow.tuple.daddr,
            sport: flow.tuple.sport,
            dport: flow.tuple.dport,
        };
        let now_ms = now.as_millis();
        let count = cookie::count_of(now_ms);
        let hs = s.flags & HANDSHAKE;
        if hs == TcpFlags::SYN {
            // A denied source gets no SYN-ACK; the rate and the connection limit are checked
            // on the ACK that opens the connection (`new_conn`).
            if let Proxied::Service(svc) = to {
                if let Err(r) = self.source_listed(svc, flow.tuple.saddr) {
                    return self.drop(pkt, r);
                }
            }
            if !self.proxy.take_synack(now) {
                self.counters.synproxy.synack_rate_limited += 1;
                return self.drop(pkt, R::SynproxyRateLimited);
            }
            let idx = cookie::mss_index(s.opts.mss);
            let isn = cookie::make(self.proxy.secret(), &tuple, s.seq, count, idx);
            let toa = match to {
                Proxied::Service(svc) => self.book.svcs.get(svc as usize).is_some_and(|x| x.toa),
                Proxied::Snat(_) => false,
            };
            let mss = self.cfg.mtu.saturating_sub(40 + if toa { TOA_LEN } else { 0 });
            let ours = match s.opts.ts {
                Some((tsval, _)) => SynOpts {
                    mss,
                    wscale: s.opts.wscale.map(|_| self.proxy.config().wscale),
                    sack: s.opts.sack,
                    ts: Some((cookie::ts_encode(now_ms as u32, s.opts.wscale, s.opts.sack), tsval)),
                },
                // Without timestamps the cookie cannot carry window scale or SACK: offer
                // neither, as the kernel does.
                None => SynOpts { mss, wscale: None, sack: false, ts: None },
            };
            let mut opts = [0u8; 40];
            let n = ours.write(&mut opts, true);
            let seg = Seg {
                src: (flow.tuple.daddr, flow.tuple.dport),
                dst: (flow.tuple.saddr, flow.tuple.sport),
                seq: isn,
                ack: s.seq.wrapping_add(1),
                flags: TcpFlags::SYN | TcpFlags::ACK,
                window: u16::MAX,
                opts: &opts[..n],
                payload: &[],
            };
            if write_in_place(&mut pkt, head.l3, &seg).is_none() {
                return self.drop(pkt, R::XmitError);
            }
            self.counters.synproxy.cookies_sent += 1;
            return Verdict::Reply { pkt, route_to: flow.tuple.saddr };
        }
        if hs != TcpFlags::ACK {
            self.counters.synproxy.ack_invalid += 1;
            return self.drop(pkt, R::SynproxyBadAck);
        }
        let cookie_isn = s.ack.wrapping_sub(1);
        let client_isn = s.seq.wrapping_sub(1);
        let Ok(idx) = cookie::check(self.proxy.secret(), &tuple, cookie_isn, client_isn, count)
        else {
            self.counters.synproxy.ack_invalid += 1;
            return self.drop(pkt, R::SynproxyBadAck);
        };
        let (wscale, sack, ts) = match s.opts.ts {
            Some((val, ecr)) => match cookie::ts_decode(ecr) {
                Some((w, k)) => (w, k, Some((val, ecr))),
                None => {
                    self.counters.synproxy.ack_invalid += 1;
                    return self.drop(pkt, R::SynproxyBadAck);
                }
            },
            None => (None, false, None),
        };
        self.counters.synproxy.ack_valid += 1;
        let syn = SynOpts {
            mss: cookie::MSS_TABLE[idx as usize & 3],
            wscale,
            sack,
            ts: ts.map(|(val, _)| (val, 0)),
        };
        let pending = Pending {
            conn: NO_PENDING,
            cookie_isn,
            client_isn,
            cookie_ts: ts.map(|(_, ecr)| ecr),
            client_tsval: ts.map_or(0, |(val, _)| val),
            client_win: s.win,
            syn,
            held: 0,
            deadline: now + self.proxy.config().server_timeout,
        };
        let data = pkt.data().get(s.payload.clone()).unwrap_or(&[]);
        let Some(slot) = self.proxy.start(pending, data, &mut self.counters.synproxy) else {
            self.counters.synproxy.pending_full += 1;
            return self.drop(pkt, R::SynproxyHandshake);
        };
        let v =
            self.synproxy_send_syn(
                pkt,
                head,
                flow,
                client_isn,
                &pending,
                |b, pkt, h, f| match to {
                    Proxied::Service(svc) => b.new_conn(pkt, h, f, svc, now),
                    Proxied::Snat(rule) => b.snat_open(pkt, h, f, rule, now),
                },
            );
        match &v {
            Verdict::Forward { conn: Some((id, _)), .. } => {
                self.proxy.bind(slot, id.index());
                if let Some(c) = self.conns.get_mut(*id) {
                    c.set_synproxy(true);
                }
            }
            _ => self.proxy.finish(slot),
        }
        v
    }

    /// Rewrites the client segment in `pkt` into the client's SYN toward the service (ISN
    /// `client_isn`, the options of `p`) and hands it to `go` with its reparsed headers.
    fn synproxy_send_syn<B: PacketBuf>(
        &mut self,
        mut pkt: B,
        head: &Ipv4Meta,
        flow: &FlowMeta,
        client_isn: u32,
        p: &Pending,
        go: impl FnOnce(&mut Self, B, &Ipv4Meta, &FlowMeta) -> Verdict<B>,
    ) -> Verdict<B> {
        let mut opts = [0u8; 40];
        let n = p.syn.write(&mut opts, true);
        let shift = p.syn.wscale.unwrap_or(0).min(14);
        let window = (u32::from(p.client_win) << shift).min(u32::from(u16::MAX)) as u16;
        let seg = Seg {
            src: (flow.tuple.saddr, flow.tuple.sport),
            dst: (flow.tuple.daddr, flow.tuple.dport),
            seq: client_isn,
            ack: 0,
            flags: TcpFlags::SYN,
            window,
            opts: &opts[..n],
            payload: &[],
        };
        self.reparsed(pkt_write(&mut pkt, head, &seg), pkt, go)
    }

    /// Runs `go` on `pkt` once rewritten (`ok`), with its headers parsed again.
    fn reparsed<B: PacketBuf>(
        &mut self,
        ok: Option<usize>,
        pkt: B,
        go: impl FnOnce(&mut Self, B, &Ipv4Meta, &FlowMeta) -> Verdict<B>,
    ) -> Verdict<B> {
        let Some(l3) = ok else { return self.drop(pkt, R::XmitError) };
        let Ok(h) = Ipv4Meta::parse(pkt.data(), l3) else { return self.drop(pkt, R::XmitError) };
        let Some(f) = FlowMeta::parse(pkt.data(), &h) else { return self.drop(pkt, R::XmitError) };
        go(self, pkt, &h, &f)
    }

    /// A segment of a connection the SYN proxy opened.
    pub(super) fn synproxy_conn<B: PacketBuf>(
        &mut self,
        mut pkt: B,
        head: &Ipv4Meta,
        id: ConnId,
        dir: Direction,
        flow: &FlowMeta,
        now: Instant,
    ) -> Verdict<B> {
        let Some(pc) = self.proxy.conn(id.index()).copied() else {
            return self.forward_plain(pkt, head, id, dir, flow, now);
        };
        if dir == Direction::In && flow.flags & HANDSHAKE == TcpFlags::SYN {
            // A new SYN on the tuple of a proxied connection (its port reused after TIME_WAIT):
            // the old connection ends and the new one is proxied from its cookie like any other.
            let of = self.conns.get(id).map(|c| (c.svc(), c.fwd()));
            let book = &mut self.book;
            self.conns.remove(id, |c| book.on_freed(c));
            return match of {
                // SNAT: matched again (the rule may have changed), proxied if it says so.
                Some((_, FwdMethod::Snat)) => self.snat_new(pkt, head, flow, now, false),
                Some((svc, _)) if self.synproxy_on(svc) => {
                    self.synproxy_new(pkt, head, flow, Proxied::Service(svc), now)
                }
                Some((svc, _)) => self.new_conn(pkt, head, flow, svc, now),
                None => self.drop(pkt, R::NoConn),
            };
        }
        let end = head.l3 + head.total_len;
        if pc.pending == NO_PENDING {
            if let Some(seg) = pkt.data_mut().get_mut(head.l4()..end) {
                match dir {
                    Direction::In => translate_in(seg, &pc.deltas),
                    Direction::Out => translate_out(seg, &pc.deltas),
                }
            }
            return self.forward_plain(pkt, head, id, dir, flow, now);
        }
        let slot = pc.pending;
        let (Some(p), Some(s), Some(c)) = (
            self.proxy.pending(slot, id.index()).copied(),
            seg_info(pkt.data(), head),
            self.conns.get(id).copied(),
        ) else {
            return self.drop(pkt, R::SynproxyHandshake);
        };
        let hs = s.flags & HANDSHAKE;
        match dir {
            Direction::Out if s.flags.contains(TcpFlags::RST) => {
                // The server refused: the client hears it in its own sequence space.
                if let Some(seg) = pkt.data_mut().get_mut(head.l4()..end) {
                    TcpPacket::new_unchecked(seg).rewrite_seq_number(p.cookie_isn.wrapping_add(1));
                }
                self.proxy.finish(slot);
                self.counters.synproxy.server_resets += 1;
                self.forward_plain(pkt, head, id, dir, flow, now)
            }
            Direction::Out
                if hs == TcpFlags::SYN | TcpFlags::ACK && s.ack == p.client_isn.wrapping_add(1) =>
            {
                let client_ws = p.syn.wscale.is_some();
                let deltas = Deltas {
                    seq: p.cookie_isn.wrapping_sub(s.seq),
                    ts: match (p.cookie_ts, s.opts.ts) {
                        (Some(ours), Some((theirs, _))) => ours.wrapping_sub(theirs),
                        _ => 0,
                    },
                    server_wscale: if client_ws { s.opts.wscale.unwrap_or(0) } else { 0 },
                    client_wscale: if client_ws { self.proxy.config().wscale } else { 0 },
                };
                let ack_opts = SynOpts {
                    ts: p.syn.ts.and(s.opts.ts).map(|(theirs, _)| (p.client_tsval, theirs)),
                    ..p.syn
                };
                let mut opts = [0u8; 40];
                let n = ack_opts.write(&mut opts, false);
                let held = self.proxy.held(slot);
                let mut flags = TcpFlags::ACK;
                if !held.is_empty() {
                    flags = flags | TcpFlags::PSH;
                }
                let seg = Seg {
                    src: (c.caddr(), c.cport()),
                    dst: (c.vaddr(), c.vport()),
                    seq: s.ack,
                    ack: s.seq.wrapping_add(1),
                    flags,
                    window: p.client_win,
                    opts: &opts[..n],
                    payload: held,
                };
                let ok = pkt_write(&mut pkt, head, &seg);
                let len = head.total_len as u32;
                self.conns.on_packet(id, Direction::Out, TcpFlags::SYN | TcpFlags::ACK, len, now);
                if let Some(e) = self.proxy.conn_mut(id.index()) {
                    e.deltas = deltas;
                }
                self.proxy.finish(slot);
                self.counters.synproxy.conns_proxied += 1;
                self.reparsed(ok, pkt, |b, pkt, h, f| {
                    b.forward_plain(pkt, h, id, Direction::In, f, now)
                })
            }
            Direction::Out => {
                self.counters.synproxy.pending_drops += 1;
                self.drop(pkt, R::SynproxyHandshake)
            }
            Direction::In if s.flags.contains(TcpFlags::RST) => {
                self.proxy.finish(slot);
                self.forward_plain(pkt, head, id, dir, flow, now)
            }
            Direction::In if hs == TcpFlags::ACK && s.payload.is_empty() => {
                // The client's third ACK again: the server may not have had our SYN.
                self.counters.synproxy.syn_retransmits += 1;
                let client_isn = s.seq.wrapping_sub(1);
                self.synproxy_send_syn(pkt, head, flow, client_isn, &p, |b, pkt, h, f| {
                    b.forward_plain(pkt, h, id, Direction::In, f, now)
                })
            }
            Direction::In => {
                let data = pkt.data().get(s.payload.clone()).unwrap_or(&[]);
                let first = hs == TcpFlags::ACK && s.seq == p.client_isn.wrapping_add(1);
                if !(first && self.proxy.hold(slot, data, &mut self.counters.synproxy)) {
                    self.counters.synproxy.pending_drops += 1;
                }
                self.drop(pkt, R::SynproxyHandshake)
            }
        }
    }

    /// Gives up on handshakes whose server never answered (bounded work per call).
    pub(super) fn synproxy_poll(&mut self, now: Instant) {
        if !self.proxy.enabled() {
            return;
        }
        let conns = &mut self.conns;
        let book = &mut self.book;
        self.proxy.sweep(now, SWEEP_BUDGET, &mut self.counters.synproxy, |idx| {
            let id = ConnId::from_index(idx);
            if conns.get(id).is_some_and(|c| c.synproxy()) {
                conns.remove(id, |c| book.on_freed(c));
            }
        });
    }
}

/// Writes `seg` over the packet at `head.l3`; the IPv4 header's offset when it fit.
fn pkt_write<B: PacketBuf>(pkt: &mut B, head: &Ipv4Meta, seg: &Seg<'_>) -> Option<usize> {
    write_in_place(pkt, head.l3, seg).map(|()| head.l3)
}
