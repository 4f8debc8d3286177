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

/// A body read chunk by chunk with a running count, refused as soon as it passes `cap`
/// (so a huge or endless body costs at most `cap` plus one chunk, never a full read).
#[derive(Debug)]
pub struct CappedBody {
    cap: usize,
    bytes: Vec<u8>,
}

/// A body went past its cap: the reader stops and cancels the rest.
#[derive(Debug, PartialEq, Eq)]
pub struct OverCap;

impl CappedBody {
    /// An empty body that may grow to `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self { cap, bytes: Vec::new() }
    }

    /// Adds one chunk; `OverCap` once the total passes the cap (the chunk is not kept).
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), OverCap> {
        if chunk.len() > self.cap - self.bytes.len() {
            return Err(OverCap);
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// The bytes read, all within the cap.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_body_takes_exactly_the_cap_and_refuses_one_byte_more() {
        let mut b = CappedBody::new(10);
        assert_eq!(b.push(b"12345"), Ok(()));
        assert_eq!(b.push(b""), Ok(()));
        assert_eq!(b.push(b"67890"), Ok(()));
        assert_eq!(b.push(b"x"), Err(OverCap));
        assert_eq!(b.into_bytes(), b"1234567890");
    }

    #[test]
    fn capped_body_refuses_a_single_chunk_over_the_cap() {
        let mut b = CappedBody::new(4);
        assert_eq!(b.push(b"123"), Ok(()));
        assert_eq!(b.push(b"45"), Err(OverCap), "the running count, not the chunk alone, is checked");
        assert_eq!(CappedBody::new(4).push(&[0; 5]), Err(OverCap));
    }
}
