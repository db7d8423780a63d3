//! Texts sent to workers: `message-templates/{bo,zh}/NAME.hbs`, compiled in, overridable from
//! a folder on disk, rendered by handlebars in strict mode (a missing variable is an error, not
//! an empty gap in an SMS).

use std::path::Path;

use handlebars::Handlebars;
use serde::Serialize;

use crate::db::models::Language;

/// Every message template, in both languages. A test checks this against the folder.
pub const NAMES: &[&str] = &[
    "help",
    "stopped",
    "started",
    "complaint_start",
    "complaint_ask_employer",
    "complaint_ask_county",
    "complaint_ask_workers",
    "complaint_ask_amount",
    "complaint_ask_months",
    "complaint_ask_anonymous",
    "complaint_confirm",
    "complaint_invalid",
    "complaint_resume",
    "complaint_cancelled",
    "complaint_callback",
    "complaint_filed",
    "complaint_project_unknown",
    "case_status",
    "case_notice",
    "case_list",
    "case_not_found",
    "case_state_received",
    "case_state_accepted",
    "case_state_refused",
    "case_state_investigating",
    "case_state_resolved",
    "case_state_transferred",
    "case_state_closed",
    "case_info_needed",
];

const BUILTIN: &[(&str, &str, &str)] = &[
    (
        "bo",
        "help",
        include_str!("../message-templates/bo/help.hbs"),
    ),
    (
        "zh",
        "help",
        include_str!("../message-templates/zh/help.hbs"),
    ),
    (
        "bo",
        "stopped",
        include_str!("../message-templates/bo/stopped.hbs"),
    ),
    (
        "zh",
        "stopped",
        include_str!("../message-templates/zh/stopped.hbs"),
    ),
    (
        "bo",
        "started",
        include_str!("../message-templates/bo/started.hbs"),
    ),
    (
        "zh",
        "started",
        include_str!("../message-templates/zh/started.hbs"),
    ),
    (
        "bo",
        "complaint_start",
        include_str!("../message-templates/bo/complaint_start.hbs"),
    ),
    (
        "zh",
        "complaint_start",
        include_str!("../message-templates/zh/complaint_start.hbs"),
    ),
    (
        "bo",
        "complaint_ask_employer",
        include_str!("../message-templates/bo/complaint_ask_employer.hbs"),
    ),
    (
        "zh",
        "complaint_ask_employer",
        include_str!("../message-templates/zh/complaint_ask_employer.hbs"),
    ),
    (
        "bo",
        "complaint_ask_county",
        include_str!("../message-templates/bo/complaint_ask_county.hbs"),
    ),
    (
        "zh",
        "complaint_ask_county",
        include_str!("../message-templates/zh/complaint_ask_county.hbs"),
    ),
    (
        "bo",
        "complaint_ask_workers",
        include_str!("../message-templates/bo/complaint_ask_workers.hbs"),
    ),
    (
        "zh",
        "complaint_ask_workers",
        include_str!("../message-templates/zh/complaint_ask_workers.hbs"),
    ),
    (
        "bo",
        "complaint_ask_amount",
        include_str!("../message-templates/bo/complaint_ask_amount.hbs"),
    ),
    (
        "zh",
        "complaint_ask_amount",
        include_str!("../message-templates/zh/complaint_ask_amount.hbs"),
    ),
    (
        "bo",
        "complaint_ask_months",
        include_str!("../message-templates/bo/complaint_ask_months.hbs"),
    ),
    (
        "zh",
        "complaint_ask_months",
        include_str!("../message-templates/zh/complaint_ask_months.hbs"),
    ),
    (
        "bo",
        "complaint_ask_anonymous",
        include_str!("../message-templates/bo/complaint_ask_anonymous.hbs"),
    ),
    (
        "zh",
        "complaint_ask_anonymous",
        include_str!("../message-templates/zh/complaint_ask_anonymous.hbs"),
    ),
    (
        "bo",
        "complaint_confirm",
        include_str!("../message-templates/bo/complaint_confirm.hbs"),
    ),
    (
        "zh",
        "complaint_confirm",
        include_str!("../message-templates/zh/complaint_confirm.hbs"),
    ),
    (
        "bo",
        "complaint_invalid",
        include_str!("../message-templates/bo/complaint_invalid.hbs"),
    ),
    (
        "zh",
        "complaint_invalid",
        include_str!("../message-templates/zh/complaint_invalid.hbs"),
    ),
    (
        "bo",
        "complaint_resume",
        include_str!("../message-templates/bo/complaint_resume.hbs"),
    ),
    (
        "zh",
        "complaint_resume",
        include_str!("../message-templates/zh/complaint_resume.hbs"),
    ),
    (
        "bo",
        "complaint_cancelled",
        include_str!("../message-templates/bo/complaint_cancelled.hbs"),
    ),
    (
        "zh",
        "complaint_cancelled",
        include_str!("../message-templates/zh/complaint_cancelled.hbs"),
    ),
    (
        "bo",
        "complaint_callback",
        include_str!("../message-templates/bo/complaint_callback.hbs"),
    ),
    (
        "zh",
        "complaint_callback",
        include_str!("../message-templates/zh/complaint_callback.hbs"),
    ),
    (
        "bo",
        "complaint_filed",
        include_str!("../message-templates/bo/complaint_filed.hbs"),
    ),
    (
        "zh",
        "complaint_filed",
        include_str!("../message-templates/zh/complaint_filed.hbs"),
    ),
    (
        "bo",
        "complaint_project_unknown",
        include_str!("../message-templates/bo/complaint_project_unknown.hbs"),
    ),
    (
        "zh",
        "complaint_project_unknown",
        include_str!("../message-templates/zh/complaint_project_unknown.hbs"),
    ),
    (
        "bo",
        "case_status",
        include_str!("../message-templates/bo/case_status.hbs"),
    ),
    (
        "zh",
        "case_status",
        include_str!("../message-templates/zh/case_status.hbs"),
    ),
    (
        "bo",
        "case_notice",
        include_str!("../message-templates/bo/case_notice.hbs"),
    ),
    (
        "zh",
        "case_notice",
        include_str!("../message-templates/zh/case_notice.hbs"),
    ),
    (
        "bo",
        "case_list",
        include_str!("../message-templates/bo/case_list.hbs"),
    ),
    (
        "zh",
        "case_list",
        include_str!("../message-templates/zh/case_list.hbs"),
    ),
    (
        "bo",
        "case_not_found",
        include_str!("../message-templates/bo/case_not_found.hbs"),
    ),
    (
        "zh",
        "case_not_found",
        include_str!("../message-templates/zh/case_not_found.hbs"),
    ),
    (
        "bo",
        "case_state_received",
        include_str!("../message-templates/bo/case_state_received.hbs"),
    ),
    (
        "zh",
        "case_state_received",
        include_str!("../message-templates/zh/case_state_received.hbs"),
    ),
    (
        "bo",
        "case_state_accepted",
        include_str!("../message-templates/bo/case_state_accepted.hbs"),
    ),
    (
        "zh",
        "case_state_accepted",
        include_str!("../message-templates/zh/case_state_accepted.hbs"),
    ),
    (
        "bo",
        "case_state_refused",
        include_str!("../message-templates/bo/case_state_refused.hbs"),
    ),
    (
        "zh",
        "case_state_refused",
        include_str!("../message-templates/zh/case_state_refused.hbs"),
    ),
    (
        "bo",
        "case_state_investigating",
        include_str!("../message-templates/bo/case_state_investigating.hbs"),
    ),
    (
        "zh",
        "case_state_investigating",
        include_str!("../message-templates/zh/case_state_investigating.hbs"),
    ),
    (
        "bo",
        "case_state_resolved",
        include_str!("../message-templates/bo/case_state_resolved.hbs"),
    ),
    (
        "zh",
        "case_state_resolved",
        include_str!("../message-templates/zh/case_state_resolved.hbs"),
    ),
    (
        "bo",
        "case_state_transferred",
        include_str!("../message-templates/bo/case_state_transferred.hbs"),
    ),
    (
        "zh",
        "case_state_transferred",
        include_str!("../message-templates/zh/case_state_transferred.hbs"),
    ),
    (
        "bo",
        "case_state_closed",
        include_str!("../message-templates/bo/case_state_closed.hbs"),
    ),
    (
        "bo",
        "case_info_needed",
        include_str!("../message-templates/bo/case_info_needed.hbs"),
    ),
    (
        "zh",
        "case_info_needed",
        include_str!("../message-templates/zh/case_info_needed.hbs"),
    ),
    (
        "zh",
        "case_state_closed",
        include_str!("../message-templates/zh/case_state_closed.hbs"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("message template {0}: {1}")]
    Compile(String, String),
    #[error("message template {0}: {1}")]
    Render(String, String),
}

pub struct Templates {
    hb: Handlebars<'static>,
    sender: String,
}

impl Templates {
    /// Compiled-in templates, each replaced by `{dir}/{lang}/{name}.hbs` when that file exists.
    pub fn load(dir: Option<&Path>, sender: &str) -> Result<Templates, TemplateError> {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        hb.register_escape_fn(handlebars::no_escape);
        for (lang, name, text) in BUILTIN {
            let key = format!("{lang}/{name}");
            let override_text = dir
                .map(|d| d.join(lang).join(format!("{name}.hbs")))
                .filter(|p| p.is_file())
                .map(|p| {
                    std::fs::read_to_string(&p)
                        .map_err(|e| TemplateError::Compile(key.clone(), e.to_string()))
                })
                .transpose()?;
            let source = override_text.as_deref().unwrap_or(text);
            hb.register_template_string(&key, source.trim_end())
                .map_err(|e| TemplateError::Compile(key.clone(), e.to_string()))?;
        }
        Ok(Templates {
            hb,
            sender: sender.to_string(),
        })
    }

    /// Renders one language; `Both` gives Tibetan then Chinese, one under the other.
    pub fn render<T: Serialize>(
        &self,
        lang: Language,
        name: &str,
        data: &T,
    ) -> Result<String, TemplateError> {
        let value = serde_json::to_value(data)
            .map_err(|e| TemplateError::Render(name.to_string(), e.to_string()))?;
        self.render_with(lang, name, |_| Ok(value.clone()))
    }

    /// As `render`, with data made for each language (`"bo"` or `"zh"`), for texts that embed
    /// other rendered texts.
    pub fn render_with(
        &self,
        lang: Language,
        name: &str,
        data: impl Fn(&str) -> Result<serde_json::Value, TemplateError>,
    ) -> Result<String, TemplateError> {
        match lang {
            Language::Both => {
                let bo = self.render_one("bo", name, &data("bo")?)?;
                let zh = self.render_one("zh", name, &data("zh")?)?;
                Ok(format!("{bo}\n{zh}"))
            }
            Language::Bo => self.render_one("bo", name, &data("bo")?),
            Language::Zh => self.render_one("zh", name, &data("zh")?),
        }
    }

    /// One language's text.
    pub fn render_lang(
        &self,
        lang: &str,
        name: &str,
        data: &serde_json::Value,
    ) -> Result<String, TemplateError> {
        self.render_one(lang, name, data)
    }

    fn render_one<T: Serialize>(
        &self,
        lang: &str,
        name: &str,
        data: &T,
    ) -> Result<String, TemplateError> {
        let key = format!("{lang}/{name}");
        let mut value = serde_json::to_value(data)
            .map_err(|e| TemplateError::Render(key.clone(), e.to_string()))?;
        if let serde_json::Value::Object(map) = &mut value {
            map.entry("sender")
                .or_insert_with(|| self.sender.clone().into());
        }
        self.hb
            .render(&key, &value)
            .map(|s| s.trim().to_string())
            .map_err(|e| TemplateError::Render(key, e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_template_exists_in_both_languages_and_on_disk() {
        for name in NAMES {
            for lang in ["bo", "zh"] {
                assert!(
                    BUILTIN.iter().any(|(l, n, _)| *l == lang && n == name),
                    "{lang}/{name} is not compiled in"
                );
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("message-templates");
        for lang in ["bo", "zh"] {
            for entry in std::fs::read_dir(root.join(lang)).unwrap() {
                let file = entry.unwrap().file_name().into_string().unwrap();
                let name = file.strip_suffix(".hbs").unwrap();
                assert!(
                    NAMES.contains(&name),
                    "{lang}/{file} is on disk but not compiled in"
                );
            }
        }
    }

    #[test]
    fn renders_in_the_right_script() {
        let t = Templates::load(None, "劳动保障热线").unwrap();
        let zh = t.render(Language::Zh, "help", &json!({})).unwrap();
        assert!(zh.starts_with("【劳动保障热线】"), "{zh}");
        assert!(!zh.chars().any(|c| ('\u{0F00}'..='\u{0FFF}').contains(&c)));
        let bo = t.render(Language::Bo, "help", &json!({})).unwrap();
        assert!(bo.chars().any(|c| ('\u{0F00}'..='\u{0FFF}').contains(&c)));
        let both = t.render(Language::Both, "help", &json!({})).unwrap();
        assert_eq!(both, format!("{bo}\n{zh}"));
    }

    #[test]
    fn overrides_from_disk_and_strict_mode() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("zh")).unwrap();
        std::fs::write(dir.path().join("zh/help.hbs"), "菜单 {{missing}}\n").unwrap();
        let t = Templates::load(Some(dir.path()), "x").unwrap();
        let e = t
            .render(Language::Zh, "help", &json!({}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("zh/help"), "{e}");
        let ok = t
            .render(Language::Zh, "help", &json!({"missing": "在"}))
            .unwrap();
        assert_eq!(ok, "菜单 在");
        // the other language keeps its compiled-in text
        assert!(t.render(Language::Bo, "help", &json!({})).is_ok());

        std::fs::write(dir.path().join("zh/help.hbs"), "{{#if}}").unwrap();
        assert!(Templates::load(Some(dir.path()), "x").is_err());
    }
}
