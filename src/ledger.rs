//! The ledger: a hash chain over the record a wage dispute rests on (every audit event, every
//! complaint, every message a worker sent).
//!
//! A sealer takes in new rows every few seconds. Each gets an entry: the SHA-256 of the row's
//! fixed fields (its digest) and a hash over the previous entry's hash, its own position,
//! kind, row id, case and digest. Changing a sealed row changes its digest; deleting it leaves
//! an entry with no row; inserting a row that pretends to be sealed leaves a row with no entry;
//! editing, removing or inserting an entry breaks the links after it. Rewriting the whole chain
//! from some point on is the one thing a chain alone cannot show: the head (`seq:hash`) printed
//! by `hotline audit verify` and logged at every seal is the anchor to keep elsewhere, and
//! `--anchor` checks the chain still passes through it.
//!
//! Only the fields that never change are sealed: a message's status or a complaint's
//! call-back mark move on as the work does, and the audit trail records those moves.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::db::schema::{audit_events, complaints, ledger, messages};
use crate::db::{now, DbConn, DbError};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What the sealer takes in at most per kind and round.
pub const BATCH: i64 = 2000;

pub const AUDIT: &str = "audit";
pub const COMPLAINT: &str = "complaint";
pub const MESSAGE: &str = "message";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ledger)]
pub struct Entry {
    pub seq: i64,
    pub kind: String,
    pub ref_id: String,
    pub case_id: Option<String>,
    pub digest: String,
    pub prev_hash: String,
    pub hash: String,
    pub sealed_at: NaiveDateTime,
}

impl Entry {
    /// The hash this entry must have, given its fields.
    pub fn expected_hash(&self) -> String {
        link(
            &self.prev_hash,
            self.seq,
            &self.kind,
            &self.ref_id,
            self.case_id.as_deref(),
            &self.digest,
        )
    }
}

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn link(
    prev: &str,
    seq: i64,
    kind: &str,
    ref_id: &str,
    case_id: Option<&str>,
    digest: &str,
) -> String {
    let text = json!([prev, seq, kind, ref_id, case_id, digest]).to_string();
    sha_hex(text.as_bytes())
}

/// Times to the microsecond, as both backends keep them.
fn ts(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// A row as sealed: its id, its case, and the digest of its fixed fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Sealable {
    pub kind: &'static str,
    pub id: String,
    pub case_id: Option<String>,
    pub digest: String,
    pub ledger_seq: Option<i64>,
}

type AuditRow = (
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    NaiveDateTime,
    Option<i64>,
);

fn audit_sealable(r: AuditRow) -> Sealable {
    let (id, case_id, subject, actor, action, detail, created_at, seq) = r;
    let fields = json!([
        AUDIT,
        id,
        case_id,
        subject,
        actor,
        action,
        detail,
        ts(created_at)
    ]);
    Sealable {
        kind: AUDIT,
        digest: sha_hex(fields.to_string().as_bytes()),
        id,
        case_id,
        ledger_seq: seq,
    }
}

macro_rules! audit_columns {
    () => {
        (
            audit_events::id,
            audit_events::case_id,
            audit_events::subject,
            audit_events::actor,
            audit_events::action,
            audit_events::detail,
            audit_events::created_at,
            audit_events::ledger_seq,
        )
    };
}

type ComplaintRow = (
    (String, String, String, Option<String>, Option<String>),
    (String, String, i32, i64, Option<i32>, bool, String, String),
    (NaiveDateTime, Option<i64>),
);

fn complaint_sealable(r: ComplaintRow) -> Sealable {
    let (
        (id, case_id, contact_id, conversation_id, project_id),
        (employer, county, workers, amount, months, anonymous, language, channel_id),
        (created_at, seq),
    ) = r;
    let fields = json!([
        COMPLAINT,
        id,
        case_id,
        contact_id,
        conversation_id,
        project_id,
        employer,
        county,
        workers,
        amount,
        months,
        anonymous,
        language,
        channel_id,
        ts(created_at)
    ]);
    Sealable {
        kind: COMPLAINT,
        digest: sha_hex(fields.to_string().as_bytes()),
        id,
        case_id: Some(case_id),
        ledger_seq: seq,
    }
}

