//! SYN cookies as the Linux kernel makes them (net/ipv4/syncookies.c), for the SYN proxy.
//!
//! Owns [`CookieSecret`] (two SipHash-2-4 keys, random per process, read-only once built and
//! shared by every worker through an `Arc`), the cookie itself ([`make`], [`check`]) and the
//! options encoded in the low bits of the timestamp ([`ts_encode`], [`ts_decode`]). It does not
//! parse or build packets (the rest of `synproxy` does).
//!
//! # The encoding (facts from the kernel, code of our own)
//! - The cookie is the SYN-ACK's initial sequence number:
//!   `H0(saddr, daddr, sport, dport, 0) + client_isn + (count << 24) + ((H1(.., count) + data) & 0xffffff)`,
//!   where `H0`/`H1` are SipHash-2-4 under the two secret keys over the 4-tuple and `count`,
//!   `count` is a minute counter, and `data` the index of the client's MSS in
//!   [`MSS_TABLE`] (`{536, 1300, 1440, 1460}`: the largest entry not above the client's MSS).
//! - A cookie is checked from the client's ACK (`cookie = ack - 1`, `client_isn = seq - 1`):
//!   the top 8 bits give back the count, which must be at most [`MAX_AGE`] - 1 minutes old
//!   (so a cookie lives 1 to 2 minutes: the secret's "rotation" is the counter inside the
//!   hash, as in the kernel), and the rest of the hash must leave a valid MSS index.
//! - Window scale and SACK-permitted do not fit the cookie: when the client sent timestamps,
//!   the low 6 bits of the SYN-ACK's TSval carry them (bits 0-3 the client's window scale,
//!   `0xf` for none; bit 4 SACK; bit 5 ECN, never set here) and come back in the ACK's TSecr.
//!   Without timestamps they are lost, as with the kernel's cookies.
//!
//! SipHash comes from the `siphasher` crate; the kernel uses SipHash too since 4.13.

use std::net::Ipv4Addr;

use siphasher::sip::SipHasher24;
use std::hash::Hasher;

/// Bits of the cookie below the minute counter.
pub const COOKIE_BITS: u32 = 24;
const COOKIE_MASK: u32 = (1 << COOKIE_BITS) - 1;
/// A cookie is accepted while its minute counter is less than this many minutes old.
pub const MAX_AGE: u32 = 2;
/// The MSS classes a cookie can carry (index = the 2 bits of `data`).
pub const MSS_TABLE: [u16; 4] = [536, 1300, 1440, 1460];
/// Low bits of the timestamp that carry options.
pub const TS_BITS: u32 = 6;
const TS_MASK: u32 = (1 << TS_BITS) - 1;
const TS_WSCALE_NONE: u32 = 0xf;
const TS_SACK: u32 = 1 << 4;
/// Largest window scale TCP allows (RFC 7323).
pub const MAX_WSCALE: u8 = 14;

/// The two keys cookies are made with. Built once by the control plane, read by every worker.
#[derive(Clone, PartialEq, Eq)]
pub struct CookieSecret {
    keys: [[u8; 16]; 2],
}

impl core::fmt::Debug for CookieSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CookieSecret(..)")
    }
}

impl CookieSecret {
    /// Keys from the operating system's random source. Control-plane use, once per process.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut keys = [[0u8; 16]; 2];
        getrandom::fill(&mut keys[0])?;
        getrandom::fill(&mut keys[1])?;
        Ok(CookieSecret { keys })
    }

    /// Fixed keys (tests, fuzzing).
    pub fn from_bytes(keys: [[u8; 16]; 2]) -> Self {
        CookieSecret { keys }
    }

    fn hash(&self, t: &Tuple, count: u32, c: usize) -> u32 {
        let mut h = SipHasher24::new_with_key(&self.keys[c & 1]);
        h.write_u32(u32::from(t.saddr));
        h.write_u32(u32::from(t.daddr));
        h.write_u32((u32::from(t.sport) << 16) | u32::from(t.dport));
        h.write_u32(count);
        h.finish() as u32
    }
}

/// The client's side of the connection a cookie is for, as its SYN carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuple {
    /// Client address.
    pub saddr: Ipv4Addr,
    /// Virtual address.
    pub daddr: Ipv4Addr,
    /// Client port.
    pub sport: u16,
    /// Virtual port.
    pub dport: u16,
}

