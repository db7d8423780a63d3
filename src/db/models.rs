//! Row structs (read) and insert forms (write), kept apart.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::{contacts, message_events, messages};

crate::text_enum! {
    /// A worker's language: Tibetan, Chinese, or both side by side.
    pub enum Language {
        Bo = "bo",
        Zh = "zh",
        Both = "both",
    }
}

crate::text_enum! {
    /// Status of a stored message. Inbound: received → handled (or error). Outbound:
    /// queued → sending → sent → delivered, or failed / expired.
    pub enum MessageStatus {
        Received = "received",
        Handled = "handled",
        Error = "error",
        Queued = "queued",
        Sending = "sending",
        Sent = "sent",
        Delivered = "delivered",
        Failed = "failed",
        Expired = "expired",
        /// Never sent: its notice was cancelled, or the worker opted out before it went.
        Cancelled = "cancelled",
    }
}

crate::text_id! {
    /// A case's id (not its reference, which workers type).
    pub struct CaseId;
}

crate::text_id! {
    /// A contact's id: one per phone number.
    pub struct ContactId;
}

crate::text_enum! {
    /// Which way a stored message went.
    pub enum Direction {
        In = "in",
        Out = "out",
    }
}

crate::text_enum! {
    /// A case's life cycle (`cases::rules` says which way it may go).
    pub enum CaseState {
        /// Received; the bureau decides within 5 working days whether to accept it.
        Received = "received",
        /// Accepted (立案); investigation within 60 working days.
        Accepted = "accepted",
        /// Not accepted, with a reason the worker is told.
        Refused = "refused",
        Investigating = "investigating",
        /// Settled; the amount recovered is recorded.
        Resolved = "resolved",
        /// Handed to the police or another office.
        Transferred = "transferred",
        Closed = "closed",
    }
}

crate::text_enum! {
    /// Where a case came from: a worker's complaint, or an early warning (follow-up answers
    /// of several workers saying an employer did not pay them) before anyone complained.
    pub enum CaseSource {
        Complaint = "complaint",
        EarlyWarning = "early_warning",
    }
}

crate::text_enum! {
    /// An SMS dialog: open until filed (`done`), cancelled by the worker, dropped after too
    /// long (`abandoned`), or given up for a call back after repeated wrong answers.
    pub enum ConversationStatus {
        Open = "open",
        Done = "done",
        Cancelled = "cancelled",
        Abandoned = "abandoned",
        Callback = "callback",
    }
}

crate::text_enum! {
    /// A joint-enforcement referral: sent, acknowledged by the department, answered, closed.
    pub enum ReferralStatus {
        Sent = "sent",
        Acknowledged = "acknowledged",
        Answered = "answered",
        Closed = "closed",
    }
}

crate::text_enum! {
    /// What happened to a referral.
    pub enum ReferralUpdateKind {
        Sent = "sent",
        Reminded = "reminded",
        Acknowledged = "acknowledged",
        Update = "update",
        Closed = "closed",
    }
}

crate::text_enum! {
    /// What an API token may do.
    pub enum ApiRole {
        /// Everything, including extensions and token management.
        Admin = "admin",
        /// Works cases: reads them, sees complainants, acts on them.
        Inspector = "inspector",
        /// A department's liaison: reads cases, never an anonymous complainant's identity.
        Liaison = "liaison",
        /// Employment service: the labour-force register, approving job notices, results.
        Officer = "officer",
        /// A labour broker: posts job notices for their agency, sees only those.
        Broker = "broker",
    }
}

impl ApiRole {
    /// Roles that read the case queue.
    pub const CASES: &'static [ApiRole] = &[ApiRole::Admin, ApiRole::Inspector, ApiRole::Liaison];
}

crate::text_enum! {
    /// A job is `queued` until a runner claims it (`running`, with a lease), then `done`, or
    /// back to `queued` with a later `run_at` after a temporary failure, or `failed`.
    pub enum JobStatus {
        Queued = "queued",
        Running = "running",
        Done = "done",
        Failed = "failed",
    }
}

