//! The `RateLimiter` Durable Object and its client: one object per platform account, per
//! shard of a platform app's budgets (both for the proxy), and per app of the deployment
//! (its request rates and registration count, `tenant:<app id>`).
//!
//! The decisions are `connect_links_core::ratelimit` (and `ratelimit::fair` where apps share
//! a budget); this file keeps the counters (and each app's share of a shared one) in the
//! object's SQLite storage and speaks JSON over the object's fetch: a `LimiterRequest` in, a
//! `Decision` (take; with `quotas` when asked) or `{"ok":true}` (refund, report) out, 400 for a body
//! it cannot use.

use crate::respond::object;
use connect_links_core::ratelimit::fair::{decide_shared, follow_window, Share, Tenant};
use connect_links_core::ratelimit::lease::{decide_units, lease_units};
use connect_links_core::ratelimit::{
    self as rl, apply, quota, Counter, Decision, LimiterRequest, Quota, Report, Returned, Take,
};
use serde::Deserialize;
use std::cell::Cell;
use wasm_bindgen::JsValue;
use worker::{
    durable_object, DurableObject, Env, Error, Method, Request, RequestInit, Response, Result, SqlStorage,
    SqlStorageValue, State,
};

pub mod leases;

/// The binding in wrangler.toml.
const BINDING: &str = "RATE_LIMITER";
/// The proxy sends a few hundred bytes; anything near this is not ours.
const MAX_BODY_BYTES: usize = 16 * 1024;
/// A live instance prunes at most this often: the scan is cheap but not free.
const PRUNE_EVERY_SECS: i64 = 3600;
/// Rows whose window and block ended over a day ago are deleted. Deleting one as soon as
/// both ended would change no decision (`Counter::is_spent_history`); the day is a margin for
/// callers whose clocks disagree.
const PRUNE_AFTER_SECS: i64 = 86_400;

// `budget_limit` is the limit of the last budget a take spent under: a report carries the
// platform's remaining count but not the limit it counts down from, and `apply` needs both.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    used INTEGER NOT NULL,
    window_end INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL,
    budget_limit INTEGER
)";

// Each app's spend of a counter that apps share (`ratelimit::fair::Share`).
const SHARES_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS shares (
    key TEXT NOT NULL,
    tenant TEXT NOT NULL,
    weight INTEGER NOT NULL,
    used INTEGER NOT NULL,
    window_end INTEGER NOT NULL,
    active_until INTEGER NOT NULL,
    PRIMARY KEY (key, tenant)
) WITHOUT ROWID";

/// Rate-limit counters, kept in the object's SQLite storage.
#[durable_object(fetch)]
pub struct RateLimiter {
    sql: SqlStorage,
    /// Whether this instance has run `SCHEMA` (once per instance, not per request).
    schema_ready: Cell<bool>,
    /// The `now` of this instance's last prune.
    last_prune: Cell<i64>,
}

/// One `counters` row as read back.
#[derive(Deserialize)]
struct Row {
    used: u32,
    window_end: i64,
    blocked_until: i64,
    budget_limit: Option<u32>,
}

/// One `shares` row as read back.
#[derive(Deserialize)]
struct ShareRow {
    tenant: String,
    weight: u32,
    used: u32,
    window_end: i64,
    active_until: i64,
}

impl ShareRow {
    fn into_share(self) -> Share {
        Share {
            tenant: self.tenant,
            weight: self.weight,
            used: self.used,
            window_end: self.window_end,
            active_until: self.active_until,
        }
    }
}