macro_rules! complaint_columns {
    () => {
        (
            (
                complaints::id,
                complaints::case_id,
                complaints::contact_id,
                complaints::conversation_id,
                complaints::project_id,
            ),
            (
                complaints::employer,
                complaints::county,
                complaints::workers,
                complaints::amount_yuan,
                complaints::months,
                complaints::anonymous,
                complaints::language,
                complaints::channel_id,
            ),
            (complaints::created_at, complaints::ledger_seq),
        )
    };
}

type MessageRow = (
    (String, String, String, String, String),
    (
        Option<String>,
        String,
        String,
        Option<String>,
        Option<String>,
    ),
    (NaiveDateTime, Option<i64>),
);

fn message_sealable(r: MessageRow) -> Sealable {
    let (
        (id, channel_id, direction, contact_id, phone),
        (our_number, body, encoding, gateway_id, gateway_time),
        (created_at, seq),
    ) = r;
    let fields = json!([
        MESSAGE,
        id,
        channel_id,
        direction,
        contact_id,
        phone,
        our_number,
        body,
        encoding,
        gateway_id,
        gateway_time,
        ts(created_at)
    ]);
    Sealable {
        kind: MESSAGE,
        digest: sha_hex(fields.to_string().as_bytes()),
        id,
        case_id: None,
        ledger_seq: seq,
    }
}

macro_rules! message_columns {
    () => {
        (
            (
                messages::id,
                messages::channel_id,
                messages::direction,
                messages::contact_id,
                messages::phone,
            ),
            (
                messages::our_number,
                messages::body,
                messages::encoding,
                messages::gateway_id,
                messages::gateway_time,
            ),
            (messages::created_at, messages::ledger_seq),
        )
    };
}

/// Rows of `kind` with these ids, as they are now.
fn rows_by_id(conn: &mut DbConn, kind: &str, ids: &[String]) -> Result<Vec<Sealable>, DbError> {
    Ok(match kind {
        AUDIT => audit_events::table
            .filter(audit_events::id.eq_any(ids))
            .select(audit_columns!())
            .load::<AuditRow>(conn)?
            .into_iter()
            .map(audit_sealable)
            .collect(),
        COMPLAINT => complaints::table
            .filter(complaints::id.eq_any(ids))
            .select(complaint_columns!())
            .load::<ComplaintRow>(conn)?
            .into_iter()
            .map(complaint_sealable)
            .collect(),
        _ => messages::table
            .filter(messages::id.eq_any(ids))
            .select(message_columns!())
            .load::<MessageRow>(conn)?
            .into_iter()
            .map(message_sealable)
            .collect(),
    })
}

/// Incoming messages, written as the partial index `messages_unsealed_idx` says (a literal: a
/// bound parameter would not match it).
fn incoming() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>("messages.direction = 'in'")
}

/// The digest a row of `kind` would be sealed with now (None: no such row).
pub fn current_digest(conn: &mut DbConn, kind: &str, id: &str) -> Result<Option<String>, DbError> {
    Ok(rows_by_id(conn, kind, &[id.to_string()])?
        .into_iter()
        .next()
        .map(|r| r.digest))
}

/// Rows not sealed yet, oldest first, at most `limit` of each kind.
fn unsealed(conn: &mut DbConn, limit: i64) -> Result<Vec<Sealable>, DbError> {
    let mut rows: Vec<Sealable> = audit_events::table
        .filter(audit_events::ledger_seq.is_null())
        .order((audit_events::created_at, audit_events::id))
        .limit(limit)
        .select(audit_columns!())
        .load::<AuditRow>(conn)?
        .into_iter()
        .map(audit_sealable)
        .collect();
    rows.extend(
        complaints::table
            .filter(complaints::ledger_seq.is_null())
            .order((complaints::created_at, complaints::id))
            .limit(limit)
            .select(complaint_columns!())
            .load::<ComplaintRow>(conn)?
            .into_iter()
            .map(complaint_sealable),
    );
    rows.extend(
        messages::table
            .filter(messages::ledger_seq.is_null())
            .filter(incoming())
            .order((messages::created_at, messages::id))
            .limit(limit)
            .select(message_columns!())
            .load::<MessageRow>(conn)?
            .into_iter()
            .map(message_sealable),
    );
    Ok(rows)
}

/// The last entry's position and hash (0 and `GENESIS` for an empty ledger).
pub fn head(conn: &mut DbConn) -> Result<(i64, String), DbError> {
    Ok(ledger::table
        .order(ledger::seq.desc())
        .select((ledger::seq, ledger::hash))
        .first(conn)
        .optional()?
        .unwrap_or((0, GENESIS.to_string())))
}

