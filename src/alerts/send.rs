//! Who an approved notice reaches, queuing its alerts, and what came of them.
//!
//! Queuing is set-based: one `INSERT … SELECT` per batch of the register, in contact-id
//! order, so a million workers need no million round trips and no million rows in memory.
//! Each batch is its own short transaction that also moves the notice's cursor
//! (`queued_through`) on, so the receive route and the console keep answering meanwhile,
//! and a process killed half-way goes on from the last batch after a restart. The unique
//! index on (notice_id, contact_id) makes a worker's alert exist at most once whatever
//! happens.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use serde::Serialize;

use super::notices::{self, Notice};
use super::NoticeStatus;
use crate::db::models::MessageStatus;
use crate::db::schema::{messages, notices as notices_t, workers};
use crate::db::{now, DbConn, DbError};
use crate::AppState;

/// Stops a notice's alerts that have not gone yet.
pub fn cancel_unsent(conn: &mut DbConn, notice_id: &str) -> Result<usize, DbError> {
    Ok(diesel::update(
        messages::table
            .filter(messages::notice_id.eq(notice_id))
            .filter(messages::status.eq(MessageStatus::Queued)),
    )
    .set((
        messages::status.eq(MessageStatus::Cancelled),
        messages::updated_at.eq(now()),
    ))
    .execute(conn)?)
}

/// A text as an SQL string literal. Only for values the service itself checked (county
/// names from the configuration, trade codes, channel ids, languages); a broker's text is
/// always bound.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The SMS each language's workers get, with its size.
#[derive(Debug, Clone, Serialize)]
pub struct Texts {
    pub bo: Option<String>,
    pub zh: String,
    pub both: String,
}

impl Texts {
    pub fn of(state: &AppState, n: &Notice) -> Result<Texts, String> {
        let t = &state.templates;
        Ok(Texts {
            bo: match &n.text_bo {
                Some(bo) => Some(notices::alert_sms(t, "bo", bo, &n.code)?),
                None => None,
            },
            zh: notices::alert_sms(t, "zh", &n.text_zh, &n.code)?,
            both: notices::alert_sms_both(
                t,
                &n.text_zh,
                n.text_bo.as_deref(),
                &n.code,
                state.config.alerts.max_segments,
            )?,
        })
    }

    fn segments(&self, lang: &str) -> i64 {
        let text = match lang {
            "bo" => self.bo.as_deref().unwrap_or(""),
            "zh" => &self.zh,
            _ => &self.both,
        };
        crate::text::sms_size(text).segments as i64
    }
}

/// The SQL pieces that pick a notice's workers.
struct Matching {
    /// `FROM … WHERE …` of every worker the notice is for, before exclusions.
    from_where: String,
    /// A CASE naming why a matching worker gets nothing (NULL: they get it). Binds: the
    /// notice id, the week's start.
    reason: String,
    /// A CASE giving the channel by the worker's county.
    channel: String,
}

fn matching(state: &AppState, n: &Notice) -> Matching {
    let t = n.targeting();
    let mut conds = vec!["w.alerts_consent = TRUE".to_string()];
    match (&n.county, &n.place_outside) {
        (Some(c), _) => conds.push(format!(
            "(w.alert_county IS NULL OR w.alert_county = {})",
            lit(c)
        )),
        _ => conds.push("w.outside_ok = TRUE".into()),
    }
    let trades: Vec<String> = n
        .target_trades()
        .iter()
        .filter(|c| state.config.alerts.trade(c).is_some())
        .map(|c| format!("w.trades LIKE {}", lit(&format!("%,{c},%"))))
        .collect();
    conds.push(format!("(w.trades = ',' OR {})", trades.join(" OR ")));
    if !t.counties.is_empty() {
        let list: Vec<String> = t.counties.iter().map(|c| lit(c)).collect();
        conds.push(format!("w.county IN ({})", list.join(", ")));
    }
    if !t.languages.is_empty() {
        let list: Vec<String> = t
            .languages
            .iter()
            .filter(|l| crate::db::models::Language::parse(l).is_some())
            .map(|l| lit(l))
            .collect();
        if !list.is_empty() {
            conds.push(format!("c.language IN ({})", list.join(", ")));
        }
    }
    if t.seeking_only() {
        conds.push("w.employment = 'seeking'".into());
    }
    let from_where = format!(
        "FROM workers w JOIN contacts c ON c.id = w.contact_id WHERE {}",
        conds.join(" AND ")
    );
    let no_text = if n.text_bo.is_none() {
        "WHEN c.language = 'bo' THEN 'no_text' "
    } else {
        ""
    };
    let reason = format!(
        "CASE WHEN c.opted_out = TRUE THEN 'opted_out' {no_text}\
         WHEN EXISTS (SELECT 1 FROM messages m WHERE m.notice_id = ? AND m.contact_id = w.contact_id) THEN 'reached' \
         WHEN (SELECT COUNT(*) FROM messages m WHERE m.contact_id = w.contact_id AND m.notice_id IS NOT NULL \
               AND m.created_at > ? AND m.status <> 'cancelled') >= {cap} THEN 'over_cap' \
         ELSE NULL END",
        cap = state.config.alerts.max_per_week
    );
    let mut channel = String::from("CASE w.county ");
    for c in &state.config.counties {
        let id = state.channels.for_county(Some(&c.zh));
        channel.push_str(&format!("WHEN {} THEN {} ", lit(&c.zh), lit(id)));
    }
    channel.push_str(&format!("ELSE {} END", lit(state.channels.default_id())));
    Matching {
        from_where,
        reason,
        channel,
    }
}

