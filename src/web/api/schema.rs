//! The API's request and response bodies. The handlers build and parse these types, and the
//! OpenAPI document (`doc.rs`) is generated from them, so a field's doc comment is its
//! description there. Names in the document (`#[schema(as = …)]`) are the API's, not Rust's.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::cases::actions::Action;
use crate::db::models::{
    AuditEvent, CasePause, CaseSource, CaseState, Language, Project, Referral, ReferralStatus,
    ReferralUpdate, ReferralUpdateKind,
};
use crate::web::case_view::CaseView;

/// Every error: a reason a person can act on.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: String,
}

/// The document names a stored state's values from the domain's own list (`ALL`), so the two
/// cannot drift apart.
macro_rules! text_schema {
    ($ty:ty, $name:literal, $doc:literal) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some($doc))
                    .enum_values(Some(<$ty>::ALL.iter().map(|v| v.as_str())))
                    .into()
            }
        }

        impl utoipa::ToSchema for $ty {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($name)
            }
        }
    };
}

text_schema!(CaseState, "CaseState", "A case's life-cycle state: received (the bureau decides within 5 working days whether to accept it), accepted (立案; investigation within 60 working days), refused (with a reason the worker is told), investigating, resolved (the amount recovered is recorded), transferred (to the police or another office), closed.");
text_schema!(
    CaseSource,
    "CaseSource",
    "Where a case came from: complaint (a worker complained), or early_warning (several workers placed with one employer said in their follow-ups that they were not paid in full, before anyone complained)."
);
text_schema!(
    Language,
    "Language",
    "A worker's language: bo (Tibetan), zh (Chinese), or both side by side."
);
text_schema!(
    ReferralStatus,
    "ReferralStatus",
    "A referral's status: sent (waiting for the department), acknowledged, answered, closed."
);
text_schema!(
    ReferralUpdateKind,
    "ReferralUpdateKind",
    "What happened to a referral."
);

/// A page of cases, most urgent first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    pub items: Vec<CaseView>,
    /// This page's number, from 1.
    pub page: i64,
    pub per_page: i64,
    /// Cases matching the filters, on every page.
    pub total: i64,
}

/// Who filed a complaint, as far as the caller may see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplaintContact {
    /// Nothing for a liaison when the complainant asked to stay anonymous.
    pub contact_id: Option<String>,
    /// The number with its middle digits masked; nothing for a liaison when the complainant
    /// asked to stay anonymous. Full numbers are only on `/cases/{reference}/complainants`.
    pub phone_masked: Option<String>,
}

/// One worker's complaint (SMS dialog or one-message form) joined to the case.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Complaint)]
pub struct ComplaintView {
    pub id: String,
    #[serde(serialize_with = "crate::web::utc::serialize")]
    pub created_at: NaiveDateTime,
    pub employer: String,
    pub county: String,
    pub workers: i32,
    pub amount_yuan: i64,
    /// Months unpaid, when the worker said.
    pub months: Option<i32>,
    /// The worker asked not to be named to the employer or to other departments.
    pub anonymous: bool,
    #[schema(value_type = Language)]
    pub language: String,
    /// The SMS channel it came in on.
    pub channel: String,
    /// Masked number; for a liaison, nothing at all when the complainant asked to stay
    /// anonymous.
    pub complainant: ComplaintContact,
    /// This complainant speaks for a collective case.
    pub representative: bool,
}

/// A stop of the case's clock while the bureau waits for facts from the worker.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Pause)]
pub struct PauseView {
    pub id: String,
    pub case_id: String,
    pub paused_on: NaiveDate,
    /// None while the clock is still stopped.
    pub resumed_on: Option<NaiveDate>,
    /// What the worker was asked.
    pub reason: String,
    #[serde(serialize_with = "crate::web::utc::serialize")]
    pub created_at: NaiveDateTime,
}

