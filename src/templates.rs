//! Every text the service writes, in one registry: SMS texts (`message-templates/{bo,zh}/NAME.hbs`),
//! emails (`templates/email/NAME.{subject,txt,html}.hbs`), console pages
//! (`templates/console/NAME.hbs`) and the console's strings (`templates/console/zh.toml`).
//!
//! Each folder is compiled in whole, so a new file needs no Rust change. At start, a file with
//! the same path under `templates_dir` (`bo/`, `zh/`, `email/`, `console/`) replaces the
//! compiled-in one; one that does not compile stops start-up, naming the file. Handlebars runs
//! in strict mode everywhere: a missing variable is an error, not a gap in an SMS or a letter.
//! HTML (console pages, email HTML parts) is escaped; SMS texts, email subjects and text parts
//! are not.

use std::path::Path;

use handlebars::Handlebars;
use include_dir::{include_dir, Dir};
use serde::Serialize;
use serde_json::Value;

use crate::db::models::Language;

// Read-only data in the binary, not state. (On stable Rust a file edit rebuilds, a new file
// does not until some source changes; a new template always comes with code that renders it.)
static SMS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/message-templates");
static EMAIL: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates/email");
static CONSOLE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates/console");

/// Each compiled-in folder and its place under `templates_dir` (and in template names).
const FOLDERS: [(&Dir<'static>, &str); 3] = [(&SMS, ""), (&EMAIL, "email"), (&CONSOLE, "console")];

/// The console's UI strings, given to every page as `t`.
const CONSOLE_STRINGS: &str = "console/zh.toml";

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A template that does not compile, or a file that cannot be read: names the file.
    #[error("template {0}: {1}")]
    Compile(String, String),
    #[error("template {0}: {1}")]
    Render(String, String),
}

pub struct Templates {
    /// SMS texts (`bo/NAME`, `zh/NAME`), email subjects and text parts
    /// (`email/NAME.subject`, `email/NAME.txt`): no escaping.
    plain: Handlebars<'static>,
    /// Console pages (`console/NAME`, each also a partial `NAME`, such as `layout`) and email
    /// HTML parts (`email/NAME.html`): HTML escaping.
    html: Handlebars<'static>,
    /// The console's UI strings.
    strings: Value,
    /// The hotline's name, signed at the start of the SMS texts that carry `{{sender}}`: in
    /// Chinese, in Tibetan, and the Chinese once at the start of a reply in both.
    sender: String,
    sender_bo: String,
}

/// One template's text: the compiled-in file, or the one replacing it.
struct Source {
    /// The path under `templates_dir`, without `.hbs` (`zh/help`, `email/referral.subject`,
    /// `console/queue`, `console/zh.toml`).
    name: String,
    /// What an error names: the override's path, or the compiled-in file's.
    file: String,
    text: String,
    /// The compiled-in text.
    builtin: &'static str,
}

impl Templates {
    /// Every compiled-in template, each replaced by the file with the same path under `dir`
    /// when there is one.
    pub fn load(dir: Option<&Path>, sender: &str) -> Result<Templates, TemplateError> {
        let mut plain = Handlebars::new();
        plain.set_strict_mode(true);
        plain.register_escape_fn(handlebars::no_escape);
        // `{{bo_digits amount}}`: numbers and dates in Tibetan texts with Tibetan digits.
        handlebars::handlebars_helper!(bo_digits: |v: Json| crate::text::tibetan_digits(
            &match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            }
        ));
        plain.register_helper("bo_digits", Box::new(bo_digits));
        let mut html = Handlebars::new();
        html.set_strict_mode(true);
        let mut strings = Value::Null;
        for source in sources(dir)? {
            let Source {
                name,
                file,
                text,
                builtin,
            } = source;
            let compile =
                |e: &dyn std::fmt::Display| TemplateError::Compile(file.clone(), e.to_string());
            if name == CONSOLE_STRINGS {
                // An override holds only the strings it changes; the others stay as compiled in,
                // so a release that adds a string does not break an older override.
                strings = toml_value(builtin, &format!("(compiled in) {name}"))?;
                if text != builtin {
                    merge(&mut strings, toml_value(&text, &file)?);
                }
            } else if let Some(page) = name.strip_prefix("console/") {
                html.register_template_string(&name, &text)
                    .map_err(|e| compile(&e))?;
                html.register_partial(page, &text)
                    .map_err(|e| compile(&e))?;
            } else if name.starts_with("email/") && name.ends_with(".html") {
                html.register_template_string(&name, &text)
                    .map_err(|e| compile(&e))?;
            } else if name.starts_with("email/") {
                plain
                    .register_template_string(&name, &text)
                    .map_err(|e| compile(&e))?;
            } else {
                // An SMS: a trailing newline in the file is not part of the text.
                plain
                    .register_template_string(&name, text.trim_end())
                    .map_err(|e| compile(&e))?;
            }
        }
        if let Some(dir) = dir {
            warn_unused_overrides(dir);
        }
        Ok(Templates {
            plain,
            html,
            strings,
            sender: sender.to_string(),
            sender_bo: sender.to_string(),
        })
    }

    /// The hotline's name in Tibetan (`sender_name_bo`), signed at the start of Tibetan texts.
    pub fn with_sender_bo(mut self, name: &str) -> Templates {
        self.sender_bo = name.to_string();
        self
    }

    /// Renders an SMS in one language; `Both` gives Tibetan then Chinese, one under the other.
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
        data: impl Fn(&str) -> Result<Value, TemplateError>,
    ) -> Result<String, TemplateError> {
        match lang {
            Language::Both => {
                // One signature, at the start: the Chinese name, as carriers require.
                let bo = self.render_signed("bo", name, data("bo")?, &self.signature("zh"))?;
                let zh = self.render_signed("zh", name, data("zh")?, "")?;
                Ok(format!("{bo}\n{zh}"))
            }
            Language::Bo => self.render_lang("bo", name, &data("bo")?),
            Language::Zh => self.render_lang("zh", name, &data("zh")?),
        }
    }

    /// Several templates as one text, a part a line, signed once at the start. `Both` gives
    /// the Tibetan parts then the Chinese ones in one SMS, or one SMS per language (each signed
    /// in its own script) when together they would take more than `max_both_segments`.
    pub fn render_parts(
        &self,
        lang: Language,
        parts: &[(&str, &Value)],
        max_both_segments: u32,
    ) -> Result<Vec<String>, TemplateError> {
        let one = |l: &str, signature: &str| -> Result<String, TemplateError> {
            let mut out = Vec::with_capacity(parts.len());
            for (i, (name, data)) in parts.iter().enumerate() {
                let sig = if i == 0 { signature } else { "" };
                out.push(self.render_signed(l, name, (*data).clone(), sig)?);
            }
            Ok(out.join("\n"))
        };
        Ok(match lang {
            Language::Bo => vec![one("bo", &self.signature("bo"))?],
            Language::Zh => vec![one("zh", &self.signature("zh"))?],
            Language::Both => {
                let together = format!("{}\n{}", one("bo", &self.signature("zh"))?, one("zh", "")?);
                if crate::text::sms_size(&together).segments > max_both_segments as usize {
                    vec![
                        one("bo", &self.signature("bo"))?,
                        one("zh", &self.signature("zh"))?,
                    ]
                } else {
                    vec![together]
                }
            }
        })
    }

    /// One language's SMS text.
    pub fn render_lang(
        &self,
        lang: &str,
        name: &str,
        data: &Value,
    ) -> Result<String, TemplateError> {
        self.render_signed(lang, name, data.clone(), &self.signature(lang))
    }

    /// `【name】` in the language's script.
    fn signature(&self, lang: &str) -> String {
        let name = if lang == "bo" {
            &self.sender_bo
        } else {
            &self.sender
        };
        format!("【{name}】")
    }

    /// One language's text with `sender` (the signature the text starts with, if it has one)
    /// set unless the data has one.
    fn render_signed(
        &self,
        lang: &str,
        name: &str,
        mut data: Value,
        signature: &str,
    ) -> Result<String, TemplateError> {
        if let Value::Object(map) = &mut data {
            map.entry("sender").or_insert_with(|| signature.into());
        }
        render(&self.plain, &format!("{lang}/{name}"), &data).map(|s| s.trim().to_string())
    }

    /// One part (`subject`, `txt` or `html`) of email `name`.
    pub fn email_part(
        &self,
        name: &str,
        part: &str,
        data: &Value,
    ) -> Result<String, TemplateError> {
        let registry = if part == "html" {
            &self.html
        } else {
            &self.plain
        };
        render(registry, &format!("email/{name}.{part}"), data)
    }

    /// Console page `name`, with the UI strings as `t`.
    pub fn page(&self, name: &str, mut data: Value) -> Result<String, TemplateError> {
        data["t"] = self.strings.clone();
        render(&self.html, &format!("console/{name}"), &data)
    }

    /// The console's UI strings.
    pub fn console_strings(&self) -> &Value {
        &self.strings
    }
}

