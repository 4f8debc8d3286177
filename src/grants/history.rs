//! The console's history as the grants domain writes it: what a refresh's answer leaves in
//! its `activity` row ([`Said`]). The statements go into the batches of `refresh`,
//! `refreshed` and `disconnect` (`store::activity_rows_stmt`).

use crate::ctx::Ctx;
use crate::fetch::TransportError;
use crate::store::{Leased, NewActivity};
use connect_links_core::http::HttpResponse;
use connect_links_core::refresh::answer_error;

/// What the console's history keeps of a refresh's answer: its status, and the platform's
/// error code and text with the tokens sent cut out (`refresh::answer_error`), or why there
/// was no answer. Never the body.
#[derive(Default)]
pub struct Said {
    /// The answer's HTTP status.
    pub status: Option<u16>,
    /// The platform's error code.
    pub code: Option<String>,
    /// The platform's error text, or why there was none.
    pub detail: Option<String>,
}

impl Said {
    /// What a platform call's `answer` said (a refresh's or a liveness check's), with each of
    /// `sent` (the tokens and secret the call carried) cut out of its text.
    pub fn of(answer: &Result<HttpResponse, TransportError>, sent: &[&str]) -> Said {
        match answer {
            Ok(resp) => {
                let (code, detail) = answer_error(resp.status, &resp.body, sent);
                Said { status: Some(resp.status), code, detail }
            }
            Err(_) => Said::text("no answer from the platform (network error or timeout)"),
        }
    }

    /// No answer to read: only why.
    pub fn text(why: &str) -> Said {
        Said { detail: Some(why.to_string()), ..Said::default() }
    }

    /// The history row of grant `row`'s refresh that ended `outcome`.
    pub fn refresh<'a>(&'a self, ctx: &Ctx, row: &'a Leased, outcome: &'a str) -> NewActivity<'a> {
        NewActivity {
            at: ctx.now(),
            app_id: row.app_id(),
            platform: &row.grant.platform,
            profile_id: None,
            grant_id: Some(row.id()),
            kind: "refresh",
            outcome,
            status: self.status,
            code: self.code.as_deref(),
            detail: self.detail.as_deref(),
        }
    }
}
