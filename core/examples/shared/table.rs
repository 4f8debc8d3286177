//! Number formatting and table lines for the capacity model's output (`capacity.rs`).

/// A number for a table: thousands separated, decimals only where they say something.
pub fn num(x: f64) -> String {
    if x.fract() != 0.0 && x.abs() < 10.0 {
        return format!("{x:.2}");
    }
    if x.fract() != 0.0 && x.abs() < 100.0 {
        return format!("{x:.1}");
    }
    let digits = format!("{:.0}", x.round());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count in thousands, millions or billions.
pub fn short(x: f64) -> String {
    match x {
        x if x >= 1e9 => format!("{:.1}B", x / 1e9),
        x if x >= 1e6 => format!("{:.1}M", x / 1e6),
        x if x >= 1e3 => format!("{:.0}k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

/// Bytes in decimal units, as Cloudflare states its limits.
pub fn bytes(b: f64) -> String {
    match b {
        b if b >= 1e12 => format!("{:.2} TB", b / 1e12),
        b if b >= 1e9 => format!("{:.1} GB", b / 1e9),
        b => format!("{:.0} MB", b / 1e6),
    }
}

/// One line of a size's table.
pub fn line(what: &str, avg: &str, peak: &str, limit: &str, verdict: &str) {
    println!("  {what:<46}{avg:>12}{peak:>12}  {limit:<38}{verdict}");
}

/// "fits", or what to say when `over`.
pub fn fits(over: bool, otherwise: &str) -> String {
    if over {
        otherwise.to_string()
    } else {
        "fits".to_string()
    }
}