impl From<CasePause> for PauseView {
    fn from(p: CasePause) -> PauseView {
        PauseView {
            id: p.id,
            case_id: p.case_id.to_string(),
            paused_on: p.paused_on,
            resumed_on: p.resumed_on,
            reason: p.reason,
            created_at: p.created_at,
        }
    }
}

/// One entry of the case's audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEvent {
    #[serde(serialize_with = "crate::web::utc::serialize")]
    pub at: NaiveDateTime,
    /// Who: `token:NAME` for an API token, a console user's name, or the system.
    pub actor: String,
    /// What: `case_opened`, `complaint_filed`, `identity_viewed`, an action's name …
    pub action: String,
    /// The event's details as recorded, any JSON (a plain string if it was not JSON); for an
    /// action, the case `before` and `after`. Null when there are none.
    pub detail: Option<Value>,
}

impl From<AuditEvent> for TimelineEvent {
    fn from(e: AuditEvent) -> TimelineEvent {
        let detail = e.detail.as_deref().map(|d| {
            serde_json::from_str::<Value>(d).unwrap_or_else(|_| Value::String(d.to_string()))
        });
        TimelineEvent {
            at: e.created_at,
            actor: e.actor,
            action: e.action,
            detail,
        }
    }
}

/// What happened to a referral: sent, reminded, acknowledged, an update from the department.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ReferralUpdate)]
pub struct ReferralUpdateView {
    pub kind: ReferralUpdateKind,
    pub author: String,
    pub body: Option<String>,
    #[serde(serialize_with = "crate::web::utc::serialize")]
    pub at: NaiveDateTime,
}

impl From<ReferralUpdate> for ReferralUpdateView {
    fn from(u: ReferralUpdate) -> ReferralUpdateView {
        ReferralUpdateView {
            kind: u.kind,
            author: u.author,
            body: u.body,
            at: u.created_at,
        }
    }
}

/// A joint-enforcement referral to another department, and its answers.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Referral)]
pub struct ReferralView {
    pub id: String,
    /// Department code: 发改, 住建, 公安 …
    pub department: String,
    pub status: ReferralStatus,
    pub reason: String,
    pub created_by: String,
    #[serde(serialize_with = "crate::web::utc::serialize")]
    pub created_at: NaiveDateTime,
    /// When the department is reminded if it has not acknowledged.
    pub reminder_due: NaiveDate,
    /// Reminders sent so far.
    pub reminders: i32,
    /// Not acknowledged by its deadline.
    pub overdue: bool,
    #[serde(serialize_with = "crate::web::utc::option::serialize")]
    pub acknowledged_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::web::utc::option::serialize")]
    pub answered_at: Option<NaiveDateTime>,
    pub updates: Vec<ReferralUpdateView>,
}

impl ReferralView {
    pub fn new(r: Referral, overdue: bool, updates: Vec<ReferralUpdateView>) -> ReferralView {
        ReferralView {
            status: r.status,
            id: r.id,
            department: r.department,
            reason: r.reason,
            created_by: r.created_by,
            created_at: r.created_at,
            reminder_due: r.reminder_due,
            reminders: r.reminders,
            overdue,
            acknowledged_at: r.acknowledged_at,
            answered_at: r.answered_at,
            updates,
        }
    }
}

/// A case with its complaints, pauses, audit timeline and referrals.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: CaseView,
    pub complaints: Vec<ComplaintView>,
    pub pauses: Vec<PauseView>,
    pub timeline: Vec<TimelineEvent>,
    pub referrals: Vec<ReferralView>,
}

/// A complainant with their full number, for the bureau to call them.
#[derive(Debug, Serialize, ToSchema)]
pub struct Complainant {
    pub contact_id: String,
    /// The full number, in international form.
    pub phone: String,
    /// The worker asked not to be named to the employer or to other departments.
    pub anonymous: bool,
    #[schema(value_type = Language)]
    pub language: String,
}