/// Outbound priority: lower goes first. Replies to a worker jump ahead of bulk traffic.
pub const PRIORITY_REPLY: i32 = 0;
pub const PRIORITY_NOTICE: i32 = 1;
pub const PRIORITY_BULK: i32 = 2;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = contacts)]
pub struct Contact {
    pub id: ContactId,
    pub phone: String,
    pub language: Language,
    pub language_chosen: bool,
    pub opted_out: bool,
    pub opt_changed_at: Option<NaiveDateTime>,
    pub opt_changed_via: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Contact {
    pub fn lang(&self) -> Language {
        self.language
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = contacts)]
pub struct NewContact<'a> {
    pub id: &'a str,
    pub phone: &'a str,
    pub language: Language,
    pub language_chosen: bool,
    pub opted_out: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = messages)]
pub struct Message {
    pub id: String,
    pub channel_id: String,
    pub direction: Direction,
    pub contact_id: ContactId,
    pub phone: String,
    pub our_number: Option<String>,
    pub body: String,
    pub encoding: String,
    pub segments: i32,
    pub gateway_id: Option<String>,
    pub status: MessageStatus,
    pub priority: i32,
    pub kind: Option<String>,
    pub in_reply_to: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
    /// The job notice this alert carries.
    pub notice_id: Option<String>,
    /// The gateway's id of the one call that carries this message with others of the same
    /// text (an Android phone's message to several numbers); set before the call is made.
    pub batch_id: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = messages)]
pub struct NewMessage<'a> {
    pub id: &'a str,
    pub channel_id: &'a str,
    pub direction: Direction,
    pub contact_id: &'a str,
    pub phone: &'a str,
    pub our_number: Option<&'a str>,
    pub body: &'a str,
    pub encoding: &'a str,
    pub segments: i32,
    pub gateway_id: Option<&'a str>,
    pub status: MessageStatus,
    pub priority: i32,
    pub kind: Option<&'a str>,
    pub in_reply_to: Option<&'a str>,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// An incoming message's time as its gateway gave it.
    pub gateway_time: Option<&'a str>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = message_events)]
pub struct MessageEvent {
    pub id: String,
    pub message_id: String,
    pub status: MessageStatus,
    pub detail: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = message_events)]
pub struct NewMessageEvent<'a> {
    pub id: &'a str,
    pub message_id: &'a str,
    pub status: MessageStatus,
    pub detail: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

use super::schema::{audit_events, case_pauses, cases, complaints, conversations, projects};
use chrono::NaiveDate;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = projects)]
pub struct Project {
    pub id: String,
    pub code: String,
    pub name_zh: String,
    pub name_bo: Option<String>,
    pub county: String,
    pub department: String,
    pub owner: Option<String>,
    pub contractor: Option<String>,
    pub government_invested: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = projects)]
pub struct NewProject<'a> {
    pub id: &'a str,
    pub code: &'a str,
    pub name_zh: &'a str,
    pub name_bo: Option<&'a str>,
    pub county: &'a str,
    pub department: &'a str,
    pub owner: Option<&'a str>,
    pub contractor: Option<&'a str>,
    pub government_invested: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = conversations)]
pub struct Conversation {
    pub id: String,
    pub contact_id: ContactId,
    pub channel_id: String,
    pub kind: String,
    pub step: String,
    pub answers: String,
    pub failures: i32,
    pub status: ConversationStatus,
    pub language: Language,
    pub started_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = conversations)]
pub struct NewConversation<'a> {
    pub id: &'a str,
    pub contact_id: &'a str,
    pub channel_id: &'a str,
    pub kind: &'a str,
    pub step: &'a str,
    pub answers: &'a str,
    pub failures: i32,
    pub status: ConversationStatus,
    pub language: Language,
    pub started_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = cases)]
pub struct Case {
    pub id: CaseId,
    pub reference: String,
    pub state: CaseState,
    pub priority: i32,
    pub project_id: Option<String>,
    pub employer: String,
    pub employer_key: String,
    pub county: String,
    pub collective: bool,
    pub representative_id: Option<ContactId>,
    pub workers: i32,
    pub amount_yuan: i64,
    pub received_on: NaiveDate,
    pub accept_due: Option<NaiveDate>,
    pub accepted_on: Option<NaiveDate>,
    pub finish_due: Option<NaiveDate>,
    pub extension_days: i32,
    pub refusal_reason: Option<String>,
    pub recovered_yuan: Option<i64>,
    pub transferred_to: Option<String>,
    pub assigned_to: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The day the 60-day clock stopped for good: resolved, transferred or refused.
    pub finished_on: Option<NaiveDate>,
    /// An inspector asked for the +30-day extension; a supervisor approves it.
    pub extension_requested_by: Option<String>,
    pub source: CaseSource,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = cases)]