impl DurableObject for RateLimiter {
    fn new(state: State, _env: Env) -> Self {
        Self { sql: state.storage().sql(), schema_ready: Cell::new(false), last_prune: Cell::new(i64::MIN) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        if req.method() != Method::Post {
            return error(405, "POST a LimiterRequest");
        }
        let Ok(body) = req.bytes().await else { return error(400, "unreadable body") };
        if body.len() > MAX_BODY_BYTES {
            return error(400, "body too large");
        }
        let Ok(request) = connect_links_core::stored_json::from_slice::<LimiterRequest>(&body) else {
            return error(400, "body is not a LimiterRequest");
        };
        if let Err(why) = request.validate() {
            return error(400, why);
        }
        // From here on nothing awaits: SQLite calls in a Durable Object are synchronous, so no
        // other request to this object runs between a counter's read and its write, and two
        // concurrent takes cannot both spend the last unit.
        let answer = match request {
            LimiterRequest::Take { now, takes, tenant, quotas, lease, returned } => {
                let given = match returned {
                    Some(r) => self.give_back(r.at, &takes, r.units),
                    None => Ok(()),
                };
                given
                    .and_then(|()| self.take(now, takes, tenant.as_ref(), quotas, lease))
                    .and_then(|d| Response::from_json(&d))
            }
            LimiterRequest::Refund { now, takes, units } => self
                .give_back(now, &takes, units.unwrap_or(1))
                .and_then(|()| Response::from_json(&object!("ok": true))),
            LimiterRequest::Report { now, reports } => {
                self.report(now, &reports).and_then(|()| Response::from_json(&object!("ok": true)))
            }
        };
        match answer {
            Ok(resp) => Ok(resp),
            Err(e) => {
                crate::log::error(&object!("event": "rate_limiter_storage_failed", "error": e.to_string()));
                error(500, "storage failed")
            }
        }
    }
}

impl RateLimiter {
    /// Decides a take and, when it is allowed, stores the spent counters (and, for a
    /// `tenant`, its shares). The answer is the decision, with each budgeted counter's quota
    /// when `quotas` is asked, and with `units` when a lease of more than one was granted
    /// (`ratelimit::lease`; shared budgets are never leased: the fair-share rule decides each
    /// call).
    fn take(
        &self,
        now: i64,
        takes: Vec<Take>,
        tenant: Option<&Tenant>,
        quotas: bool,
        lease: u32,
    ) -> Result<serde_json::Value> {
        self.ensure_schema()?;
        self.prune(now)?;
        let mut entries = Vec::with_capacity(takes.len());
        for t in takes {
            let counter = self.read(&t.key)?.map(|(c, _)| c).unwrap_or_default();
            let shares = match (tenant, t.budget) {
                (Some(_), Some(_)) => self.active_shares(&t.key, now)?,
                _ => Vec::new(),
            };
            entries.push((t, counter, shares));
        }
        let mut units = 1;
        let (decision, next, shares) = match tenant {
            Some(tenant) => decide_shared(now, tenant, &entries),
            None => {
                let pairs: Vec<(Take, Counter)> = entries.iter().map(|(t, c, _)| (t.clone(), *c)).collect();
                units = lease_units(now, lease, &pairs);
                let (d, next) = decide_units(now, &pairs, units);
                (d, next, Vec::new())
            }
        };
        if decision == Decision::Allow {
            for ((t, old, _), new) in entries.iter().zip(&next) {
                if let (Some(budget), true) = (t.budget, new != old) {
                    self.write(&t.key, new, Some(budget.limit))?;
                }
            }
            for ((t, _, _), share) in entries.iter().zip(&shares) {
                if let Some(share) = share {
                    self.write_share(&t.key, share)?;
                }
            }
        }
        let mut answer = serde_json::to_value(decision)?;
        if quotas {
            let list: Vec<Quota> = entries
                .iter()
                .zip(&next)
                .filter_map(|((t, _, _), c)| t.budget.map(|b| quota(now, b, c)))
                .collect();
            answer["quotas"] = serde_json::to_value(list)?;
        }
        if decision == Decision::Allow && units > 1 {
            answer["units"] = units.into();
        }
        Ok(answer)
    }

    /// The shares of `key` whose apps are still active at `now`.
    fn active_shares(&self, key: &str, now: i64) -> Result<Vec<Share>> {
        let rows: Vec<ShareRow> = self
            .sql
            .exec(
                "SELECT tenant, weight, used, window_end, active_until FROM shares WHERE key = ? AND active_until > ?",
                vec![key.into(), now.into()],
            )?
            .to_array()?;
        Ok(rows.into_iter().map(ShareRow::into_share).collect())
    }

    /// Stores one app's share of `key`.
    fn write_share(&self, key: &str, s: &Share) -> Result<()> {
        self.sql.exec(
            "INSERT INTO shares (key, tenant, weight, used, window_end, active_until) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (key, tenant) DO UPDATE SET weight = excluded.weight, used = excluded.used,
               window_end = excluded.window_end, active_until = excluded.active_until",
            vec![
                key.into(),
                s.tenant.as_str().into(),
                i64::from(s.weight).into(),
                i64::from(s.used).into(),
                s.window_end.into(),
                s.active_until.into(),
            ],
        )?;
        Ok(())
    }

