//! Claiming rows with a lease, for the outbox and the job queue alike: in one transaction, the
//! due rows' ids are picked and locked, then marked taken (owner, lease, one more attempt), so a
//! row is never half-claimed. Abandoned rows (their lease ran out: the worker that held
//! them died) are taken before ready ones, they have waited longest. A row may thus be worked
//! twice, and the work must allow it (the outbox waits out a grace period for a delivery report
//! first).

use diesel::QueryResult;

use crate::db::{DbConn, DbError};

/// Which due rows a claim is after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Taken before, and the lease ran out.
    Abandoned,
    /// Waiting, and their time has come.
    Ready,
}

/// Claims up to `limit` rows in one transaction: `pick(conn, due, n)` finds at most `n` due ids
/// of one kind, locked (`locked_ids!`); abandoned rows first, then ready ones. `take(conn, ids)`
/// marks them taken (owner, lease, one more attempt) and returns the rows.
pub fn claim<R>(
    conn: &mut DbConn,
    limit: usize,
    mut pick: impl FnMut(&mut DbConn, Due, i64) -> QueryResult<Vec<String>>,
    take: impl FnOnce(&mut DbConn, &[String]) -> QueryResult<Vec<R>>,
) -> Result<Vec<R>, DbError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    crate::db::transaction(conn, |conn| {
        let mut ids = Vec::new();
        for due in [Due::Abandoned, Due::Ready] {
            let want = limit.saturating_sub(ids.len());
            if want == 0 {
                break;
            }
            ids.extend(pick(conn, due, want as i64)?);
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(take(conn, &ids)?)
    })
}

/// Loads the ids a claim picked: the one place where the backends differ in claiming.
/// PostgreSQL locks them `FOR UPDATE SKIP LOCKED`, so claimers in several processes never wait
/// on each other or take the same row; SQLite's transactions here are IMMEDIATE, one writer at
/// a time, and need no clause.
#[macro_export]
macro_rules! locked_ids {
    ($conn:expr, $pick:expr) => {{
        use diesel::prelude::*;
        match $conn {
            $crate::db::DbConn::Pg(c) => $pick.for_update().skip_locked().load::<String>(c),
            $crate::db::DbConn::Sqlite(c) => $pick.load::<String>(c),
        }
    }};
}

/// Marks the picked rows of `$t` (a table module with `id`, `status`, `lease_owner`,
/// `lease_until`, `attempts` and `updated_at`) taken: status `$taken`, held by `$owner` until
/// `$until`, one more attempt counted; then loads them as `$row`. For the `take` of `claim`.
#[macro_export]
macro_rules! take_rows {
    ($conn:expr, $t:ident, $ids:expr, $taken:expr, $owner:expr, $until:expr, $now:expr, $row:ty) => {{
        use diesel::prelude::*;
        diesel::update($t::table.filter($t::id.eq_any($ids)))
            .set((
                $t::status.eq($taken),
                $t::lease_owner.eq($owner),
                $t::lease_until.eq($until),
                $t::attempts.eq($t::attempts + 1),
                $t::updated_at.eq($now),
            ))
            .execute($conn)?;
        $t::table
            .filter($t::id.eq_any($ids))
            .select(<$row>::as_select())
            .load($conn)
    }};
}

/// The row `$id` of `$t` while `$owner` still holds it in status `$taken`: what an outcome
/// updates, so a worker whose lease ran out (another took the row) changes nothing.
#[macro_export]
macro_rules! held_row {
    ($t:ident, $id:expr, $owner:expr, $taken:expr) => {
        $t::table
            .filter($t::id.eq($id))
            .filter($t::lease_owner.eq($owner))
            .filter($t::status.eq($taken))
    };
}
