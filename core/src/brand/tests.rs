use super::*;
use crate::error::ErrorCode;

fn svg(s: &str) -> Result<String, ApiError> {
    svg::sanitize(s.as_bytes()).map(|b| String::from_utf8(b).expect("the output is UTF-8"))
}

fn refused(r: Result<impl std::fmt::Debug, ApiError>) -> String {
    let e = r.expect_err("refused");
    assert_eq!(e.code, ErrorCode::InvalidLogo, "{e}");
    assert_eq!(e.status(), 422);
    e.message
}

const SQUARE: &str = r##"<rect width="10" height="10" fill="#f00"/>"##;

#[test]
fn a_plain_svg_is_kept_as_drawn() {
    let out = svg(&format!(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<!-- Generator: an editor -->
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10" width="10">
  <defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient></defs>
  <title>Acme &amp; co</title>
  {SQUARE}
  <circle cx="5" cy="5" r="2" fill="url(#g)" style="fill:url(#g);stroke:#000"/>
  <use xlink:href="#g"/>
  <text x="1" y="9"><![CDATA[A<B]]> &lt;3</text>
</svg>"##
    ))
    .expect("kept");
    assert_eq!(
        out,
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" width="10">"#,
            r#"<defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient></defs>"#,
            r#"<title>Acme &amp; co</title>"#,
            r##"<rect width="10" height="10" fill="#f00"/>"##,
            r#"<circle cx="5" cy="5" r="2" fill="url(#g)" style="fill:url(#g);stroke:#000"/>"#,
            r##"<use href="#g"/>"##,
            r#"<text x="1" y="9">A&lt;B &lt;3</text>"#,
            "</svg>"
        )
    );
}