    /// Gives back `units` an allowed take at `at` spent (`ratelimit::refund`); writes only
    /// what changed. Apps' shares are not touched: only a take that was not shared is given
    /// back (the account's, when the platform app's share refused the call, or a lease's
    /// unused units).
    fn give_back(&self, at: i64, takes: &[Take], units: u32) -> Result<()> {
        self.ensure_schema()?;
        for t in takes.iter().filter(|t| t.budget.is_some()) {
            if let Some((old, _)) = self.read(&t.key)? {
                let new = rl::refund(at, t, old, units);
                if new != old {
                    self.write(&t.key, &new, None)?;
                }
            }
        }
        Ok(())
    }

    /// Applies each report to its counter; writes only what changed. Where a report moves a
    /// counter's window, the apps' shares of it move too (`fair::follow_window`).
    fn report(&self, now: i64, reports: &[Report]) -> Result<()> {
        self.ensure_schema()?;
        for r in reports {
            let (old, limit) = self.read(&r.key)?.unwrap_or_default();
            let new = apply(now, old, limit, r);
            if new != old {
                self.write(&r.key, &new, limit)?;
            }
            if let Some((from, to)) = follow_window(now, &old, &new) {
                for share in self.shares_in_window(&r.key, from)? {
                    self.write_share(&r.key, &share.follow(from, to))?;
                }
            }
        }
        Ok(())
    }

    /// The shares of `key` spent in the window ending at `window_end`.
    fn shares_in_window(&self, key: &str, window_end: i64) -> Result<Vec<Share>> {
        let rows: Vec<ShareRow> = self
            .sql
            .exec(
                "SELECT tenant, weight, used, window_end, active_until FROM shares WHERE key = ? AND window_end = ?",
                vec![key.into(), window_end.into()],
            )?
            .to_array()?;
        Ok(rows.into_iter().map(ShareRow::into_share).collect())
    }

    fn ensure_schema(&self) -> Result<()> {
        if !self.schema_ready.get() {
            self.sql.exec(SCHEMA, None)?;
            self.sql.exec(SHARES_SCHEMA, None)?;
            self.schema_ready.set(true);
        }
        Ok(())
    }

    /// Deletes rows that remember nothing, so the table holds only live counters.
    fn prune(&self, now: i64) -> Result<()> {
        if now.saturating_sub(self.last_prune.get()) < PRUNE_EVERY_SECS {
            return Ok(());
        }
        let cutoff = now.saturating_sub(PRUNE_AFTER_SECS);
        self.sql.exec(
            "DELETE FROM counters WHERE window_end < ?1 AND blocked_until < ?1",
            vec![SqlStorageValue::from(cutoff)],
        )?;
        self.sql.exec("DELETE FROM shares WHERE active_until < ?1", vec![SqlStorageValue::from(cutoff)])?;
        self.last_prune.set(now);
        Ok(())
    }

    /// A counter and its last known budget limit; `None` for a counter never stored.
    fn read(&self, key: &str) -> Result<Option<(Counter, Option<u32>)>> {
        let rows: Vec<Row> = self
            .sql
            .exec("SELECT used, window_end, blocked_until, budget_limit FROM counters WHERE key = ?", vec![key.into()])?
            .to_array()?;
        Ok(rows.into_iter().next().map(|r| {
            (Counter { used: r.used, window_end: r.window_end, blocked_until: r.blocked_until }, r.budget_limit)
        }))
    }

