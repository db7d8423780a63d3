//! Job notices in the console. A broker drafts one (the SMS texts drafted from the fields, a
//! live count of characters, encoding, segments and cost), submits it, and follows its
//! results; an officer sees the checks and who it would reach, then approves (with the
//! targeting and a send time), sends it back, rejects it, or cancels it later.
//!
//! A broker sees their agency's notices only, never the register, and a worker's number only
//! when that worker agreed to share it.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::guard::{NoticeUsers, Officers};
use super::{redirect, render, Authorized, ConsoleError, Form, Me};
use crate::accounts::users::UserRole;
use crate::alerts::notices::{self, FieldError, Notice, NoticeError, NoticeInput, Targeting};
use crate::alerts::{send, NoticeStatus};
use crate::db::DbConn;
use crate::web::WebState;

type NoticeUser = Authorized<NoticeUsers>;
type Officer = Authorized<Officers>;

impl From<NoticeError> for ConsoleError {
    fn from(e: NoticeError) -> Self {
        match e {
            NoticeError::NotFound => ConsoleError::NotFound,
            NoticeError::Db(e) => e.into(),
            other => ConsoleError::BadRequest(other.to_string()),
        }
    }
}

/// The agency whose notices (and placements) this user sees; None: all (officers, admins).
pub(super) fn agency_of(me: &Me) -> Result<Option<String>, ConsoleError> {
    match me.role {
        UserRole::Broker => me
            .user
            .agency
            .clone()
            .map(Some)
            .ok_or(ConsoleError::Forbidden),
        _ => Ok(None),
    }
}

/// A notice this user may see; another agency's is as if it did not exist.
fn load(c: &mut DbConn, code: &str, agency: Option<&str>) -> Result<Notice, ConsoleError> {
    let n = notices::by_code(c, code)?.ok_or(ConsoleError::NotFound)?;
    if agency.is_some_and(|a| a != n.agency) {
        return Err(ConsoleError::NotFound);
    }
    Ok(n)
}

fn env(state: &WebState) -> notices::Env<'_> {
    notices::Env::of(state)
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
}

pub async fn list(
    state: web::Data<WebState>,
    me: NoticeUser,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let agency = agency_of(&me)?;
    let status = NoticeStatus::parse(&q.status);
    let st = state.clone();
    let rows = state
        .db
        .run(move |c| -> Result<Vec<Value>, ConsoleError> {
            let found = notices::list(c, agency.as_deref(), status, 300)?;
            found
                .iter()
                .map(|n| {
                    let r = if n.status == NoticeStatus::Approved
                        || n.status == NoticeStatus::Cancelled
                    {
                        Some(send::results(c, st.config.alerts.price_per_segment, &n.id)?)
                    } else {
                        None
                    };
                    Ok(json!({
                        "code": n.code,
                        "title": n.title,
                        "agency": n.agency,
                        "status": n.status.as_str(),
                        "status_name": st.pages.t(&format!("notice_status.{}", n.status)),
                        "created": st.config.local_minute(n.created_at),
                        "valid_until": n.valid_until.to_string(),
                        "expired": n.valid_until < st.config.today(),
                        "results": r,
                    }))
                })
                .collect()
        })
        .await?;
    let statuses: Vec<Value> = NoticeStatus::ALL
        .iter()
        .map(|s| json!({ "value": s.as_str(), "name": state.pages.t(&format!("notice_status.{s}")), "on": q.status == s.as_str() }))
        .collect();
    render(
        &state,
        Some(&me),
        "notices",
        json!({
            "title": state.pages.t("notice.list_title"),
            "nav": "notices",
            "items": rows,
            "statuses": statuses,
            "is_broker": me.role == UserRole::Broker,
        }),
    )
}

