//! The case queue: open cases by the nearest legal deadline, with filters and a search box
//! that finds a case by reference or a worker's cases by phone number (audited).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{redirect, render, ConsoleError, Me};
use crate::cases::query::{self as case_query, CaseFilter, Order, Search, States};
use crate::cases::rules::CaseState;
use crate::db::models::CaseId;
use crate::db::DbError;
use crate::sms::channels::SIMULATOR;
use crate::text::thousands;
use crate::web::case_view::case_json;
use crate::web::WebState;

const PER_PAGE: i64 = 25;

#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    county: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    overdue: String,
    #[serde(default)]
    mine: String,
    #[serde(default)]
    project: String,
    #[serde(default)]
    q: String,
    page: Option<i64>,
}

impl QueueQuery {
    /// The filter the form asks for; None for a state the queue does not know.
    fn filter(&self, me: &Me, country_code: &str) -> Option<CaseFilter> {
        let states = match self.state.as_str() {
            "" | "open" => States::Open,
            "all" => States::Any,
            s => States::One(CaseState::parse(s)?),
        };
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Some(CaseFilter {
            states,
            county: some(&self.county),
            priority: self.priority.parse().ok(),
            overdue: (self.overdue == "1").then_some(true),
            assigned_to: (self.mine == "1").then(|| me.user.username.clone()),
            project: some(self.project.trim()),
            search: Search::parse(&self.q, country_code),
            referred_to: None,
        })
    }
}

/// A liaison has no queue: their department's referrals instead; officers and brokers go to
/// the job notices.
pub async fn queue(
    state: web::Data<WebState>,
    me: Me,
    q: web::Query<QueueQuery>,
) -> Result<HttpResponse, ConsoleError> {
    if !me.works_cases() {
        return Ok(redirect(me.home()));
    }
    let Some(filter) = q.filter(&me, &state.config.default_country_code) else {
        return Err(ConsoleError::BadRequest(format!("state {:?}", q.state)));
    };
    let page = q.page.unwrap_or(1).max(1);
    let today = state.config.today();
    let actor = me.actor();
    let (found, simulated, (referral_overdue, callback)) = state
        .db
        .run(move |c| -> Result<_, DbError> {
            let found =
                case_query::list(c, today, &filter, Order::Deadline, page, PER_PAGE, &actor)?;
            let ids: Vec<CaseId> = found.items.iter().map(|l| l.case.id.clone()).collect();
            // Cases whose every complaint came through the simulator are training data.
            let simulated = case_query::only_through(c, &ids, SIMULATOR)?;
            // Cases with a department past its deadline to answer a referral.
            let overdue = crate::cases::referrals::overdue_among(c, &ids, today)?;
            // Cases with a complaint kept from a stalled dialog: the worker waits for a call.
            let callback = case_query::awaiting_callback(c, &ids)?;
            Ok((found, simulated, (overdue, callback)))
        })
        .await?;
    let items: Vec<Value> = found
        .items
        .iter()
        .map(|l| {
            let c = &l.case;
            let open = c.state.is_open();
            let paused = open && case_query::current_due(c).is_none();
            let mut v = case_json(&state, c, l.project_code.as_deref(), paused);
            v["state_name"] = json!(state.pages.t(&format!("state.{}", c.state)));
            v["amount"] = json!(thousands(c.amount_yuan));
            v["simulated"] = json!(simulated.contains(&c.id));
            v["referral_overdue"] = json!(referral_overdue.contains(&c.id));
            v["callback"] = json!(callback.contains(&c.id));
            v["early_warning"] = json!(c.source == crate::db::models::CaseSource::EarlyWarning);
            v
        })
        .collect();
    let total = found.total;
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    let counties: Vec<&str> = state
        .config
        .counties
        .iter()
        .map(|c| c.zh.as_str())
        .collect();
    let states: Vec<Value> = CaseState::ALL
        .iter()
        .map(|s| json!({ "value": s.as_str(), "name": state.pages.t(&format!("state.{}", s.as_str())) }))
        .collect();
    render(
        &state,
        Some(&me),
        "queue",
        json!({
            "title": state.pages.t("queue.title"),
            "nav": "queue",
            "items": items,
            "total": total,
            "page": page,
            "pages": pages,
            "prev": (page > 1).then(|| page - 1),
            "next": (page < pages).then(|| page + 1),
            "counties": counties,
            "states": states,
        }),
    )
}
