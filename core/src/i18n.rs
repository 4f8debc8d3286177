//! The hosted pages' languages: which one a page is served in (the link's `locale`, else the
//! browser's `Accept-Language`, else English) and the message catalogs they read.
//!
//! Catalogs are `assets/i18n/<lang>.json`, flat objects of key to text; a text may hold
//! `{name}` placeholders that [`Messages::f`] fills (escaping is the template's: values go in
//! as text). English is compiled in (the fallback, and the only catalog an error page can
//! count on); the others are static assets the worker reads through its `ASSETS` binding
//! and keeps per isolate, so the wasm carries one language, not five.

use serde_json::{Map, Value};
use std::rc::Rc;

/// A language the hosted pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English (the fallback).
    En,
    /// German.
    De,
    /// Spanish.
    Es,
    /// French.
    Fr,
    /// Japanese.
    Ja,
}

impl Lang {
    /// Every language with a catalog, English first.
    pub const ALL: [Lang; 5] = [Lang::En, Lang::De, Lang::Es, Lang::Fr, Lang::Ja];

    /// The language's code: the `lang` attribute and the catalog's file name.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Es => "es",
            Lang::Fr => "fr",
            Lang::Ja => "ja",
        }
    }

    /// The language of a BCP 47 tag: its primary subtag, whatever region or script follows
    /// (`de-AT` and `de-CH` read as German), case-insensitive; `None` when there is no
    /// catalog for it.
    pub fn of_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(|c| c == '-' || c == '_').next()?.trim();
        Lang::ALL.into_iter().find(|l| primary.eq_ignore_ascii_case(l.code()))
    }
}

/// The longest `locale` a link may carry (BCP 47 advises supporting at least 35 characters).
pub const MAX_LOCALE_CHARS: usize = 35;

/// Whether `tag` is a well-formed language tag as a link's `locale` takes it: a 2 or 3 letter
/// primary language subtag, then subtags of 1 to 8 letters or digits, joined by `-`, at most
/// [`MAX_LOCALE_CHARS`]. Well-formed tags of languages without a catalog are accepted (the page
/// falls back, see [`choose`]); this keeps out what could never be a tag.
pub fn well_formed_locale(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok =
        parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    primary_ok
        && tag.len() <= MAX_LOCALE_CHARS
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The language an `Accept-Language` header asks for (RFC 9110, section 12.5.4): ranges by
/// falling q-value (a missing q is 1; ties keep their order; `q=0` means "not this"), each
/// matched by its primary subtag; `*` and unknown ranges match nothing here. `None` when no
/// range names a language with a catalog.
pub fn negotiate(accept_language: &str) -> Option<Lang> {
    // The best so far: the first range of the highest q (a scan, not a sort: a stable sort
    // costs the wasm 4 KB for a list this short).
    let mut best: Option<(u16, Lang)> = None;
    for item in accept_language.split(',').take(32) {
        let mut fields = item.split(';');
        let range = fields.next().unwrap_or_default().trim();
        let mut q = 1000u16;
        for p in fields {
            let p = p.trim();
            if let Some(v) = p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")) {
                q = parse_q(v.trim()).unwrap_or(0);
            }
        }
        if q == 0 {
            continue;
        }
        if let Some(lang) = Lang::of_tag(range) {
            if best.is_none_or(|(top, _)| q > top) {
                best = Some((q, lang));
            }
        }
    }
    best.map(|(_, lang)| lang)
}

/// A q-value in thousandths: `0`, `1`, `0.5`, `0.123`, `1.000` (RFC 9110, section 12.4.2).
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Digits by place (0.5 is 500 thousandths), without a formatter.
    let milli = frac.bytes().zip([100u16, 10, 1]).map(|(b, place)| u16::from(b - b'0') * place).sum::<u16>();
    match int {
        "0" => Some(milli),
        "1" if milli == 0 => Some(1000),
        _ => None,
    }
}

/// The language a page is served in: the link's `locale` when it names a language with a
/// catalog, else the browser's `Accept-Language`, else English.
pub fn choose(link_locale: Option<&str>, accept_language: Option<&str>) -> Lang {
    link_locale.and_then(Lang::of_tag).or_else(|| accept_language.and_then(negotiate)).unwrap_or(Lang::En)
}

/// One catalog: key to text (a JSON object; values that are not strings count as missing).
/// serde_json's own map, read by the one `Value` parser the wasm holds anyway: a map type of
/// its own would bring its own parser and hasher into the wasm.
pub type Catalog = Map<String, Value>;

/// The English catalog's text, compiled in.
pub const ENGLISH_JSON: &str = include_str!("../../assets/i18n/en.json");

/// Reads a catalog file; `None` when it is not a flat JSON object of strings.
pub fn parse_catalog(text: &str) -> Option<Catalog> {
    match serde_json::from_slice::<Value>(text.as_bytes()).ok()? {
        Value::Object(map) if map.values().all(Value::is_string) => Some(map),
        _ => None,
    }
}

/// What a page says, in one language, with English for any key its catalog lacks.
#[derive(Clone)]
pub struct Messages {
    lang: Lang,
    table: Option<Rc<Catalog>>,
    english: Rc<Catalog>,
}

impl Messages {
    /// English (parsed from the compiled-in text on each call: a page reads it once, and a
    /// per-isolate copy would cost more wasm than the microseconds it saves).
    pub fn english() -> Messages {
        Messages { lang: Lang::En, table: None, english: Rc::new(parse_catalog(ENGLISH_JSON).unwrap_or_default()) }
    }

    /// `lang` from its catalog (English when `table` is `None`: the catalog could not be read).
    pub fn new(lang: Lang, table: Option<Rc<Catalog>>) -> Messages {
        match table {
            Some(t) if lang != Lang::En => Messages { lang, table: Some(t), ..Messages::english() },
            _ => Messages::english(),
        }
    }

    /// The language the texts are in.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The text of `key`: this language's, else English, else the key itself (a missing key
    /// shows, rather than an empty page; a test keeps every key in every catalog).
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.table
            .as_ref()
            .and_then(|t| t.get(key)?.as_str())
            .or_else(|| self.english.get(key)?.as_str())
            .unwrap_or(key)
    }

    /// The text of `key` with each `{name}` replaced by its value, in one pass (a value that
    /// holds `{other}` stays as it is), as text: the template escapes it.
    pub fn f(&self, key: &str, args: &[(&str, &str)]) -> String {
        let text = self.t(key);
        let mut out = String::with_capacity(text.len() + 16);
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let value = after.find('}').and_then(|close| {
                let name = &after[..close];
                args.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v, close))
            });
            match value {
                Some((v, close)) => {
                    out.push_str(v);
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests;