fn render(
    registry: &Handlebars<'static>,
    name: &str,
    data: &Value,
) -> Result<String, TemplateError> {
    registry
        .render(name, data)
        .map_err(|e| TemplateError::Render(name.to_string(), e.to_string()))
}

/// Every compiled-in file, or its override.
fn sources(dir: Option<&Path>) -> Result<Vec<Source>, TemplateError> {
    let mut out = Vec::new();
    for (folder, place) in FOLDERS {
        for file in files(folder) {
            let rel = Path::new(place).join(file.path());
            let rel_str = rel.to_string_lossy().replace('\\', "/");
            let builtin = file.contents_utf8().ok_or_else(|| {
                TemplateError::Compile(format!("(compiled in) {rel_str}"), "not UTF-8".into())
            })?;
            let name = match rel_str.strip_suffix(".hbs") {
                Some(name) => name.to_string(),
                None if rel_str == CONSOLE_STRINGS => rel_str.clone(),
                None => {
                    return Err(TemplateError::Compile(
                        format!("(compiled in) {rel_str}"),
                        "neither a template (.hbs) nor the console's strings".into(),
                    ))
                }
            };
            let source = match dir.map(|d| d.join(&rel)).filter(|p| p.is_file()) {
                Some(p) => {
                    let file = p.display().to_string();
                    let text = std::fs::read_to_string(&p)
                        .map_err(|e| TemplateError::Compile(file.clone(), e.to_string()))?;
                    Source {
                        name,
                        file,
                        text,
                        builtin,
                    }
                }
                None => Source {
                    file: format!("(compiled in) {rel_str}"),
                    name,
                    text: builtin.to_string(),
                    builtin,
                },
            };
            out.push(source);
        }
    }
    Ok(out)
}

