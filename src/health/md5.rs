//! The body digest of `HTTP_GET`'s `digest` key: the body's MD5 (RFC 1321) as keepalived's
//! `genhash` prints it, lower-case hex. Not for security; only to recognise a known page.
//!
//! Owns the digest's type and its hex form (printed in a failure, parsed from the config). The
//! hash itself is the `md-5` crate's.

use ::md5::{Digest, Md5};

/// MD5 of `data`.
pub fn digest(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

/// Lower-case hex of a digest.
pub fn hex(d: &[u8; 16]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses 32 hex digits (either case).
pub fn parse_hex(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_1321_test_suite_in_lower_case_hex() {
        let cases = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(hex(&digest(input.as_bytes())), want, "md5({input:?})");
        }
    }

    #[test]
    fn hex_round_trip_and_rejects() {
        let d = digest(b"abc");
        assert_eq!(parse_hex(&hex(&d)), Some(d));
        assert_eq!(parse_hex(&hex(&d).to_uppercase()), Some(d));
        assert_eq!(parse_hex("900150983cd24fb0d6963f7d28e17f7"), None);
        assert_eq!(parse_hex("900150983cd24fb0d6963f7d28e17fzz"), None);
        assert_eq!(parse_hex("é00150983cd24fb0d6963f7d28e17f7"), None);
    }
}
