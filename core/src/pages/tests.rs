use super::*;
use crate::i18n::{parse_catalog, Lang};
use std::rc::Rc;

fn german() -> Messages {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/i18n/de.json")).unwrap();
    Messages::new(Lang::De, parse_catalog(&text).map(Rc::new))
}

#[test]
fn the_layout_names_app_and_platform_escaped_in_the_pages_language() {
    let brand = Brand { app_name: Some("<b>Acme</b> & Co".into()), logo_url: Some("/v1/logo\"x".into()), accent: None };
    let mark = PlatformMark { name: "Sandbox".into(), icon_url: Some("/assets/icons/sandbox.svg".into()) };
    let html = page(&brand, &german(), Some(&mark), "T<i>", maud::html! { p { "body" } });
    assert!(html.starts_with("<!DOCTYPE html><html lang=\"de\">"), "{html}");
    assert!(html.contains("<title>T&lt;i&gt;</title>"));
    assert!(html.contains("&lt;b&gt;Acme&lt;/b&gt; &amp; Co"));
    assert!(!html.contains("<b>Acme"));
    assert!(html.contains("src=\"/v1/logo&quot;x\""));
    assert!(html.contains("src=\"/assets/icons/sandbox.svg\""));
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/assets/pages.css\">"));
    assert!(html.contains("<main id=\"main\" class=\"card\"><p>body</p></main>"));
    assert!(html.contains("Ihr Konto wird sicher verbunden"), "the footer is German");
    assert!(
        !html.contains("<style") && !html.contains("style=") && !html.contains("<script"),
        "nothing the policy refuses"
    );
}

#[test]
fn the_accent_is_a_stylesheet_of_its_own_and_only_a_colour() {
    let brand = Brand { accent: Some("#0A7F3C".into()), ..Brand::named("Acme") };
    let html = page(&brand, &Messages::english(), None, "t", maud::html! {});
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/assets/accent/0a7f3c.css\">"), "{html}");
    for bad in ["red", "#fff", "#0a7f3c;x", "#0a7f3g", "0a7f3c", "#0a7f3c\"><script>"] {
        let b = Brand { accent: Some(bad.into()), ..Brand::named("Acme") };
        assert!(!page(&b, &Messages::english(), None, "t", maud::html! {}).contains("/assets/accent/"), "{bad}");
    }
    assert_eq!(accent_css("0A7F3C.css").as_deref(), Some(":root{--accent:#0a7f3c;--on-accent:#ffffff}\n"));
    for bad in ["0a7f3c", "0a7f3.css", "zzzzzz.css", "../pages.css", "0a7f3c.css.css"] {
        assert_eq!(accent_css(bad), None, "{bad}");
    }
}

#[test]
fn no_app_name_says_an_app_and_a_page_of_nobody_has_no_header() {
    let b = Brand::default();
    assert_eq!(b.name(&Messages::english()), "An app");
    assert_eq!(Brand::named("  ").name(&german()), "Eine App");
    let html = deletion_status_page(&Messages::english(), "0123456789abcdef0123", 2, "2026-12-07T21:00:00Z");
    assert!(!html.contains("<header"));
    assert!(html.contains("<code>0123456789abcdef0123</code>"));
    assert!(html.contains("2 connected accounts were deleted"));
    let de = deletion_status_page(&german(), "c", 1, "d");
    assert!(de.contains("1 verbundenes Konto wurde") && de.contains("Erledigt am d."), "{de}");
}

#[test]
fn an_error_page_in_another_language_marks_the_english_detail() {
    let en = error_page(&Brand::named("Acme"), &Messages::english(), 410, "Expired", "Ask <the app>.");
    assert!(
        en.contains("<h1>Expired</h1><p>Ask &lt;the app&gt;.</p><p>Go back to the app and start again.</p>"),
        "{en}"
    );
    let de = error_page(&Brand::default(), &german(), 404, "Nicht gefunden", "No such link.");
    assert!(de.contains("<span lang=\"en\">No such link.</span>"), "{de}");
    assert!(!de.contains("Kehren Sie"), "no way back on a 404");
    assert_eq!(error_title_key(410), "error.expired");
    assert_eq!(error_title_key(502), "error.other");
}

#[test]
fn a_platform_mark_has_its_icon_exactly_where_assets_icons_has_the_file() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/icons");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|f| f.strip_suffix(".svg").map(str::to_string))
        .collect();
    files.sort();
    let mut listed: Vec<String> = ICONS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(listed, files, "the ids with icons are the files in assets/icons/");
    for id in &files {
        assert_eq!(PlatformMark::of(id, "N").icon_url.as_deref(), Some(format!("/assets/icons/{id}.svg").as_str()));
    }
    assert_eq!(PlatformMark::of("keyed", "Keyed"), PlatformMark { name: "Keyed".into(), icon_url: None });
    assert_eq!(PlatformMark::of("../x", "X").icon_url, None);
}