/// The form's choices and what the live counter needs.
fn form_data(state: &WebState, input: &NoticeInput, code: &str) -> Value {
    let cfg = &state.config;
    let pick = |list: Vec<(String, String)>, on: &str| -> Vec<Value> {
        list.into_iter()
            .map(|(v, name)| json!({ "value": v, "name": name, "on": v == on }))
            .collect()
    };
    let counties = pick(
        cfg.counties
            .iter()
            .map(|c| (c.zh.clone(), c.zh.clone()))
            .collect(),
        &input.county,
    );
    let trades = pick(
        cfg.alerts
            .trades
            .iter()
            .map(|t| (t.code.clone(), t.zh.clone()))
            .collect(),
        &input.trade,
    );
    let units = pick(
        crate::alerts::WageUnit::ALL
            .iter()
            .map(|u| {
                (
                    u.as_str().to_string(),
                    state.pages.t(&format!("wage_unit.{u}")),
                )
            })
            .collect(),
        &input.wage_unit,
    );
    let boards = pick(
        crate::alerts::BoardLodging::ALL
            .iter()
            .map(|b| (b.as_str().to_string(), state.pages.t(&format!("board.{b}"))))
            .collect(),
        &input.board_lodging,
    );
    // What the worker's SMS adds around the text: the counter measures the whole SMS.
    let around = |lang: &str| {
        let whole = notices::alert_sms(&state.templates, lang, "\u{1}", code).unwrap_or_default();
        let (a, b) = whole.split_once('\u{1}').unwrap_or(("", ""));
        json!({ "before": a, "after": b })
    };
    json!({
        "input": {
            "title": input.title, "employer": input.employer, "place_outside": input.place_outside,
            "workers_wanted": input.workers_wanted, "wage": input.wage, "pay_terms": input.pay_terms,
            "start_on": input.start_on, "duration": input.duration, "contact_phone": input.contact_phone,
            "project_code": input.project_code, "valid_until": input.valid_until,
            "text_zh": input.text_zh, "text_bo": input.text_bo,
        },
        "counties": counties,
        "trades": trades,
        "units": units,
        "boards": boards,
        "around_zh": around("zh"),
        "around_bo": around("bo"),
        "max_segments": cfg.alerts.max_segments,
        "price": cfg.alerts.price_per_segment,
    })
}

fn input_of(n: &Notice) -> NoticeInput {
    NoticeInput {
        title: n.title.clone(),
        employer: n.employer.clone(),
        county: n.county.clone().unwrap_or_default(),
        place_outside: n.place_outside.clone().unwrap_or_default(),
        trade: n.trade.clone(),
        workers_wanted: n.workers_wanted.to_string(),
        wage: n.wage_yuan(),
        wage_unit: n.wage_unit.as_str().into(),
        pay_terms: n.pay_terms.clone(),
        start_on: n.start_on.to_string(),
        duration: n.duration.clone(),
        board_lodging: n.board_lodging.as_str().into(),
        contact_phone: crate::text::phone::national(&n.contact_phone),
        project_code: n.project_code.clone().unwrap_or_default(),
        valid_until: n.valid_until.to_string(),
        text_zh: n.text_zh.clone(),
        text_bo: n.text_bo.clone().unwrap_or_default(),
    }
}

/// The form again, with the problems next to their fields.
fn form_page(
    state: &WebState,
    me: &Me,
    input: &NoticeInput,
    code: Option<&str>,
    errors: &[FieldError],
    status: u16,
) -> Result<HttpResponse, ConsoleError> {
    let mut data = form_data(state, input, code.unwrap_or("0000"));
    let errs: Vec<Value> = errors
        .iter()
        .map(|e| {
            let text = state
                .pages
                .t(&format!("notice_errors.{}", e.code))
                .replace("{{detail}}", e.detail.as_deref().unwrap_or(""));
            json!({ "field": e.field, "label": state.pages.t(&format!("notice.field_{}", e.field)), "text": text })
        })
        .collect();
    data["errors"] = json!(errs);
    data["over_text"] = json!(state
        .pages
        .t("notice.over_budget")
        .replace("{{max}}", &state.config.alerts.max_segments.to_string()));
    data["has_errors"] = json!(!errors.is_empty());
    data["code"] = json!(code);
    data["title"] = json!(state.pages.t(if code.is_some() {
        "notice.edit_title"
    } else {
        "notice.new_title"
    }));
    data["nav"] = json!("notices");
    let mut res = render(state, Some(me), "notice_form", data)?;
    *res.status_mut() = actix_web::http::StatusCode::from_u16(status).unwrap_or_default();
    Ok(res)
}

pub async fn new_form(
    state: web::Data<WebState>,
    me: NoticeUser,
) -> Result<HttpResponse, ConsoleError> {
    me.require(&[UserRole::Broker])?;
    let today = state.config.today();
    let input = NoticeInput {
        wage_unit: "day".into(),
        board_lodging: "both".into(),
        start_on: (today + chrono::Duration::days(7)).to_string(),
        valid_until: (today + chrono::Duration::days(14)).to_string(),
        ..NoticeInput::default()
    };
    form_page(&state, &me, &input, None, &[], 200)
}

#[derive(Debug, Deserialize)]
pub struct NoticeForm {
    /// `draft`: fill the texts from the fields; `save`; `submit`: save and ask for approval.
    op: String,
    #[serde(flatten)]
    input: NoticeInput,
}