/// A case's complainants with their full numbers.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Complainants)]
pub struct ComplainantList {
    pub reference: String,
    pub complainants: Vec<Complainant>,
}

/// An action on a case, named by `action`. accept (立案); refuse {reason}; investigate;
/// request_info {reason} (the clock pauses and the worker is asked by SMS); info_received
/// (the clock runs again); request_extension {reason}; extend (+30 working days, once,
/// admin); record_mediation {note, recovered_yuan} (running total recovered); resolve
/// {recovered_yuan}; transfer {to}; close; assign {to}.
///
/// Every action's body has only the fields it names: any other, on any action, is refused with
/// a 400 naming it.
// The actions without fields are empty struct variants, not unit ones: serde reads a unit
// variant of an internally tagged enum from any object, whatever else the object holds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
#[schema(as = Action)]
pub enum ActionRequest {
    /// 立案: the case is accepted and its 60-working-day clock starts.
    Accept {},
    /// Not accepted; the worker is told the reason.
    Refuse {
        reason: String,
    },
    Investigate {},
    /// Ask the worker for missing facts by SMS; the clock stops until `info_received`.
    RequestInfo {
        reason: String,
    },
    /// The worker answered; the clock runs again.
    InfoReceived {},
    /// An inspector asks for the extension; the bureau head grants it with `extend`.
    RequestExtension {
        reason: String,
    },
    /// +30 working days, once, with the bureau head's approval (admin).
    Extend {},
    /// A mediation session and what the employer has paid so far (the running total).
    RecordMediation {
        note: String,
        #[schema(maximum = 1_000_000_000_000_u64)]
        recovered_yuan: u64,
    },
    /// Settled, with the amount recovered.
    Resolve {
        #[schema(maximum = 1_000_000_000_000_u64)]
        recovered_yuan: u64,
    },
    /// To the police (涉嫌拒不支付劳动报酬罪) or another office.
    Transfer {
        to: String,
    },
    Close {},
    /// To an inspector, by user name.
    Assign {
        to: String,
    },
}

impl From<ActionRequest> for Action {
    fn from(a: ActionRequest) -> Action {
        match a {
            ActionRequest::Accept {} => Action::Accept,
            ActionRequest::Refuse { reason } => Action::Refuse { reason },
            ActionRequest::Investigate {} => Action::Investigate,
            ActionRequest::RequestInfo { reason } => Action::RequestInfo { reason },
            ActionRequest::InfoReceived {} => Action::InfoReceived,
            ActionRequest::RequestExtension { reason } => Action::RequestExtension { reason },
            ActionRequest::Extend {} => Action::Extend,
            ActionRequest::RecordMediation {
                note,
                recovered_yuan,
            } => Action::RecordMediation {
                note,
                recovered_yuan,
            },
            ActionRequest::Resolve { recovered_yuan } => Action::Resolve { recovered_yuan },
            ActionRequest::Transfer { to } => Action::Transfer { to },
            ActionRequest::Close {} => Action::Close,
            ActionRequest::Assign { to } => Action::Assign { to },
        }
    }
}

/// The way back, matched on every `Action`: an action added to the domain does not compile here
/// until the API document has it too.
impl From<Action> for ActionRequest {
    fn from(a: Action) -> ActionRequest {
        match a {
            Action::Accept => ActionRequest::Accept {},
            Action::Refuse { reason } => ActionRequest::Refuse { reason },
            Action::Investigate => ActionRequest::Investigate {},
            Action::RequestInfo { reason } => ActionRequest::RequestInfo { reason },
            Action::InfoReceived => ActionRequest::InfoReceived {},
            Action::RequestExtension { reason } => ActionRequest::RequestExtension { reason },
            Action::Extend => ActionRequest::Extend {},
            Action::RecordMediation {
                note,
                recovered_yuan,
            } => ActionRequest::RecordMediation {
                note,
                recovered_yuan,
            },
            Action::Resolve { recovered_yuan } => ActionRequest::Resolve { recovered_yuan },
            Action::Transfer { to } => ActionRequest::Transfer { to },
            Action::Close => ActionRequest::Close {},
            Action::Assign { to } => ActionRequest::Assign { to },
        }
    }
}