fn mark_sealed(conn: &mut DbConn, kind: &str, id: &str, seq: i64) -> Result<(), DbError> {
    match kind {
        AUDIT => diesel::update(audit_events::table.find(id))
            .set(audit_events::ledger_seq.eq(seq))
            .execute(conn)?,
        COMPLAINT => diesel::update(complaints::table.find(id))
            .set(complaints::ledger_seq.eq(seq))
            .execute(conn)?,
        _ => diesel::update(messages::table.find(id))
            .set(messages::ledger_seq.eq(seq))
            .execute(conn)?,
    };
    Ok(())
}

/// Seals one round of new rows (at most `limit` of each kind); returns how many, and the
/// head after. Two processes sealing at once: one wins, the other seals nothing this round.
pub fn seal(conn: &mut DbConn, limit: i64) -> Result<(usize, (i64, String)), DbError> {
    let r = crate::db::transaction(conn, |conn| {
        let (mut seq, mut prev) = head(conn)?;
        let rows = unsealed(conn, limit)?;
        let t = now();
        let mut entries = Vec::with_capacity(rows.len());
        for row in &rows {
            seq += 1;
            let hash = link(
                &prev,
                seq,
                row.kind,
                &row.id,
                row.case_id.as_deref(),
                &row.digest,
            );
            entries.push(Entry {
                seq,
                kind: row.kind.to_string(),
                ref_id: row.id.clone(),
                case_id: row.case_id.clone(),
                digest: row.digest.clone(),
                prev_hash: std::mem::replace(&mut prev, hash.clone()),
                hash,
                sealed_at: t,
            });
        }
        // One row at a time: a multi-row insert is not portable across the two backends here.
        for e in &entries {
            diesel::insert_into(ledger::table).values(e).execute(conn)?;
            mark_sealed(conn, &e.kind, &e.ref_id, e.seq)?;
        }
        Ok::<_, DbError>((entries.len(), (seq, prev)))
    });
    match r {
        Err(DbError::Query(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))) => {
            let h = head(conn)?;
            Ok((0, h))
        }
        other => other,
    }
}

/// How often the service seals new rows.
pub const EVERY_SECS: u64 = 5;

/// The service's sealer: everything new, with the head logged as an anchor kept outside the
/// database.
pub async fn seal_periodic(db: crate::db::Db) {
    match db.run(seal_all).await {
        Ok((0, _)) => {}
        Ok((n, (seq, hash))) => tracing::info!(sealed = n, seq, %hash, "ledger sealed"),
        Err(e) => tracing::warn!(error = %e, "could not seal the ledger; next round retries"),
    }
}

/// Seals everything there is, round after round.
pub fn seal_all(conn: &mut DbConn) -> Result<(usize, (i64, String)), DbError> {
    let mut total = 0;
    loop {
        let (n, h) = seal(conn, BATCH)?;
        total += n;
        if n == 0 {
            return Ok((total, h));
        }
    }
}

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The entry's position, when the problem is at one.
    pub seq: Option<i64>,
    pub kind: String,
    pub ref_id: String,
    /// What is wrong: `entry-altered`, `link-broken`, `gap`, `row-changed`, `row-deleted`,
    /// `row-not-in-ledger`, `anchor-mismatch`.
    pub what: &'static str,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Entries checked.
    pub entries: i64,
    /// The last entry: `seq` and `hash`.
    pub head_seq: i64,
    pub head_hash: String,
    /// Rows not sealed yet (new since the sealer's last round).
    pub unsealed: i64,
    /// The first problems found (at most `MAX_PROBLEMS`), and how many in all.
    pub problems: Vec<Problem>,
    pub problem_count: usize,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problem_count == 0
    }
    fn push(&mut self, p: Problem) {
        self.problem_count += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        }
    }
}

pub const MAX_PROBLEMS: usize = 100;

fn problem(e: &Entry, what: &'static str) -> Problem {
    Problem {
        seq: Some(e.seq),
        kind: e.kind.clone(),
        ref_id: e.ref_id.clone(),
        what,
    }
}

