//! An uploaded SVG logo, re-written from an allowlist: what survives is shapes, text,
//! gradients, clips, masks and a few filters, with presentational attributes only.
//!
//! The upload is tokenized with maybe_xml (already in the wasm for YouTube's feeds, so it
//! costs no new crate), its nesting checked here (maybe_xml does not check it), and a new
//! document written from the tokens: a tag or attribute not on the lists is not copied, so
//! nothing the lists do not name can reach the output, however it was spelled. Gone for
//! good: `script`, `foreignObject`, `style` elements, `image`, animation (`animate`, `set`:
//! they can rewrite `href`), links (`a`), event handler attributes (`on*`), references that
//! leave the document (`href` only to `#fragment`, `url()` only to `#fragment`), processing
//! instructions and comments. A DOCTYPE (and with it any entity, the billion laughs) is
//! refused before the tokenizer sees it.

use super::invalid_logo;
use crate::error::ApiResult;
use maybe_xml::token::Ty;

/// The elements kept: drawing, structure and paint servers. Anything else is dropped with
/// everything inside it. (Each list is one string of space-separated names, read by
/// [`listed`]: a slice of `&str` would cost the wasm 8 bytes of pointers per name.)
const ELEMENTS: &str = " svg g defs symbol use title desc path rect circle ellipse line polyline polygon text \
     tspan linearGradient radialGradient stop clipPath mask filter feGaussianBlur feOffset \
     feFlood feComposite feBlend feMerge feMergeNode feColorMatrix feDropShadow ";

/// Elements that draw something: a logo with none of them left is refused as empty.
const DRAWING: &str = " path rect circle ellipse line polyline polygon text use ";

/// Elements whose text is kept (everywhere else, text between tags is dropped).
const TEXT: &str = " text tspan title desc ";

/// The attributes kept (on any kept element): geometry and presentation. No `on*`, no
/// `xmlns*` (the root gets its own), no `xml:*`, no `src`, no `attributeName`/`to`/`begin`
/// of animations (their elements are gone anyway; `values` stays for `feColorMatrix`).
const ATTRIBUTES: &str = " id class viewBox preserveAspectRatio width height x y x1 y1 x2 y2 cx cy r rx ry fx fy fr \
     d points pathLength transform fill fill-opacity fill-rule stroke stroke-width \
     stroke-linecap stroke-linejoin stroke-miterlimit stroke-dasharray stroke-dashoffset \
     stroke-opacity opacity color display visibility clip-path clip-rule mask filter style \
     offset stop-color stop-opacity gradientUnits gradientTransform spreadMethod clipPathUnits \
     maskUnits maskContentUnits filterUnits primitiveUnits stdDeviation dx dy in in2 result \
     mode operator k1 k2 k3 k4 type values flood-color flood-opacity font-family font-size \
     font-weight font-style text-anchor dominant-baseline letter-spacing href xlink:href ";

/// How deep elements may nest (a logo needs a handful of levels).
const MAX_DEPTH: usize = 64;

