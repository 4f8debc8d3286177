//! Shared statement helpers: running a bound statement with its failure mapped to a
//! logged 500, reading a batch's `RETURNING` rows, the compare-and-swap asserts of a batch.

use super::row_de::read_row;
use crate::error::{ApiResult, OrInternal};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use worker::{js_sys, D1Database, D1PreparedStatement};

/// A bound statement: `worker::query!` (same statement, same bindings, same errors), with
/// the work on each argument in [`arg`], one copy per argument type, and the rest in
/// [`bound`], not generic. worker's macro expands all of it at each of the store's hundred
/// and more statements, which the wasm paid for in size.
macro_rules! query {
    ($db:expr, $query:expr) => {
        worker::query!($db, $query)
    };
    ($db:expr, $query:expr, $($args:expr),* $(,)?) => {
        $crate::store::stmt::bound($db, $query, &[$($crate::store::stmt::arg(&$args)),*])
    };
}
pub(crate) use query;

/// One argument of [`query!`] as worker's macro binds it (its serializer, with a missing
/// value as `NULL`), or the error it fails with.
pub fn arg<T: serde::Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let serializer = worker::d1::serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true);
    value.serialize(&serializer).map_err(JsValue::from)
}

/// The statement `sql` prepared and bound to `args`; fails, as worker's macro does, with the
/// first argument that could not be bound.
pub fn bound(db: &D1Database, sql: &str, args: &[Result<JsValue, JsValue>]) -> worker::Result<D1PreparedStatement> {
    let prepared = db.prepare(sql);
    let mut bindings = Vec::with_capacity(args.len());
    for a in args {
        match a {
            Ok(v) => bindings.push(v.clone()),
            Err(e) => return Err(worker::Error::Internal(e.clone())),
        }
    }
    prepared.bind(&bindings)
}

/// A statement put together from fixed fragments (a search naming only the filters given),
/// each `?N` of a fragment bound to the next value: the SQL never holds a value.
pub struct Fragments {
    sql: String,
    args: Vec<Result<JsValue, JsValue>>,
}

impl Fragments {
    /// A statement starting with `head` (no parameters).
    pub fn new(head: String) -> Self {
        Fragments { sql: head, args: Vec::new() }
    }

    /// Appends `fragment`, each of its `?N` numbered for the next of `values`, in order.
    pub fn push(&mut self, fragment: &str, values: &[Result<JsValue, JsValue>]) {
        let mut fragment = fragment.to_string();
        for v in values {
            self.args.push(v.clone());
            fragment = fragment.replacen("?N", &format!("?{}", self.args.len()), 1);
        }
        self.sql.push_str(&fragment);
    }

    /// Appends each filter whose value is given (`fragment` with one `?N`), skipping the
    /// others: a search names only the filters asked for.
    pub fn push_given(&mut self, filters: &[(&str, Option<&str>)]) {
        for (fragment, value) in filters {
            if let Some(v) = value {
                self.push(fragment, &[arg(*v)]);
            }
        }
    }

    /// The statement, bound.
    pub fn bind(&self, db: &D1Database) -> worker::Result<D1PreparedStatement> {
        bound(db, &self.sql, &self.args)
    }
}

/// SQL for the key id of an envelope column (`v1.<kid>.<data>`).
pub fn kid_sql(column: &str) -> String {
    format!("substr({column}, 4, instr(substr({column}, 4), '.') - 1)")
}

/// One bound statement, run with its failure mapped to a logged 500 (`what` names it).
#[allow(async_fn_in_trait)]
pub trait Stmt {
    /// Runs it for its effect.
    async fn exec(self, what: &str) -> ApiResult<()>;
    /// The first row, if any.
    async fn one<T: DeserializeOwned + Default>(self, what: &str) -> ApiResult<Option<T>>;
    /// Every row.
    async fn many<T: DeserializeOwned + Default>(self, what: &str) -> ApiResult<Vec<T>>;
    /// Whether it returns a row at all.
    async fn exists(self, what: &str) -> ApiResult<bool>;
    /// The `id` column of every row.
    async fn ids(self, what: &str) -> ApiResult<Vec<String>>;
}

