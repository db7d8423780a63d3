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
    let mut resp = render(
        state,
        Some(me),
        "users",
        json!({
            "title": state.pages.t("users.title"),
            "nav": "users",
            "users": rows,
            "departments": depts,
            "flash": flash.map(|(ok, text)| json!({ "ok": ok, "text": text })),
        }),
    )?;
    *resp.status_mut() = status;
    Ok(resp)
}

pub async fn users(state: web::Data<WebState>, me: Admin) -> Result<HttpResponse, ConsoleError> {
    users_page(&state, &me, None, actix_web::http::StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
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
    let st = state.clone();
    let done = state
        .db
        .run(move |c| -> Result<String, UserError> {
            let msg = match f.op.as_str() {
                "add" => {
                    let role = UserRole::parse(&f.role)
                        .ok_or_else(|| UserError::Invalid(format!("role {:?}", f.role)))?;
                    let dept = (role == UserRole::Liaison).then_some(f.department.as_str());
                    let u = users::create(
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
                    st.pages.t("users.created").replace("{{name}}", &u.username)
                }
                "disable" if !myself => {
                    users::set_active(c, &f.username, false)?;
                    if let Some(u) = users::by_username(c, &f.username)? {
                        sessions::end_all_of(c, &u.id)?;
                    }
                    st.pages.t("users.updated")
                }
                "enable" => {
                    users::set_active(c, &f.username, true)?;
                    st.pages.t("users.updated")
                }
                "password" => {
                    users::set_password(c, &f.username, &f.password)?;
                    if let Some(u) = users::by_username(c, &f.username)? {
                        if !myself {
                            sessions::end_all_of(c, &u.id)?;
                        }
                    }
                    st.pages.t("users.updated")
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
    match done {
        Ok(msg) => {
            users_page(
                &state,
                &me,
                Some((true, msg)),
                actix_web::http::StatusCode::OK,
            )
            .await
        }
        Err(UserError::Db(e)) => Err(e.into()),
        Err(e) => {
            users_page(
                &state,
                &me,
                Some((false, e.to_string())),
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
) -> Result<HttpResponse, ConsoleError> {
    let (list, counts, recent) = state
        .db
        .run(|c| -> Result<_, crate::db::DbError> {
            let list = departments::all(c)?;
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
    render(
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
        }),
    )
}

pub async fn departments(
    state: web::Data<WebState>,
    me: Admin,
) -> Result<HttpResponse, ConsoleError> {
    departments_page(&state, &me, None).await
}

#[derive(Debug, Deserialize)]
pub struct DepartmentForm {
    code: String,
    name_zh: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    active: String,
}

/// Adds a department or updates one (same code).
pub async fn departments_post(
    state: web::Data<WebState>,
    me: Admin,
    form: Form<DepartmentForm>,
) -> Result<HttpResponse, ConsoleError> {
    let f = form.into_inner();
    let code = f.code.trim().to_string();
    let name = f.name_zh.trim().to_string();
    let email = f.email.trim().to_string();
    if code.is_empty() || name.is_empty() {
        return departments_page(
            &state,
            &me,
            Some((false, state.pages.t("error.bad_request"))),
        )
        .await;
    }
    if !email.is_empty() && email.parse::<lettre::Address>().is_err() {
        return departments_page(
            &state,
            &me,
            Some((
                false,
                format!("{}: {email}", state.pages.t("error.bad_request")),
            )),
        )
        .await;
    }
    let input = DepartmentInput {
        code,
        name_zh: name,
        email: (!email.is_empty()).then_some(email),
        active: f.active == "1",
    };
    let actor = me.actor();
    state
        .db
        .run(move |c| departments::save(c, &input, &actor))
        .await?;
    departments_page(&state, &me, Some((true, state.pages.t("users.updated")))).await
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
    departments_page(&state, &me, Some((true, state.pages.t("jobs.requeued")))).await
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
