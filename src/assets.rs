//! Static assets (plumbing): the files `make build` copies from `assets/` into
//! `build/assets/` (scripts/assets.mjs) and the OpenAPI document, read through the `ASSETS`
//! binding rather than compiled into the wasm: served at `GET /assets/<path>` (the pages'
//! stylesheet, catalogs, platform icons) and `GET /openapi.json`; read by `crate::pages`
//! (the message catalogs).

use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult, OrInternal};
use crate::respond;
use connect_links_core::pages::accent_css;
use worker::{Headers, Request, Response};

/// The policy of every asset answer: an SVG opened on its own is a document of this origin,
/// so nothing in one may run or load (only its own inline style).
pub const ASSET_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";
/// How long a browser keeps an asset before it asks again (with its ETag: a 304 when it did
/// not change). An hour, so a deploy's new stylesheet reaches every page within one.
const ASSET_CACHE: &str = "public, max-age=3600, stale-while-revalidate=86400";
/// An accent sheet's content is its name: it never changes.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The content type of an asset, by its extension; `None`: not a type the worker serves.
fn content_type(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1;
    Some(match ext {
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        _ => return None,
    })
}

/// The asset path of `segs` (after `/assets/`) when every segment is a plain file or folder
/// name (letters, digits, `-`, `_`, `.`, not starting with a dot: no `..`, no hidden file,
/// nothing the binding could read as another path) and the type is one the worker serves.
fn asset_path(segs: &[&str]) -> Option<String> {
    let plain = |s: &&str| {
        !s.is_empty()
            && s.len() <= 100
            && !s.starts_with('.')
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    (!segs.is_empty() && segs.len() <= 4 && segs.iter().all(plain) && content_type(segs[segs.len() - 1]).is_some())
        .then(|| segs.join("/"))
}

/// `GET /assets/<path>`: a static asset (404 unless it exists and is a served type), with its
/// content type, ETag (a 304 for a matching `If-None-Match`) and a cache lifetime; and
/// `/assets/accent/<rrggbb>.css`, the one-line sheet of an app's accent colour.
pub async fn serve(ctx: &Ctx, req: &Request, segs: &[&str]) -> ApiResult<Response> {
    if let ["accent", file] = segs {
        let css = accent_css(file).ok_or_else(|| ApiError::not_found("asset"))?;
        return answer(Response::ok(css).or_500("accent sheet")?, "text/css; charset=utf-8", IMMUTABLE, None);
    }
    let path = asset_path(segs).ok_or_else(|| ApiError::not_found("asset"))?;
    let (mut asset, etag) = match fetch(ctx, &path).await? {
        Some(found) => found,
        None => return Err(ApiError::not_found("asset")),
    };
    let kind = content_type(&path).ok_or_else(|| ApiError::not_found("asset"))?;
    let asked = req.headers().get("if-none-match").ok().flatten();
    if let (Some(asked), Some(etag)) = (asked.as_deref(), etag.as_deref()) {
        if asked.split(',').any(|t| t.trim().trim_start_matches("W/") == etag.trim_start_matches("W/")) {
            let resp = Response::empty().or_500("not modified")?.with_status(304);
            return answer(resp, kind, ASSET_CACHE, Some(etag));
        }
    }
    // Every served type is text (no binary path in the wasm for a few files).
    let text = asset.text().await.or_500("read asset")?;
    answer(Response::ok(text).or_500("asset")?, kind, ASSET_CACHE, etag.as_deref())
}

/// An asset answer with its headers (`respond::harden` keeps a `cache-control` set here);
/// an app's logo is answered so too (`api::brand`).
pub fn answer(resp: Response, kind: &str, cache: &str, etag: Option<&str>) -> ApiResult<Response> {
    let h = Headers::new();
    h.set("content-type", kind).or_500("asset header")?;
    h.set("cache-control", cache).or_500("asset header")?;
    h.set("content-security-policy", ASSET_POLICY).or_500("asset header")?;
    if let Some(e) = etag {
        h.set("etag", e).or_500("asset header")?;
    }
    Ok(resp.with_headers(h))
}

/// `GET /openapi.json`: the OpenAPI document (openapi/openapi.json, the file the tests hold
/// answers to, minified by `make build`) from the `ASSETS` binding. It is a static asset, not
/// compiled in: 103 KB is about 16 KB of the wasm's gzip size, which every isolate would load
/// at start-up for a route few call. `run_worker_first` keeps this route (and its headers)
/// the worker's own; the asset is reachable only through the binding.
pub async fn openapi(ctx: &Ctx) -> ApiResult<Response> {
    const MISSING: &str =
        "the OpenAPI document is not among the static assets (make build writes build/assets/openapi.json)";
    let Some((mut asset, _)) = fetch(ctx, "openapi.json").await.or_500(MISSING)? else {
        return Err(ApiError::internal()).or_500(MISSING);
    };
    let doc = asset.text().await.or_500("reading the OpenAPI document")?;
    respond::json_text(200, &doc)
}

/// An asset through the binding with its ETag; `None` when there is no such file.
pub async fn fetch(ctx: &Ctx, path: &str) -> ApiResult<Option<(Response, Option<String>)>> {
    let assets = ctx.env.assets("ASSETS").or_500("the ASSETS binding")?;
    let asset = assets.fetch(format!("https://assets.invalid/{path}"), None).await.or_500("fetch asset")?;
    match asset.status_code() {
        200 => {
            let etag = asset.headers().get("etag").ok().flatten();
            Ok(Some((asset, etag)))
        }
        404 => Ok(None),
        other => Err(format!("the assets answered {other}")).or_500("fetch asset"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_of_served_types_are_assets() {
        assert_eq!(asset_path(&["pages.css"]).as_deref(), Some("pages.css"));
        assert_eq!(asset_path(&["icons", "x.svg"]).as_deref(), Some("icons/x.svg"));
        for bad in [
            &["..", "wrangler.toml"][..],
            &["icons", "..", "pages.css"],
            &[".hidden.css"],
            &["pages.css%2f..%2f"],
            &["icons", ""],
            &["index.js"],
            &["index_bg.wasm"],
            &["a b.css"],
            &[],
        ] {
            assert_eq!(asset_path(bad), None, "{bad:?}");
        }
    }
}