/// Creates (no code) or changes a broker's notice.
async fn save(
    state: web::Data<WebState>,
    me: NoticeUser,
    code: Option<String>,
    form: NoticeForm,
) -> Result<HttpResponse, ConsoleError> {
    me.require(&[UserRole::Broker])?;
    let agency = agency_of(&me)?.ok_or(ConsoleError::Forbidden)?;
    let NoticeForm { op, mut input } = form;
    if op == "draft" {
        // The texts drafted from the fields, for the broker to edit before saving.
        input.text_zh = String::new();
        let valid = notices::validate(&env(&state), &input);
        return match valid {
            Ok(v) => {
                input.text_zh = v.text_zh.clone();
                input.text_bo = notices::draft(&env(&state), &v, "bo").unwrap_or_default();
                form_page(&state, &me, &input, code.as_deref(), &[], 200)
            }
            Err(errors) => form_page(&state, &me, &input, code.as_deref(), &errors, 400),
        };
    }
    let valid = match notices::validate(&env(&state), &input) {
        Ok(v) => v,
        Err(errors) => return form_page(&state, &me, &input, code.as_deref(), &errors, 400),
    };
    let actor = me.actor();
    let submit = op == "submit";
    let saved = state
        .db
        .run(move |c| -> Result<Notice, ConsoleError> {
            let n = match &code {
                Some(code) => {
                    let n = load(c, code, Some(&agency))?;
                    notices::update(c, &n.id, &valid, &actor)?
                }
                None => notices::create(c, &valid, &agency, &actor)?,
            };
            Ok(if submit {
                notices::submit(c, &n.id, &actor)?
            } else {
                n
            })
        })
        .await?;
    Ok(redirect(&format!("/console/notices/{}", saved.code)))
}

pub async fn create(
    state: web::Data<WebState>,
    me: NoticeUser,
    form: Form<NoticeForm>,
) -> Result<HttpResponse, ConsoleError> {
    save(state, me, None, form.into_inner()).await
}

pub async fn update(
    state: web::Data<WebState>,
    me: NoticeUser,
    path: web::Path<String>,
    form: Form<NoticeForm>,
) -> Result<HttpResponse, ConsoleError> {
    save(state, me, Some(path.into_inner()), form.into_inner()).await
}

pub async fn edit_form(
    state: web::Data<WebState>,
    me: NoticeUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    me.require(&[UserRole::Broker])?;
    let agency = agency_of(&me)?;
    let code = path.into_inner();
    let c2 = code.clone();
    let n = state
        .db
        .run(move |c| load(c, &c2, agency.as_deref()))
        .await?;
    if !n.editable() {
        return Ok(redirect(&format!("/console/notices/{code}")));
    }
    form_page(&state, &me, &input_of(&n), Some(&code), &[], 200)
}

/// The officer's targeting, from the query (preview) or the approval form.
fn targeting_of(pairs: &[(String, String)]) -> Targeting {
    let all = |k: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(key, v)| key == k && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    };
    Targeting {
        counties: all("county"),
        trades: all("trade"),
        languages: all("language"),
        seeking_only: Some(!pairs.iter().any(|(k, v)| k == "everyone" && v == "1")),
    }
}