/// `?` placeholders as the backend wants them.
fn placeholders(sql: &str, conn: &DbConn) -> String {
    match conn {
        DbConn::Sqlite(_) => sql.to_string(),
        DbConn::Pg(_) => {
            let mut out = String::with_capacity(sql.len() + 16);
            let mut n = 0;
            for ch in sql.chars() {
                if ch == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(ch);
                }
            }
            out
        }
    }
}

#[derive(QueryableByName, Debug)]
struct PreviewRow {
    #[diesel(sql_type = Text)]
    language: String,
    #[diesel(sql_type = Text)]
    channel: String,
    #[diesel(sql_type = Nullable<Text>)]
    reason: Option<String>,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// What approving a notice would do, shown before approval.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Preview {
    /// Workers the notice matches, before exclusions.
    pub matching: i64,
    /// Who would get it, by language (`bo`, `zh`, `both`).
    pub recipients: BTreeMap<String, i64>,
    pub recipients_total: i64,
    /// Matching workers who would not get it, by reason: `opted_out`, `reached` (already
    /// sent this notice), `over_cap` (weekly cap), `no_text` (reads Tibetan only and the notice
    /// has no Tibetan text).
    pub excluded: BTreeMap<String, i64>,
    /// SMS segments one alert takes, by language.
    pub segments_each: BTreeMap<String, i64>,
    pub segments_total: i64,
    /// Yuan, at `alerts.price_per_segment`.
    pub cost_yuan: f64,
    /// How long sending takes at the channels' rates, in seconds (not counting the hours
    /// outside the send window).
    pub duration_secs: i64,
}

/// Counts who a notice would reach and what it would cost, without writing anything.
pub fn preview(conn: &mut DbConn, state: &AppState, n: &Notice) -> Result<Preview, DbError> {
    let texts = Texts::of(state, n).unwrap_or(Texts {
        bo: None,
        zh: n.text_zh.clone(),
        both: n.text_zh.clone(),
    });
    let m = matching(state, n);
    let sql = format!(
        "SELECT language, channel, reason, COUNT(*) AS n FROM (\
         SELECT c.language AS language, {channel} AS channel, {reason} AS reason {from_where}\
         ) x GROUP BY language, channel, reason",
        channel = m.channel,
        reason = m.reason,
        from_where = m.from_where
    );
    let sql = placeholders(&sql, conn);
    let week_ago = now() - Duration::days(7);
    let q = diesel::sql_query(sql)
        .bind::<Text, _>(&n.id)
        .bind::<Timestamp, _>(week_ago);
    let rows: Vec<PreviewRow> = crate::per_backend!(conn, c => q.load(c))?;
    let mut p = Preview::default();
    let mut per_channel: BTreeMap<String, i64> = BTreeMap::new();
    for lang in ["bo", "zh", "both"] {
        if lang != "bo" || texts.bo.is_some() {
            p.segments_each.insert(lang.into(), texts.segments(lang));
        }
    }
    for r in rows {
        p.matching += r.n;
        match r.reason {
            Some(why) => *p.excluded.entry(why).or_default() += r.n,
            None => {
                *p.recipients.entry(r.language.clone()).or_default() += r.n;
                p.recipients_total += r.n;
                let segs = r.n * texts.segments(&r.language);
                p.segments_total += segs;
                *per_channel.entry(r.channel).or_default() += segs;
            }
        }
    }
    p.cost_yuan =
        (p.segments_total as f64 * state.config.alerts.price_per_segment * 100.0).round() / 100.0;
    p.duration_secs = per_channel
        .iter()
        .map(|(id, segs)| {
            let tps = state
                .channels
                .get(id)
                .map(|c| c.config().tps.max(1))
                .unwrap_or(1) as i64;
            (segs + tps - 1) / tps
        })
        .max()
        .unwrap_or(0);
    Ok(p)
}

