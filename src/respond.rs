//! Building responses: JSON, HTML pages, redirects, and the contract's error body.

use crate::error::{ApiError, ApiResult, OrInternal};
use connect_links_core::html::{error_page, CONTENT_SECURITY_POLICY};
use connect_links_core::i18n::Messages;
use serde_json::Value;
use worker::{Headers, Response};

/// A JSON object of these keys and values: `json!({"key": value, ...})` for a flat object (the
/// same map, so the same text), built by [`object_of`] once rather than inline at each of the
/// many log lines and answers that build one (the wasm pays for each inline copy in size).
macro_rules! object {
    ($($key:literal : $value:expr),* $(,)?) => {
        $crate::respond::object_of(&mut [$(($key, $crate::respond::val(&$value))),*])
    };
}
pub(crate) use object;

/// The object of [`object!`].
pub fn object_of(pairs: &mut [(&str, Value)]) -> Value {
    let mut map = serde_json::Map::new();
    for (key, value) in pairs {
        map.insert((*key).to_string(), std::mem::take(value));
    }
    Value::Object(map)
}

/// A value of [`object!`], as `json!` converts it (nothing given here fails to convert: no
/// map with keys that are not strings).
pub fn val<T: serde::Serialize + ?Sized>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A JSON response.
pub fn json(status: u16, body: &Value) -> ApiResult<Response> {
    Ok(Response::from_json(body).or_500("serialize response")?.with_status(status))
}

/// A JSON body that is already text (the OpenAPI document).
pub fn json_text(status: u16, body: &str) -> ApiResult<Response> {
    let resp = Response::ok(body).or_500("json response")?.with_status(status);
    resp.headers().set("content-type", "application/json").or_500("content-type")?;
    Ok(resp)
}

/// An HTML response.
pub fn html(status: u16, body: String) -> ApiResult<Response> {
    Ok(Response::from_html(body).or_500("html response")?.with_status(status))
}

/// A hosted page in `msgs`' language (`Content-Language` says which).
pub fn page(status: u16, body: String, msgs: &Messages) -> ApiResult<Response> {
    let mut resp = html(status, body)?;
    resp.headers_mut().set("content-language", msgs.lang().code()).or_500("content-language")?;
    Ok(resp)
}

/// An HTML response under its own `Content-Security-Policy` instead of the default one.
pub fn html_with_policy(status: u16, body: String, policy: &str) -> ApiResult<Response> {
    let mut resp = html(status, body)?;
    resp.headers_mut().set("content-security-policy", policy).or_500("policy header")?;
    Ok(resp)
}

/// A 302 to `location`.
pub fn redirect(location: &str) -> ApiResult<Response> {
    redirect_as(302, location)
}

/// A 303 to `location`: the answer to a form post that continues elsewhere with a GET.
pub fn see_other(location: &str) -> ApiResult<Response> {
    redirect_as(303, location)
}

/// A redirect of `status` to `location` (one function for both: wasm size).
fn redirect_as(status: u16, location: &str) -> ApiResult<Response> {
    let headers = Headers::new();
    headers.set("location", location).or_500("redirect header")?;
    Ok(Response::empty().or_500("redirect")?.with_status(status).with_headers(headers))
}

/// 204 No Content.
pub fn no_content() -> ApiResult<Response> {
    Ok(Response::empty().or_500("empty response")?.with_status(204))
}

/// Who reads an answer, which decides the form of an error.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// An app or an operator calling the API: the contract's JSON error.
    Api,
    /// A person's browser (connect pages, callbacks, the sandbox's consent page): the same
    /// error as an HTML page.
    Browser,
}

/// The contract's JSON error, or the same as an HTML page for a browser.
pub fn error(e: &ApiError, audience: Audience) -> Response {
    let built = if audience == Audience::Browser {
        let title = match e.status() {
            404 => "Not found",
            410 => "This link has expired",
            400 => "This request cannot be completed",
            403 => "This sign-in cannot be completed",
            _ => "Something went wrong",
        };
        Response::from_html(error_page(title, &e.message))
    } else {
        Response::from_json(&e.body())
    };
    match built {
        Ok(mut r) => {
            if let Some(secs) = e.retry_after_secs {
                let _ = r.headers_mut().set("retry-after", &secs.max(1).to_string());
            }
            r.with_status(e.status())
        }
        // Only reachable if the runtime cannot build a response at all.
        Err(_) => worker::ResponseBuilder::new().with_status(500).empty(),
    }
}

/// Headers every answer carries: nothing is cached (answers may hold tokens) unless its
/// handler said how (static assets, src/assets.rs, and a logo's, `api::brand::serve_logo`,
/// whose URL names its content), and pages send no Referer (their URLs carry codes and
/// states). Every HTML answer, whichever
/// handler built it, also gets the page policy (no script, no framing, forms only to us),
/// unless its handler set a policy of its own (the sandbox consent page, see
/// [`connect_links_core::html::policy_with_form_targets`]).
pub fn harden(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    // Only static assets and logos set their own: every other answer may hold a token.
    if !h.has("cache-control").unwrap_or(false) {
        let _ = h.set("cache-control", "no-store");
    }
    let _ = h.set("x-content-type-options", "nosniff");
    let _ = h.set("referrer-policy", "no-referrer");
    let is_html = h.get("content-type").ok().flatten().is_some_and(|t| t.starts_with("text/html"));
    if is_html {
        if !h.has("content-security-policy").unwrap_or(false) {
            let _ = h.set("content-security-policy", CONTENT_SECURITY_POLICY);
        }
        let _ = h.set("x-frame-options", "DENY");
    }
    resp
}