/// The sanitized document, or 422 `invalid_logo`: not UTF-8, a DOCTYPE, not well-formed
/// XML (as far as tags go, and a character XML forbids, raw or referenced), a root other than `<svg>`, or nothing drawable left.
pub fn sanitize(body: &[u8]) -> ApiResult<Vec<u8>> {
    let text = std::str::from_utf8(body).map_err(|_| invalid_logo("the SVG is not UTF-8"))?;
    if !xml_chars(text) {
        return Err(unreadable());
    }
    check_markup_declarations(text)?;
    let reader = maybe_xml::Reader::from_str(text);
    let mut out = String::with_capacity(text.len());
    // The names of the open elements; `kept` is how many of them (from the root) are copied:
    // below a dropped element nothing is.
    let mut open: Vec<&str> = Vec::new();
    let mut kept = 0;
    let mut seen_root = false;
    let mut drawing = false;
    let mut pos = 0;
    while pos < text.len() {
        let token = reader.tokenize(&mut pos).ok_or_else(unreadable)?;
        let (name, attrs, empty) = match token.ty() {
            Ty::StartTag(t) => (t.name().as_str(), t.attributes(), false),
            Ty::EmptyElementTag(t) => (t.name().as_str(), t.attributes(), true),
            Ty::EndTag(t) => {
                if open.pop() != Some(t.name().as_str()) {
                    return Err(unreadable());
                }
                if kept > open.len() {
                    kept = open.len();
                    out.push_str("</");
                    out.push_str(t.name().as_str());
                    out.push('>');
                }
                continue;
            }
            Ty::Characters(c) => {
                let raw = c.content().as_str();
                if open.is_empty() {
                    if !raw.trim().is_empty() {
                        return Err(unreadable());
                    }
                } else if kept == open.len() && open.last().is_some_and(|n| listed(TEXT, n)) {
                    push_escaped(&mut out, &expand(raw).ok_or_else(unreadable)?);
                }
                continue;
            }
            Ty::Cdata(c) => {
                if kept == open.len() && open.last().is_some_and(|n| listed(TEXT, n)) {
                    push_escaped(&mut out, c.content().as_str());
                }
                continue;
            }
            // The XML declaration, other processing instructions and comments: dropped.
            Ty::ProcessingInstruction(_) | Ty::Comment(_) => continue,
            Ty::Declaration(_) => return Err(doctype()),
        };
        if open.is_empty() {
            if seen_root || name != "svg" {
                return Err(invalid_logo("the document's root element must be <svg>"));
            }
            seen_root = true;
        }
        let keep = kept == open.len() && listed(ELEMENTS, name);
        if keep {
            drawing |= listed(DRAWING, name);
            out.push('<');
            out.push_str(name);
            if open.is_empty() {
                out.push_str(" xmlns=\"http://www.w3.org/2000/svg\"");
            }
            write_attributes(&mut out, attrs)?;
            out.push_str(if empty { "/>" } else { ">" });
        }
        if !empty {
            open.push(name);
            if open.len() > MAX_DEPTH {
                return Err(invalid_logo("the SVG nests elements more than 64 deep"));
            }
            if keep {
                kept = open.len();
            }
        }
    }
    if !open.is_empty() || !seen_root {
        return Err(unreadable());
    }
    if !drawing {
        return Err(invalid_logo("nothing drawable is left of the SVG once unsafe content is removed"));
    }
    Ok(out.into_bytes())
}

/// Whether `name` is one of `list`'s space-separated names.
fn listed(list: &str, name: &str) -> bool {
    !name.is_empty() && list.split(' ').any(|n| n == name)
}

/// Refuses a DOCTYPE (where entities are declared: the billion laughs, external entities)
/// and anything maybe_xml 0.11 misreads: it reads a text ending in `<!-` past its end and a
/// DTD in exponential time (see the YouTube feed reader). So every `<!` must open a comment
/// that closes or a CDATA section that closes, checked before the tokenizer runs.
fn check_markup_declarations(text: &str) -> ApiResult<()> {
    for (at, _) in text.match_indices("<!") {
        let rest = &text[at..];
        let closed = if let Some(after) = rest.strip_prefix("<!--") {
            after.contains("-->")
        } else if let Some(after) = rest.strip_prefix("<![CDATA[") {
            after.contains("]]>")
        } else {
            return Err(doctype());
        };
        if !closed {
            return Err(unreadable());
        }
    }
    Ok(())
}

fn unreadable() -> crate::error::ApiError {
    invalid_logo("the SVG is not well-formed XML (or uses an entity it cannot declare)")
}

fn doctype() -> crate::error::ApiError {
    invalid_logo("the SVG must not have a DOCTYPE or other markup declarations (entities are not expanded)")
}

/// Copies the attributes on the lists whose values are safe, each once (the first wins),
/// values with references expanded and then escaped again; refused when a value does not
/// read. `xlink:href` is written `href`
/// (SVG 2), so the output declares no other namespace.
fn write_attributes(out: &mut String, attrs: Option<maybe_xml::token::prop::Attributes<'_>>) -> ApiResult<()> {
    let mut written: Vec<&str> = Vec::new();
    for a in attrs.into_iter().flatten() {
        let name = a.name().as_str();
        if !listed(ATTRIBUTES, name) {
            continue;
        }
        let name = if name == "xlink:href" { "href" } else { name };
        // No value (`<rect fill>`) is not XML; nor is an entity nothing declares.
        let value = a.value().and_then(|v| expand(v.as_str())).ok_or_else(unreadable)?;
        if written.contains(&name) || !safe_value(name, &value) {
            continue;
        }
        written.push(name);
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        push_escaped(out, &value);
        out.push('"');
    }
    Ok(())
}

