//! The HTTP plug: platform calls are built as plain values here and sent by the worker's
//! fetch glue, so request building and response parsing are testable on the host.

use std::fmt;

/// An outbound request to a platform. Its `Debug` shows neither headers nor body nor query.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, `DELETE`...
    pub method: &'static str,
    /// Full URL, query included.
    pub url: String,
    /// Header pairs.
    pub headers: Vec<(String, String)>,
    /// Body, form-encoded or JSON per the headers.
    pub body: Option<String>,
}

impl HttpRequest {
    /// The URL without its query, safe to log (Meta puts secrets in the query).
    pub fn endpoint(&self) -> &str {
        self.url.split(['?', '#']).next().unwrap_or_default()
    }

    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The form body's pairs (empty when there is no body).
    pub fn form(&self) -> Vec<(String, String)> {
        let body = self.body.as_deref().unwrap_or_default();
        url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HttpRequest({} {}, [headers and body redacted])", self.method, self.endpoint())
    }
}

/// A platform's answer, read whole.
#[derive(Clone)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HttpResponse({}, {} bytes redacted)", self.status, self.body.len())
    }
}

/// A form-encoded body from pairs.
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}
