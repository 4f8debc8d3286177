use super::*;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/i18n")
}

fn catalog(lang: Lang) -> Catalog {
    let path = assets().join(format!("{}.json", lang.code()));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_catalog(&text).unwrap_or_else(|| panic!("{} is not a flat object of strings", path.display()))
}

/// The `{name}` placeholders of a text.
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        out.insert(after[..close].to_string());
        rest = &after[close + 1..];
    }
    out
}

#[test]
fn every_catalog_has_every_key_no_other_and_the_same_placeholders() {
    let en = catalog(Lang::En);
    assert!(en.len() > 20);
    let files: BTreeSet<String> =
        std::fs::read_dir(assets()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let expected: BTreeSet<String> = Lang::ALL.iter().map(|l| format!("{}.json", l.code())).collect();
    assert_eq!(files, expected, "one catalog per language, no other file");
    for lang in Lang::ALL {
        let c = catalog(lang);
        let missing: Vec<&String> = en.keys().filter(|k| !c.contains_key(*k)).collect();
        let extra: Vec<&String> = c.keys().filter(|k| !en.contains_key(*k)).collect();
        assert!(missing.is_empty() && extra.is_empty(), "{}: missing {missing:?}, extra {extra:?}", lang.code());
        for (k, v) in &c {
            let (v, en_v) = (v.as_str().unwrap(), en[k].as_str().unwrap());
            assert!(!v.trim().is_empty(), "{}: {k} is empty", lang.code());
            assert_eq!(placeholders(v), placeholders(en_v), "{}: placeholders of {k}", lang.code());
        }
    }
}

#[test]
fn a_catalog_is_a_flat_object_of_strings() {
    assert!(parse_catalog(r#"{"a": "b"}"#).is_some());
    for bad in [r#"{"a": 1}"#, r#"{"a": {"b": "c"}}"#, r#"["a"]"#, "not json"] {
        assert_eq!(parse_catalog(bad), None, "{bad}");
    }
}

#[test]
fn the_compiled_in_english_is_the_file() {
    assert_eq!(parse_catalog(ENGLISH_JSON), Some(catalog(Lang::En)));
}

/// The `.rs` files under `dir`, every level down.
fn rust_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// Every key the code asks for (`t("...")`, `f("...")`, `title_key`s, anywhere in the worker
/// and core) is in English: every string literal of `core/src/**` and `src/**` that looks
/// like a key of one of en.json's sections (its first segment, e.g. `consent.`).
#[test]
fn every_key_the_code_uses_is_in_the_english_catalog() {
    let en = catalog(Lang::En);
    let sections: BTreeSet<&str> = en.keys().filter_map(|k| k.split('.').next()).collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("../src"), &mut files);
    assert!(files.len() > 100, "{} files", files.len());
    let mut used = BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for quoted in text.split('"').skip(1).step_by(2) {
            let looks_like_key = quoted.contains('.')
                && quoted.split('.').next().is_some_and(|p| sections.contains(p))
                && quoted.split('.').all(|seg| !seg.is_empty())
                && quoted.bytes().all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_');
            if looks_like_key {
                used.insert((quoted.to_string(), file.display().to_string()));
            }
        }
    }
    assert!(used.len() > 20, "{used:?}");
    let unknown: Vec<&(String, String)> = used.iter().filter(|(k, _)| !en.contains_key(k)).collect();
    assert!(unknown.is_empty(), "keys used but not in en.json: {unknown:?}");
}

#[test]
fn tags_match_on_their_primary_language() {
    assert_eq!(Lang::of_tag("de-AT"), Some(Lang::De));
    assert_eq!(Lang::of_tag("DE"), Some(Lang::De));
    assert_eq!(Lang::of_tag("ja-JP"), Some(Lang::Ja));
    assert_eq!(Lang::of_tag("fr_CA"), Some(Lang::Fr));
    assert_eq!(Lang::of_tag("pt-BR"), None);
    assert_eq!(Lang::of_tag("deu"), None);
    assert_eq!(Lang::of_tag(""), None);
}

#[test]
fn accept_language_is_negotiated_by_q_value() {
    assert_eq!(negotiate("de-AT,de;q=0.9,en;q=0.8"), Some(Lang::De));
    assert_eq!(negotiate("pt-BR, fr;q=0.5, en;q=0.4"), Some(Lang::Fr));
    assert_eq!(negotiate("en;q=0.5, ja"), Some(Lang::Ja), "a missing q is 1");
    assert_eq!(negotiate("es;q=0.8, fr;q=0.8"), Some(Lang::Es), "ties keep their order");
    assert_eq!(negotiate("de;q=0, fr;q=0.1"), Some(Lang::Fr), "q=0 is not this");
    assert_eq!(negotiate("ja;q=0.001, es;q=0.0001"), Some(Lang::Ja), "a q of more than 3 decimals is no q");
    assert_eq!(negotiate("de;q=2"), None, "q above 1 is no q");
    assert_eq!(negotiate("*"), None);
    assert_eq!(negotiate("pt, it;q=0.9"), None);
    assert_eq!(negotiate(""), None);
    assert_eq!(negotiate("  de-ch ; q=0.7 ,en;q=0.6"), Some(Lang::De));
}

#[test]
fn the_links_locale_wins_then_the_browser_then_english() {
    assert_eq!(choose(Some("ja"), Some("de")), Lang::Ja);
    assert_eq!(choose(Some("pt-BR"), Some("de")), Lang::De, "a locale without a catalog falls back");
    assert_eq!(choose(None, Some("es-MX")), Lang::Es);
    assert_eq!(choose(None, None), Lang::En);
    assert_eq!(choose(Some("zz"), Some("it")), Lang::En);
}

#[test]
fn locales_must_be_well_formed_tags() {
    for ok in ["en", "de-AT", "zh-Hant-TW", "es-419", "pt-BR", "sgn-BE-FR"] {
        assert!(well_formed_locale(ok), "{ok}");
    }
    for bad in
        ["", "e", "english", "de_AT", "de-", "-de", "de--AT", "de-AT-toolongsubtag", "<script>", "de AT", "ja-JP-x-😀"]
    {
        assert!(!well_formed_locale(bad), "{bad}");
    }
    assert!(!well_formed_locale(&format!("en{}", "-abc".repeat(9))), "over 35 characters");
}

#[test]
fn placeholders_fill_in_one_pass_and_missing_keys_fall_back() {
    let mut de = Catalog::new();
    de.insert("consent.heading".into(), Value::from("{app} möchte Ihr {platform}-Konto verwenden"));
    let m = Messages::new(Lang::De, Some(Rc::new(de)));
    assert_eq!(m.lang(), Lang::De);
    assert_eq!(
        m.f("consent.heading", &[("app", "Evil {platform}"), ("platform", "Sandbox")]),
        "Evil {platform} möchte Ihr Sandbox-Konto verwenden",
        "a value's braces are not placeholders"
    );
    assert_eq!(m.t("consent.approve"), "Approve", "a key the catalog lacks is English");
    assert_eq!(m.t("no.such.key"), "no.such.key");
    assert_eq!(Messages::new(Lang::Fr, None).lang(), Lang::En, "no catalog: English");
}
