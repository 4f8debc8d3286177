//! A decimal number read from text, as `str::parse::<f64>` reads it, through serde_json's
//! number reader: the worker's wasm holds that one already, and core's own float parser
//! brings a table of powers of five (11 KB of data that does not compress) and its code,
//! about 12 KB gzip of the wasm for a few header and token fields.

/// `s` as a number, with `str::parse::<f64>`'s syntax: an optional sign, digits with an
/// optional `.` and fraction (either part may be empty, not both), an optional exponent
/// (`e`/`E`, sign, digits), or `inf`, `infinity`, `nan` in any case. Leading or trailing
/// spaces are no number. A value past `f64`'s range is an infinity, as `parse` gives; a
/// value with more significant digits than `f64` holds may differ from `parse`'s in its last
/// bit (serde_json's reader rounds there without a correction step).
pub fn parse_f64(s: &str) -> Option<f64> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let sign = if negative { -1.0 } else { 1.0 };
    if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        return Some(sign * f64::INFINITY);
    }
    if body.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) || (int.is_empty() && frac.is_empty()) {
        return None;
    }
    // JSON's form of the same number: no `+`, no leading zeros, a digit on each side of `.`.
    let mut json = String::with_capacity(s.len() + 2);
    if negative {
        json.push('-');
    }
    let int = int.trim_start_matches('0');
    json.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        json.push('.');
        json.push_str(frac);
    }
    if let Some(e) = exponent {
        let e_digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        if e_digits.is_empty() || !digits(e_digits) {
            return None;
        }
        json.push('e');
        json.push_str(e);
    }
    match serde_json::from_slice::<serde_json::Value>(json.as_bytes()) {
        Ok(v) => v.as_f64(),
        // Well-formed but out of range for serde_json: an exponent too large for `f64`.
        Err(_) => Some(sign * f64::INFINITY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_as_str_parse_does() {
        for s in [
            "0", "7", "007", "598.0", "598.", ".5", "+3", "-2", "-0", "1e3", "1E3", "2.5e-3", "5.e2", ".5E+1",
            "1e400", "-1e400", "1e-400", "0e999999", "60", "3600.25", "1700000000", "4294967296",
            "18446744073709551616", "123456789012345678901234567890", "inf", "-Infinity", "INF", "1.5",
            "0.000001", "86400",
        ] {
            let want = s.parse::<f64>().unwrap();
            let got = parse_f64(s).unwrap_or_else(|| panic!("{s:?}"));
            assert!(want.to_bits() == got.to_bits() || (want.is_nan() && got.is_nan()), "{s:?}: {want} vs {got}");
        }
        assert!(parse_f64("NaN").unwrap().is_nan());
        for s in ["", " 1", "1 ", ".", "+", "-", "e5", "1e", "1e+", "1.2.3", "1_000", "0x10", "--1", "+-1", "1,5", "infinite", "in", "1e5.5", "Mon, 01 Jan 2024"] {
            assert!(s.parse::<f64>().is_err(), "{s:?} parses");
            assert_eq!(parse_f64(s), None, "{s:?}");
        }
    }
}