/// The end of the notice's last valid day, bureau time, in UTC.
fn expiry(state: &AppState, n: &Notice) -> NaiveDateTime {
    let midnight = (n.valid_until + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default();
    midnight - Duration::seconds(state.config.utc_offset_secs() as i64)
}

/// Queues the next batch of an approved notice; returns how many alerts it queued and
/// whether the notice is now fully queued. Another process having done this batch already
/// is not an error: nothing is written twice.
pub fn queue_batch(
    conn: &mut DbConn,
    state: &AppState,
    n: &Notice,
) -> Result<(usize, bool), DbError> {
    let texts = match Texts::of(state, n) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(notice = %n.code, error = %e, "cannot render the alert: nothing queued");
            return Ok((0, true));
        }
    };
    let batch = state.config.alerts.queue_batch.max(1) as i64;
    let after = n.queued_through.clone().unwrap_or_default();
    crate::db::transaction(conn, |conn| {
        // The batch's last worker, or the end of the register.
        let upto: Option<String> = workers::table
            .filter(workers::contact_id.gt(&after))
            .order(workers::contact_id)
            .offset(batch - 1)
            .limit(1)
            .select(workers::contact_id)
            .first(conn)
            .optional()?;
        let last = upto.is_none();
        let upto = upto.unwrap_or_else(|| "~".into());
        let t = now();
        // Claim the batch: the cursor moves only from where we read it.
        let cursor = notices_t::table
            .find(&n.id)
            .filter(notices_t::status.eq(NoticeStatus::Approved));
        let moved = match &n.queued_through {
            Some(prev) => diesel::update(cursor.filter(notices_t::queued_through.eq(prev)))
                .set((
                    notices_t::queued_through.eq(&upto),
                    notices_t::queued_at.eq(last.then_some(t)),
                ))
                .execute(conn)?,
            None => diesel::update(cursor.filter(notices_t::queued_through.is_null()))
                .set((
                    notices_t::queued_through.eq(&upto),
                    notices_t::queued_at.eq(last.then_some(t)),
                ))
                .execute(conn)?,
        };
        if moved == 0 {
            return Ok((0, true));
        }
        let m = matching(state, n);
        let start = n.send_at.map_or(t, |s| s.max(t));
        let next = state.config.bulk_window().next_open(start);
        let size = |lang: &str| {
            let text = match lang {
                "bo" => texts.bo.as_deref().unwrap_or(""),
                "zh" => &texts.zh,
                _ => &texts.both,
            };
            crate::text::sms_size(text)
        };
        let (bo, zh, both) = (size("bo"), size("zh"), size("both"));
        // Ids that sort by when they were made (milliseconds in 12 hex digits, then random),
        // so a batch's rows go to the end of the id index instead of all over it: with random
        // ids each batch of a large notice dirtied nearly every leaf page of that index (on
        // SQLite, 20,000 alerts over a million spilled ~27,000 pages and took ~1 s to insert
        // and commit; in order, ~2,300 pages and ~0.35 s).
        let id_expr = match conn {
            DbConn::Sqlite(_) => {
                "printf('%012x', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)) \
                 || lower(hex(randomblob(10)))"
            }
            DbConn::Pg(_) => {
                "lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') \
                 || substr(md5(random()::text), 1, 20)"
            }
        };
        // The batch's range is given for contacts as well as workers (the same rows, as
        // c.id = w.contact_id): without it PostgreSQL hash-joined each batch against a
        // sequential scan of all contacts (2.0 s a batch at a million; 1.4 s with it).
        let sql = format!(
            "INSERT INTO messages (id, channel_id, direction, contact_id, phone, body, encoding, \
             segments, status, priority, kind, attempts, next_attempt_at, expires_at, created_at, \
             updated_at, notice_id) \
             SELECT {id_expr}, {channel}, 'out', w.contact_id, c.phone, \
             CASE c.language WHEN 'bo' THEN ? WHEN 'zh' THEN ? ELSE ? END, \
             CASE c.language WHEN 'bo' THEN {ebo} WHEN 'zh' THEN {ezh} ELSE {eboth} END, \
             CASE c.language WHEN 'bo' THEN {sbo} WHEN 'zh' THEN {szh} ELSE {sboth} END, \
             'queued', {priority}, 'job_alert', 0, ?, ?, ?, ?, ? \
             {from_where} AND w.contact_id > ? AND w.contact_id <= ? \
             AND c.id > ? AND c.id <= ? AND ({reason}) IS NULL \
             ON CONFLICT DO NOTHING",
            channel = m.channel,
            ebo = lit(bo.encoding.as_str()),
            ezh = lit(zh.encoding.as_str()),
            eboth = lit(both.encoding.as_str()),
            sbo = bo.segments,
            szh = zh.segments,
            sboth = both.segments,
            priority = crate::db::models::PRIORITY_BULK,
            from_where = m.from_where,
            reason = m.reason,
        );
        let sql = placeholders(&sql, conn);
        let q = diesel::sql_query(sql)
            .bind::<Text, _>(texts.bo.clone().unwrap_or_default())
            .bind::<Text, _>(&texts.zh)
            .bind::<Text, _>(&texts.both)
            .bind::<Timestamp, _>(next)
            .bind::<Timestamp, _>(expiry(state, n))
            .bind::<Timestamp, _>(t)
            .bind::<Timestamp, _>(t)
            .bind::<Text, _>(&n.id)
            .bind::<Text, _>(&after)
            .bind::<Text, _>(&upto)
            .bind::<Text, _>(&after)
            .bind::<Text, _>(&upto)
            .bind::<Text, _>(&n.id)
            .bind::<Timestamp, _>(t - Duration::days(7));
        let queued = crate::per_backend!(conn, c => q.execute(c))?;
        Ok((queued, last))
    })
}