/// A compiled-in folder and its subfolders.
fn folders(dir: &'static Dir<'static>) -> Vec<&'static Dir<'static>> {
    let mut out = vec![dir];
    for sub in dir.dirs() {
        out.extend(folders(sub));
    }
    out
}

/// The files of a compiled-in folder and its subfolders.
fn files(dir: &'static Dir<'static>) -> Vec<&'static include_dir::File<'static>> {
    folders(dir).into_iter().flat_map(|d| d.files()).collect()
}

fn toml_value(text: &str, file: &str) -> Result<Value, TemplateError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| TemplateError::Compile(file.to_string(), e.to_string()))?;
    serde_json::to_value(table).map_err(|e| TemplateError::Compile(file.to_string(), e.to_string()))
}

/// `over`'s values put into `base`, table by table.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (k, v) in over {
                merge(base.entry(k).or_insert(Value::Null), v);
            }
        }
        (base, over) => *base = over,
    }
}

/// A file in `templates_dir` that replaces nothing is most likely a misspelt name: said at
/// start rather than silently ignored.
fn warn_unused_overrides(dir: &Path) {
    for (folder, place) in FOLDERS {
        for embedded in folders(folder) {
            let Ok(entries) = std::fs::read_dir(dir.join(place).join(embedded.path())) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let template = path.extension().is_some_and(|e| e == "hbs" || e == "toml");
                let known = folder
                    .get_file(embedded.path().join(entry.file_name()))
                    .is_some();
                if template && !known && path.is_file() {
                    tracing::warn!(file = %path.display(), "templates_dir: this file replaces no template");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeSet;

    fn stems(dir: &'static Dir<'static>, suffix: &str) -> BTreeSet<String> {
        dir.files()
            .filter_map(|f| f.path().file_name()?.to_str()?.strip_suffix(suffix))
            .map(str::to_string)
            .collect()
    }

    fn sms_names() -> BTreeSet<String> {
        stems(SMS.get_dir("zh").unwrap(), ".hbs")
    }

    fn email_names() -> BTreeSet<String> {
        stems(&EMAIL, ".subject.hbs")
    }

    fn page_names() -> BTreeSet<String> {
        stems(&CONSOLE, ".hbs")
    }

    #[test]
    fn every_sms_is_in_both_languages_and_every_email_has_three_parts() {
        let langs: Vec<&str> = SMS.dirs().map(|d| d.path().to_str().unwrap()).collect();
        assert_eq!(langs.len(), 2, "{langs:?}");
        for lang in ["bo", "zh"] {
            assert_eq!(
                stems(SMS.get_dir(lang).unwrap(), ".hbs"),
                sms_names(),
                "{lang}"
            );
        }
        let mut parts = BTreeSet::new();
        for name in email_names() {
            for part in ["subject", "txt", "html"] {
                parts.insert(format!("{name}.{part}"));
            }
        }
        assert_eq!(stems(&EMAIL, ".hbs"), parts);
    }

    /// The Rust sources, but this file, as one text.
    fn sources_text() -> String {
        fn walk(dir: &Path, out: &mut String) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("src/templates.rs")
                {
                    out.push_str(&std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        let mut out = String::new();
        walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
        out
    }

    /// The first string literal among the arguments of each call to a rendering function
    /// (`reply("help", …)`, `render(lang, "case_list", …)`, `render(&state, Some(&me), "queue", …)`).
    fn names_rendered(src: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for call in [
            "reply(",
            "render(",
            "render_with(",
            "render_lang(",
            "email_part(",
            "page(",
        ] {
            for (at, _) in src.match_indices(call) {
                let before = src[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let mut depth = 0;
                for (i, c) in src[at + call.len()..].char_indices() {
                    match c {
                        '(' => depth += 1,
                        ')' if depth == 0 => break,
                        ')' => depth -= 1,
                        '"' if depth > 0 => break,
                        '"' => {
                            let rest = &src[at + call.len() + i + 1..];
                            let lit = &rest[..rest.find('"').unwrap()];
                            if !lit.is_empty()
                                && lit.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                            {
                                found.insert(lit.to_string());
                            }
                            break;
                        }
                        c if c.is_alphanumeric() || " \n_.&,:".contains(c) => {}
                        _ => break,
                    }
                }
            }
        }
        found
    }

    #[test]
    fn every_template_rendered_exists_and_every_one_on_disk_is_used() {
        let src = sources_text();
        let all: BTreeSet<String> = sms_names()
            .into_iter()
            .chain(email_names())
            .chain(page_names())
            .collect();
        let rendered = names_rendered(&src);
        assert!(
            rendered.len() > 10,
            "the scan finds the calls: {rendered:?}"
        );
        let missing: Vec<_> = rendered.difference(&all).collect();
        assert!(missing.is_empty(), "rendered but no template: {missing:?}");

        let partials: String = files(&CONSOLE)
            .iter()
            .filter_map(|f| f.contents_utf8())
            .collect();
        let unused: Vec<_> = all
            .iter()
            .filter(|name| {
                // Named in the code, or included as a partial (`{{#> layout}}`, `{{> report_period}}`).
                let named = src.contains(&format!("\"{name}\""))
                    || partials.contains(&format!("{{{{#> {name}}}}}"))
                    || partials.contains(&format!("{{{{> {name}}}}}"));
                // `format!("case_state_{}", …)`
                let built = name
                    .match_indices('_')
                    .any(|(i, _)| src.contains(&format!("\"{}_{{", &name[..i])));
                !named && !built
            })
            .collect();
        assert!(unused.is_empty(), "on disk but never rendered: {unused:?}");
    }

    #[test]
    fn renders_in_the_right_script() {
        let t = Templates::load(None, "劳动保障热线")
            .unwrap()
            .with_sender_bo("ལས་མིའི་ཁེ་དབང་ཁ་པར");
        let zh = t.render(Language::Zh, "help", &json!({})).unwrap();
        assert!(zh.starts_with("【劳动保障热线】"), "{zh}");
        assert!(!zh.chars().any(|c| ('\u{0F00}'..='\u{0FFF}').contains(&c)));
        let bo = t.render(Language::Bo, "help", &json!({})).unwrap();
        assert!(bo.starts_with("【ལས་མིའི་ཁེ་དབང་ཁ་པར】"), "{bo}");
        assert!(
            !bo.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)),
            "{bo}"
        );
        // Both languages: the sender once, at the start, never after the line break.
        let both = t.render(Language::Both, "help", &json!({})).unwrap();
        assert!(both.starts_with("【劳动保障热线】"), "{both}");
        assert_eq!(both.matches('【').count(), 1, "{both}");
        let (first, second) = both.split_once('\n').unwrap();
        assert!(first
            .chars()
            .any(|c| ('\u{0F00}'..='\u{0FFF}').contains(&c)));
        assert_eq!(format!("【劳动保障热线】{second}"), zh);
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

    #[test]
    fn every_part_is_overridable_and_a_broken_override_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("bo/stopped.hbs", "{{sender}} བཀག");
        write("email/referral.subject.hbs", "协查 {{reference}} <急>");
        write("email/referral.html.hbs", "<p>{{employer}}</p>");
        write("console/login.hbs", "<h1>{{t.app.name}} {{title}}</h1>");
        write("console/zh.toml", "[app]\nname = \"本地热线\"\n");
        let t = Templates::load(Some(dir.path()), "热线").unwrap();

        assert_eq!(
            t.render(Language::Bo, "stopped", &json!({})).unwrap(),
            "【热线】 བཀག"
        );
        let data = json!({ "reference": "Q1", "employer": "A&B" });
        assert_eq!(
            t.email_part("referral", "subject", &data).unwrap(),
            "协查 Q1 <急>"
        );
        assert_eq!(
            t.email_part("referral", "html", &data).unwrap(),
            "<p>A&amp;B</p>"
        );
        assert_eq!(
            t.page("login", json!({ "title": "<登录>" })).unwrap(),
            "<h1>本地热线 &lt;登录&gt;</h1>"
        );
        // Strings not in the override keep their compiled-in text.
        assert_eq!(t.console_strings()["nav"]["queue"], "案件队列");
        // What was not overridden is compiled in.
        assert!(t.render(Language::Zh, "stopped", &json!({})).unwrap() != "热线 བཀག");
        assert!(t.page("error", json!({})).is_err(), "still strict");

        for (rel, broken) in [
            ("zh/help.hbs", "{{#if}}"),
            ("email/referral_reminder.txt.hbs", "{{/each}}"),
            ("console/queue.hbs", "{{#> layout}}"),
            ("console/zh.toml", "[app"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, broken).unwrap();
            let e = Templates::load(Some(dir.path()), "x")
                .err()
                .expect(rel)
                .to_string();
            assert!(e.contains(&path.display().to_string()), "{rel}: {e}");
        }
    }
}
