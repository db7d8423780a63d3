//! Subsidies a placement earns once it has lasted (DOMAIN.md): confirmed by the worker's own
//! follow-up answer at `subsidy_months`, with no answer in between saying they left. Each kind
//! once per placement (a unique index), however often anything is imported or answered; the
//! officer approves or rejects each claim, and the finance office gets a monthly list.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::placements::Placement;
use super::run::Followup;
use super::{ClaimStatus, SubsidyKind};
use crate::db::models::{Contact, ContactId};
use crate::db::schema::{contacts, followups, placements, subsidy_claims};
use crate::db::{new_id, DbConn, DbError};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = subsidy_claims)]
pub struct Claim {
    pub id: String,
    pub placement_id: String,
    pub kind: SubsidyKind,
    pub contact_id: ContactId,
    pub agency: Option<String>,
    pub eligible_on: NaiveDate,
    pub status: ClaimStatus,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
}

/// The claims a lasting placement earns: the worker's job-seeking subsidy; the broker's
/// placement subsidy when a broker placed them; the travel subsidy for organised work outside
/// Tibet (through a broker). Claims already there stay as they are. Returns the kinds added.
pub fn grant(
    conn: &mut DbConn,
    p: &Placement,
    f: &Followup,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Result<Vec<SubsidyKind>, DbError> {
    let mut kinds = vec![SubsidyKind::JobSeeking];
    if p.agency.is_some() {
        kinds.push(SubsidyKind::Placement);
        if p.outside() {
            kinds.push(SubsidyKind::Travel);
        }
    }
    let mut added = Vec::new();
    for kind in kinds {
        let exists: i64 = subsidy_claims::table
            .filter(subsidy_claims::placement_id.eq(&p.id))
            .filter(subsidy_claims::kind.eq(kind.as_str()))
            .count()
            .get_result(conn)?;
        if exists > 0 {
            continue;
        }
        diesel::insert_into(subsidy_claims::table)
            .values((
                subsidy_claims::id.eq(new_id()),
                subsidy_claims::placement_id.eq(&p.id),
                subsidy_claims::kind.eq(kind.as_str()),
                subsidy_claims::contact_id.eq(&p.contact_id),
                subsidy_claims::agency.eq(&p.agency),
                subsidy_claims::eligible_on.eq(today),
                subsidy_claims::status.eq(ClaimStatus::Eligible.as_str()),
                subsidy_claims::created_at.eq(now),
            ))
            .execute(conn)?;
        added.push(kind);
    }
    if !added.is_empty() {
        crate::cases::audit_about(
            conn,
            &format!("placement:{}", p.id),
            "system",
            "subsidies_eligible",
            Some(&format!(
                "follow-up {} ({}): {}",
                f.step,
                f.id,
                added
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        )?;
    }
    Ok(added)
}

/// One follow-up of a placement, as the evidence for a claim: when it was asked and answered,
/// and what the worker said.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub step: String,
    pub sent_at: Option<NaiveDateTime>,
    pub answered_at: Option<NaiveDateTime>,
    pub working: Option<u32>,
    pub paid: Option<u32>,
    pub status: String,
}

/// A claim with its placement, its worker and the follow-ups that prove it.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub claim: Claim,
    pub placement: Placement,
    pub contact: Contact,
    pub evidence: Vec<Evidence>,
}

/// The claims that became eligible in a month (`first`..`next`), one kind or all, oldest
/// first.
pub fn list(
    conn: &mut DbConn,
    kind: Option<SubsidyKind>,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<Listed>, DbError> {
    let mut q = subsidy_claims::table
        .inner_join(placements::table.inner_join(contacts::table))
        .filter(subsidy_claims::eligible_on.ge(from))
        .filter(subsidy_claims::eligible_on.lt(until))
        .order((subsidy_claims::eligible_on, subsidy_claims::created_at))
        .select((
            Claim::as_select(),
            Placement::as_select(),
            Contact::as_select(),
        ))
        .into_boxed();
    if let Some(k) = kind {
        q = q.filter(subsidy_claims::kind.eq(k.as_str()));
    }
    let rows: Vec<(Claim, Placement, Contact)> = q.load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (claim, placement, contact) in rows {
        let evidence = evidence_of(conn, &placement.id)?;
        out.push(Listed {
            claim,
            placement,
            contact,
            evidence,
        });
    }
    Ok(out)
}

/// A placement's follow-ups, in the order they were due.
pub fn evidence_of(conn: &mut DbConn, placement_id: &str) -> Result<Vec<Evidence>, DbError> {
    let fs: Vec<Followup> = followups::table
        .filter(followups::placement_id.eq(placement_id))
        .order(followups::due_at)
        .select(Followup::as_select())
        .load(conn)?;
    Ok(fs
        .into_iter()
        .map(|f| {
            let a = f.answers();
            Evidence {
                step: f.step.clone(),
                sent_at: f.sent_at,
                answered_at: f.answered_at,
                working: a.working,
                paid: a.paid,
                status: f.status.as_str().to_string(),
            }
        })
        .collect())
}

#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("no such claim")]
    NotFound,
    #[error("already {0}")]
    Decided(&'static str),
    #[error("a rejection needs a reason")]
    ReasonNeeded,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for DecideError {
    fn from(e: diesel::result::Error) -> Self {
        DecideError::Db(DbError::Query(e))
    }
}

/// The officer approves (or rejects, with a reason) an eligible claim; audited. One
/// transaction.
pub fn decide(
    conn: &mut DbConn,
    id: &str,
    approve: bool,
    reason: Option<&str>,
    actor: &str,
    now: NaiveDateTime,
) -> Result<Claim, DecideError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if !approve && reason.is_none() {
        return Err(DecideError::ReasonNeeded);
    }
    crate::db::transaction(conn, |c| {
        let claim: Claim = subsidy_claims::table
            .find(id)
            .select(Claim::as_select())
            .first(c)
            .optional()?
            .ok_or(DecideError::NotFound)?;
        if claim.status != ClaimStatus::Eligible {
            return Err(DecideError::Decided(claim.status.as_str()));
        }
        let status = if approve {
            ClaimStatus::Approved
        } else {
            ClaimStatus::Rejected
        };
        diesel::update(
            subsidy_claims::table
                .find(id)
                .filter(subsidy_claims::status.eq(ClaimStatus::Eligible.as_str())),
        )
        .set((
            subsidy_claims::status.eq(status.as_str()),
            subsidy_claims::decided_by.eq(actor),
            subsidy_claims::decided_at.eq(now),
            subsidy_claims::reason.eq(reason.filter(|_| !approve)),
        ))
        .execute(c)?;
        crate::cases::audit_about(
            c,
            &format!("placement:{}", claim.placement_id),
            actor,
            if approve {
                "subsidy_approved"
            } else {
                "subsidy_rejected"
            },
            Some(&format!("{} {}", claim.kind.as_str(), reason.unwrap_or(""))),
        )?;
        Ok(subsidy_claims::table
            .find(id)
            .select(Claim::as_select())
            .first(c)?)
    })
}

/// The claims as CSV for the finance office (UTF-8 with a BOM): one line a claim, with the
/// evidence's dates and answers. `label(section, key)` names the headers (`subsidies_csv`),
/// the kinds (`subsidy_kind`), the statuses (`claim_status`) and the answers
/// (`followup_working`, `followup_paid`) in the console's language.
pub fn csv(rows: &[Listed], label: &dyn Fn(&str, &str) -> String, utc_offset_secs: i32) -> Vec<u8> {
    let local = |t: NaiveDateTime| t + chrono::Duration::seconds(utc_offset_secs as i64);
    const HEADERS: [&str; 10] = [
        "kind",
        "phone",
        "agency",
        "employer",
        "start_on",
        "place",
        "eligible_on",
        "status",
        "reason",
        "evidence",
    ];
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let _ = w.write_record(HEADERS.iter().map(|h| label("subsidies_csv", h)));
        for r in rows {
            let answer = |section: &str, v: Option<u32>| {
                v.map(|v| label(section, &v.to_string()))
                    .unwrap_or_else(|| "-".into())
            };
            let evidence = r
                .evidence
                .iter()
                .map(|e| {
                    format!(
                        "{} {} {} {}",
                        label("step", &e.step),
                        e.answered_at
                            .map(|t| local(t).date().to_string())
                            .unwrap_or_else(|| label("followup_status", &e.status)),
                        answer("followup_working", e.working),
                        answer("followup_paid", e.paid),
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            let record = [
                label("subsidy_kind", r.claim.kind.as_str()),
                r.contact.phone.clone(),
                r.placement.agency.clone().unwrap_or_default(),
                r.placement.employer.clone(),
                r.placement.start_on.to_string(),
                r.placement
                    .county
                    .clone()
                    .or(r.placement.place_outside.clone())
                    .unwrap_or_default(),
                r.claim.eligible_on.to_string(),
                label("claim_status", r.claim.status.as_str()),
                r.claim.reason.clone().unwrap_or_default(),
                evidence,
            ];
            let _ = w.write_record(record.iter().map(|c| spreadsheet_safe(c)));
        }
        let _ = w.flush();
    }
    out
}

/// A cell a spreadsheet shows as written: one starting with `=`, `+`, `-` or `@` (a formula to
/// Excel, or a phone number it would turn into 8.61391E+12) gets a leading apostrophe.
pub fn spreadsheet_safe(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

/// Claims still waiting for the officer, by the month they became eligible, oldest first.
pub fn waiting_by_month(conn: &mut DbConn) -> Result<Vec<(String, i64)>, DbError> {
    let days: Vec<NaiveDate> = subsidy_claims::table
        .filter(subsidy_claims::status.eq(ClaimStatus::Eligible.as_str()))
        .select(subsidy_claims::eligible_on)
        .load(conn)?;
    let mut by: std::collections::BTreeMap<String, i64> = Default::default();
    for d in days {
        *by.entry(super::month_of(d)).or_default() += 1;
    }
    Ok(by.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formulas_and_phone_numbers_stay_text_in_a_spreadsheet() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("+8613900000001"), "'+8613900000001");
        assert_eq!(spreadsheet_safe("拉萨诺布劳务"), "拉萨诺布劳务");
        assert_eq!(spreadsheet_safe(""), "");
    }
}