pub struct NewCase<'a> {
    pub id: &'a str,
    pub reference: &'a str,
    pub state: CaseState,
    pub priority: i32,
    pub project_id: Option<&'a str>,
    pub employer: &'a str,
    pub employer_key: &'a str,
    pub county: &'a str,
    pub collective: bool,
    pub representative_id: Option<&'a str>,
    pub workers: i32,
    pub amount_yuan: i64,
    pub received_on: NaiveDate,
    pub accept_due: Option<NaiveDate>,
    pub extension_days: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub source: CaseSource,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = complaints)]
pub struct Complaint {
    pub id: String,
    pub case_id: CaseId,
    pub contact_id: ContactId,
    pub conversation_id: Option<String>,
    pub project_id: Option<String>,
    pub employer: String,
    pub county: String,
    pub workers: i32,
    pub amount_yuan: i64,
    pub months: Option<i32>,
    pub anonymous: bool,
    pub language: Language,
    pub channel_id: String,
    pub created_at: NaiveDateTime,
    /// Kept from a dialog that stalled: the bureau calls the worker back to complete it.
    pub needs_callback: bool,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = complaints)]
pub struct NewComplaint<'a> {
    pub id: &'a str,
    pub case_id: &'a str,
    pub contact_id: &'a str,
    pub conversation_id: Option<&'a str>,
    pub project_id: Option<&'a str>,
    pub employer: &'a str,
    pub county: &'a str,
    pub workers: i32,
    pub amount_yuan: i64,
    pub months: Option<i32>,
    pub anonymous: bool,
    pub language: Language,
    pub channel_id: &'a str,
    pub created_at: NaiveDateTime,
    pub needs_callback: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = case_pauses)]
pub struct CasePause {
    pub id: String,
    pub case_id: CaseId,
    pub paused_on: NaiveDate,
    pub resumed_on: Option<NaiveDate>,
    pub reason: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: String,
    pub case_id: Option<CaseId>,
    pub actor: String,
    pub action: String,
    pub detail: Option<String>,
    pub created_at: NaiveDateTime,
    /// What the event is about when not a case: `notice:<id>`, `worker:<contact id>`.
    pub subject: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent<'a> {
    pub id: &'a str,
    pub case_id: Option<&'a str>,
    pub actor: &'a str,
    pub action: &'a str,
    pub detail: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub subject: Option<&'a str>,
}

use super::schema::api_tokens;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub role: ApiRole,
    #[serde(skip)]
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    /// A broker's agency.
    pub agency: Option<String>,
    /// A liaison's department (its code).
    pub department: Option<String>,
}

use super::schema::{departments, jobs, referral_updates, referrals, sessions};

/// A signed-in console session; `id` is the SHA-256 of the cookie's value.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// A unit of background work (an email to send), retried with backoff until done or failed.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub dedupe_key: Option<String>,
    pub status: JobStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: NaiveDateTime,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub done_at: Option<NaiveDateTime>,
}

/// A department that joint-enforcement referrals go to (住建, 发改, 公安 …).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = departments, primary_key(code))]
pub struct Department {
    pub code: String,
    pub name_zh: String,
    pub email: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A case referred to a department for joint enforcement.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = referrals)]
pub struct Referral {
    pub id: String,
    pub case_id: CaseId,
    pub department: String,
    pub email: String,
    pub reason: String,
    pub status: ReferralStatus,
    pub created_by: String,
    pub link_expires_at: NaiveDateTime,
    pub reminder_due: NaiveDate,
    pub reminders: i32,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub answered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What happened to a referral: sent, reminded, acknowledged, an update from the department.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = referral_updates)]
pub struct ReferralUpdate {
    pub id: String,
    pub referral_id: String,
    pub kind: ReferralUpdateKind,
    pub author: String,
    pub body: Option<String>,
    pub created_at: NaiveDateTime,
}
