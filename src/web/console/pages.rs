//! Console pages (`templates/console/*.hbs`) and their UI strings (`templates/console/zh.toml`),
//! a view over the template registry: every page gets the strings as `t`. A Tibetan or English
//! console is another strings file.

use std::sync::Arc;

use serde_json::Value;

use crate::templates::{TemplateError, Templates};

#[derive(Clone)]
pub struct Pages {
    templates: Arc<Templates>,
}

impl Pages {
    pub fn new(templates: Arc<Templates>) -> Pages {
        Pages { templates }
    }

    /// The UI strings, for text put together in Rust (state names in a chart, say).
    pub fn strings(&self) -> &Value {
        self.templates.console_strings()
    }

    /// One UI string by dotted path (`state.received`), or the path itself when missing.
    pub fn t(&self, path: &str) -> String {
        let mut v = self.strings();
        for part in path.split('.') {
            v = &v[part];
        }
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| path.to_string())
    }

    pub fn render(&self, name: &str, data: Value) -> Result<String, TemplateError> {
        self.templates.page(name, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Pages {
        /// The compiled-in pages.
        pub(crate) fn load() -> Result<Pages, TemplateError> {
            Ok(Pages::new(Arc::new(Templates::load(None, "x")?)))
        }
    }

    /// Every word of the employment report's tables (page and CSV) has its string.
    #[test]
    fn the_employment_reports_words_have_strings() {
        let p = Pages::load().unwrap();
        let r = crate::reports::employment::sample_quarter();
        let tables = crate::reports::employment::tables(
            &r,
            &crate::places::default_counties(),
            &crate::alerts::default_trades(),
        );
        let mut missing = Vec::new();
        for key in tables.iter().flat_map(|t| t.keys()) {
            if p.t(&key) == key {
                missing.push(key);
            }
        }
        for chart in [
            "placements_county",
            "placements_trade",
            "placements_months",
            "register_status",
            "followups",
            "subsidies",
        ] {
            let key = format!("bulletin.chart.{chart}");
            if p.t(&key) == key {
                missing.push(key);
            }
        }
        assert!(missing.is_empty(), "no string for {missing:?}");
    }

    /// Every name the code puts on a page has its string: a state, a role, an action, a
    /// referral's status or history kind, a job status, an audit event.
    #[test]
    fn every_name_shown_has_a_string() {
        let p = Pages::load().unwrap();
        let mut keys: Vec<String> = Vec::new();
        for s in crate::cases::rules::CaseState::ALL {
            keys.push(format!("state.{}", s.as_str()));
        }
        for role in crate::accounts::users::UserRole::ALL {
            keys.push(format!("role.{role}"));
        }
        for s in crate::alerts::NoticeStatus::ALL {
            keys.push(format!("notice_status.{s}"));
        }
        for u in crate::alerts::WageUnit::ALL {
            keys.push(format!("wage_unit.{u}"));
        }
        for b in crate::alerts::BoardLodging::ALL {
            keys.push(format!("board.{b}"));
        }
        for l in crate::db::models::Language::ALL {
            keys.push(format!("language.{l}"));
        }
        for a in [
            "notice_created",
            "notice_edited",
            "notice_submitted",
            "notice_approved",
            "notice_returned",
            "notice_rejected",
            "notice_cancelled",
        ] {
            keys.push(format!("notice_action.{a}"));
        }
        for r in ["opted_out", "reached", "over_cap", "no_text"] {
            keys.push(format!("notice_excluded.{r}"));
        }
        for k in [
            "below_minimum_wage",
            "fee",
            "no_project",
            "unknown_project",
            "open_cases",
        ] {
            keys.push(format!("notice_check.{k}"));
        }
        for e in [
            "required",
            "too_long",
            "unknown_county",
            "one_place",
            "no_place",
            "unknown_trade",
            "count",
            "wage",
            "choose",
            "date",
            "past",
            "too_far",
            "phone",
            "template",
            "too_many_segments",
            "send_at",
        ] {
            keys.push(format!("notice_errors.{e}"));
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
            "callback_done",
            "complaint_kept_for_callback",
            "worker_created",
            "worker_updated",
            "workers_invited",
            "workers_exported",
        ] {
            keys.push(format!("action.{a}"));
        }
        for s in crate::db::models::ReferralStatus::ALL {
            keys.push(format!("referral.{s}"));
        }
        for k in crate::db::models::ReferralUpdateKind::ALL {
            keys.push(format!("referral_kind.{k}"));
        }
        for k in ["log", "kannel", "json", "twilio", "android"] {
            keys.push(format!("channel_kind.{k}"));
        }
        for s in crate::db::models::JobStatus::ALL {
            keys.push(format!("jobs.{s}"));
        }
        for e in crate::alerts::Employment::ALL {
            keys.push(format!("employment.{e}"));
        }
        for l in crate::db::models::Language::ALL {
            keys.push(format!("language.{l}"));
        }
        for g in crate::alerts::Gender::ALL {
            keys.push(format!("gender.{g}"));
        }
        // A rejected edit names each bad field.
        for c in crate::alerts::register::COLUMNS {
            keys.push(format!("workers.invalid.{}", c.en));
            keys.push(format!("workers.field.{}", c.en));
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
