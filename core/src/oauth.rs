//! The shared OAuth 2.0 authorization-code flow, driven by a [`Platform`]'s data.

use crate::http::{form_body, HttpRequest};
use crate::pkce::challenge_s256;
use crate::platforms::{ClientAuth, Pkce, Platform, RevokeStyle, RevokeToken, TokenPlacement, TokenRequest};
use crate::random::b64;
use crate::secrets::{AccessToken, AuthCode, ClientSecret, PkceVerifier};
use crate::token::{TokenError, TokenSet};
use url::Url;

/// A platform app's credentials, read from `<ID>_CLIENT_ID` / `<ID>_CLIENT_SECRET`.
#[derive(Debug)]
pub struct ClientCredentials {
    /// The public client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: ClientSecret,
}

/// The consent-screen URL for one authorization; `extra` goes on it after the platform's
/// own `authorize_params` (a reconnect's `rerequest_params`).
pub fn authorize_url(
    p: &Platform,
    client_id: &str,
    redirect_uri: &str,
    scopes: &[String],
    state: &str,
    verifier: &PkceVerifier,
    extra: &[(&str, &str)],
) -> Option<String> {
    let mut url = Url::parse(&p.authorize_url).ok()?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code");
        q.append_pair(&p.client_id_param, client_id);
        q.append_pair("redirect_uri", redirect_uri);
        if !scopes.is_empty() {
            q.append_pair("scope", &scopes.join(&p.scope_separator));
        }
        q.append_pair("state", state);
        if p.pkce == Pkce::S256 {
            q.append_pair("code_challenge", &challenge_s256(verifier.secret()));
            q.append_pair("code_challenge_method", "S256");
        }
        for (k, v) in &p.authorize_params {
            q.append_pair(k, v);
        }
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    Some(url.to_string())
}

/// The code as the platform means it: Meta appends `#_`, which is not part of the code.
pub fn clean_code(p: &Platform, code: &str) -> AuthCode {
    let trimmed = match &p.code_suffix {
        Some(suffix) => code.strip_suffix(suffix.as_str()).unwrap_or(code),
        None => code,
    };
    AuthCode::new(trimmed)
}

/// Headers every call to `p` carries.
fn base_headers(p: &Platform) -> Vec<(String, String)> {
    let mut h = vec![("accept".to_string(), "application/json".to_string())];
    if let Some(ua) = &p.user_agent {
        h.push(("user-agent".into(), ua.clone()));
    }
    h
}

/// The token request that spends an authorization code.
pub fn code_exchange_request(
    p: &Platform,
    creds: &ClientCredentials,
    code: &AuthCode,
    redirect_uri: &str,
    verifier: &PkceVerifier,
) -> HttpRequest {
    let mut pairs = vec![("grant_type", "authorization_code"), ("code", code.secret()), ("redirect_uri", redirect_uri)];
    if p.pkce == Pkce::S256 {
        pairs.push(("code_verifier", verifier.secret()));
    }
    match p.token_request {
        TokenRequest::FormPost => token_endpoint_request(p, creds, pairs),
        TokenRequest::QueryGet => {
            // Facebook: GET with client_id, client_secret, redirect_uri and code in the query.
            pairs.retain(|(k, _)| *k != "grant_type");
            pairs.push((p.client_id_param.as_str(), creds.client_id.as_str()));
            pairs.push(("client_secret", creds.client_secret.secret()));
            get_with_query(p, &p.token_url, &pairs)
        }
    }
}

fn get_with_query(p: &Platform, base: &str, pairs: &[(&str, &str)]) -> HttpRequest {
    let mut url = base.to_string();
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(&form_body(pairs));
    HttpRequest { method: "GET", url, headers: base_headers(p), body: None }
}

/// Meta's swap of the short-lived token for a long-lived one, where the platform has it.
pub fn long_lived_swap_request(p: &Platform, creds: &ClientCredentials, short: &AccessToken) -> Option<HttpRequest> {
    let swap = p.long_lived_swap.as_ref()?;
    let mut pairs = vec![("grant_type", swap.grant_type.as_str())];
    if swap.send_client_id {
        pairs.push(("client_id", creds.client_id.as_str()));
    }
    pairs.push(("client_secret", creds.client_secret.secret()));
    pairs.push((swap.token_param.as_str(), short.secret()));
    Some(get_with_query(p, &swap.url, &pairs))
}

/// Reads a token endpoint's answer the way `p` writes it.
pub fn parse_token_answer(p: &Platform, status: u16, body: &[u8]) -> Result<TokenSet, TokenError> {
    TokenSet::from_response_in(status, body, p.token_envelope.as_deref(), &p.scope_field)
}

