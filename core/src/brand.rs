//! An app's brand: the name end-users see, its accent colour and its logo, checked as the
//! operator sets them and handed to the hosted pages as one [`Brand`]. The logo is stored and
//! served only as [`svg::sanitize`] or [`png::sanitize`] re-wrote it.

pub mod png;
pub mod svg;

#[cfg(test)]
mod tests;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::model::AppRow;
use sha2::{Digest, Sha256};

/// The most bytes a logo upload may hold, checked on the bytes read (through the API's
/// 64 KiB body cap, counted as they stream in, whatever the request's `Content-Length` says).
pub const MAX_LOGO_BYTES: usize = 32 * 1024;

/// The longest `display_name`, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;

/// What the hosted pages show of the app that asks: its name, its logo and its accent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    /// `display_name`, or the app's `name` when it has none.
    pub app_name: String,
    /// Where the worker serves the logo (an absolute URL on this deployment), `None`
    /// without one.
    pub logo_url: Option<String>,
    /// `#rrggbb` (lower case), `None`: the pages' own colour.
    pub accent: Option<String>,
    /// The text colour readable on [`Brand::accent`] (`#000000` or `#ffffff`, whichever has
    /// the higher WCAG contrast with it: at least 4.58:1 for any accent), `None` without one.
    pub accent_text: Option<&'static str>,
}

impl Brand {
    /// The brand of `app`, on a deployment served at `public_url`.
    pub fn of(app: &AppRow, public_url: &str) -> Brand {
        // Checked again, though only checked values are stored: the pages put it in CSS.
        let rgb = app.accent_color.as_deref().and_then(parse_hex);
        Brand {
            app_name: app.display_name.clone().unwrap_or_else(|| app.name.clone()),
            logo_url: app.logo_url(public_url),
            accent: rgb.and(app.accent_color.as_deref()).map(str::to_ascii_lowercase),
            accent_text: rgb.map(text_on),
        }
    }
}

/// Checks a `display_name`: 1 to 100 characters once trimmed, no control characters (no
/// line breaks, tabs or bidi-breaking C0/C1 codes on a page). Returns it trimmed.
pub fn check_display_name(name: &str) -> ApiResult<String> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(ApiError::invalid("display_name must be 1 to 100 characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ApiError::invalid("display_name must not hold control characters"));
    }
    Ok(trimmed.to_string())
}

/// The text colour readable on the accent `#rrggbb` ([`Brand::accent_text`]); `None` for
/// anything else.
pub fn text_on_accent(color: &str) -> Option<&'static str> {
    parse_hex(color).map(text_on)
}

/// Checks an `accent_color`: `#rrggbb` only. Returns it in lower case. Any colour is taken:
/// the pages put [`Brand::accent_text`] on it, which is readable on every colour.
pub fn check_accent_color(color: &str) -> ApiResult<String> {
    match parse_hex(color) {
        Some(_) => Ok(color.to_ascii_lowercase()),
        None => Err(ApiError::invalid("accent_color must be #rrggbb (six hex digits)")),
    }
}

/// The red, green and blue of `#rrggbb`.
fn parse_hex(color: &str) -> Option<[u8; 3]> {
    let hex = color.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// Black or white, whichever contrasts more with `rgb` (WCAG 2 relative luminance: the two
/// contrasts are equal at L = sqrt(1.05 * 0.05) - 0.05 = 0.1791).
fn text_on(rgb: [u8; 3]) -> &'static str {
    let [r, g, b] = rgb.map(linear);
    let luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    if luminance > 0.179_128_784_747_792 {
        "#000000"
    } else {
        "#ffffff"
    }
}

/// An sRGB channel linearized (WCAG 2's formula). `x^2.4` is `x^2` times `x^0.4`, and `x^0.4`
/// the product of the square-root chain's terms for 0.4's binary digits (0.0110011001101b):
/// `f64::powf` would bring libm's `pow` into the wasm for this one use. The host tests hold
/// it to `powf` for all 256 values.
fn linear(c: u8) -> f64 {
    let s = f64::from(c) / 255.0;
    if s <= 0.040_45 {
        return s / 12.92;
    }
    let x = (s + 0.055) / 1.055;
    // x^(2^-k) for k = 1..=13; 0.4 ~ 2^-2 + 2^-3 + 2^-6 + 2^-7 + 2^-10 + 2^-11 + 2^-13.
    let mut root = x;
    let mut power = 1.0;
    for k in 1..=13 {
        root = root.sqrt();
        if matches!(k, 2 | 3 | 6 | 7 | 10 | 11 | 13) {
            power *= root;
        }
    }
    x * x * power
}

/// The kinds of logo an app may upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoKind {
    /// `image/png`.
    Png,
    /// `image/svg+xml`.
    Svg,
}

impl LogoKind {
    /// The kind a request's `Content-Type` names (parameters such as `charset` ignored).
    pub fn of_content_type(content_type: Option<&str>) -> ApiResult<LogoKind> {
        let essence = content_type.unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "image/png" => Ok(LogoKind::Png),
            "image/svg+xml" => Ok(LogoKind::Svg),
            _ => Err(invalid_logo("Content-Type must be image/png or image/svg+xml")),
        }
    }
    /// The kind a stored file name (`<hash>.png`, `<hash>.svg`) ends with.
    pub fn of_file(file: &str) -> Option<LogoKind> {
        match file.rsplit_once('.')?.1 {
            "png" => Some(LogoKind::Png),
            "svg" => Some(LogoKind::Svg),
            _ => None,
        }
    }
    /// The `Content-Type` the logo is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            LogoKind::Png => "image/png",
            LogoKind::Svg => "image/svg+xml",
        }
    }
    fn extension(self) -> &'static str {
        match self {
            LogoKind::Png => "png",
            LogoKind::Svg => "svg",
        }
    }
}

/// A logo as it is stored and served: the sanitized bytes and the file name in its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    /// What it is.
    pub kind: LogoKind,
    /// The sanitized bytes, the only ones ever served.
    pub bytes: Vec<u8>,
    /// `<first 16 hex digits of the bytes' SHA-256>.<png|svg>`: a new logo gets a new URL.
    pub file: String,
}

/// An uploaded logo made safe to serve, or 422 `invalid_logo` saying why it is refused.
pub fn sanitize_logo(kind: LogoKind, body: &[u8]) -> ApiResult<Logo> {
    if body.is_empty() {
        return Err(invalid_logo("the logo is empty"));
    }
    if body.len() > MAX_LOGO_BYTES {
        return Err(ApiError::new(ErrorCode::PayloadTooLarge, "the logo is over 32 KiB"));
    }
    let bytes = match kind {
        LogoKind::Png => png::sanitize(body)?,
        LogoKind::Svg => svg::sanitize(body)?,
    };
    let digest = Sha256::digest(&bytes);
    let hash = crate::random::hex(&digest[..8]);
    Ok(Logo { kind, file: format!("{hash}.{}", kind.extension()), bytes })
}

/// 422 `invalid_logo`.
pub fn invalid_logo(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidLogo, message)
}
