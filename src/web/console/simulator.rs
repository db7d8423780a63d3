//! The worker simulator: an officer types as a worker and sees the hotline's replies. The
//! message goes through the same path as a real SMS (`inbound::receive`, the router, the
//! dialogs, the outbox) on the `simulator` channel, whose replies are logged, never sent.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{redirect, render, CaseWorker, ConsoleError, Form};
use crate::db::models::Message;
use crate::sms::channels::{simulator_number, InboundSms, SIMULATOR};
use crate::web::WebState;

/// The simulated worker when none is named.
const DEFAULT_NUMBER: &str = "1";

#[derive(Debug, Default, Deserialize)]
pub struct SimQuery {
    phone: Option<String>,
    lang: Option<String>,
}

pub async fn page(
    state: web::Data<WebState>,
    me: CaseWorker,
    q: web::Query<SimQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let phone = q
        .phone
        .as_deref()
        .and_then(simulator_number)
        .or_else(|| simulator_number(DEFAULT_NUMBER))
        .unwrap_or_default();
    let p = phone.clone();
    let st = state.clone();
    let msgs: Vec<Message> = state
        .db
        .run(move |c| crate::sms::outbox::recent_on_channel(c, &p, SIMULATOR, 60))
        .await?;
    let conversation: Vec<_> = msgs
        .iter()
        .rev()
        .map(|m| {
            json!({
                "incoming": m.direction == crate::db::models::Direction::In,
                "body": m.body,
                "at": st.config.local(m.created_at).format("%H:%M:%S").to_string(),
                "segments": m.segments,
                "encoding": m.encoding,
            })
        })
        .collect();
    render(
        &state,
        Some(me.me()),
        "simulator",
        json!({
            "title": state.pages.t("simulator.title"),
            "nav": "simulator",
            "phone": phone,
            "lang": q.lang.clone().unwrap_or_default(),
            "conversation": conversation,
        }),
    )
}

#[derive(Debug, Deserialize)]
pub struct SimForm {
    phone: String,
    #[serde(default)]
    lang: String,
    text: String,
}

pub async fn send(
    state: web::Data<WebState>,
    me: CaseWorker,
    form: Form<SimForm>,
) -> Result<HttpResponse, ConsoleError> {
    let f = form.into_inner();
    // Only the simulator's own numbers: never a real worker's contact or cases.
    let phone = simulator_number(&f.phone)
        .ok_or_else(|| ConsoleError::BadRequest(state.pages.t("simulator.not_a_sim_number")))?;
    if f.text.trim().is_empty() {
        return Ok(redirect(&sim_url(&phone, &f.lang)));
    }
    let (p, actor, chars) = (phone.clone(), me.actor(), f.text.chars().count());
    state
        .db
        .run(move |c| {
            crate::cases::audit_about(
                c,
                "simulator",
                &actor,
                "simulated_sms",
                Some(&format!("{p}: {chars} characters")),
            )
        })
        .await?;
    if matches!(f.lang.as_str(), "bo" | "zh") {
        // The worker's chosen language, as if they had picked it by SMS.
        let (p, lang) = (phone.clone(), f.lang.clone());
        state
            .db
            .run(move |c| crate::conversations::inbound::choose_language(c, &p, &lang))
            .await?;
    }
    let sms = InboundSms {
        from: phone.clone(),
        to: None,
        text: f.text,
        gateway_id: None,
        ..Default::default()
    };
    if let Err(e) = crate::conversations::inbound::receive(&state, SIMULATOR, sms).await {
        tracing::warn!(error = %e, "simulated message not handled");
        return Err(ConsoleError::BadRequest(e.to_string()));
    }
    Ok(redirect(&sim_url(&phone, &f.lang)))
}

fn sim_url(phone: &str, lang: &str) -> String {
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    format!("/console/simulator?phone={}&lang={}", enc(phone), enc(lang))
}