/// A construction project from the registry, by the code on its site notice board.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Project)]
pub struct ProjectView {
    pub id: String,
    /// The code on the site notice board, e.g. `P2026-001`.
    pub code: String,
    pub name_zh: String,
    pub name_bo: Option<String>,
    pub county: String,
    /// The department in charge: 交通, 住建, 水利 …
    pub department: String,
    pub owner: Option<String>,
    pub contractor: Option<String>,
    /// Government-invested projects' cases come first.
    pub government_invested: bool,
    #[serde(serialize_with = "crate::web::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::web::utc::serialize")]
    pub updated_at: NaiveDateTime,
}

impl From<Project> for ProjectView {
    fn from(p: Project) -> ProjectView {
        ProjectView {
            id: p.id,
            code: p.code,
            name_zh: p.name_zh,
            name_bo: p.name_bo,
            county: p.county,
            department: p.department,
            owner: p.owner,
            contractor: p.contractor,
            government_invested: p.government_invested,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// Projects from the registry.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectList {
    pub items: Vec<ProjectView>,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct ImportReport {
    /// Codes not in the registry before.
    pub inserted: usize,
    /// Codes already registered whose details changed.
    pub updated: usize,
    /// Codes already registered with the same details (left untouched).
    pub unchanged: usize,
}

impl From<crate::projects::ImportReport> for ImportReport {
    fn from(r: crate::projects::ImportReport) -> ImportReport {
        ImportReport {
            inserted: r.inserted,
            updated: r.updated,
            unchanged: r.unchanged,
        }
    }
}

/// One bad line of an import file.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportProblem {
    /// The line number in the file; the header is line 1.
    pub line: u64,
    pub message: String,
}

/// The file has bad rows (or a bad header): nothing was written, every bad line is listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportProblems {
    pub error: String,
    /// Absent when the file cannot be read at all: then `error` says why.
    #[schema(required = false)]
    pub problems: Vec<ImportProblem>,
}

/// A worker on the labour-force register (劳动力资源台账).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Worker)]
pub struct WorkerView {
    pub contact_id: String,
    /// The whole number (E.164) on a worker's own route; masked (`+86139****0001`) in lists.
    pub phone: String,
    pub name: Option<String>,
    /// One of the bureau's counties (`counties` in the configuration), in Chinese.
    pub county: Option<String>,
    pub township: Option<String>,
    pub village: Option<String>,
    /// `m` or `f`.
    pub gender: Option<String>,
    pub birth_year: Option<i32>,
    /// Trade codes (`alerts.trades`), e.g. `construction`.
    pub trades: Vec<String>,
    pub training: Option<String>,
    /// `bo`, `zh` or `both`; null when the worker has not chosen (answers follow their script).
    pub language: Option<String>,
    /// `seeking`, `working` or `not_seeking`.
    pub employment: String,
    /// The worker stopped bulk SMS (STOP): no alert and no invitation reaches them.
    pub opted_out: bool,
    /// Consent to job alerts, and its proof: when and how it was given.
    pub alerts_consent: bool,
    #[serde(serialize_with = "crate::web::utc::option::serialize")]
    pub consent_at: Option<NaiveDateTime>,
    pub consent_source: Option<String>,
    /// When the one-time invitation SMS was queued.
    #[serde(serialize_with = "crate::web::utc::option::serialize")]
    pub invited_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::web::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::web::utc::serialize")]
    pub updated_at: NaiveDateTime,
}

impl WorkerView {
    pub fn new(l: &crate::alerts::register::Listed, masked: bool) -> WorkerView {
        let (w, c) = (&l.worker, &l.contact);
        WorkerView {
            contact_id: w.contact_id.to_string(),
            phone: if masked {
                crate::text::mask_phone(&c.phone)
            } else {
                c.phone.clone()
            },
            name: w.name.clone(),
            county: w.county.clone(),
            township: w.township.clone(),
            village: w.village.clone(),
            gender: w.gender.clone(),
            birth_year: w.birth_year,
            trades: w.trade_codes(),
            training: w.training.clone(),
            language: c.language_chosen.then(|| c.language.to_string()),
            employment: w.employment.to_string(),
            opted_out: c.opted_out,
            alerts_consent: w.alerts_consent,
            consent_at: w.consent_at,
            consent_source: w.consent_source.clone(),
            invited_at: w.invited_at,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// A page of the register.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerList {
    pub items: Vec<WorkerView>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// A worker's details to create or update, checked as an import row is. Every field is
/// optional: one left out stays as it is; `null` or `""` clears it (language and employment:
/// stay). Values may be written as in the CSV file (Chinese or English).
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)] // read as JSON by field name; this type is the document's
pub struct WorkerInput {
    pub name: Option<String>,
    #[schema(example = "城关区")]
    pub county: Option<String>,
    pub township: Option<String>,
    pub village: Option<String>,
    /// 男/女, m/f.
    pub gender: Option<String>,
    #[schema(example = 1990)]
    pub birth_year: Option<i32>,
    /// Trade codes or Chinese names, as a list or one text separated by 、，, ; or spaces.
    #[schema(example = json!(["construction", "运输"]))]
    pub trades: Option<Vec<String>>,
    pub training: Option<String>,
    /// 藏文/中文/双语 or bo/zh/both.
    pub language: Option<String>,
    /// 求职/在岗/不求职 or seeking/working/not_seeking.
    pub employment: Option<String>,
    /// true (or "是", "yes") records the worker's consent to job alerts, and needs `consent_source`.
    /// false changes nothing: consent is withdrawn only by the worker (T) or in the console.
    pub consent: Option<bool>,
    /// How and when the worker agreed, kept as the proof, e.g. `村委会纸质签字 2026-11-03`.
    pub consent_source: Option<String>,
}

/// The worker after a PUT.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerSaved {
    /// Not on the register before.
    pub created: bool,
    pub worker: WorkerView,
}

/// Fields that did not pass the checks, each with the reason; nothing was written.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrors {
    pub error: String,
    /// By field name (`county`, `trades` …); absent when the body is not JSON at all: then
    /// `error` says why.
    #[schema(required = false)]
    pub fields: std::collections::BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document's maximum for an amount recovered is the domain's.
    #[test]
    fn the_documented_maximum_recovered_is_the_domains() {
        let doc: Value = serde_json::from_str(crate::web::api::doc::json()).unwrap();
        let variants = doc["components"]["schemas"]["Action"]["oneOf"]
            .as_array()
            .unwrap();
        let maxima: Vec<u64> = variants
            .iter()
            .filter_map(|v| v["properties"]["recovered_yuan"]["maximum"].as_u64())
            .collect();
        assert_eq!(
            maxima,
            [crate::cases::actions::MAX_RECOVERED_YUAN; 2],
            "record_mediation and resolve"
        );
    }

    /// The documented action body reads every action the domain has, the same way.
    #[test]
    fn every_action_reads_as_the_api_documents_it() {
        for body in [
            r#"{"action":"accept"}"#,
            r#"{"action":"refuse","reason":"超过两年"}"#,
            r#"{"action":"record_mediation","note":"n","recovered_yuan":5}"#,
            r#"{"action":"assign","to":"wang"}"#,
        ] {
            let req: ActionRequest = serde_json::from_str(body).unwrap();
            let domain: Action = serde_json::from_str(body).unwrap();
            assert_eq!(Action::from(req.clone()), domain);
            assert_eq!(ActionRequest::from(domain), req);
        }
    }
}
