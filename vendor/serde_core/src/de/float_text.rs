//! Patched in by connect-links (see PATCHED.md): a float as serde's messages write it, with
//! its digits from `zmij` (the shortest that read back as the same number, as Rust's own
//! `Display` for `f64` gives) instead of `core::fmt`'s float formatting, whose Grisu and Dragon
//! code (some 20 KB of wasm) nothing else in the worker needs.

use crate::lib::fmt::{self, Write};

/// `f` as serde 1.0.229 writes a float in `Unexpected`: Rust's `{}` (no exponent: `1e300` is
/// a 1 and 300 zeros, `1e-7` is `0.0000001`; `-0`, `NaN`, `inf`, `-inf`), then `.0` when a
/// finite value shows no decimal point.
pub(super) fn write_float(out: &mut fmt::Formatter, f: f64) -> fmt::Result {
    if f.is_nan() {
        return out.write_str("NaN");
    }
    if f.is_sign_negative() {
        tri!(out.write_char('-'));
    }
    if f.is_infinite() {
        return out.write_str("inf");
    }
    let mut buf = [0u8; 24];
    let (digits, point) = shortest(f.abs(), &mut buf);
    let len = digits.len() as i32;
    if digits.is_empty() {
        out.write_str("0.0")
    } else if point <= 0 {
        tri!(out.write_str("0."));
        tri!(zeros(out, -point));
        out.write_str(ascii(digits))
    } else if point >= len {
        tri!(out.write_str(ascii(digits)));
        tri!(zeros(out, point - len));
        out.write_str(".0")
    } else {
        let (int, frac) = digits.split_at(point as usize);
        tri!(out.write_str(ascii(int)));
        tri!(out.write_char('.'));
        out.write_str(ascii(frac))
    }
}

/// The significant digits of finite, non-negative `f` as Rust's `Display` picks them (into
/// `buf`, no leading or trailing zeros; empty for zero) and the position of the decimal point
/// from their start: `0.012` is (`12`, -1), `1200` is (`12`, 4).
fn shortest(f: f64, buf: &mut [u8; 24]) -> (&[u8], i32) {
    let mut z = zmij::Buffer::new();
    // zmij writes `d.ddde±x`, `0.000ddd` or `ddd.ddd`.
    let text = z.format_finite(f);
    let (mantissa, exp) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let int_len = mantissa.find('.').unwrap_or(mantissa.len());
    let mut point = int_len as i32 + exp;
    let mut n = 0;
    let mut value: u64 = 0;
    for c in mantissa.bytes().filter(u8::is_ascii_digit) {
        if n == 0 && c == b'0' {
            point -= 1;
            continue;
        }
        if n < buf.len() {
            buf[n] = c;
            n += 1;
            value = value.wrapping_mul(10).wrapping_add((c - b'0') as u64);
        }
    }
    while n > 0 && buf[n - 1] == b'0' {
        n -= 1;
        value /= 10;
    }
    // A float exactly halfway between the two shortest candidates: zmij takes the one ending
    // in an even digit, Rust's `Display` the larger.
    if let Some(up) = tie_above(f, value) {
        let mut v = up;
        let mut k = 0;
        while v > 0 {
            buf[k] = b'0' + (v % 10) as u8;
            v /= 10;
            k += 1;
        }
        buf[..k].reverse();
        point += k as i32 - n as i32;
        n = k;
        while n > 1 && buf[n - 1] == b'0' {
            n -= 1;
        }
    }
    (&buf[..n], point)
}

/// When `f` lies exactly halfway between `digits` (the shortest digits as an integer) and the
/// next number of as many digits, that next number. `f` is `m * 2^e` with `m` odd; for
/// `e < 0` its exact digits are those of `x = m * 5^-e` (ending in 5), and a tie is `digits`
/// being `x / 10`. A tie has at most 18 exact digits, so an `x` past `u64` is none.
fn tie_above(f: f64, digits: u64) -> Option<u64> {
    let bits = f.to_bits();
    let fraction = bits & ((1 << 52) - 1);
    let (mut m, mut e) = match (bits >> 52) as i32 {
        0 => (fraction, -1074),
        be => (fraction | (1 << 52), be - 1075),
    };
    if m == 0 {
        return None;
    }
    while m & 1 == 0 {
        m >>= 1;
        e += 1;
    }
    let mut x = m;
    for _ in e..0 {
        x = match x.checked_mul(5) {
            Some(x) => x,
            None => return None,
        };
    }
    (e < 0 && digits == x / 10).then(|| digits + 1)
}

fn zeros(out: &mut fmt::Formatter, n: i32) -> fmt::Result {
    for _ in 0..n {
        tri!(out.write_char('0'));
    }
    Ok(())
}

fn ascii(digits: &[u8]) -> &str {
    // Only ASCII digits are ever put in the buffer.
    crate::lib::str::from_utf8(digits).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::string::String;

    /// What serde 1.0.229 writes: `{}` of the float, then `.0` when finite without a point.
    fn serde_way(f: f64) -> String {
        let s = format!("{}", f);
        if f.is_finite() && !s.contains('.') {
            s + ".0"
        } else {
            s
        }
    }

    struct Ours(f64);
    impl fmt::Display for Ours {
        fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            write_float(formatter, self.0)
        }
    }

    fn check(f: f64) {
        assert_eq!(format!("{}", Ours(f)), serde_way(f), "bits {:#x}", f.to_bits());
    }

    #[test]
    fn floats_as_serde_writes_them() {
        let edges = [
            0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 10.0, 100.0, 123.456, 1e-7, 1e-5, 1e15, 1e16, 1e17,
            1e21, 1e22, 1e23, 1e300, 1e308, f64::MAX, f64::MIN, f64::MIN_POSITIVE, 5e-324,
            2.2250738585072009e-308, f64::EPSILON, 9007199254740992.0, 9007199254740993.0, 0.3,
            2.0 / 3.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 4.35, 0.000001234,
            1234567890123456789.0, 299792458.0, 1.7976931348623157e308, -2.5e-8,
        ];
        for f in edges {
            check(f);
        }
        for e in -1074..1024 {
            check(2f64.powi(e));
            check(-3.0 * 2f64.powi(e));
        }
        for e in -325..309 {
            check(format!("1e{}", e).parse().unwrap());
            check(format!("9.999999999999999e{}", e).parse().unwrap());
        }
        // Exact halfway cases: odd `m` over `2^k`, whose exact digits (`m * 5^k`) are about
        // as many as the shortest (2^-25 is 2.98023223876953125e-8: Rust writes ...313).
        let mut y: u64 = 12345;
        for k in 1..=30u32 {
            for _ in 0..20_000 {
                y ^= y << 13;
                y ^= y >> 7;
                y ^= y << 17;
                check(((y >> 11) | 1) as f64 / 2f64.powi(k as i32));
                check(((y >> (11 + y % 40)) | 1) as f64 / 2f64.powi(k as i32));
            }
        }
        // Random bit patterns (xorshift), random integers and decimals.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2_000_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            check(f64::from_bits(x));
            check((x >> 11) as f64);
            check((x % 1_000_000) as f64 / 1000.0);
        }
    }
}
