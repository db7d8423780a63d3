//! Admin pages: console users and the departments referrals go to.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{render, Admin, Button, ConsoleError, Form, Me};
use crate::accounts::sessions;
use crate::accounts::users::{self, UserError, UserRole};
use crate::cases::departments::{self, DepartmentInput};
use crate::db::models::JobStatus;
use crate::web::WebState;

async fn users_page(
    state: &WebState,
    me: &Me,
    flash: Option<(bool, String)>,
    typed: Option<&UserForm>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let st = state.clone();
    let (list, depts) = state
        .db
        .run(move |c| -> Result<_, crate::db::DbError> {
            let list = users::list(c)?;
            let depts = departments::codes(c)?;
            Ok((list, depts))
        })
        .await?;
    let rows: Vec<_> = list
        .iter()
        .map(|u| {
            json!({
                "username": u.username,
                "name": u.display_name,
                "role": u.role,
                "role_name": st.pages.t(&format!("role.{}", u.role)),
                "department": u.department,
                "active": u.active,
                "last_login": u.last_login_at.map(|t| st.config.local_minute(t)),
                "is_me": u.id == me.user.id,
            })
        })
        .collect();
    let roles: Vec<_> = [
        UserRole::Inspector,
        UserRole::Supervisor,
        UserRole::Liaison,
        UserRole::Officer,
        UserRole::Broker,
        UserRole::Admin,
    ]
    .iter()
    .map(|r| json!({ "code": r.as_str(), "name": state.pages.t(&format!("role.{}", r.as_str())) }))
    .collect();
    let mut resp = render(
        state,
        Some(me),
        "users",
        json!({
            "title": state.pages.t("users.title"),
            "nav": "users",
            "users": rows,
            "departments": depts,
            "roles": roles,
            "flash": flash.map(|(ok, text)| json!({ "ok": ok, "text": text })),
            // What was typed into the add form, back after a refusal (never the password).
            "typed": typed.filter(|f| f.op == "add").map_or_else(
                || json!({ "username": "", "display_name": "", "role": "inspector", "department": "", "agency": "" }),
                |f| json!({
                    "username": f.username,
                    "display_name": f.display_name,
                    "role": f.role,
                    "department": f.department,
                    "agency": f.agency,
                }),
            ),
        }),
    )?;
    *resp.status_mut() = status;
    Ok(resp)
}

/// Where a console form lands after it succeeded: `?ok=KEY` names the strings-file message.
#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    ok: Option<String>,
    /// What the message is about (a username, a department code).
    about: Option<String>,
}

impl DoneQuery {
    /// The flash for `?ok=KEY` in `section` of the strings file; unknown keys show nothing.
    fn flash(&self, state: &WebState, section: &str, known: &[&str]) -> Option<(bool, String)> {
        let key = self.ok.as_deref().filter(|k| known.contains(k))?;
        let about = self.about.clone().unwrap_or_default();
        Some((
            true,
            state
                .pages
                .t(&format!("{section}.{key}"))
                .replace("{{name}}", &about),
        ))
    }
}

fn done_redirect(to: &str, key: &str, about: &str) -> HttpResponse {
    let about = percent_encoding::utf8_percent_encode(about, percent_encoding::NON_ALPHANUMERIC);
    super::redirect(&format!("{to}?ok={key}&about={about}"))
}

const USER_MESSAGES: &[&str] = &[
    "created",
    "updated",
    "done_disabled",
    "done_enabled",
    "password_set",
];

pub async fn users(
    state: web::Data<WebState>,
    me: Admin,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let flash = q.flash(&state, "users", USER_MESSAGES);
    users_page(&state, &me, flash, None, actix_web::http::StatusCode::OK).await
}

