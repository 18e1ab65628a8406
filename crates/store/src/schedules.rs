//! Schedules: a job run at every due time of a cron expression. The store keeps
//! the next due time (`next_run_at`, computed by the caller, which knows cron and
//! time zones) and fires each due time once, however many servers try: a firing is
//! a unique row per schedule and due time, written in the transaction that moves
//! the schedule to its next due time and creates the job run.

use serde_json::Value;
use sqlx::any::AnyRow;

use crate::db::{Sql, int, opt_int, opt_json, page_of, paginate, query, text};
use crate::ids::new_id;
use crate::job_runs::{NewJobRun, insert_job_run};
use crate::{Error, Page, PageRequest, Result, Store, Tenant};

/// What a due time does while the schedule's previous job run is still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// Nothing: the due time passes without a job run.
    Skip,
    /// A job run is created all the same; its runs queue behind the other's.
    Queue,
}

impl Overlap {
    pub fn as_str(self) -> &'static str {
        match self {
            Overlap::Skip => "skip",
            Overlap::Queue => "queue",
        }
    }

    pub fn parse(s: &str) -> Option<Overlap> {
        [Overlap::Skip, Overlap::Queue].into_iter().find(|o| o.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub id: String,
    pub job_id: String,
    pub cron: String,
    pub timezone: String,
    /// The inputs of its job runs, secrets masked.
    pub inputs: Value,
    pub enabled: bool,
    pub overlap: Overlap,
    /// `None` while disabled.
    pub next_run_at: Option<i64>,
    /// The last due time that fired (started a job run or was skipped).
    pub last_run_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewSchedule {
    pub job_id: String,
    pub cron: String,
    pub timezone: String,
    pub inputs: Value,
    /// Every input in clear, sealed by the caller.
    pub sealed_inputs: String,
    pub enabled: bool,
    pub overlap: Overlap,
    pub next_run_at: Option<i64>,
}

/// A change to a schedule; `None` leaves a field as it is. The caller recomputes
/// `next_run_at` whenever the cron, the time zone or `enabled` change.
#[derive(Debug, Clone, Default)]
pub struct SchedulePatch {
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub inputs: Option<(Value, String)>,
    pub enabled: Option<bool>,
    pub overlap: Option<Overlap>,
    pub next_run_at: Option<Option<i64>>,
}

/// A schedule whose due time has come, with what firing it needs.
#[derive(Debug, Clone)]
pub struct DueSchedule {
    pub org_id: String,
    pub schedule: Schedule,
    pub sealed_inputs: String,
    /// The due time being fired: `schedule.next_run_at`.
    pub due_at: i64,
}

/// What firing a due time did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fired {
    /// A job run was created.
    Started(String),
    /// `overlap: skip` and the previous job run is still going.
    Skipped,
    /// Another server fired this due time first, or the schedule changed meanwhile.
    AlreadyFired,
}

const COLUMNS: &str = "seq, id, org_id, job_id, cron, timezone, inputs, enabled, overlap, next_run_at, last_run_at, \
                       created_at, updated_at";

/// The most schedules one job has.
pub const MAX_SCHEDULES_PER_JOB: usize = 20;

/// The longest cron expression and time zone name kept.
const CRON_MAX_CHARS: usize = 200;

fn check(cron: Option<&str>, timezone: Option<&str>) -> Result<()> {
    if let Some(c) = cron {
        crate::limits::check_text("cron", c, CRON_MAX_CHARS)?;
    }
    if let Some(t) = timezone {
        crate::limits::check_text("timezone", t, CRON_MAX_CHARS)?;
    }
    Ok(())
}

impl Tenant<'_> {
    pub async fn create_schedule(&self, new: NewSchedule) -> Result<Schedule> {
        check(Some(&new.cron), Some(&new.timezone))?;
        self.get_job(&new.job_id).await?;
        let id = new_id("sch");
        let now = self.store.clock.now_ms();
        // Only onto a live job (a job deleted meanwhile takes its schedules with it),
        // and a bounded number per job.
        let inserted = query(
            "INSERT INTO schedules (id, org_id, job_id, cron, timezone, inputs, sealed_inputs, enabled, overlap, \
             next_run_at, created_at, updated_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11 WHERE EXISTS \
             (SELECT 1 FROM jobs WHERE id = $3 AND org_id = $2 AND deleted_at IS NULL) \
             AND (SELECT COUNT(*) FROM schedules WHERE job_id = $3) < $12",
            vec![
                id.as_str().into(),
                self.org_id.into(),
                new.job_id.as_str().into(),
                new.cron.into(),
                new.timezone.into(),
                new.inputs.to_string().into(),
                new.sealed_inputs.into(),
                new.enabled.into(),
                new.overlap.as_str().into(),
                new.next_run_at.into(),
                now.into(),
                (MAX_SCHEDULES_PER_JOB as i64).into(),
            ],
        )
        .execute(&self.store.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            self.get_job(&new.job_id).await?;
            let message = format!("a job has at most {MAX_SCHEDULES_PER_JOB} schedules");
            return Err(Error::Conflict(message));
        }
        self.get_schedule(&id).await
    }

    pub async fn get_schedule(&self, id: &str) -> Result<Schedule> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM schedules WHERE id = "));
        sql.bind(id).push(" AND org_id = ").bind(self.org_id);
        schedule(&sql.query().fetch_optional(&self.store.pool).await?.ok_or(Error::NotFound)?)
    }

    /// A job's schedules, newest first.
    pub async fn list_schedules(&self, job_id: &str, page: &PageRequest) -> Result<Page<Schedule>> {
        self.get_job(job_id).await?;
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM schedules WHERE org_id = "));
        sql.bind(self.org_id).push(" AND job_id = ").bind(job_id);
        let limit = paginate(&mut sql, page, "seq")?;
        page_of(sql.query().fetch_all(&self.store.pool).await?, limit, "seq", schedule)
    }

    pub async fn update_schedule(&self, id: &str, patch: SchedulePatch) -> Result<Schedule> {
        check(patch.cron.as_deref(), patch.timezone.as_deref())?;
        let current = self.get_schedule(id).await?;
        let (inputs, sealed) = match patch.inputs {
            Some((shown, sealed)) => (Some(shown.to_string()), Some(sealed)),
            None => (None, None),
        };
        let done = query(
            "UPDATE schedules SET cron = $1, timezone = $2, inputs = COALESCE($3, inputs), \
             sealed_inputs = COALESCE($4, sealed_inputs), enabled = $5, overlap = $6, next_run_at = $7, updated_at = $8 \
             WHERE id = $9 AND org_id = $10",
            vec![
                patch.cron.unwrap_or(current.cron).into(),
                patch.timezone.unwrap_or(current.timezone).into(),
                inputs.into(),
                sealed.into(),
                patch.enabled.unwrap_or(current.enabled).into(),
                patch.overlap.unwrap_or(current.overlap).as_str().into(),
                patch.next_run_at.unwrap_or(current.next_run_at).into(),
                self.store.clock.now_ms().into(),
                id.into(),
                self.org_id.into(),
            ],
        )
        .execute(&self.store.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        self.get_schedule(id).await
    }

    pub async fn delete_schedule(&self, id: &str) -> Result<()> {
        let done = query("DELETE FROM schedules WHERE id = $1 AND org_id = $2", vec![id.into(), self.org_id.into()])
            .execute(&self.store.pool)
            .await?;
        if done.rows_affected() == 0 { Err(Error::NotFound) } else { Ok(()) }
    }
}