/// A POST to the token endpoint with the platform's client-auth style applied.
pub fn token_endpoint_request<'a>(
    p: &'a Platform,
    creds: &'a ClientCredentials,
    mut pairs: Vec<(&'a str, &'a str)>,
) -> HttpRequest {
    let mut headers = base_headers(p);
    headers.push(("content-type".to_string(), "application/x-www-form-urlencoded".to_string()));
    match p.client_auth {
        ClientAuth::Basic => {
            headers.push(("authorization".into(), basic_auth(&creds.client_id, creds.client_secret.secret())))
        }
        ClientAuth::Body => {
            pairs.push((p.client_id_param.as_str(), creds.client_id.as_str()));
            pairs.push(("client_secret", creds.client_secret.secret()));
        }
    }
    HttpRequest { method: "POST", url: p.token_url.clone(), headers, body: Some(form_body(&pairs)) }
}

/// The identity call made with a fresh access token (or a pasted key, placed where its
/// provider wants it).
pub fn identity_request(p: &Platform, token: &AccessToken) -> HttpRequest {
    get_with_token(p, &p.identity.url, token)
}

/// `GET url` with the platform's headers and `token` where the platform takes it.
fn get_with_token(p: &Platform, url: &str, token: &AccessToken) -> HttpRequest {
    let mut req = HttpRequest { method: "GET", url: url.to_string(), headers: base_headers(p), body: None };
    place_token(&p.token_placement, token.secret(), &mut req.url, &mut req.headers);
    req
}

/// Puts `token` where `placement` says: a header, or a query parameter appended to `url`.
pub fn place_token(placement: &TokenPlacement, token: &str, url: &mut String, headers: &mut Vec<(String, String)>) {
    match placement {
        TokenPlacement::Bearer => headers.push(("authorization".into(), format!("Bearer {token}"))),
        TokenPlacement::Header { name, prefix } => headers.push((name.clone(), format!("{prefix}{token}"))),
        TokenPlacement::Query { name } => {
            // A parameter of that name already there (a proxy caller's) is dropped: the key
            // is the only one the provider sees. The rest of the query stays as written.
            let (base, query) = match url.split_once('?') {
                Some((b, q)) => (b.to_string(), Some(q.to_string())),
                None => (url.clone(), None),
            };
            let mut kept: Vec<String> = query
                .iter()
                .flat_map(|q| q.split('&'))
                .filter(|seg| !seg.is_empty())
                .filter(|seg| url::form_urlencoded::parse(seg.as_bytes()).next().is_none_or(|(k, _)| k != name.as_str()))
                .map(str::to_string)
                .collect();
            kept.push(form_body(&[(name.as_str(), token)]));
            *url = format!("{base}?{}", kept.join("&"));
        }
    }
}

/// The call that lists what a consent granted, where only an API says
/// (`Platform::granted_scopes_url`), with the new token where the platform takes it.
pub fn granted_scopes_request(p: &Platform, token: &AccessToken) -> Option<HttpRequest> {
    Some(get_with_token(p, p.granted_scopes_url?, token))
}

/// The liveness check of a token that never expires (`Platform::liveness_url`, else the
/// identity call), with the token as a Bearer token.
pub fn liveness_request(p: &Platform, token: &AccessToken) -> HttpRequest {
    get_with_token(p, p.liveness_url.as_deref().unwrap_or(&p.identity.url), token)
}

/// The token a revocation sends: the refresh token where the platform takes it and one is
/// stored, else the access token.
pub fn token_to_revoke<'a>(p: &Platform, access: &'a str, refresh: Option<&'a str>) -> &'a str {
    match (p.revoke_token, refresh) {
        (RevokeToken::Refresh, Some(rt)) => rt,
        _ => access,
    }
}

/// The revocation call, where the platform has a revoke endpoint. `token` is the refresh
/// token for RFC 7009 platforms (it ends the grant) and the access token otherwise.
pub fn revoke_request(p: &Platform, creds: &ClientCredentials, token: &str) -> Option<HttpRequest> {
    let url = p.revoke_url.clone()?;
    Some(match p.revoke_style {
        RevokeStyle::Rfc7009 => {
            let mut req = token_endpoint_request(p, creds, vec![("token", token)]);
            req.url = url;
            req
        }
        RevokeStyle::BearerDelete | RevokeStyle::BearerPost => {
            let method = if p.revoke_style == RevokeStyle::BearerPost { "POST" } else { "DELETE" };
            let mut headers = base_headers(p);
            headers.push(("authorization".into(), format!("Bearer {token}")));
            HttpRequest { method, url, headers, body: None }
        }
    })
}

