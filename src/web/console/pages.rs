//! Console page templates (`templates/console/*.hbs`, compiled in) and the UI strings
//! (`templates/console/zh.toml`), given to every page as `t`. A Tibetan or English console is
//! another strings file.

use handlebars::Handlebars;
use serde_json::Value;

const PAGES: &[(&str, &str)] = &[
    (
        "layout",
        include_str!("../../../templates/console/layout.hbs"),
    ),
    (
        "login",
        include_str!("../../../templates/console/login.hbs"),
    ),
    (
        "error",
        include_str!("../../../templates/console/error.hbs"),
    ),
    (
        "queue",
        include_str!("../../../templates/console/queue.hbs"),
    ),
    ("case", include_str!("../../../templates/console/case.hbs")),
    (
        "referrals",
        include_str!("../../../templates/console/referrals.hbs"),
    ),
    (
        "referral",
        include_str!("../../../templates/console/referral.hbs"),
    ),
    (
        "users",
        include_str!("../../../templates/console/users.hbs"),
    ),
    (
        "departments",
        include_str!("../../../templates/console/departments.hbs"),
    ),
    (
        "simulator",
        include_str!("../../../templates/console/simulator.hbs"),
    ),
    (
        "report",
        include_str!("../../../templates/console/report.hbs"),
    ),
    // A department's page behind the emailed link (src/web/ack.rs): no layout, no session.
    ("ack", include_str!("../../../templates/console/ack.hbs")),
];

const STRINGS_ZH: &str = include_str!("../../../templates/console/zh.toml");

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("console template {0}: {1}")]
    Template(String, String),
    #[error("console strings: {0}")]
    Strings(String),
}

pub struct Pages {
    hb: Handlebars<'static>,
    strings: Value,
}

impl Pages {
    pub fn load() -> Result<Pages, PageError> {
        let mut hb = Handlebars::new();
        // A missing variable is an error, not an empty string.
        hb.set_strict_mode(true);
        for (name, text) in PAGES {
            hb.register_template_string(name, *text)
                .map_err(|e| PageError::Template(name.to_string(), e.to_string()))?;
        }
        hb.register_partial("layout", PAGES[0].1)
            .map_err(|e| PageError::Template("layout".into(), e.to_string()))?;
        let table: toml::Table = STRINGS_ZH
            .parse()
            .map_err(|e: toml::de::Error| PageError::Strings(e.to_string()))?;
        let strings = serde_json::to_value(table).map_err(|e| PageError::Strings(e.to_string()))?;
        Ok(Pages { hb, strings })
    }

    /// The UI strings, for text put together in Rust (state names in a chart, say).
    pub fn strings(&self) -> &Value {
        &self.strings
    }

    /// One UI string by dotted path (`state.received`), or the path itself when missing.
    pub fn t(&self, path: &str) -> String {
        let mut v = &self.strings;
        for part in path.split('.') {
            v = &v[part];
        }
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| path.to_string())
    }

    pub fn render(&self, name: &str, mut data: Value) -> Result<String, PageError> {
        data["t"] = self.strings.clone();
        self.hb
            .render(name, &data)
            .map_err(|e| PageError::Template(name.to_string(), e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::referrals as r;

    /// Every name the code puts on a page has its string: a state, a role, an action, a
    /// referral's status or history kind, a job status, an audit event.
    #[test]
    fn every_name_shown_has_a_string() {
        let p = Pages::load().unwrap();
        let mut keys: Vec<String> = Vec::new();
        for s in crate::cases::rules::CaseState::ALL {
            keys.push(format!("state.{}", s.as_str()));
        }
        for role in ["admin", "supervisor", "inspector", "liaison"] {
            keys.push(format!("role.{role}"));
        }
        for a in [
            "accept",
            "refuse",
            "investigate",
            "request_info",
            "info_received",
            "request_extension",
            "extend",
            "record_mediation",
            "resolve",
            "transfer",
            "close",
            "assign",
            "reply",
            "refer",
            "referred",
            "referral_acknowledged",
            "referral_update",
            "referral_closed",
            "identity_viewed",
            "phone_search",
            "complaint_filed",
            "case_opened",
            "became_collective",
            "callback_requested",
        ] {
            keys.push(format!("action.{a}"));
        }
        for s in [r::SENT, r::ACKNOWLEDGED, r::ANSWERED, r::CLOSED] {
            keys.push(format!("referral.{s}"));
        }
        for k in [
            r::UPDATE_SENT,
            r::UPDATE_REMINDED,
            r::UPDATE_ACKNOWLEDGED,
            r::UPDATE_UPDATE,
            r::UPDATE_CLOSED,
        ] {
            keys.push(format!("referral_kind.{k}"));
        }
        for s in crate::db::models::JobStatus::ALL {
            keys.push(format!("jobs.{s}"));
        }
        let missing: Vec<&String> = keys.iter().filter(|k| p.t(k) == **k).collect();
        assert!(missing.is_empty(), "no string for {missing:?}");
    }

    #[test]
    fn every_page_renders_with_its_strings() {
        let p = Pages::load().unwrap();
        let html = p
            .render("error", serde_json::json!({ "me": null, "key": "not_found", "detail": null, "status": 404, "title": "x", "nav": "" }))
            .unwrap();
        assert!(html.contains("找不到此页面"));
        assert!(
            p.render("error", serde_json::json!({})).is_err(),
            "strict: a missing value is an error"
        );
    }
}

#[cfg(test)]
mod ack_tests {
    use super::*;

    #[test]
    fn the_department_page_renders_valid_and_invalid() {
        let p = Pages::load().unwrap();
        let bad = p
            .render("ack", serde_json::json!({ "invalid": true }))
            .unwrap();
        assert!(bad.contains("链接无效或已过期"));
        let data = serde_json::json!({
            "invalid": false, "department_name": "交通运输局",
            "case": { "reference": "Q1234567", "employer": "某公司", "project": null, "county": "城关区",
                      "workers": 3, "amount": "9,000", "months": null, "received_on": "2026-11-20", "state_label": "已立案" },
            "reason": "请核查", "status": "sent", "closed": false, "acknowledged": false,
            "history": [{ "kind": "reminded", "when": "2026-11-27 10:00", "body": null }],
            "action_url": "/console/ack/x", "link_expires_on": "2027-02-25", "max_chars": 4000,
            "notice": null, "error": null,
        });
        let html = p.render("ack", data).unwrap();
        assert!(
            html.contains("人社局发出催办提醒") && html.contains("待确认收到"),
            "{html}"
        );
    }
}