/// Queues every approved notice not yet fully queued, batch by batch. Run by the job runner
/// every few seconds, so a notice approved in any process, or one a crash interrupted,
/// is picked up.
pub async fn queue_pending(state: AppState) {
    let pending = state
        .db
        .run(|c| -> Result<Vec<Notice>, DbError> {
            Ok(notices_t::table
                .filter(notices_t::status.eq(NoticeStatus::Approved))
                .filter(notices_t::queued_at.is_null())
                .select(Notice::as_select())
                .load(c)?)
        })
        .await;
    let pending = match pending {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "cannot look for notices to queue");
            return;
        }
    };
    for notice in pending {
        let mut total = 0usize;
        loop {
            let st = state.clone();
            let id = notice.id.clone();
            let step = state
                .db
                .run(move |c| -> Result<_, DbError> {
                    // Read afresh: the cursor, and whether it was cancelled meanwhile.
                    let Some(n) = notices::get(c, &id)? else {
                        return Ok((0, true));
                    };
                    if n.status != NoticeStatus::Approved || n.queued_at.is_some() {
                        return Ok((0, true));
                    }
                    queue_batch(c, &st, &n)
                })
                .await;
            match step {
                Ok((n, done)) => {
                    total += n;
                    state.outbox_wake.notify_waiters();
                    if done {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(notice = %notice.code, error = %e, "queuing stopped; it goes on at the next run");
                    break;
                }
            }
        }
        tracing::info!(notice = %notice.code, queued = total, "notice queued");
    }
}

#[derive(QueryableByName, Debug)]
struct ResultRow {
    #[diesel(sql_type = Text)]
    language: String,
    #[diesel(sql_type = Nullable<Text>)]
    county: Option<String>,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    segments: i64,
    #[diesel(sql_type = BigInt)]
    opted_out: i64,
}

/// One line of a notice's results: all of them, or one language or county's.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Tally {
    pub recipients: i64,
    /// Waiting to go (in the queue, or for the send window).
    pub waiting: i64,
    /// Handed to the gateway; includes delivered and failed after sending.
    pub sent: i64,
    pub delivered: i64,
    pub failed: i64,
    /// Not sent before the notice's valid-until.
    pub expired: i64,
    /// Stopped: the notice was cancelled or the worker opted out before it went.
    pub cancelled: i64,
    /// Workers who opted out within 24 hours of receiving it.
    pub opted_out_24h: i64,
    pub segments: i64,
    pub cost_yuan: f64,
}

impl Tally {
    fn add(&mut self, r: &ResultRow, price: f64) {
        self.recipients += r.n;
        match r.status.as_str() {
            "queued" | "sending" => self.waiting += r.n,
            "sent" => self.sent += r.n,
            "delivered" => {
                self.sent += r.n;
                self.delivered += r.n
            }
            "failed" => self.failed += r.n,
            "expired" => self.expired += r.n,
            "cancelled" => self.cancelled += r.n,
            _ => {}
        }
        if matches!(r.status.as_str(), "sent" | "delivered" | "failed") {
            self.segments += r.segments;
            self.cost_yuan = (self.segments as f64 * price * 100.0).round() / 100.0;
        }
        self.opted_out_24h += r.opted_out;
    }
}