/// The minute counter of `now_ms` (milliseconds of the shared monotonic clock).
#[inline]
pub fn count_of(now_ms: u64) -> u32 {
    (now_ms / 60_000) as u32
}

/// Index in [`MSS_TABLE`] of the largest class not above `mss` (0 when `mss` is below them all).
pub fn mss_index(mss: u16) -> u32 {
    MSS_TABLE.iter().rposition(|&m| mss >= m).unwrap_or(0) as u32
}

/// The cookie (the SYN-ACK's sequence number) for a SYN of `t` with sequence `client_isn`, at
/// minute `count`, carrying MSS class `mss_idx` (below 4).
pub fn make(secret: &CookieSecret, t: &Tuple, client_isn: u32, count: u32, mss_idx: u32) -> u32 {
    secret
        .hash(t, 0, 0)
        .wrapping_add(client_isn)
        .wrapping_add(count << COOKIE_BITS)
        .wrapping_add(secret.hash(t, count, 1).wrapping_add(mss_idx) & COOKIE_MASK)
}

/// Why a cookie was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieError {
    /// Made more than [`MAX_AGE`] minutes ago (or in the future).
    Stale,
    /// Not made with this secret for this tuple and sequence.
    Forged,
}

/// Checks `cookie` (the ACK's acknowledgment number minus one) for `t` and `client_isn` (the
/// ACK's sequence number minus one) at minute `count`; gives back the MSS class.
pub fn check(
    secret: &CookieSecret,
    t: &Tuple,
    cookie: u32,
    client_isn: u32,
    count: u32,
) -> Result<u32, CookieError> {
    let c = cookie.wrapping_sub(secret.hash(t, 0, 0)).wrapping_sub(client_isn);
    let age = count.wrapping_sub(c >> COOKIE_BITS) & (u32::MAX >> COOKIE_BITS);
    if age >= MAX_AGE {
        return Err(CookieError::Stale);
    }
    let made = count.wrapping_sub(age);
    let data = c.wrapping_sub(secret.hash(t, made, 1)) & COOKIE_MASK;
    if data as usize >= MSS_TABLE.len() {
        return Err(CookieError::Forged);
    }
    Ok(data)
}

/// The SYN-ACK's TSval at `now_ts` (the proxy's timestamp clock) with the client's window
/// scale (`None`: it sent none) and SACK-permitted in its low bits; never later than `now_ts`.
pub fn ts_encode(now_ts: u32, wscale: Option<u8>, sack: bool) -> u32 {
    let mut opts = wscale.map_or(TS_WSCALE_NONE, |w| u32::from(w.min(MAX_WSCALE)));
    if sack {
        opts |= TS_SACK;
    }
    let mut ts = (now_ts & !TS_MASK) | opts;
    if ts > now_ts {
        ts = ts.wrapping_sub(1 << TS_BITS);
    }
    ts
}

