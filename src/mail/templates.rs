//! Emails to departments: `templates/email/NAME.{subject,txt,html}.hbs`, compiled in, rendered
//! by handlebars in strict mode (a missing variable is an error, not a gap in an official
//! letter). The HTML part is escaped; the subject and text parts are not.

use std::sync::OnceLock;

use handlebars::Handlebars;
use serde::Serialize;

use crate::mail::Email;
use crate::templates::TemplateError;

/// Every email, each with a subject, a text and an HTML part.
pub const NAMES: &[&str] = &["referral", "referral_reminder"];

const BUILTIN: &[(&str, &str)] = &[
    (
        "referral.subject",
        include_str!("../../templates/email/referral.subject.hbs"),
    ),
    (
        "referral.txt",
        include_str!("../../templates/email/referral.txt.hbs"),
    ),
    (
        "referral.html",
        include_str!("../../templates/email/referral.html.hbs"),
    ),
    (
        "referral_reminder.subject",
        include_str!("../../templates/email/referral_reminder.subject.hbs"),
    ),
    (
        "referral_reminder.txt",
        include_str!("../../templates/email/referral_reminder.txt.hbs"),
    ),
    (
        "referral_reminder.html",
        include_str!("../../templates/email/referral_reminder.html.hbs"),
    ),
];

struct Registries {
    /// Subjects and text parts: no escaping.
    plain: Handlebars<'static>,
    /// HTML parts: HTML escaping.
    html: Handlebars<'static>,
}

fn registries() -> Result<&'static Registries, TemplateError> {
    static CELL: OnceLock<Result<Registries, TemplateError>> = OnceLock::new();
    CELL.get_or_init(|| {
        let mut plain = Handlebars::new();
        plain.set_strict_mode(true);
        plain.register_escape_fn(handlebars::no_escape);
        let mut html = Handlebars::new();
        html.set_strict_mode(true);
        for (name, text) in BUILTIN {
            let reg = if name.ends_with(".html") {
                &mut html
            } else {
                &mut plain
            };
            reg.register_template_string(name, *text)
                .map_err(|e| TemplateError::Compile(format!("email/{name}"), e.to_string()))?;
        }
        Ok(Registries { plain, html })
    })
    .as_ref()
    .map_err(|e| match e {
        TemplateError::Compile(a, b) => TemplateError::Compile(a.clone(), b.clone()),
        TemplateError::Render(a, b) => TemplateError::Render(a.clone(), b.clone()),
    })
}

/// Renders email `name` to `to` with `data`.
pub fn render<T: Serialize>(name: &str, to: Vec<String>, data: &T) -> Result<Email, TemplateError> {
    let r = registries()?;
    let value = serde_json::to_value(data)
        .map_err(|e| TemplateError::Render(format!("email/{name}"), e.to_string()))?;
    let one = |reg: &Handlebars<'static>, part: &str| {
        let key = format!("{name}.{part}");
        reg.render(&key, &value)
            .map_err(|e| TemplateError::Render(format!("email/{key}"), e.to_string()))
    };
    Ok(Email {
        to,
        // A header is one line.
        subject: one(&r.plain, "subject")?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        text: one(&r.plain, "txt")?.trim().to_string() + "\n",
        html: one(&r.html, "html")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    #[test]
    fn every_email_has_three_parts_and_nothing_on_disk_is_left_out() {
        for name in NAMES {
            for part in ["subject", "txt", "html"] {
                let key = format!("{name}.{part}");
                assert!(BUILTIN.iter().any(|(n, _)| *n == key), "{key} missing");
            }
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/email");
        for entry in std::fs::read_dir(dir).unwrap() {
            let file = entry.unwrap().file_name().into_string().unwrap();
            let key = file.strip_suffix(".hbs").unwrap();
            assert!(
                BUILTIN.iter().any(|(n, _)| *n == key),
                "{file} is on disk but not compiled in"
            );
        }
    }

    fn data() -> serde_json::Value {
        json!({
            "department_name": "住房和城乡建设局",
            "reference": "QX-26-00001",
            "employer": "A&B <建筑> 公司",
            "project": { "code": "P-1", "name": "北环路", "government_invested": true },
            "county": "城关区",
            "workers": 12,
            "amount": "48,000",
            "months": null,
            "received_on": "2026-11-02",
            "state_label": "已立案",
            "reason": "请核查",
            "link": "https://h.example/console/ack/abc.def",
            "link_expires_on": "2027-02-01",
            "remind_after": 5,
            "sent_on": "2026-11-03",
            "reminder": 1,
            "today": "2026-11-10",
        })
    }

    #[test]
    fn html_is_escaped_text_is_not_and_strict_mode_catches_gaps() {
        let e = render("referral", vec!["a@b".into()], &data()).unwrap();
        assert!(e.text.contains("A&B <建筑> 公司"), "{}", e.text);
        assert!(e.html.contains("A&amp;B &lt;建筑&gt; 公司"), "{}", e.html);
        assert!(e.subject.contains("QX-26-00001") && !e.subject.contains('\n'));
        assert!(e.text.contains("https://h.example/console/ack/abc.def"));
        assert!(!e.text.contains("拖欠时长"), "months unknown: no line");
        let mut d = data();
        d.as_object_mut().unwrap().remove("reason");
        let err = render("referral", vec![], &d).unwrap_err().to_string();
        assert!(err.contains("referral"), "{err}");
        assert!(render("referral_reminder", vec![], &data())
            .unwrap()
            .subject
            .contains("催办第1次"));
    }
}
