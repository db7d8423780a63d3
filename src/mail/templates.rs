//! Emails to departments from the template registry: `templates/email/NAME.{subject,txt,html}.hbs`
//! (or their overrides in `templates_dir/email/`). The HTML part is escaped; the subject and
//! text parts are not.

use serde::Serialize;

use crate::mail::Email;
use crate::templates::{TemplateError, Templates};

/// Renders email `name` to `to` with `data`.
pub fn render<T: Serialize>(
    templates: &Templates,
    name: &str,
    to: Vec<String>,
    data: &T,
) -> Result<Email, TemplateError> {
    let value = serde_json::to_value(data)
        .map_err(|e| TemplateError::Render(format!("email/{name}"), e.to_string()))?;
    let part = |part: &str| templates.email_part(name, part, &value);
    Ok(Email {
        to,
        // A header is one line.
        subject: part("subject")?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        text: part("txt")?.trim().to_string() + "\n",
        html: part("html")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The compiled-in templates.
    fn render(
        name: &str,
        to: Vec<String>,
        data: &serde_json::Value,
    ) -> Result<Email, TemplateError> {
        super::render(&Templates::load(None, "x").unwrap(), name, to, data)
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