/// A row as D1 returned it (a JS object), for a row read as more than one row type (the
/// columns of a join, say): each [`Row::read`] decodes it as every other row is decoded
/// ([`read_row`], from the JS object), so no row type gets a second, JSON one.
#[derive(Deserialize, Default)]
pub struct Row(#[serde(with = "worker::d1::serde_wasm_bindgen::preserve")] JsValue);

impl Row {
    /// The row as `T`; a failure is a logged 500 (`what` names it) with the decoding error's
    /// message.
    pub fn read<T: DeserializeOwned + Default>(&self, what: &str) -> ApiResult<T> {
        let mut out = T::default();
        read_row(self.0.clone(), &mut out).map_err(error_message).or_500(what)?;
        Ok(out)
    }
}

/// The message of a decoding error (the JS `Error`'s, without its `Error: ` prefix).
fn error_message(e: worker::d1::serde_wasm_bindgen::Error) -> String {
    js_sys::Error::unchecked_from_js(JsValue::from(e)).message().into()
}

/// A row of one text column named `id` (an id, a JSON text the query built, or any one text
/// column read `AS id`: one row type for all of them, rather than a copy of serde's reader
/// per single-column type).
#[derive(Deserialize, Default)]
pub struct IdRow {
    /// The column.
    pub id: String,
}

/// A row's key and one text column, read `AS id` and `AS text` (a sealed envelope still under
/// an old key, a due profile's grant, a Page's events setting): one row type for all of them.
#[derive(Deserialize, Default)]
pub struct KeyedText {
    /// The row's key (an app's or a profile's id, a worker secret's name, a Page's id).
    pub id: String,
    /// The column.
    pub text: String,
}

impl Stmt for worker::Result<D1PreparedStatement> {
    async fn exec(self, what: &str) -> ApiResult<()> {
        self.or_500(what)?.run().await.or_500(what)?;
        Ok(())
    }
    async fn one<T: DeserializeOwned + Default>(self, what: &str) -> ApiResult<Option<T>> {
        match first_row(self, what).await? {
            Some(row) => {
                let mut out = T::default();
                decode_into(row, &mut out).or_500(what)?;
                Ok(Some(out))
            }
            None => Ok(None),
        }
    }
    async fn many<T: DeserializeOwned + Default>(self, what: &str) -> ApiResult<Vec<T>> {
        let rows = all_rows(self, what).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut value = T::default();
            decode_into(row, &mut value).or_500(what)?;
            out.push(value);
        }
        Ok(out)
    }
    async fn exists(self, what: &str) -> ApiResult<bool> {
        Ok(first_row(self, what).await?.is_some())
    }
    async fn ids(self, what: &str) -> ApiResult<Vec<String>> {
        Ok(self.many::<IdRow>(what).await?.into_iter().map(|r| r.id).collect())
    }
}

// `one` and `many` read rows as `Row`s in these two functions, which are not generic, and
// then decode each ([`read_row`]: each column as worker's `first::<T>` and `results::<T>`
// would): the await and the read of the JS array are then one copy for every row type.

/// The first row of a statement, if any.
async fn first_row(stmt: worker::Result<D1PreparedStatement>, what: &str) -> ApiResult<Option<Row>> {
    stmt.or_500(what)?.first::<Row>(None).await.or_500(what)
}

/// Every row of a statement.
async fn all_rows(stmt: worker::Result<D1PreparedStatement>, what: &str) -> ApiResult<Vec<Row>> {
    stmt.or_500(what)?.all().await.or_500(what)?.results::<Row>().or_500(what)
}

/// `row` read into `place` (see [`read_row`]; the caller starts from `T`'s default and drops
/// the value on an error), the error as worker's own decoding of a row gives it. Its errors
/// go through one `or_500` for every row type (a `Result<(), _>`, no row to move).
fn decode_into<T: DeserializeOwned>(row: Row, place: &mut T) -> worker::Result<()> {
    read_row(row.0, place).map_err(decode_error)
}

/// A decoding error as worker's own decoding of a row gives it; not generic.
#[inline(never)]
fn decode_error(e: worker::d1::serde_wasm_bindgen::Error) -> worker::Error {
    e.into()
}

/// The rows statement `result` of a batch returned, as `T` (read as [`Stmt::many`] reads
/// rows, rather than by worker's `results::<T>`, which would decode `T` a second way).
pub fn batch_rows<T: DeserializeOwned + Default>(result: &worker::D1Result) -> worker::Result<Vec<T>> {
    let rows = result.results::<Row>()?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut value = T::default();
        decode_into(row, &mut value)?;
        out.push(value);
    }
    Ok(out)
}

/// Whether statement `i` of a batch returned a row (its `RETURNING` clause matched).
pub fn returned_rows(results: &[worker::D1Result], i: usize) -> bool {
    results.get(i).and_then(|r| r.results::<Row>().ok()).is_some_and(|rows| !rows.is_empty())
}

/// JSON text of a list a link stores.
pub(super) fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> ApiResult<String> {
    serde_json::to_string(v).or_500("link json")
}

/// The error text of [`assert_changed_stmt`] when it fires.
const RACE_MARK: &str = "malformed JSON";

/// A statement that fails (rolling the whole batch back) when the write right before it
/// changed no row: the compare-and-swap of a batch with several conditional writes. D1 runs
/// a batch as one transaction, and SQLite evaluates the `json()` of a non-JSON text only
/// when the `WHERE` holds.
pub fn assert_changed_stmt(db: &D1Database) -> ApiResult<D1PreparedStatement> {
    let stmt: worker::Result<D1PreparedStatement> =
        Ok(query!(db, "SELECT json('a conditional write raced') WHERE changes() = 0"));
    stmt.or_500("prepare assert")
}

/// A statement that fails (rolling the whole batch back) unless the write right before it
/// changed exactly `n` rows: [`assert_changed_stmt`] for a write of many rows at once.
pub fn assert_count_stmt(db: &D1Database, n: usize) -> ApiResult<D1PreparedStatement> {
    query!(db, "SELECT json('a conditional write raced') WHERE changes() != ?1", n as i64)
        .or_500("prepare assert count")
}

/// Whether a batch failed because of a race ([`assert_changed_stmt`] fired, or two inserts
/// of one new row): read again and retry.
pub fn is_race(error: &str) -> bool {
    error.contains(RACE_MARK) || error.contains("UNIQUE")
}