    /// Stores a counter; a `None` limit keeps the one already stored.
    fn write(&self, key: &str, c: &Counter, budget_limit: Option<u32>) -> Result<()> {
        self.sql.exec(
            "INSERT INTO counters (key, used, window_end, blocked_until, budget_limit) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET used = excluded.used, window_end = excluded.window_end,
               blocked_until = excluded.blocked_until,
               budget_limit = COALESCE(excluded.budget_limit, counters.budget_limit)",
            vec![
                key.into(),
                i64::from(c.used).into(),
                c.window_end.into(),
                c.blocked_until.into(),
                budget_limit.map(i64::from).into(),
            ],
        )?;
        Ok(())
    }
}

/// A JSON error answer from the object.
fn error(status: u16, message: &str) -> Result<Response> {
    Ok(Response::from_json(&object!("error": message))?.with_status(status))
}

/// Checks and spends `takes` in the limiter object named `name` (e.g. `"account:x:123"` or
/// `"app:x"`). Errors only on a broken binding or transport (or a request the object refuses
/// as malformed, which is a bug in the caller).
pub async fn take(env: &Env, name: &str, now: i64, takes: Vec<Take>) -> Result<Decision> {
    let request = LimiterRequest::Take { now, takes, tenant: None, quotas: false, lease: 0, returned: None };
    let answer = call(env, name, &request).await?;
    Ok(connect_links_core::stored_json::from_slice(answer.as_bytes())?)
}

/// [`take`] by an app spending budgets that apps share: the fair-share rule applies too.
pub async fn take_as(env: &Env, name: &str, now: i64, takes: Vec<Take>, tenant: Tenant) -> Result<Decision> {
    let request = LimiterRequest::Take { now, takes, tenant: Some(tenant), quotas: false, lease: 0, returned: None };
    let answer = call(env, name, &request).await?;
    Ok(connect_links_core::stored_json::from_slice(answer.as_bytes())?)
}

/// What a leased take was granted: the decision, the units spent (one of them for this
/// call), and each budgeted counter's quota after them.
pub struct Granted {
    /// Allowed or refused.
    pub decision: Decision,
    /// Units spent (1 unless a lease was granted; 0 on a refusal).
    pub units: u32,
    /// The budgeted counters' quotas after the take.
    pub quotas: Vec<Quota>,
}

/// [`take`] asking for up to `lease` units at once (`ratelimit::lease`), with the quota of
/// each budgeted counter after it, giving back an earlier lease's unused units first.
pub async fn take_lease(
    env: &Env,
    name: &str,
    now: i64,
    takes: Vec<Take>,
    lease: u32,
    returned: Option<Returned>,
) -> Result<Granted> {
    #[derive(Deserialize)]
    struct Extra {
        #[serde(default)]
        quotas: Vec<Quota>,
        /// Absent (0) for one unit.
        #[serde(default)]
        units: u32,
    }
    let answer = call(env, name, &LimiterRequest::Take { now, takes, tenant: None, quotas: true, lease, returned }).await?;
    let decision: Decision = connect_links_core::stored_json::from_slice(answer.as_bytes())?;
    let extra = connect_links_core::stored_json::from_slice::<Extra>(answer.as_bytes())?;
    let units = match decision {
        Decision::Allow => extra.units.max(1),
        Decision::Refuse { .. } => 0,
    };
    Ok(Granted { decision, units, quotas: extra.quotas })
}

/// Gives back `units` an allowed take made at `at` with `takes` spent, in the object named
/// `name`: another object refused the same call afterwards (its unit, and what the isolate's
/// lease of `takes` still held).
pub async fn refund(env: &Env, name: &str, at: i64, takes: Vec<Take>, units: u32) -> Result<()> {
    let units = (units != 1).then_some(units);
    call(env, name, &LimiterRequest::Refund { now: at, takes, units }).await.map(|_| ())
}

/// Records what the platform said, in the limiter object named `name`.
pub async fn report(env: &Env, name: &str, now: i64, reports: Vec<Report>) -> Result<()> {
    call(env, name, &LimiterRequest::Report { now, reports }).await.map(|_| ())
}

/// Posts `request` to the object named `name`; its answer's body when it is a 200.
async fn call(env: &Env, name: &str, request: &LimiterRequest) -> Result<String> {
    let stub = env.durable_object(BINDING)?.id_from_name(name)?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(JsValue::from_str(&serde_json::to_string(request)?)));
    // The host is never resolved: a stub's fetch goes to the object whatever the URL.
    let mut resp = stub.fetch_with_request(Request::new_with_init("https://limiter/", &init)?).await?;
    let body = resp.text().await?;
    match resp.status_code() {
        200 => Ok(body),
        status => Err(Error::RustError(format!("rate limiter answered {status}: {body}"))),
    }
}