/// What came of a notice.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Results {
    pub total: Tally,
    pub by_language: BTreeMap<String, Tally>,
    pub by_county: BTreeMap<String, Tally>,
    /// Workers who answered with interest.
    pub interested: i64,
    /// Of those, who agreed to their number going to the broker.
    pub shared: i64,
}

/// Counts a notice's alerts by status, language and county; queued alerts past their expiry
/// count as expired.
pub fn results(conn: &mut DbConn, price: f64, notice_id: &str) -> Result<Results, DbError> {
    use crate::db::schema::notice_responses;
    // Grouped outside, so that each bound value appears once (PostgreSQL compares GROUP BY
    // expressions with their parameters).
    let sql = "SELECT language, county, status, COUNT(*) AS n, \
               CAST(COALESCE(SUM(segments), 0) AS BIGINT) AS segments, \
               CAST(COALESCE(SUM(opted), 0) AS BIGINT) AS opted_out FROM (\
               SELECT c.language AS language, w.county AS county, \
               CASE WHEN m.status = 'queued' AND m.expires_at <= ? THEN 'expired' ELSE m.status END AS status, \
               CAST(m.segments AS BIGINT) AS segments, \
               CASE WHEN c.opted_out = TRUE AND m.sent_at IS NOT NULL AND c.opt_changed_at >= m.sent_at \
                 AND c.opt_changed_at <= m.sent_at + INTERVAL_DAY THEN 1 ELSE 0 END AS opted \
               FROM messages m JOIN contacts c ON c.id = m.contact_id \
               LEFT JOIN workers w ON w.contact_id = m.contact_id WHERE m.notice_id = ?) x \
               GROUP BY language, county, status";
    let sql = match conn {
        DbConn::Sqlite(_) => {
            sql.replace("m.sent_at + INTERVAL_DAY", "datetime(m.sent_at, '+1 day')")
        }
        DbConn::Pg(_) => sql.replace("INTERVAL_DAY", "INTERVAL '1 day'"),
    };
    let sql = placeholders(&sql, conn);
    let q = diesel::sql_query(sql)
        .bind::<Timestamp, _>(now())
        .bind::<Text, _>(notice_id);
    let rows: Vec<ResultRow> = crate::per_backend!(conn, c => q.load(c))?;
    let mut r = Results::default();
    for row in &rows {
        r.total.add(row, price);
        r.by_language
            .entry(row.language.clone())
            .or_default()
            .add(row, price);
        r.by_county
            .entry(row.county.clone().unwrap_or_default())
            .or_default()
            .add(row, price);
    }
    r.interested = notice_responses::table
        .filter(notice_responses::notice_id.eq(notice_id))
        .count()
        .get_result(conn)?;
    r.shared = notice_responses::table
        .filter(notice_responses::notice_id.eq(notice_id))
        .filter(notice_responses::share_consent.eq(true))
        .count()
        .get_result(conn)?;
    Ok(r)
}

/// A worker who answered a notice and agreed to their number going to the broker.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Shared {
    /// As dialled at home.
    pub phone: String,
    pub name: Option<String>,
    /// `bo`, `zh` or `both`.
    pub language: String,
    pub answered_at: Option<NaiveDateTime>,
}

/// The workers of a notice who said yes to sharing their number, newest first: all a broker
/// ever sees of a worker.
pub fn shared_with_broker(conn: &mut DbConn, notice_id: &str) -> Result<Vec<Shared>, DbError> {
    use crate::db::schema::{contacts, notice_responses};
    let rows: Vec<(String, String, Option<NaiveDateTime>, Option<String>)> =
        notice_responses::table
            .inner_join(contacts::table)
            .left_join(workers::table.on(workers::contact_id.eq(notice_responses::contact_id)))
            .filter(notice_responses::notice_id.eq(notice_id))
            .filter(notice_responses::share_consent.eq(true))
            .order(notice_responses::answered_at.desc())
            .select((
                contacts::phone,
                contacts::language,
                notice_responses::answered_at,
                workers::name.nullable(),
            ))
            .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(phone, language, answered_at, name)| Shared {
            phone: crate::text::phone::national(&phone),
            name,
            language,
            answered_at,
        })
        .collect())
}