pub async fn page(
    state: web::Data<WebState>,
    me: NoticeUser,
    path: web::Path<String>,
    q: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    let agency = agency_of(&me)?;
    let officer = me.role.runs_alerts();
    let code = path.into_inner();
    let asked = q.into_inner();
    let st = state.clone();
    let data = state
        .db
        .run(move |c| -> Result<Value, ConsoleError> {
            let n = load(c, &code, agency.as_deref())?;
            let mut v = notice_json(&st, &n);
            if n.status == NoticeStatus::Approved || n.status == NoticeStatus::Cancelled {
                v["results"] = json!(send::results(c, st.config.alerts.price_per_segment, &n.id)?);
                v["shared"] = json!(send::shared_with_broker(c, &n.id)?);
            }
            if officer {
                let checks: Vec<Value> = notices::checks(c, &st.config.alerts, &n)?
                    .into_iter()
                    .map(|k| check_json(&st, &k))
                    .collect();
                v["checks"] = json!(checks);
                // The broker's record so far, beside the notice waiting for approval.
                let today = st.config.local(st.time.now()).date();
                if let Some(r) = crate::followups::stats::records(c, Some(&n.agency), today)?
                    .into_iter()
                    .next()
                {
                    v["record"] = super::followups::record_json(&r);
                }
                if n.status == NoticeStatus::Submitted {
                    // The officer's targeting as asked in the query, else the notice's own.
                    let mut probe = n.clone();
                    let t = if asked.iter().any(|(k, _)| k == "preview") {
                        targeting_of(&asked)
                    } else {
                        n.targeting()
                    };
                    probe.targeting = serde_json::to_string(&t).unwrap_or_default();
                    let preview = send::preview(c, &st, &probe)?;
                    v["preview_cost"] = json!(format!("{:.2}", preview.cost_yuan));
                    v["preview"] = json!(preview);
                    v["targeting"] = targeting_json(&st, &probe);
                }
                let names = crate::accounts::users::display_names(c)?;
                let trail: Vec<Value> = crate::cases::audit_of(c, &notices::subject(&n.id))?
                    .iter()
                    .map(|e| {
                        json!({
                            "at": st.config.local_minute(e.created_at),
                            "actor": super::case_page::actor_name(&st, &names, &e.actor),
                            "action": st.pages.t(&format!("notice_action.{}", e.action)),
                            "detail": e.detail.as_deref().map(|d| trail_detail(&st, d)),
                        })
                    })
                    .collect();
                v["trail"] = json!(trail);
            }
            Ok(v)
        })
        .await?;
    let mut data = data;
    data["title"] = json!(format!(
        "{} · {}",
        state.pages.t("notice.title"),
        data["n"]["code"].as_str().unwrap_or("")
    ));
    data["nav"] = json!("notices");
    data["officer"] = json!(officer);
    data["broker"] = json!(me.role == UserRole::Broker);
    render(&state, Some(&me), "notice", data)
}

/// An audit detail as the trail shows it: a status change (`draft → submitted: reason`) in
/// the statuses' names; anything else (a title) as recorded.
fn trail_detail(st: &WebState, detail: &str) -> String {
    let (change, reason) = match detail.split_once(": ") {
        Some((c, r)) => (c, Some(r)),
        None => (detail, None),
    };
    let named = change.split_once(" → ").and_then(|(from, to)| {
        let name =
            |s: &str| NoticeStatus::parse(s).map(|x| st.pages.t(&format!("notice_status.{x}")));
        Some(format!("{} → {}", name(from)?, name(to)?))
    });
    match (named, reason) {
        (Some(n), Some(r)) => format!("{n}：{r}"),
        (Some(n), None) => n,
        (None, _) => detail.to_string(),
    }
}

fn notice_json(st: &WebState, n: &Notice) -> Value {
    let size = |t: &str| {
        let s = crate::text::sms_size(t);
        json!({ "chars": t.chars().count(), "segments": s.segments, "encoding": s.encoding.as_str() })
    };
    let texts = send::Texts::of(st, n).ok();
    let trade = st
        .config
        .alerts
        .trade(&n.trade)
        .map(|t| t.zh.clone())
        .unwrap_or_else(|| n.trade.clone());
    json!({
        "n": {
            "code": n.code, "title": n.title, "employer": n.employer, "agency": n.agency,
            "status": n.status.as_str(),
            "status_name": st.pages.t(&format!("notice_status.{}", n.status)),
            "place": n.county.clone().or(n.place_outside.clone()),
            "outside": n.place_outside.is_some(),
            "trade": trade, "workers_wanted": n.workers_wanted,
            "wage": n.wage_yuan(), "wage_unit": st.pages.t(&format!("wage_unit.{}", n.wage_unit)),
            "pay_terms": n.pay_terms, "start_on": n.start_on.to_string(), "duration": n.duration,
            "board": st.pages.t(&format!("board.{}", n.board_lodging)),
            "contact_phone": crate::text::phone::national(&n.contact_phone),
            "project_code": n.project_code, "valid_until": n.valid_until.to_string(),
            "decision_reason": n.decision_reason,
            "decided_at": n.decided_at.map(|t| st.config.local_minute(t)),
            "send_at": n.send_at.map(|t| st.config.local_minute(t)),
            "queued": n.queued_at.is_some(),
            "editable": n.editable(),
            "submitted": n.status == NoticeStatus::Submitted,
            "approved": n.status == NoticeStatus::Approved,
            "cancellable": matches!(n.status, NoticeStatus::Approved | NoticeStatus::Submitted),
        },
        "sms_zh": texts.as_ref().map(|t| json!({ "text": t.zh, "size": size(&t.zh) })),
        "sms_bo": texts.as_ref().and_then(|t| t.bo.as_ref()).map(|b| json!({ "text": b, "size": size(b) })),
    })
}