/// Checks each entry's rows against their digests.
fn check_rows(conn: &mut DbConn, entries: &[Entry], report: &mut Report) -> Result<(), DbError> {
    for kind in [AUDIT, COMPLAINT, MESSAGE] {
        let of_kind: Vec<&Entry> = entries.iter().filter(|e| e.kind == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        let ids: Vec<String> = of_kind.iter().map(|e| e.ref_id.clone()).collect();
        let rows: std::collections::HashMap<String, Sealable> = rows_by_id(conn, kind, &ids)?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        for e in of_kind {
            match rows.get(&e.ref_id) {
                None => report.push(problem(e, "row-deleted")),
                Some(r) if r.digest != e.digest || r.case_id != e.case_id => {
                    report.push(problem(e, "row-changed"))
                }
                Some(r) if r.ledger_seq != Some(e.seq) => report.push(problem(e, "row-changed")),
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// Rows marked sealed that have no entry: inserted, or their entry removed.
fn orphans(conn: &mut DbConn, case_id: Option<&str>, report: &mut Report) -> Result<(), DbError> {
    use diesel::dsl::{exists, not};
    let mut audit = audit_events::table
        .filter(audit_events::ledger_seq.is_not_null())
        .filter(not(exists(
            ledger::table
                .filter(ledger::kind.eq(AUDIT))
                .filter(ledger::ref_id.eq(audit_events::id))
                .filter(ledger::seq.nullable().eq(audit_events::ledger_seq)),
        )))
        .select(audit_events::id)
        .limit(MAX_PROBLEMS as i64)
        .into_boxed();
    let mut complaint = complaints::table
        .filter(complaints::ledger_seq.is_not_null())
        .filter(not(exists(
            ledger::table
                .filter(ledger::kind.eq(COMPLAINT))
                .filter(ledger::ref_id.eq(complaints::id))
                .filter(ledger::seq.nullable().eq(complaints::ledger_seq)),
        )))
        .select(complaints::id)
        .limit(MAX_PROBLEMS as i64)
        .into_boxed();
    if let Some(c) = case_id {
        audit = audit.filter(audit_events::case_id.eq(c.to_string()));
        complaint = complaint.filter(complaints::case_id.eq(c.to_string()));
    }
    let found: Vec<(&'static str, String)> = audit
        .load::<String>(conn)?
        .into_iter()
        .map(|id| (AUDIT, id))
        .chain(
            complaint
                .load::<String>(conn)?
                .into_iter()
                .map(|id| (COMPLAINT, id)),
        )
        .collect();
    let mut found = found;
    if case_id.is_none() {
        found.extend(
            messages::table
                .filter(messages::ledger_seq.is_not_null())
                .filter(not(exists(
                    ledger::table
                        .filter(ledger::kind.eq(MESSAGE))
                        .filter(ledger::ref_id.eq(messages::id))
                        .filter(ledger::seq.nullable().eq(messages::ledger_seq)),
                )))
                .select(messages::id)
                .limit(MAX_PROBLEMS as i64)
                .load::<String>(conn)?
                .into_iter()
                .map(|id| (MESSAGE, id)),
        );
    }
    for (kind, ref_id) in found {
        report.push(Problem {
            seq: None,
            kind: kind.into(),
            ref_id,
            what: "row-not-in-ledger",
        });
    }
    Ok(())
}

fn count_unsealed(conn: &mut DbConn) -> Result<i64, DbError> {
    let a: i64 = audit_events::table
        .filter(audit_events::ledger_seq.is_null())
        .count()
        .get_result(conn)?;
    let c: i64 = complaints::table
        .filter(complaints::ledger_seq.is_null())
        .count()
        .get_result(conn)?;
    let m: i64 = messages::table
        .filter(messages::ledger_seq.is_null())
        .filter(incoming())
        .count()
        .get_result(conn)?;
    Ok(a + c + m)
}

/// Walks the whole chain: every link, every sealed row. With `anchor` (`seq`, `hash` kept
/// from an earlier run), also checks the chain still passes through it.
pub fn verify(conn: &mut DbConn, anchor: Option<(i64, &str)>) -> Result<Report, DbError> {
    const PAGE: i64 = 5000;
    let mut report = Report {
        head_hash: GENESIS.into(),
        ..Default::default()
    };
    let (mut last_seq, mut last_hash) = (0i64, GENESIS.to_string());
    let mut anchor_seen = false;
    loop {
        let page: Vec<Entry> = ledger::table
            .filter(ledger::seq.gt(last_seq))
            .order(ledger::seq)
            .limit(PAGE)
            .select(Entry::as_select())
            .load(conn)?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            if e.seq != last_seq + 1 {
                report.push(problem(e, "gap"));
            }
            if e.prev_hash != last_hash {
                report.push(problem(e, "link-broken"));
            }
            if e.expected_hash() != e.hash {
                report.push(problem(e, "entry-altered"));
            }
            if let Some((s, h)) = anchor {
                if e.seq == s {
                    anchor_seen = true;
                    if e.hash != h {
                        report.push(problem(e, "anchor-mismatch"));
                    }
                }
            }
            last_seq = e.seq;
            last_hash = e.hash.clone();
            report.entries += 1;
        }
        check_rows(conn, &page, &mut report)?;
    }
    if let Some((s, _)) = anchor {
        if !anchor_seen {
            report.push(Problem {
                seq: Some(s),
                kind: String::new(),
                ref_id: String::new(),
                what: "anchor-mismatch",
            });
        }
    }
    orphans(conn, None, &mut report)?;
    report.head_seq = last_seq;
    report.head_hash = last_hash;
    report.unsealed = count_unsealed(conn)?;
    Ok(report)
}

/// What the case page shows: whether this case's record (its audit trail, its complaints and
/// the messages of its complainants) is intact, and how much of it is sealed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CaseReport {
    pub sealed: usize,
    pub problems: Vec<Problem>,
}

impl CaseReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

pub fn verify_case(conn: &mut DbConn, case_id: &str) -> Result<CaseReport, DbError> {
    let contacts: Vec<String> = complaints::table
        .filter(complaints::case_id.eq(case_id))
        .select(complaints::contact_id)
        .distinct()
        .load(conn)?;
    let message_seqs: Vec<i64> = messages::table
        .filter(messages::contact_id.eq_any(&contacts))
        .filter(incoming())
        .filter(messages::ledger_seq.is_not_null())
        .select(messages::ledger_seq.assume_not_null())
        .load(conn)?;
    let mut entries: Vec<Entry> = ledger::table
        .filter(ledger::case_id.eq(case_id))
        .select(Entry::as_select())
        .load(conn)?;
    for chunk in message_seqs.chunks(500) {
        entries.extend(
            ledger::table
                .filter(ledger::seq.eq_any(chunk))
                .select(Entry::as_select())
                .load::<Entry>(conn)?,
        );
    }
    entries.sort_by_key(|e| e.seq);
    entries.dedup_by_key(|e| e.seq);
    let mut report = Report::default();
    // Each entry's link to the one before it.
    let before: Vec<i64> = entries.iter().map(|e| e.seq - 1).collect();
    let mut prev_hash = std::collections::HashMap::new();
    for chunk in before.chunks(500) {
        prev_hash.extend(
            ledger::table
                .filter(ledger::seq.eq_any(chunk))
                .select((ledger::seq, ledger::hash))
                .load::<(i64, String)>(conn)?,
        );
    }
    prev_hash.insert(0, GENESIS.to_string());
    for e in &entries {
        if e.expected_hash() != e.hash {
            report.push(problem(e, "entry-altered"));
        }
        match prev_hash.get(&(e.seq - 1)) {
            Some(h) if *h == e.prev_hash => {}
            Some(_) => report.push(problem(e, "link-broken")),
            None => report.push(problem(e, "gap")),
        }
    }
    check_rows(conn, &entries, &mut report)?;
    // A message sealed without its entry is found by the global check; here, the case's own
    // rows.
    orphans(conn, Some(case_id), &mut report)?;
    Ok(CaseReport {
        sealed: entries.len(),
        problems: report.problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_depends_on_every_field() {
        let base = link(GENESIS, 1, AUDIT, "a", Some("c"), "d");
        assert_eq!(base.len(), 64);
        for other in [
            link("1", 1, AUDIT, "a", Some("c"), "d"),
            link(GENESIS, 2, AUDIT, "a", Some("c"), "d"),
            link(GENESIS, 1, MESSAGE, "a", Some("c"), "d"),
            link(GENESIS, 1, AUDIT, "b", Some("c"), "d"),
            link(GENESIS, 1, AUDIT, "a", None, "d"),
            link(GENESIS, 1, AUDIT, "a", Some("c"), "e"),
        ] {
            assert_ne!(base, other);
        }
        // Fields are delimited: moving a character from one to the next changes the hash.
        assert_ne!(
            link(GENESIS, 1, AUDIT, "ab", Some("c"), "d"),
            link(GENESIS, 1, AUDIT, "a", Some("bc"), "d")
        );
    }
}
