//! The connection pool and the pieces every query shares.

use std::path::Path;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyPool, AssertSqlSafe, Executor as _, Row as _};

use crate::{Clock, Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    pub(crate) clock: Clock,
    /// Wakes readers of run events (`events.rs`); shared by every clone.
    pub(crate) wakeups: std::sync::Arc<crate::events::Wakeups>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects to `sqlite://…` or `postgres://…` and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(Error::Conflict(format!("unsupported database URL '{url}': use sqlite:// or postgres://")));
        };
        let options = match backend {
            // SQLite allows one writer: WAL lets readers proceed meanwhile, and the busy
            // timeout makes concurrent writers wait instead of failing (writes begin with
            // `begin_write`, which takes the lock first, when waiting is still possible).
            Backend::Sqlite => AnyPoolOptions::new().max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
                        .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => AnyPoolOptions::new().max_connections(16),
        };
        let pool = options.connect(url).await?;
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        let listen_url = (backend == Backend::Postgres).then(|| url.to_owned());
        Ok(Store { pool, backend, clock: Clock::system(), wakeups: crate::events::Wakeups::new(listen_url) })
    }

    /// Opens (creating if needed) the SQLite database at `path`.
    pub async fn open_sqlite(path: &Path) -> Result<Store> {
        Store::connect(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    /// Replaces the clock (tests move time instead of sleeping).
    pub fn with_clock(mut self, clock: Clock) -> Store {
        self.clock = clock;
        self
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Begins a transaction that writes. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), waiting for another writer up to the busy timeout: a
    /// deferred transaction that reads before it writes cannot wait when it comes to
    /// write, and fails with "database is locked" (`SQLITE_BUSY`, or `SQLITE_BUSY_SNAPSHOT`
    /// when another writer committed since its read) if any other connection holds
    /// the lock then, such as a worker's claim on an empty queue. On PostgreSQL rows
    /// are locked as they are written, and concurrent writers wait there.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }
}

/// SQL text with `$N` placeholders (both backends accept them; sqlx's query
/// builder for `Any` would write `?`, which PostgreSQL rejects).
#[derive(Default)]
pub(crate) struct Sql {
    text: String,
    binds: Vec<Bind>,
}

#[derive(Clone)]
pub(crate) enum Bind {
    Text(Option<String>),
    Int(Option<i64>),
}

impl From<&str> for Bind {
    fn from(s: &str) -> Bind {
        Bind::Text(Some(s.to_owned()))
    }
}
impl From<String> for Bind {
    fn from(s: String) -> Bind {
        Bind::Text(Some(s))
    }
}
impl From<&String> for Bind {
    fn from(s: &String) -> Bind {
        Bind::Text(Some(s.clone()))
    }
}
impl From<Option<String>> for Bind {
    fn from(s: Option<String>) -> Bind {
        Bind::Text(s)
    }
}
impl From<i64> for Bind {
    fn from(i: i64) -> Bind {
        Bind::Int(Some(i))
    }
}
impl From<Option<i64>> for Bind {
    fn from(i: Option<i64>) -> Bind {
        Bind::Int(i)
    }
}
impl From<bool> for Bind {
    fn from(b: bool) -> Bind {
        Bind::Int(Some(i64::from(b)))
    }
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        Sql { text: text.to_owned(), binds: Vec::new() }
    }

    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Bind>) -> &mut Sql {
        self.binds.push(value.into());
        self.text.push_str(&format!("${}", self.binds.len()));
        self
    }

    pub fn query(&self) -> Query<'static, Any, AnyArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.text.clone()));
        for b in &self.binds {
            q = match b.clone() {
                Bind::Text(v) => q.bind(v),
                Bind::Int(v) => q.bind(v),
            };
        }
        q
    }
}

/// A statement whose text is built from constants only (never from values), with positional values.
pub(crate) fn query(text: &str, binds: Vec<Bind>) -> Query<'static, Any, AnyArguments> {
    Sql { text: text.to_owned(), binds }.query()
}

pub(crate) fn text(row: &AnyRow, column: &str) -> Result<String> {
    row.try_get::<String, _>(column).map_err(Error::from)
}

pub(crate) fn opt_text(row: &AnyRow, column: &str) -> Result<Option<String>> {
    row.try_get::<Option<String>, _>(column).map_err(Error::from)
}

pub(crate) fn int(row: &AnyRow, column: &str) -> Result<i64> {
    row.try_get::<i64, _>(column).map_err(Error::from)
}

pub(crate) fn opt_int(row: &AnyRow, column: &str) -> Result<Option<i64>> {
    row.try_get::<Option<i64>, _>(column).map_err(Error::from)
}

pub(crate) fn opt_json(row: &AnyRow, column: &str) -> Result<Option<serde_json::Value>> {
    opt_text(row, column)?
        .map(|t| serde_json::Value::from_str(&t).map_err(|e| Error::Corrupt(format!("{column}: {e}"))))
        .transpose()
}

/// Cursors are opaque to clients: the `seq` of the last row they saw.
pub(crate) fn encode_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("s{seq}"))
}

pub(crate) fn decode_cursor(cursor: &str) -> Result<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| Error::BadCursor)?;
    let text = String::from_utf8(bytes).map_err(|_| Error::BadCursor)?;
    text.strip_prefix('s').and_then(|n| n.parse().ok()).ok_or(Error::BadCursor)
}

/// Adds keyset pagination on the unique, increasing `key` column to a query
/// already filtered by `WHERE …`: rows older than the cursor, newest first, one
/// extra row to know whether more follow. Rows inserted meanwhile are newer than
/// any cursor, so a traversal never repeats or skips a row.
pub(crate) fn paginate(sql: &mut Sql, page: &crate::PageRequest, key: &str) -> Result<u32> {
    let limit = page.limit.clamp(1, crate::PageRequest::MAX_LIMIT);
    if let Some(cursor) = &page.cursor {
        sql.push(&format!(" AND {key} < ")).bind(decode_cursor(cursor)?);
    }
    sql.push(&format!(" ORDER BY {key} DESC LIMIT ")).bind(i64::from(limit) + 1);
    Ok(limit)
}

/// Splits the extra row off a page fetched by `paginate`.
pub(crate) fn page_of<T>(
    rows: Vec<AnyRow>,
    limit: u32,
    key: &str,
    map: impl Fn(&AnyRow) -> Result<T>,
) -> Result<crate::Page<T>> {
    let more = rows.len() > limit as usize;
    let kept = &rows[..rows.len().min(limit as usize)];
    let next_cursor = match (more, kept.last()) {
        (true, Some(last)) => Some(encode_cursor(int(last, key)?)),
        _ => None,
    };
    Ok(crate::Page { items: kept.iter().map(map).collect::<Result<_>>()?, next_cursor })
}

/// How run and segment errors are stored (the API's shape, so it reads back as is).
pub(crate) fn error_json(e: &crate::RunError) -> String {
    serde_json::json!({"segmentName": e.segment_name, "code": e.code, "message": e.message}).to_string()
}
