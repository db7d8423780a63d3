//! Texts sent to workers: `message-templates/{bo,zh}/NAME.hbs`, compiled in, overridable from
//! a folder on disk, rendered by handlebars in strict mode (a missing variable is an error, not
//! an empty gap in an SMS).

use std::path::Path;

use handlebars::Handlebars;
use serde::Serialize;

use crate::db::models::Language;

/// Every message template, in both languages. A test checks this against the folder.
pub const NAMES: &[&str] = &["help", "stopped", "started"];

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
        match lang {
            Language::Both => {
                let bo = self.render_one("bo", name, data)?;
                let zh = self.render_one("zh", name, data)?;
                Ok(format!("{bo}\n{zh}"))
            }
            Language::Bo => self.render_one("bo", name, data),
            Language::Zh => self.render_one("zh", name, data),
        }
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