/// What [`ts_encode`] put in a timestamp the client echoed: the client's window scale and
/// SACK-permitted; `None` for bits no cookie carries (a window scale above 14 or bit 5).
pub fn ts_decode(tsecr: u32) -> Option<(Option<u8>, bool)> {
    let opts = tsecr & TS_MASK;
    if opts & !(TS_SACK | 0xf) != 0 {
        return None;
    }
    let ws = opts & 0xf;
    let wscale = match ws {
        TS_WSCALE_NONE => None,
        w if w > u32::from(MAX_WSCALE) => return None,
        w => Some(w as u8),
    };
    Some((wscale, opts & TS_SACK != 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secret() -> CookieSecret {
        CookieSecret::from_bytes([[7; 16], [42; 16]])
    }

    fn tuple() -> Tuple {
        Tuple {
            saddr: Ipv4Addr::new(10, 0, 0, 5),
            daddr: Ipv4Addr::new(192, 168, 0, 38),
            sport: 51234,
            dport: 80,
        }
    }

    #[test]
    fn every_mss_class_round_trips() {
        let s = secret();
        for (mss, want) in
            [(100, 0), (536, 0), (1299, 0), (1300, 1), (1440, 2), (1460, 3), (9000, 3)]
        {
            let idx = mss_index(mss);
            assert_eq!(idx, want, "mss {mss}");
            let c = make(&s, &tuple(), 0xdead_beef, 1000, idx);
            assert_eq!(check(&s, &tuple(), c, 0xdead_beef, 1000), Ok(want));
            assert!(MSS_TABLE[want as usize] <= mss.max(536));
        }
    }

    #[test]
    fn cookie_lives_one_to_two_minutes() {
        let (s, t) = (secret(), tuple());
        let c = make(&s, &t, 1, 500, 3);
        assert_eq!(check(&s, &t, c, 1, 500), Ok(3));
        assert_eq!(check(&s, &t, c, 1, 501), Ok(3));
        assert_eq!(check(&s, &t, c, 1, 502), Err(CookieError::Stale));
        // Made "in the future" (a counter from another epoch) is refused as well.
        assert_eq!(check(&s, &t, c, 1, 499), Err(CookieError::Stale));
        // The counter wraps in 8 bits like the kernel's; minute 256 after is stale too.
        assert!(check(&s, &t, c, 1, 500 + 256 + 5).is_err());
    }

    #[test]
    fn forged_cookies_are_refused() {
        let (s, t) = (secret(), tuple());
        let c = make(&s, &t, 77, 9, 2);
        // Another secret, another tuple, another sequence, another cookie value.
        let other = CookieSecret::from_bytes([[1; 16], [2; 16]]);
        assert!(check(&other, &t, c, 77, 9).is_err());
        let t2 = Tuple { sport: t.sport + 1, ..t };
        assert!(check(&s, &t2, c, 77, 9).is_err());
        // (A sequence off by less than the MSS classes can land on another class, as with the
        // kernel's cookies: the sequence is only added in.)
        assert!(check(&s, &t, c, 77 + 0x1000, 9).is_err());
        assert!(check(&s, &t, c ^ 0x100, 77, 9).is_err());
    }

    #[test]
    fn random_guesses_are_rarely_accepted() {
        // A forger who does not know the secret is accepted with probability about
        // MAX_AGE * 4 / 2^32 per guess; over 200k guesses, none should pass.
        let (s, t) = (secret(), tuple());
        let mut x = 0x1234_5678u32;
        let mut accepted = 0;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            accepted += u32::from(check(&s, &t, x, 1, 300).is_ok());
        }
        assert_eq!(accepted, 0);
    }

    #[test]
    fn secrets_are_random() {
        let (a, b) = (CookieSecret::random().unwrap(), CookieSecret::random().unwrap());
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "CookieSecret(..)");
    }

    #[test]
    fn timestamp_carries_wscale_and_sack() {
        for ws in (0..=MAX_WSCALE).map(Some).chain([None]) {
            for sack in [false, true] {
                let ts = ts_encode(1_000_000, ws, sack);
                assert!(ts <= 1_000_000);
                assert!(1_000_000 - ts < 1 << TS_BITS);
                assert_eq!(ts_decode(ts), Some((ws, sack)));
            }
        }
        // A window scale above 14 is sent as 14, as RFC 7323 caps it.
        assert_eq!(ts_decode(ts_encode(5000, Some(20), false)), Some((Some(14), false)));
        // Bits no cookie sets (ECN, which the proxy never offers) are refused.
        assert_eq!(ts_decode(0x20), None);
        assert_eq!(ts_decode(0x0f), Some((None, false)));
    }

    proptest! {
        #[test]
        fn any_cookie_round_trips(
            sa: u32, da: u32, sp: u16, dp: u16, isn: u32, count: u32, idx in 0u32..4, late in 0u32..2,
        ) {
            let t = Tuple { saddr: sa.into(), daddr: da.into(), sport: sp, dport: dp };
            let c = make(&secret(), &t, isn, count, idx);
            prop_assert_eq!(check(&secret(), &t, c, isn, count.wrapping_add(late)), Ok(idx));
        }

        #[test]
        fn ts_never_in_the_future(now: u32, ws in proptest::option::of(0u8..15), sack: bool) {
            let ts = ts_encode(now, ws, sack);
            if now >= 64 {
                prop_assert!(ts <= now);
            }
            prop_assert_eq!(ts_decode(ts), Some((ws, sack)));
        }
    }
}