impl Store {
    /// Enabled schedules of every organization whose next due time is at or before
    /// now, oldest due first, at most `limit`.
    pub async fn due_schedules(&self, limit: u32) -> Result<Vec<DueSchedule>> {
        let now = self.clock.now_ms();
        let rows = query(
            &format!(
                "SELECT {COLUMNS}, sealed_inputs FROM schedules WHERE enabled = 1 AND next_run_at IS NOT NULL \
                 AND next_run_at <= $1 ORDER BY next_run_at LIMIT $2"
            ),
            vec![now.into(), i64::from(limit).into()],
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let schedule = schedule(row)?;
                let due_at = schedule.next_run_at.expect("selected with a due time");
                Ok(DueSchedule {
                    org_id: text(row, "org_id")?,
                    schedule,
                    sealed_inputs: text(row, "sealed_inputs")?,
                    due_at,
                })
            })
            .collect()
    }

    /// Fires `due`'s due time once: records the firing, moves the schedule on to
    /// `next_run_at`, and creates `job_run` unless the schedule skips overlapping
    /// runs and its previous one is still going. All in one transaction: a second
    /// server firing the same due time changes nothing (`AlreadyFired`).
    pub async fn fire_schedule(
        &self,
        due: &DueSchedule,
        next_run_at: Option<i64>,
        job_run: NewJobRun,
    ) -> Result<Fired> {
        let now = self.clock.now_ms();
        let schedule = &due.schedule;
        let mut tx = self.begin_write().await?;
        let recorded = query(
            "INSERT INTO schedule_firings (schedule_id, due_at, fired_at) VALUES ($1, $2, $3) \
             ON CONFLICT (schedule_id, due_at) DO NOTHING",
            vec![schedule.id.as_str().into(), due.due_at.into(), now.into()],
        )
        .execute(&mut *tx)
        .await?;
        let moved = query(
            "UPDATE schedules SET next_run_at = $1, last_run_at = $2 WHERE id = $3 AND next_run_at = $2 AND enabled = 1",
            vec![next_run_at.into(), due.due_at.into(), schedule.id.as_str().into()],
        )
        .execute(&mut *tx)
        .await?;
        if recorded.rows_affected() == 0 || moved.rows_affected() == 0 {
            return Ok(Fired::AlreadyFired);
        }
        // Firings older than a day can no longer be fired again (the schedule has moved
        // past them): only the recent ones are kept.
        query(
            "DELETE FROM schedule_firings WHERE schedule_id = $1 AND due_at < $2",
            vec![schedule.id.as_str().into(), (due.due_at - 86_400_000).into()],
        )
        .execute(&mut *tx)
        .await?;
        if schedule.overlap == Overlap::Skip {
            let going = query(
                "SELECT id FROM job_runs WHERE schedule_id = $1 \
                 AND status IN ('PENDING', 'IN_PROGRESS', 'AWAITING_USER_INPUT') LIMIT 1",
                vec![schedule.id.as_str().into()],
            )
            .fetch_optional(&mut *tx)
            .await?;
            if going.is_some() {
                tx.commit().await?;
                return Ok(Fired::Skipped);
            }
        }
        let id = new_id("jrn");
        let first = insert_job_run(&mut tx, &due.org_id, &id, job_run, now).await?;
        query(
            "UPDATE schedule_firings SET job_run_id = $1 WHERE schedule_id = $2 AND due_at = $3",
            vec![id.as_str().into(), schedule.id.as_str().into(), due.due_at.into()],
        )
        .execute(&mut *tx)
        .await?;
        self.commit_creating_job_run(tx, &id, first.as_deref(), now).await?;
        Ok(Fired::Started(id))
    }
}

fn schedule(row: &AnyRow) -> Result<Schedule> {
    let overlap = text(row, "overlap")?;
    Ok(Schedule {
        id: text(row, "id")?,
        job_id: text(row, "job_id")?,
        cron: text(row, "cron")?,
        timezone: text(row, "timezone")?,
        inputs: opt_json(row, "inputs")?.unwrap_or(Value::Null),
        enabled: int(row, "enabled")? != 0,
        overlap: Overlap::parse(&overlap).ok_or_else(|| Error::Corrupt(format!("schedule overlap '{overlap}'")))?,
        next_run_at: opt_int(row, "next_run_at")?,
        last_run_at: opt_int(row, "last_run_at")?,
        created_at: int(row, "created_at")?,
        updated_at: int(row, "updated_at")?,
    })
}
