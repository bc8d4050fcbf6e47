//! ipvsadm's "large number" column used by `--stats` and `--rate`.
//!
//! Owns the one rule: below 10^8 a number prints as `%9llu`; above, it is scaled and printed as
//! `%8llu` followed by a unit letter: K (/10^3, below 10^9), M (/10^6, below 10^11),
//! G (/10^9, below 10^14), T (/10^12). With `--exact` the full number prints right-aligned in
//! max(9, digits + 1) columns. Columns are 9 wide and start with a space, except from 10^19
//! on (8-digit T values) where the number fills all 8 places.

use std::fmt::Write;

/// Append one large-number column to `out`.
pub fn push_largenum(out: &mut String, v: u64, exact: bool) {
    // Writing to a String cannot fail.
    let _ = if exact {
        let digits = v.to_string().len();
        let width = if digits <= 8 { 9 } else { digits + 1 };
        write!(out, "{v:>width$}")
    } else if v < 100_000_000 {
        write!(out, "{v:>9}")
    } else if v < 1_000_000_000 {
        write!(out, "{:>8}K", v / 1_000)
    } else if v < 100_000_000_000 {
        write!(out, "{:>8}M", v / 1_000_000)
    } else if v < 100_000_000_000_000 {
        write!(out, "{:>8}G", v / 1_000_000_000)
    } else {
        write!(out, "{:>8}T", v / 1_000_000_000_000)
    };
}

/// One large-number column as a string.
pub fn largenum(v: u64, exact: bool) -> String {
    let mut s = String::new();
    push_largenum(&mut s, v, exact);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_written_out() {
        // Expected texts are written by hand: 9 columns, or 8 digits-columns plus a unit.
        let cases: &[(u64, &str)] = &[
            (0, "        0"),
            (99_999_999, " 99999999"),
            (100_000_000, "  100000K"),
            (999_999_999, "  999999K"),
            (1_000_000_000, "    1000M"),
            (99_999_999_999, "   99999M"),
            (100_000_000_000, "     100G"),
            (99_999_999_999_999, "   99999G"),
            (100_000_000_000_000, "     100T"),
            (999_999_999_999, "     999G"),
            (u64::MAX, "18446744T"),
        ];
        for (v, want) in cases {
            assert_eq!(largenum(*v, false), *want, "value {v}");
        }
    }

    #[test]
    fn exact_widths() {
        assert_eq!(largenum(0, true), "        0");
        assert_eq!(largenum(12_345_678, true), " 12345678");
        assert_eq!(largenum(123_456_789, true), " 123456789");
        assert_eq!(largenum(999_999_999_999, true), " 999999999999");
        assert_eq!(largenum(u64::MAX, true), " 18446744073709551615");
    }
}