/// A refusal in the console's words.
fn user_error_text(state: &WebState, e: &UserError) -> String {
    let t = |k: &str| state.pages.t(&format!("users.error_{k}"));
    match e {
        UserError::BadUsername => t("username"),
        UserError::NoName => t("name"),
        UserError::NoDepartment => t("department"),
        UserError::UnknownDepartment { given, .. } => {
            t("unknown_department").replace("{{name}}", given)
        }
        UserError::NoAgency => t("agency"),
        UserError::ShortPassword => t("password"),
        UserError::Exists(u) => t("exists").replace("{{name}}", u),
        UserError::NotFound(u) => t("not_found").replace("{{name}}", u),
        UserError::Invalid(_) | UserError::Db(_) => state.pages.t("error.bad_request"),
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct UserForm {
    op: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    department: String,
    /// A broker's agency.
    #[serde(default)]
    agency: String,
    #[serde(default)]
    password: String,
}

pub async fn users_post(
    state: web::Data<WebState>,
    me: Admin,
    form: Form<UserForm>,
) -> Result<HttpResponse, ConsoleError> {
    let f = form.into_inner();
    let actor = me.actor();
    let myself = f.username.trim().eq_ignore_ascii_case(&me.user.username);
    let typed = UserForm {
        password: String::new(),
        ..f.clone()
    };
    let result = state
        .db
        .run(move |c| -> Result<&'static str, UserError> {
            let msg = match f.op.as_str() {
                "add" => {
                    let role = UserRole::parse(&f.role)
                        .ok_or_else(|| UserError::Invalid(format!("role {:?}", f.role)))?;
                    let dept = (role == UserRole::Liaison).then_some(f.department.as_str());
                    users::create(
                        c,
                        &users::NewUser {
                            username: &f.username,
                            display_name: &f.display_name,
                            role,
                            department: dept,
                            agency: (role == UserRole::Broker).then_some(f.agency.as_str()),
                            password: &f.password,
                        },
                    )?;
                    "created"
                }
                "disable" if !myself => {
                    users::set_active(c, &f.username, false)?;
                    if let Some(u) = users::by_username(c, &f.username)? {
                        sessions::end_all_of(c, &u.id)?;
                    }
                    "done_disabled"
                }
                "enable" => {
                    users::set_active(c, &f.username, true)?;
                    "done_enabled"
                }
                "password" => {
                    users::set_password(c, &f.username, &f.password)?;
                    if let Some(u) = users::by_username(c, &f.username)? {
                        if !myself {
                            sessions::end_all_of(c, &u.id)?;
                        }
                    }
                    "password_set"
                }
                other => return Err(UserError::Invalid(format!("op {other:?}"))),
            };
            crate::cases::audit(
                c,
                None,
                &actor,
                "user_admin",
                Some(
                    &json!({ "op": f.op, "username": f.username.trim().to_lowercase() })
                        .to_string(),
                ),
            )?;
            Ok(msg)
        })
        .await;
    match result {
        Ok(key) => Ok(done_redirect(
            "/console/users",
            key,
            &typed.username.trim().to_lowercase(),
        )),
        Err(UserError::Db(e)) => Err(e.into()),
        Err(e) => {
            let text = user_error_text(&state, &e);
            users_page(
                &state,
                &me,
                Some((false, text)),
                Some(&typed),
                actix_web::http::StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

async fn departments_page(
    state: &WebState,
    me: &Me,
    flash: Option<(bool, String)>,
    typed: Option<&DepartmentForm>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let (list, counts, recent) = state
        .db
        .run(|c| -> Result<_, crate::db::DbError> {
            let mut list = Vec::new();
            for d in departments::all(c)? {
                let open = departments::open_referrals(c, &d.code)?;
                list.push((d, open));
            }
            Ok((
                list,
                crate::work::jobs::counts(c)?,
                crate::work::jobs::recent(c, 50)?,
            ))
        })
        .await?;
    // The email queue as the admin needs it: what waits, what failed and why.
    let jobs: Vec<_> = recent
        .iter()
        .filter(|j| j.status != JobStatus::Done)
        .map(|j| {
            let email: Option<crate::mail::Email> = serde_json::from_str(&j.payload).ok();
            json!({
                "id": j.id,
                "status": j.status,
                "status_name": state.pages.t(&format!("jobs.{}", j.status)),
                "to": email.as_ref().map(|e| e.to.join(", ")),
                "subject": email.as_ref().map(|e| e.subject.clone()),
                "attempts": j.attempts,
                "run_at": state.config.local_minute(j.run_at),
                "last_error": j.last_error,
                "failed": j.status == JobStatus::Failed,
            })
        })
        .collect();
    let counts: Vec<_> = counts
        .iter()
        .map(|(s, n)| json!({ "name": state.pages.t(&format!("jobs.{s}")), "n": n }))
        .collect();
    let typed_code = typed.map(|f| f.code.trim().to_string());
    // The department a refused edit was about shows what was typed, not what is stored.
    let list: Vec<serde_json::Value> = list
        .iter()
        .map(|(d, open)| {
            let edited = typed.filter(|f| f.op == "edit" && typed_code.as_deref() == Some(&d.code));
            json!({
                "code": d.code,
                "name_zh": edited.map_or(d.name_zh.clone(), |f| f.name_zh.clone()),
                "email": edited.map_or(d.email.clone(), |f| Some(f.email.clone())),
                "active": edited.map_or(d.active, |f| f.active == "1"),
                "open_referrals": open,
            })
        })
        .collect();
    let mut resp = render(
        state,
        Some(me),
        "departments",
        json!({
            "title": state.pages.t("departments.title"),
            "nav": "departments",
            "departments": list,
            "jobs": jobs,
            "job_counts": counts,
            "smtp_configured": state.config.smtp.host.is_some(),
            "flash": flash.map(|(ok, text)| json!({ "ok": ok, "text": text })),
            "typed": typed.filter(|f| f.op != "edit").map_or_else(
                || json!({ "code": "", "name_zh": "", "email": "" }),
                |f| json!({ "code": f.code, "name_zh": f.name_zh, "email": f.email }),
            ),
        }),
    )?;
    *resp.status_mut() = status;
    Ok(resp)
}

const DEPARTMENT_MESSAGES: &[&str] = &["added", "saved", "requeued"];

pub async fn departments(
    state: web::Data<WebState>,
    me: Admin,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let flash = q.flash(&state, "departments", DEPARTMENT_MESSAGES);
    departments_page(&state, &me, flash, None, actix_web::http::StatusCode::OK).await
}

#[derive(Debug, Clone, Deserialize)]
pub struct DepartmentForm {
    /// `add` (a new code) or `edit` (an existing one); adding never overwrites.
    #[serde(default)]
    op: String,
    code: String,
    name_zh: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    active: String,
}

/// Adds a department (`op=add`, refused for a code that exists) or edits one (`op=edit`).
pub async fn departments_post(
    state: web::Data<WebState>,
    me: Admin,
    form: Form<DepartmentForm>,
) -> Result<HttpResponse, ConsoleError> {
    use crate::cases::departments::DepartmentError;
    let f = form.into_inner();
    let code = f.code.trim().to_string();
    let name = f.name_zh.trim().to_string();
    let email = f.email.trim().to_string();
    let t = |k: &str| state.pages.t(&format!("departments.{k}"));
    let refuse =
        |text: String, status| departments_page(&state, &me, Some((false, text)), Some(&f), status);
    if code.is_empty() || name.is_empty() {
        return refuse(t("error_missing"), actix_web::http::StatusCode::BAD_REQUEST).await;
    }
    if !email.is_empty() && email.parse::<lettre::Address>().is_err() {
        return refuse(
            t("error_email").replace("{{name}}", &email),
            actix_web::http::StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let input = DepartmentInput {
        code: code.clone(),
        name_zh: name,
        email: (!email.is_empty()).then_some(email),
        active: f.op != "edit" || f.active == "1",
    };
    let actor = me.actor();
    let adding = f.op != "edit";
    let result = state
        .db
        .run(move |c| {
            if adding {
                departments::add(c, &input, &actor)
            } else {
                departments::edit(c, &input, &actor)
            }
        })
        .await;
    match result {
        Ok(()) => Ok(done_redirect(
            "/console/departments",
            if adding { "added" } else { "saved" },
            &code,
        )),
        Err(DepartmentError::Exists(c)) => {
            refuse(
                t("error_exists").replace("{{name}}", &c),
                actix_web::http::StatusCode::CONFLICT,
            )
            .await
        }
        Err(DepartmentError::NotFound(_)) => Err(ConsoleError::NotFound),
        Err(DepartmentError::OpenReferrals { code, open }) => {
            refuse(
                t("error_open_referrals")
                    .replace("{{name}}", &code)
                    .replace("{{n}}", &open.to_string()),
                actix_web::http::StatusCode::CONFLICT,
            )
            .await
        }
        Err(DepartmentError::Db(e)) => Err(e.into()),
    }
}

/// Puts a failed email back in the queue (after the address or the SMTP settings are fixed).
pub async fn retry_job(
    state: web::Data<WebState>,
    me: Admin,
    path: web::Path<String>,
    _: Button,
) -> Result<HttpResponse, ConsoleError> {
    let id = path.into_inner();
    let actor = me.actor();
    let done = state
        .db
        .run(move |c| {
            crate::db::transaction(c, |c| -> Result<bool, crate::db::DbError> {
                let ok = crate::work::jobs::retry(c, &id)?;
                if ok {
                    crate::cases::audit(
                        c,
                        None,
                        &actor,
                        "job_retried",
                        Some(&json!({ "job": id }).to_string()),
                    )?;
                }
                Ok(ok)
            })
        })
        .await?;
    if !done {
        return Err(ConsoleError::NotFound);
    }
    state.jobs_wake.notify_one();
    Ok(done_redirect("/console/departments", "requeued", ""))
}

/// The gateways: each channel's kind, counties, rate, queue and last activity.
pub async fn channels(state: web::Data<WebState>, me: Admin) -> Result<HttpResponse, ConsoleError> {
    let ids: Vec<String> = state
        .channels
        .iter()
        .map(|c| c.config().id.clone())
        .filter(|id| id != crate::sms::channels::SIMULATOR)
        .collect();
    let activity = state
        .db
        .run(move |c| -> Result<_, crate::db::DbError> {
            ids.into_iter()
                .map(|id| Ok((crate::sms::outbox::channel_activity(c, &id)?, id)))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    let rows: Vec<_> = activity
        .into_iter()
        .filter_map(|(a, id)| {
            let cfg = state.channels.get(&id)?.config();
            Some(json!({
                "id": id,
                "kind": state.pages.t(&format!("channel_kind.{}", cfg.kind.as_str())),
                "number": cfg.number,
                "counties": cfg.counties.join("、"),
                "tps": cfg.tps,
                "default": id == state.channels.default_id(),
                "depth": a.depth,
                "last_received": a.last_received.map(|t| state.config.local_minute(t)),
                "last_sent": a.last_sent.map(|t| state.config.local_minute(t)),
                "last_error": a.last_error.map(|(t, e)| format!("{} {e}", state.config.local_minute(t))),
                "unreachable_since": state.metrics.unreachable_since(&id).map(|t| state.config.local_minute(t)),
            }))
        })
        .collect();
    render(
        &state,
        Some(&me),
        "channels",
        json!({
            "title": state.pages.t("channels.title"),
            "nav": "channels",
            "channels": rows,
        }),
    )
}