#[test]
fn scripts_handlers_and_foreign_content_are_stripped() {
    let attacks = [
        format!(r#"<svg><script>alert(1)</script>{SQUARE}</svg>"#),
        format!(r#"<svg><script><![CDATA[alert(1)]]></script>{SQUARE}</svg>"#),
        format!(r#"<svg onload="alert(1)">{SQUARE}</svg>"#),
        format!(r#"<svg><g onclick="alert(1)" ONLOAD="x">{SQUARE}</g></svg>"#),
        format!(r#"<svg>{}</svg>"#, SQUARE.replace("/>", r#" onmouseover="alert(1)"/>"#)),
        format!(
            r#"<svg><foreignObject><body xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script><rect/></body></foreignObject>{SQUARE}</svg>"#
        ),
        format!(r#"<svg><style>rect {{ fill: url(https://evil.example/x) }}</style>{SQUARE}</svg>"#),
        format!(r#"<svg><a href="javascript:alert(1)">{SQUARE}</a><rect/></svg>"#),
        format!(r#"<svg><image href="https://evil.example/track.png"/>{SQUARE}</svg>"#),
        format!(
            r#"<svg><animate attributeName="href" to="javascript:alert(1)"/><set attributeName="onload" to="alert(1)"/>{SQUARE}</svg>"#
        ),
        format!(r#"<svg><svg:script xmlns:svg="http://www.w3.org/2000/svg">alert(1)</svg:script>{SQUARE}</svg>"#),
        format!(r#"<svg><iframe src="https://evil.example"/>{SQUARE}</svg>"#),
        format!(r#"<svg><?xml-stylesheet href="https://evil.example/s.css"?>{SQUARE}</svg>"#),
        format!(r#"<svg><filter id="f"><feImage href="https://evil.example/x.svg"/></filter>{SQUARE}</svg>"#),
    ];
    for a in &attacks {
        let out = svg(a).unwrap_or_else(|e| panic!("{a}: {e}"));
        let lower = out.to_ascii_lowercase();
        for bad in [
            "script",
            "alert",
            "onload",
            "onclick",
            "onmouseover",
            "foreignobject",
            "<style",
            "javascript",
            "evil",
            "<a",
            "<image",
            "<animate",
            "<set",
            "iframe",
            "stylesheet",
            "feimage",
        ] {
            assert!(!lower.contains(bad), "{a}\n -> {out}\n holds {bad}");
        }
        assert!(out.contains("<rect"), "{a} -> {out}: the drawing stays");
    }
}

#[test]
fn references_leave_the_document_only_to_a_fragment() {
    let cases = [
        r#"<use href="https://evil.example/sprite.svg#a"/>"#,
        r#"<use xlink:href="//evil.example/a.svg#a"/>"#,
        r#"<use href="data:image/svg+xml,&lt;svg onload=alert(1)&gt;"/>"#,
        r#"<use href="&#106;avascript:alert(1)"/>"#,
        r#"<use href=" #a"/>"#,
        r#"<rect fill="url(https://evil.example/p)"/>"#,
        r#"<rect fill="URL( 'https://evil.example/p' )"/>"#,
        r#"<rect fill="url(#a) url(//evil.example/p)"/>"#,
        r#"<rect style="fill:url(https://evil.example/p)"/>"#,
        r#"<rect style="fill:u\72l(https://evil.example/p)"/>"#,
        r#"<rect style="background-image:image-set('x.png' 1x)"/>"#,
        r#"<rect style="behavior:expression(alert(1))"/>"#,
        r#"<rect style="@import 'x.css'"/>"#,
        r#"<rect style="fill:&lt;/style&gt;"/>"#,
        r#"<rect mask="url(#a#b)"/>"#,
    ];
    for c in cases {
        let out = svg(&format!("<svg>{SQUARE}{c}</svg>")).expect("kept");
        let lower = out.to_ascii_lowercase();
        assert!(!lower.contains("evil") && !lower.contains("javascript") && !lower.contains("data:"), "{c} -> {out}");
        assert!(!lower.contains("href=\" #a") && !lower.contains("style=") && !lower.contains("#a#b"), "{c} -> {out}");
    }
    // Fragments stay.
    let out = svg(r##"<svg><rect fill="url(#a)" clip-path="url(#c-1.x)"/><use href="#a"/></svg>"##).expect("kept");
    assert!(
        out.contains(r##"fill="url(#a)""##)
            && out.contains(r##"clip-path="url(#c-1.x)""##)
            && out.contains(r##"href="#a""##)
    );
}

#[test]
fn a_doctype_or_entity_is_refused_before_it_is_read() {
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><svg><text>&lol2;</text></svg>"#;
    assert!(refused(svg(laughs)).contains("DOCTYPE"));
    let external = r#"<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><svg><text>&xxe;</text>{SQUARE}</svg>"#;
    refused(svg(external));
    let plain = r#"<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg><rect/></svg>"#;
    refused(svg(plain));
    // An undeclared entity is not expanded: it is not well-formed XML.
    assert!(refused(svg(&format!(r#"<svg><text>&xxe;</text>{SQUARE}</svg>"#))).contains("entity"));
    refused(svg(&format!(r#"<svg><rect fill="&xxe;"/>{SQUARE}</svg>"#)));
    refused(svg(&format!(r#"<svg><rect fill="&#0;"/>{SQUARE}</svg>"#)));
    let deep = format!("<!DOCTYPE svg [<!ELEMENT svg {}a{}>]><svg>{SQUARE}</svg>", "(".repeat(40), ")".repeat(40));
    let started = std::time::Instant::now();
    refused(svg(&deep));
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn characters_xml_forbids_are_refused_raw_or_referenced() {
    // XML 1.0's Char (https://www.w3.org/TR/xml/#charsets): no C0 control but tab, LF and
    // CR, no U+FFFE or U+FFFF, however written; a browser would refuse the logo served.
    for bad in [
        "<svg><text>a&#1;b</text>SQ</svg>",
        "<svg><text>a&#x1;b</text>SQ</svg>",
        "<svg><text>a\u{1}b</text>SQ</svg>",
        "<svg><text>a&#xFFFE;b</text>SQ</svg>",
        "<svg><text>a\u{FFFF}b</text>SQ</svg>",
        "<svg><text><![CDATA[a\u{1f}b]]></text>SQ</svg>",
        "<svg>SQ<g fill=\"red&#1;\"/></svg>",
        "<svg>SQ<g fill=\"red\u{0}\"/></svg>",
        "<svg>SQ<g fill=\"red&#0;\"/></svg>",
        "<svg>SQ<!-- \u{1} --></svg>",
    ] {
        refused(svg(&bad.replace("SQ", SQUARE)));
    }
    // Tab, line feed and carriage return are characters XML allows, raw or referenced.
    let ok = svg(&format!("<svg><text>a&#9;b&#xA;c&#13;d\te</text>{SQUARE}</svg>")).expect("kept");
    assert!(ok.contains("<text>a\tb\nc&#13;d\te</text>"), "{ok}");
}

#[test]
fn what_does_not_parse_or_empties_is_refused() {
    let broken = [
        "",
        "not xml",
        "<svg>",
        "<svg><rect></svg>",
        "<svg><g></rect></g></svg>",
        "<svg/><svg/>",
        "<html><svg><rect/></svg></html>",
        "<svg><rect/></svg>trailing",
        "<svg><!- <rect/></svg>",
        "<svg><!-- never closed <rect/></svg>",
        "<svg><![CDATA[ never closed <rect/></svg>",
        "<svg><rect fill='x\"/></svg>",
        "<svg><rect fill/></svg>",
    ];
    for b in broken {
        refused(svg(b));
    }
    assert!(refused(svg(r#"<svg><script>alert(1)</script></svg>"#)).contains("nothing drawable"));
    assert!(refused(svg(r#"<svg><foreignObject><rect/></foreignObject></svg>"#)).contains("nothing drawable"));
    refused(svg::sanitize(&[0xff, 0xfe, b'<']));
    let deep = format!("<svg>{}{SQUARE}{}</svg>", "<g>".repeat(80), "</g>".repeat(80));
    assert!(refused(svg(&deep)).contains("deep"));
}

#[test]
fn every_prefix_of_an_svg_is_refused_or_read_without_panic() {
    let doc = format!(
        r#"<?xml version="1.0"?><!-- c --><svg viewBox="0 0 1 1"><g id='a'><![CDATA[x]]>{SQUARE}<text>&amp;&#x41;</text></g></svg>"#
    );
    for end in 0..doc.len() {
        if doc.is_char_boundary(end) {
            let _ = svg(&doc[..end]);
        }
    }
    for junk in ["<", "</", "<?", "<!", "<!-", "<![", "<![CDATA", "<svg a", "<svg a=", "<svg a=\"", "&", "&#", "&#x"] {
        let _ = svg(junk);
        let _ = svg(&format!("<svg>{junk}"));
    }
}

#[test]
fn the_output_is_always_reparsed_to_the_same() {
    let out = svg(&format!(r#"<svg><text x="&quot;&apos;&lt;">a&gt;b</text>{SQUARE}</svg>"#)).expect("kept");
    assert_eq!(svg(&out).expect("kept again"), out, "sanitizing is idempotent");
}

// --- PNG ---

/// A chunk with its length and CRC.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let crc = CRC_REF.checksum(&c[4..]);
    c.extend_from_slice(&crc.to_be_bytes());
    c
}

/// The CRC the tests build chunks with (crc's table-driven one, not the code under test's).
const CRC_REF: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

fn ihdr(w: u32, h: u32, depth: u8, color: u8) -> Vec<u8> {
    let mut d = w.to_be_bytes().to_vec();
    d.extend_from_slice(&h.to_be_bytes());
    d.extend_from_slice(&[depth, color, 0, 0, 0]);
    chunk(b"IHDR", &d)
}

/// A 1x1 RGBA PNG (zlib stream of one filter byte and four zero bytes).
const IDAT: &[u8] = &[0x78, 0x9c, 0x63, 0x60, 0x00, 0x02, 0x00, 0x00, 0x05, 0x00, 0x01];

fn png(chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut p = b"\x89PNG\r\n\x1a\n".to_vec();
    for c in chunks {
        p.extend_from_slice(c);
    }
    p
}

fn tiny() -> Vec<Vec<u8>> {
    vec![ihdr(1, 1, 8, 6), chunk(b"IDAT", IDAT), chunk(b"IEND", b"")]
}

#[test]
fn a_plain_png_is_kept_byte_for_byte() {
    let p = png(&tiny());
    assert_eq!(png::sanitize(&p).expect("kept"), p);
    let pal = png(&[
        ihdr(1, 1, 8, 3),
        chunk(b"PLTE", &[1, 2, 3]),
        chunk(b"tRNS", &[0]),
        chunk(b"IDAT", IDAT),
        chunk(b"IDAT", IDAT),
        chunk(b"IEND", b""),
    ]);
    assert_eq!(png::sanitize(&pal).expect("kept"), pal);
}

#[test]
fn metadata_and_payload_chunks_are_dropped() {
    let payload = b"<html><script>alert(1)</script></html>";
    let p = png(&[
        ihdr(1, 1, 8, 6),
        chunk(b"tEXt", &[b"Comment\0".as_slice(), payload].concat()),
        chunk(b"zTXt", b"k\0\0xx"),
        chunk(b"iTXt", &[b"XML:com.adobe.xmp\0\0\0\0\0".as_slice(), payload].concat()),
        chunk(b"eXIf", b"MM\0*GPS"),
        chunk(b"iCCP", b"p\0\0xx"),
        chunk(b"prVt", payload),
        chunk(b"IDAT", IDAT),
        chunk(b"IEND", b""),
    ]);
    let out = png::sanitize(&p).expect("kept");
    assert_eq!(out, png(&tiny()));
}

#[test]
fn malformed_pngs_are_refused() {
    let good = png(&tiny());
    let mut bad_crc = good.clone();
    let at = good.len() - 13; // in the IDAT's CRC
    bad_crc[at] ^= 1;
    let mut huge_len = good.clone();
    huge_len[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("signature", b"GIF89a....".to_vec()),
        ("signature", good[1..].to_vec()),
        ("CRC", bad_crc),
        ("ends inside", huge_len),
        ("ends inside", good[..good.len() - 1].to_vec()),
        ("ends inside", png(&[ihdr(1, 1, 8, 6), chunk(b"IDAT", IDAT)])),
        ("after its IEND", [good.clone(), b"<script>alert(1)</script>".to_vec()].concat()),
        ("after its IEND", [good.clone(), chunk(b"tEXt", b"a\0b")].concat()),
        ("IHDR must come first", png(&[chunk(b"IDAT", IDAT), ihdr(1, 1, 8, 6), chunk(b"IEND", b"")])),
        ("second IHDR", png(&[ihdr(1, 1, 8, 6), ihdr(1, 1, 8, 6), chunk(b"IDAT", IDAT), chunk(b"IEND", b"")])),
        ("larger than 1024", png(&[ihdr(1025, 1, 8, 6), chunk(b"IDAT", IDAT), chunk(b"IEND", b"")])),
        ("larger than 1024", png(&[ihdr(1, 100_000, 8, 6), chunk(b"IDAT", IDAT), chunk(b"IEND", b"")])),
        ("zero width", png(&[ihdr(0, 1, 8, 6), chunk(b"IDAT", IDAT), chunk(b"IEND", b"")])),
        ("bit depth", png(&[ihdr(1, 1, 4, 6), chunk(b"IDAT", IDAT), chunk(b"IEND", b"")])),
        ("colour type", png(&[ihdr(1, 1, 8, 5), chunk(b"IDAT", IDAT), chunk(b"IEND", b"")])),
        ("13 bytes", png(&[chunk(b"IHDR", &[0; 12]), chunk(b"IDAT", IDAT), chunk(b"IEND", b"")])),
        ("no image data", png(&[ihdr(1, 1, 8, 6), chunk(b"IEND", b"")])),
        (
            "follow one another",
            png(&[
                ihdr(1, 1, 8, 6),
                chunk(b"IDAT", IDAT),
                chunk(b"tEXt", b"a\0b"),
                chunk(b"IDAT", IDAT),
                chunk(b"IEND", b""),
            ]),
        ),
        ("PLTE", png(&[ihdr(1, 1, 8, 6), chunk(b"IDAT", IDAT), chunk(b"PLTE", &[1, 2, 3]), chunk(b"IEND", b"")])),
        ("PLTE", png(&[ihdr(1, 1, 8, 0), chunk(b"PLTE", &[1, 2, 3]), chunk(b"IDAT", IDAT), chunk(b"IEND", b"")])),
        ("palette", png(&[ihdr(1, 1, 8, 3), chunk(b"PLTE", &[1, 2]), chunk(b"IDAT", IDAT), chunk(b"IEND", b"")])),
        ("needs PLTE", png(&[ihdr(1, 1, 8, 3), chunk(b"IDAT", IDAT), chunk(b"IEND", b"")])),
        ("tRNS", png(&[ihdr(1, 1, 8, 6), chunk(b"tRNS", &[0, 0]), chunk(b"IDAT", IDAT), chunk(b"IEND", b"")])),
        (
            "critical chunk",
            png(&[ihdr(1, 1, 8, 6), chunk(b"CgBI", &[0; 4]), chunk(b"IDAT", IDAT), chunk(b"IEND", b"")]),
        ),
        ("four letters", png(&[ihdr(1, 1, 8, 6), chunk(b"ID4T", IDAT), chunk(b"IEND", b"")])),
        ("IEND chunk is not empty", png(&[ihdr(1, 1, 8, 6), chunk(b"IDAT", IDAT), chunk(b"IEND", b"x")])),
    ];
    for (why, p) in cases {
        let message = refused(png::sanitize(&p));
        assert!(message.contains(why), "{why}: {message}");
    }
    // Every prefix: refused, never a panic.
    for end in 0..good.len() {
        refused(png::sanitize(&good[..end]));
    }
}

#[test]
fn sanitize_logo_names_the_file_by_its_hash_and_caps_the_size() {
    let logo = sanitize_logo(LogoKind::Png, &png(&tiny())).expect("kept");
    assert!(logo.file.ends_with(".png") && logo.file.len() == 20, "{}", logo.file);
    let other = sanitize_logo(LogoKind::Svg, format!("<svg>{SQUARE}</svg>").as_bytes()).expect("kept");
    assert!(other.file.ends_with(".svg"));
    assert_ne!(logo.file[..16], other.file[..16]);
    assert_eq!(sanitize_logo(LogoKind::Png, &[]).expect_err("empty").code, ErrorCode::InvalidLogo);
    let big = vec![b' '; MAX_LOGO_BYTES + 1];
    assert_eq!(sanitize_logo(LogoKind::Svg, &big).expect_err("big").code, ErrorCode::PayloadTooLarge);
    // An SVG sent as a PNG (or the reverse) is refused, not served under the other type.
    refused(sanitize_logo(LogoKind::Png, format!("<svg>{SQUARE}</svg>").as_bytes()));
    refused(sanitize_logo(LogoKind::Svg, &png(&tiny())));
}

#[test]
fn content_types_and_files() {
    assert_eq!(LogoKind::of_content_type(Some("image/png")).expect("png"), LogoKind::Png);
    assert_eq!(LogoKind::of_content_type(Some("Image/SVG+XML; charset=utf-8")).expect("svg"), LogoKind::Svg);
    for t in [None, Some("text/html"), Some("image/gif"), Some("image/svg"), Some("")] {
        assert_eq!(LogoKind::of_content_type(t).expect_err("refused").code, ErrorCode::InvalidLogo);
    }
    assert_eq!(LogoKind::of_file("0123456789abcdef.svg"), Some(LogoKind::Svg));
    assert_eq!(LogoKind::of_file("0123456789abcdef.html"), None);
}

// --- Names, colours, the brand ---

#[test]
fn display_names_and_colours_are_checked() {
    assert_eq!(check_display_name("  Acme Posts ").expect("ok"), "Acme Posts");
    assert_eq!(check_display_name(&"é".repeat(100)).expect("ok").chars().count(), 100);
    for bad in ["", "   ", "a\nb", "a\tb", "a\u{0}b", "a\u{1b}[31mb", "a\u{85}b"] {
        assert_eq!(check_display_name(bad).expect_err(bad).code, ErrorCode::InvalidRequest);
    }
    assert!(check_display_name(&"é".repeat(101)).is_err());
    assert_eq!(check_accent_color("#FF8800").expect("ok"), "#ff8800");
    for bad in ["ff8800", "#ff880", "#ff88000", "#gg8800", "red", "#f80", "", "#ff8800 ", "rgb(1,2,3)", "#+f8800"] {
        assert_eq!(check_accent_color(bad).expect_err(bad).code, ErrorCode::InvalidRequest);
    }
}

/// WCAG 2's contrast ratio of two colours, with `powf`.
fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let lum = |c: [u8; 3]| {
        let l = c.map(|v| {
            let s = f64::from(v) / 255.0;
            if s <= 0.04045 {
                s / 12.92
            } else {
                ((s + 0.055) / 1.055).powf(2.4)
            }
        });
        0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2]
    };
    let (x, y) = (lum(a), lum(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

#[test]
fn the_accent_text_is_readable_on_every_accent() {
    for v in 0..=255u8 {
        let exact = {
            let s = f64::from(v) / 255.0;
            if s <= 0.04045 {
                s / 12.92
            } else {
                ((s + 0.055) / 1.055).powf(2.4)
            }
        };
        assert!((linear(v) - exact).abs() < 1e-5, "{v}: {} vs {exact}", linear(v));
    }
    let mut worst: f64 = 21.0;
    for r in (0..=255u8).step_by(5) {
        for g in (0..=255u8).step_by(3) {
            for b in (0..=255u8).step_by(17) {
                let text = if text_on([r, g, b]) == "#000000" { [0, 0, 0] } else { [255, 255, 255] };
                let c = contrast([r, g, b], text);
                worst = worst.min(c);
                let other = contrast([r, g, b], [255 - text[0], 255 - text[1], 255 - text[2]]);
                // At the crossing (both about 4.58) the pick may be the other by a hair.
                assert!(c >= other - 1e-4, "#{r:02x}{g:02x}{b:02x}: picked {c}, other {other}");
            }
        }
    }
    assert!(worst >= 4.5, "worst contrast {worst}");
}

#[test]
fn the_brand_falls_back_to_the_name() {
    let mut app = AppRow { id: "app_1".into(), name: "acme-internal".into(), ..AppRow::default() };
    let b = Brand::of(&app, "https://links.example/");
    assert_eq!(b, Brand { app_name: "acme-internal".into(), logo_url: None, accent: None, accent_text: None });
    app.display_name = Some("Acme Posts".into());
    app.accent_color = Some("#ffeb3b".into());
    app.logo_file = Some("0123456789abcdef.svg".into());
    let b = Brand::of(&app, "https://links.example/");
    assert_eq!(b.app_name, "Acme Posts");
    assert_eq!(b.logo_url.as_deref(), Some("https://links.example/apps/app_1/logo/0123456789abcdef.svg"));
    assert_eq!((b.accent.as_deref(), b.accent_text), (Some("#ffeb3b"), Some("#000000")));
    app.accent_color = Some("#1a237e".into());
    assert_eq!(Brand::of(&app, "https://links.example").accent_text, Some("#ffffff"));
    // A stored value that is not #rrggbb never reaches the pages' CSS.
    app.accent_color = Some("#fff;background:url(x)".into());
    let b = Brand::of(&app, "https://links.example");
    assert_eq!((b.accent, b.accent_text), (None, None));
    assert_eq!(
        app.view("https://links.example")["logo_url"],
        "https://links.example/apps/app_1/logo/0123456789abcdef.svg"
    );
}