/// Whether an attribute's (expanded) value stays inside the document: `href` only to
/// `#fragment`; anywhere else `url(...)` only to `#fragment`, and no backslash (a CSS escape
/// could spell `url` otherwise). A `style` also holds no `@`, `<`, `/` or `&` and none of
/// CSS's other ways to load something (`image-set`, `src`, `import`, `expression`).
fn safe_value(name: &str, value: &str) -> bool {
    if name == "href" {
        return value.strip_prefix('#').is_some_and(is_fragment);
    }
    if value.contains('\\') || !urls_are_fragments(value) {
        return false;
    }
    if name == "style" {
        let lower = value.to_ascii_lowercase();
        let loads = ["image", "src", "import", "expression"].iter().any(|w| lower.contains(w));
        return !loads && !value.contains(['@', '<', '/', '&']);
    }
    true
}

/// Whether every `url(` in `value` (any case) is `url(#fragment)`.
fn urls_are_fragments(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("url") {
        let after = &rest[at + 3..];
        let Some(inner) = after.strip_prefix("(#") else { return false };
        let Some(end) = inner.find(')') else { return false };
        if !is_fragment(&inner[..end]) {
            return false;
        }
        rest = &inner[end..];
    }
    true
}

/// An id a fragment may name: letters, digits, `-`, `_`, `.`, `:`.
fn is_fragment(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Text or an attribute value with XML's predefined entities and character references
/// expanded (quick-xml's unescaping); `None` for any other entity (a DOCTYPE would declare
/// it, and none is taken) or a reference that does not read.
fn expand(raw: &str) -> Option<std::borrow::Cow<'_, str>> {
    // quick-xml's `unescape`, with its resolver as a function pointer: the one instantiation
    // of `unescape_with` YouTube's feeds use too (`platform_events::youtube`).
    let resolve: crate::platform_events::youtube::Resolver = quick_xml::escape::resolve_predefined_entity;
    quick_xml::escape::unescape_with(raw, resolve).ok().filter(|v| xml_chars(v))
}

/// Whether `text` holds only characters XML 1.0 allows (https://www.w3.org/TR/xml/#charsets:
/// no C0 control but tab, LF and CR, no U+FFFE or U+FFFF; a `str` holds no surrogate): a
/// `&#1;` or a raw U+0001 is not XML, and a browser would refuse the logo served.
fn xml_chars(text: &str) -> bool {
    !text.chars().any(|c| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}'))
}

/// Appends `text` XML-escaped as quick-xml's `escape` writes it (`<`, `>`, `&`, `'`, `"` and
/// `\r`, with the same references), written out here: its generic escaper is about 1.3 KB of
/// wasm for this one use.
fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod escape_tests {
    use super::*;

    #[test]
    fn escapes_as_quick_xml_does() {
        for text in ["", "plain", "a<b>c&d'e\"f\rg\nh\t i", "&amp; ü 日本 <<>>", "'\"\r"] {
            let mut out = String::from("x");
            push_escaped(&mut out, text);
            assert_eq!(out, format!("x{}", quick_xml::escape::escape(text)), "{text:?}");
        }
        let resolve: crate::platform_events::youtube::Resolver = quick_xml::escape::resolve_predefined_entity;
        for raw in ["a &lt;b&gt; &#x41;&#66; &apos;&quot;&amp;", "&nbsp;", "&#xZZ;", "&"] {
            assert_eq!(expand(raw), quick_xml::escape::unescape_with(raw, resolve).ok(), "{raw:?}");
            assert_eq!(expand(raw), quick_xml::escape::unescape(raw).ok(), "{raw:?}");
        }
    }
}