/// `Basic base64(client_id:client_secret)`, each part form-encoded first (RFC 6749 2.3.1).
pub fn basic_auth(client_id: &str, client_secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!("Basic {}", b64(format!("{}:{}", enc(client_id), enc(client_secret)).as_bytes()))
}

/// Splits a granted-scope string; platforms use spaces or commas.
pub fn parse_scopes(s: &str) -> Vec<String> {
    s.split([' ', ',']).filter(|x| !x.is_empty()).map(str::to_string).collect()
}

/// The requested scopes missing from the granted ones. A platform that does not say what it
/// granted (no `scope` in the answer) is taken to have granted what was asked.
pub fn missing_scopes(requested: &[String], granted: Option<&str>) -> Vec<String> {
    let Some(granted) = granted else { return vec![] };
    let granted = parse_scopes(granted);
    requested.iter().filter(|r| !granted.contains(r)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::sandbox;
    use std::collections::HashMap;

    fn creds() -> ClientCredentials {
        ClientCredentials { client_id: "cid".into(), client_secret: ClientSecret::new("c:s&t") }
    }

    fn query(url: &str) -> HashMap<String, String> {
        Url::parse(url).unwrap().query_pairs().into_owned().collect()
    }

    #[test]
    fn sandbox_authorize_url_has_state_and_s256_challenge() {
        let p = sandbox::platform("http://127.0.0.1:8787/");
        let v = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        let scopes = vec!["profile.read".to_string(), "offline.access".to_string()];
        let u = authorize_url(&p, "cid", "http://127.0.0.1:8787/oauth/callback", &scopes, "st", &v, &[]).unwrap();
        assert!(u.starts_with("http://127.0.0.1:8787/sandbox/authorize?"));
        let q = query(&u);
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "cid");
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:8787/oauth/callback");
        assert_eq!(q["scope"], "profile.read offline.access");
        assert_eq!(q["state"], "st");
        assert_eq!(q["code_challenge"], "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q.len(), 7);
    }

    #[test]
    fn pkce_opt_out_sends_no_challenge_and_no_verifier() {
        let mut p = sandbox::platform("https://w");
        p.pkce = Pkce::None;
        let v = PkceVerifier::new("x".repeat(43));
        let u = authorize_url(&p, "cid", "https://w/oauth/callback", &[], "st", &v, &[]).unwrap();
        assert!(!query(&u).contains_key("code_challenge"));
        let req = code_exchange_request(&p, &creds(), &AuthCode::new("c"), "https://w/cb", &v);
        assert!(!req.form().iter().any(|(k, _)| k == "code_verifier"));
    }

    #[test]
    fn basic_client_auth_puts_credentials_in_the_header_only() {
        let p = sandbox::platform("https://w");
        let v = PkceVerifier::new("v".repeat(43));
        let req = code_exchange_request(&p, &creds(), &AuthCode::new("the-code"), "https://w/oauth/callback", &v);
        assert_eq!(req.method, "POST");
        assert_eq!(req.url, "https://w/sandbox/token");
        // "c:s&t" is form-encoded before base64: "cid:c%3As%26t".
        assert_eq!(req.header("authorization"), Some("Basic Y2lkOmMlM0FzJTI2dA=="));
        let form: HashMap<_, _> = req.form().into_iter().collect();
        assert_eq!(form["grant_type"], "authorization_code");
        assert_eq!(form["code"], "the-code");
        assert_eq!(form["code_verifier"], "v".repeat(43));
        assert!(!form.contains_key("client_secret") && !form.contains_key("client_id"));
    }

    #[test]
    fn body_client_auth_uses_the_platforms_param_name() {
        let mut p = sandbox::platform("https://w");
        p.client_auth = ClientAuth::Body;
        p.client_id_param = "client_key".into();
        let req = token_endpoint_request(&p, &creds(), vec![("grant_type", "refresh_token")]);
        let form: HashMap<_, _> = req.form().into_iter().collect();
        assert_eq!(form["client_key"], "cid");
        assert_eq!(form["client_secret"], "c:s&t");
        assert!(req.header("authorization").is_none());
    }

    #[test]
    fn request_debug_hides_secrets() {
        let p = sandbox::platform("https://w");
        let req = token_endpoint_request(&p, &creds(), vec![("refresh_token", "RT-SECRET")]);
        let shown = format!("{req:?}");
        assert!(!shown.contains("RT-SECRET") && !shown.contains("Basic"));
    }

    #[test]
    fn declined_scopes_are_found() {
        let req = vec!["a".to_string(), "b".to_string()];
        assert_eq!(missing_scopes(&req, Some("a")), vec!["b".to_string()]);
        assert!(missing_scopes(&req, Some("b,a")).is_empty());
        assert!(missing_scopes(&req, None).is_empty());
    }
}