fn check_json(st: &WebState, k: &notices::Check) -> Value {
    let v = serde_json::to_value(k).unwrap_or_default();
    let kind = v["kind"].as_str().unwrap_or_default().to_string();
    let mut text = st.pages.t(&format!("notice_check.{kind}"));
    if let Value::Object(map) = &v {
        for (key, val) in map {
            let shown = match val {
                Value::String(s) if key == "unit" => st.pages.t(&format!("wage_unit.{s}")),
                Value::String(s) if key == "field" => st.pages.t(&format!("notice.field_{s}")),
                Value::String(s) => s.clone(),
                Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join("、"),
                other => other.to_string(),
            };
            text = text.replace(&format!("{{{{{key}}}}}"), &shown);
        }
    }
    let refs: Vec<&str> = v["references"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    json!({ "kind": kind, "text": text, "references": refs, "serious": kind != "no_project" })
}

fn targeting_json(st: &WebState, n: &Notice) -> Value {
    let t = n.targeting();
    let trades = n.target_trades();
    json!({
        "counties": st.config.counties.iter().map(|c| json!({ "value": c.zh, "on": t.counties.contains(&c.zh) })).collect::<Vec<_>>(),
        "trades": st.config.alerts.trades.iter().map(|x| json!({ "value": x.code, "name": x.zh, "on": trades.contains(&x.code) })).collect::<Vec<_>>(),
        "languages": crate::db::models::Language::ALL.iter().map(|l| json!({ "value": l.as_str(), "name": st.pages.t(&format!("language.{l}")), "on": t.languages.iter().any(|x| x == l.as_str()) })).collect::<Vec<_>>(),
        "everyone": !t.seeking_only(),
    })
}

/// An officer's decision: approve (with targeting and send time), return, reject, cancel.
pub async fn decide(
    state: web::Data<WebState>,
    me: Officer,
    path: web::Path<String>,
    form: Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    let code = path.into_inner();
    let pairs = form.into_inner();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let op = get("op");
    let reason = get("reason");
    let targeting = targeting_of(&pairs);
    let send_at = match get("send_at").as_str() {
        "" => None,
        s => Some(
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
                .map_err(|_| ConsoleError::BadRequest(state.pages.t("notice_errors.send_at")))?
                - chrono::Duration::seconds(state.config.utc_offset_secs() as i64),
        ),
    };
    let actor = me.actor();
    let c2 = code.clone();
    state
        .db
        .run(move |c| -> Result<(), ConsoleError> {
            let n = load(c, &c2, None)?;
            match op.as_str() {
                "approve" => notices::approve(c, &n.id, &targeting, send_at, &actor).map(|_| ()),
                "return" => notices::send_back(c, &n.id, &reason, &actor).map(|_| ()),
                "reject" => notices::reject(c, &n.id, &reason, &actor).map(|_| ()),
                "cancel" => notices::cancel(c, &n.id, &actor).map(|_| ()),
                _ => return Err(ConsoleError::BadRequest(op.clone())),
            }?;
            Ok(())
        })
        .await?;
    state.jobs_wake.notify_one();
    Ok(redirect(&format!("/console/notices/{code}")))
}

/// A broker (or an officer) cancels a notice before or after approval.
pub async fn broker_cancel(
    state: web::Data<WebState>,
    me: NoticeUser,
    path: web::Path<String>,
    _form: super::Button,
) -> Result<HttpResponse, ConsoleError> {
    on_own_notice(state, &me, path.into_inner(), |c, n, actor| {
        notices::cancel(c, &n.id, actor).map(|_| ())
    })
    .await
}

/// A broker asks for approval of a saved draft.
pub async fn broker_submit(
    state: web::Data<WebState>,
    me: NoticeUser,
    path: web::Path<String>,
    _form: super::Button,
) -> Result<HttpResponse, ConsoleError> {
    me.require(&[UserRole::Broker])?;
    on_own_notice(state, &me, path.into_inner(), |c, n, actor| {
        notices::submit(c, &n.id, actor).map(|_| ())
    })
    .await
}

/// Does `f` to a notice this user may see, then shows it.
async fn on_own_notice<F>(
    state: web::Data<WebState>,
    me: &Me,
    code: String,
    f: F,
) -> Result<HttpResponse, ConsoleError>
where
    F: FnOnce(&mut DbConn, &Notice, &str) -> Result<(), NoticeError> + Send + 'static,
{
    let agency = agency_of(me)?;
    let actor = me.actor();
    let c2 = code.clone();
    state
        .db
        .run(move |c| -> Result<(), ConsoleError> {
            let n = load(c, &c2, agency.as_deref())?;
            f(c, &n, &actor)?;
            Ok(())
        })
        .await?;
    Ok(redirect(&format!("/console/notices/{code}")))
}
