//! The hosted pages' languages at run time (plumbing): the message catalogs, read through the
//! `ASSETS` binding once per isolate (English is compiled in), and the error page of a
//! browser route in the language and with the app its handler noted ([`Ctx::hint_page`]).

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::respond::{self, Audience};
use connect_links_core::i18n::{parse_catalog, Catalog, Lang, Messages};
use connect_links_core::pages::{self, error_title_key};
use std::cell::RefCell;
use std::rc::Rc;
use worker::Response;

thread_local! {
    /// The catalogs read so far in this isolate (they change only with a deploy, which
    /// starts new isolates).
    static CATALOGS: RefCell<Vec<(Lang, Rc<Catalog>)>> = const { RefCell::new(Vec::new()) };
}

/// What the pages say in `lang`: its catalog (`assets/i18n/<lang>.json`, read once per
/// isolate), English for what it lacks, and English alone when it cannot be read.
pub async fn messages(ctx: &Ctx, lang: Lang) -> Messages {
    if lang == Lang::En {
        return Messages::english();
    }
    if let Some(c) = CATALOGS.with(|m| m.borrow().iter().find(|(l, _)| *l == lang).map(|(_, c)| c.clone())) {
        return Messages::new(lang, Some(c));
    }
    let read = async {
        let (mut asset, _) = crate::assets::fetch(ctx, &format!("i18n/{}.json", lang.code())).await.ok()??;
        parse_catalog(&asset.text().await.ok()?)
    };
    match read.await {
        Some(c) => {
            let c = Rc::new(c);
            CATALOGS.with(|m| m.borrow_mut().push((lang, c.clone())));
            Messages::new(lang, Some(c))
        }
        None => {
            crate::log::warn(&respond::object!("event": "catalog_unreadable", "lang": lang.code()));
            Messages::english()
        }
    }
}

/// The error page of a browser route, in the language of the request's link or browser,
/// naming the link's app when the handler noted them ([`Ctx::hint_page`]).
pub async fn browser_error(ctx: &Ctx, e: &ApiError) -> Response {
    let hint = ctx.page_hint.borrow().clone();
    let msgs = messages(ctx, ctx.page_lang(hint.locale.as_deref())).await;
    let brand = hint.brand.unwrap_or_default();
    let body = pages::error_page(&brand, &msgs, e.status(), msgs.t(error_title_key(e.status())), &e.message);
    match respond::page(e.status(), body, &msgs) {
        Ok(mut r) => {
            if let Some(secs) = e.retry_after_secs {
                let _ = r.headers_mut().set("retry-after", &secs.max(1).to_string());
            }
            r
        }
        Err(_) => respond::error(e, Audience::Browser),
    }
}
