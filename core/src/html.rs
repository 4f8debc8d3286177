//! The few HTML pages browsers see: errors on browser routes and the sandbox consent page.

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A complete page; `body_html` must already be escaped.
pub fn page(title: &str, body_html: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t}</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}}\
button{{font-size:1rem;padding:.5rem 1.25rem;margin-right:.5rem}}label{{display:block;margin:.3rem 0}}\
input[type=text]{{font-size:1rem;padding:.3rem}}</style></head><body>{body_html}</body></html>",
        t = escape(title)
    )
}

/// An error page for a browser route: a title and one sentence.
pub fn error_page(title: &str, sentence: &str) -> String {
    page(title, &format!("<h1>{}</h1><p>{}</p>", escape(title), escape(sentence)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert!(error_page("<x>", "y").contains("&lt;x&gt;"));
    }
}
