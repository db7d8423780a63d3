//! Proves the SMTP test server (tests/it/support/smtp.rs) with a real client, lettre's
//! `SmtpTransport` in plain mode, and with raw SMTP over TCP.
//!
//! lettre is a dev-dependency until the referral emails (issue 4) use it.

use crate::support::smtp::{Email, FailAt, SmtpServer};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::{Message, SmtpTransport, Transport};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const SUBJECT: &str = "关于拉萨北环路改造工程欠薪案件的联合执法协查函";
const FROM: &str = "hotline@labour.example.org";
const TO: [&str; 2] = ["zjj@lasa.example.gov.cn", "rsj@lasa.example.gov.cn"];

fn text_body() -> String {
    "拉萨市住房和城乡建设局：\n\
     བཀྲ་ཤིས་བདེ་ལེགས། ལས་ཀའི་གླ་ཆ་མ་སྤྲད་པའི་གནད་དོན།\n\
     我局于2024年3月接到农民工投诉，涉及欠薪人数 23 人，金额 ¥412,560.00。\n\
     .这一行以句点开头（测试 dot-stuffing）\n\
     .\n\
     此致\n敬礼"
        .to_string()
}

fn html_body() -> String {
    "<!DOCTYPE html>\n<html><body>\n\
     <p lang=\"bo\">བཀྲ་ཤིས་བདེ་ལེགས། ལས་ཀའི་གླ་ཆ་མ་སྤྲད་པའི་གནད་དོན།</p>\n\
     <p>我局于2024年3月接到农民工投诉，涉及欠薪人数 <b>23</b> 人，金额 ¥412,560.00。</p>\n\
     <p style=\"margin:0\">= 等号 =3D 不是转义</p>\n\
     </body></html>"
        .to_string()
}

fn transport(server: &SmtpServer) -> SmtpTransport {
    SmtpTransport::builder_dangerous(server.host())
        .port(server.port())
        .timeout(Some(Duration::from_secs(10)))
        .build()
}

fn message(parts: MultiPart) -> Message {
    let mut b = Message::builder()
        .from(format!("劳动监察热线 <{FROM}>").parse::<Mailbox>().unwrap())
        .subject(SUBJECT);
    for to in TO {
        b = b.to(to.parse().unwrap());
    }
    b.multipart(parts).unwrap()
}

fn part(ctype: ContentType, cte: ContentTransferEncoding, body: String) -> SinglePart {
    SinglePart::builder().header(ctype).header(cte).body(body)
}

fn assert_referral(mail: &Email, text: &str, html: &str) {
    assert_eq!(mail.from, FROM);
    assert_eq!(mail.to, TO);
    let raw_subject = mail.header("Subject").unwrap();
    assert!(raw_subject.is_ascii(), "subject not encoded: {raw_subject}");
    assert_eq!(mail.subject().as_deref(), Some(SUBJECT));
    assert_eq!(mail.text_part().as_deref(), Some(text));
    assert_eq!(mail.html_part().as_deref(), Some(html));
    let to = mail.header("To").unwrap();
    assert!(TO.iter().all(|t| to.contains(t)), "{to}");
}

#[test]
fn lettre_multipart_chinese_tibetan_to_two_recipients() {
    let server = SmtpServer::start().unwrap();
    let msg = message(MultiPart::alternative_plain_html(text_body(), html_body()));
    let res = transport(&server).send(&msg).unwrap();
    assert!(res.is_positive());
    let mails = server.wait_for(1, Duration::from_secs(5));
    assert_eq!(mails.len(), 1);
    assert_referral(&mails[0], &text_body(), &html_body());
    let from = mails[0].header("From").unwrap();
    assert!(from.contains(FROM) && from.contains("=?utf-8?"), "{from}");
    let t = server.transcript();
    assert_eq!(
        t.iter().filter(|l| l.starts_with("C: RCPT TO:<")).count(),
        2
    );
}

/// lettre picks base64 or quoted-printable for non-ASCII text by itself; force each
/// transfer encoding, and 8bit (sent with `BODY=8BITMIME`, dot-stuffed lines on the wire;
/// lettre panics on 8bit with a line of 76 bytes or more, hence the short lines).
#[test]
fn lettre_forced_transfer_encodings_decode() {
    use ContentTransferEncoding::{Base64, EightBit, QuotedPrintable};
    let server = SmtpServer::start().unwrap();
    let mailer = transport(&server);
    let short_text = "拉萨市住房和城乡建设局：\nབཀྲ་ཤིས་བདེ་ལེགས།\n.这一行以句点开头\n.\n此致\n敬礼";
    let short_html = "<p>བཀྲ་ཤིས་བདེ་ལེགས།</p>\n.<p>欠薪 23 人</p>";
    let cases = [
        (QuotedPrintable, Base64, text_body(), html_body()),
        (Base64, QuotedPrintable, text_body(), html_body()),
        (
            EightBit,
            EightBit,
            short_text.to_string(),
            short_html.to_string(),
        ),
    ];
    for (text_cte, html_cte, text, html) in cases.clone() {
        let parts = MultiPart::alternative()
            .singlepart(part(ContentType::TEXT_PLAIN, text_cte, text))
            .singlepart(part(ContentType::TEXT_HTML, html_cte, html));
        mailer.send(&message(parts)).unwrap();
    }
    let mails = server.wait_for(3, Duration::from_secs(5));
    assert_eq!(mails.len(), 3);
    for (mail, (text_cte, html_cte, text, html)) in mails.iter().zip(cases) {
        for cte in [text_cte, html_cte] {
            let name = format!("Content-Transfer-Encoding: {cte}");
            assert!(mail.data.contains(&name), "{name}");
        }
        assert_referral(mail, &text, &html);
    }
    // The 8bit parts arrive unstuffed: a line "." and lines starting with ".".
    assert!(mails[2].data.contains("\r\n.\r\n此致") && mails[2].data.contains("\r\n.<p>"));
    let t = server.transcript();
    let eight_bit = t.iter().filter(|l| l.ends_with("> BODY=8BITMIME")).count();
    assert_eq!(eight_bit, 1, "{t:#?}");
}

#[test]
fn fail_next_gives_a_transient_error_then_success() {
    for at in [FailAt::Rcpt, FailAt::Data] {
        let server = SmtpServer::start().unwrap();
        server.fail_next_at(1, at);
        let mailer = transport(&server);
        let msg = message(MultiPart::alternative_plain_html(text_body(), html_body()));
        let err = mailer.send(&msg).unwrap_err();
        assert!(err.is_transient(), "{at:?}: {err:?}");
        assert!(server.messages().is_empty());
        mailer.send(&msg).unwrap();
        let mails = server.wait_for(1, Duration::from_secs(5));
        assert_eq!(mails.len(), 1);
        assert_referral(&mails[0], &text_body(), &html_body());
        let t = server.transcript();
        assert_eq!(t.iter().filter(|l| l.starts_with("S: 451 ")).count(), 1);
    }
}

#[test]
fn auth_required_and_checked() {
    let server = SmtpServer::with_auth("hotline", "s3cret").unwrap();
    let with = |user: &str, pass: &str, mech: Mechanism| {
        SmtpTransport::builder_dangerous(server.host())
            .port(server.port())
            .timeout(Some(Duration::from_secs(10)))
            .credentials(Credentials::new(user.into(), pass.into()))
            .authentication(vec![mech])
            .build()
    };
    for mech in [Mechanism::Plain, Mechanism::Login] {
        let err = with("hotline", "wrong", mech)
            .test_connection()
            .unwrap_err();
        assert!(err.is_permanent(), "{mech:?}: {err:?}");
        assert_eq!(
            with("hotline", "s3cret", mech).test_connection().ok(),
            Some(true)
        );
    }
    let msg = message(MultiPart::alternative_plain_html(text_body(), html_body()));
    assert!(transport(&server).send(&msg).unwrap_err().is_permanent()); // 530, no AUTH
    assert!(with("hotline", "wrong", Mechanism::Plain)
        .send(&msg)
        .is_err());
    with("hotline", "s3cret", Mechanism::Login)
        .send(&msg)
        .unwrap();
    assert_eq!(server.wait_for(1, Duration::from_secs(5)).len(), 1);
    let t = server.transcript();
    assert!(t
        .iter()
        .any(|l| l == "S: 535 5.7.8 Authentication credentials invalid"));
    assert!(t
        .iter()
        .any(|l| l == "S: 530 5.7.0 Authentication required"));
}

/// Raw SMTP: pipelined commands, dot-unstuffing, RSET/NOOP/unknown commands.
#[test]
fn raw_dialogue() {
    let server = SmtpServer::start().unwrap();
    // A raw socket on purpose: pipelining and commands no client library sends.
    let s = TcpStream::connect((server.host(), server.port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let mut reply = || {
        let mut all = String::new();
        loop {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            all.push_str(&l);
            if l.len() < 4 || l.as_bytes()[3] != b'-' {
                return all;
            }
        }
    };
    assert!(reply().starts_with("220 "));
    w.write_all(b"EHLO client\r\n").unwrap();
    let ehlo = reply();
    for cap in ["PIPELINING", "8BITMIME", "SMTPUTF8", "SIZE "] {
        assert!(ehlo.contains(cap), "{ehlo}");
    }
    assert!(!ehlo.contains("AUTH"));
    w.write_all(b"MAIL FROM:<a@x> BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<b@y>\r\nRSET\r\n")
        .unwrap();
    assert_eq!(
        reply() + &reply() + &reply(),
        "250 2.1.0 OK\r\n250 2.1.5 OK\r\n250 2.0.0 OK\r\n"
    );
    w.write_all(b"DATA\r\nNOOP\r\nVRFY x\r\nFOO\r\n").unwrap();
    assert!(reply().starts_with("503 "));
    assert!(reply().starts_with("250 "));
    assert!(reply().starts_with("502 "));
    assert!(reply().starts_with("500 "));
    let data = "Subject: =?UTF-8?Q?caf=C3=A9_?= =?UTF-8?B?5Lit?=\r\n\r\n.\r\n..two\r\nx\r\n";
    let msg = format!(
        "MAIL FROM:<>\r\nRCPT TO:<b@y>\r\nRCPT TO:<用户@例子.中国>\r\nDATA\r\n{}.\r\nQUIT\r\n",
        data.replace("\r\n.", "\r\n..") // dot-stuffing
    );
    w.write_all(msg.as_bytes()).unwrap();
    let replies: Vec<String> = (0..6).map(|_| reply()).collect();
    assert!(replies[3].starts_with("354 "), "{replies:?}");
    assert!(replies[4].starts_with("250 2.0.0 OK queued"), "{replies:?}");
    assert!(replies[5].starts_with("221 "), "{replies:?}");
    let mails = server.messages();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].from, "");
    assert_eq!(mails[0].to, ["b@y", "用户@例子.中国"]);
    assert_eq!(mails[0].data, data);
    assert_eq!(mails[0].subject().as_deref(), Some("café 中"));
    assert_eq!(mails[0].text_part().as_deref(), Some(".\n..two\nx"));
}

#[test]
fn decodes_hand_written_messages() {
    // Q and B words, a UTF-8 character split across two words, folding, mixed text.
    let data = "Subject: Re: =?utf-8?q?=E5=85=B3=E4?= =?utf-8?q?=BA=8E?=\r\n =?UTF-8?B?5ouJ?=\r\n\t=?utf-8?b?6JCo?= \
                (no. 7) =?iso-8859-1?q?d=E9j=E0?=\r\n\
                Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
                preamble\r\n--outer\r\n\
                Content-Type: multipart/alternative;\r\n boundary=inner\r\n\r\n\
                --inner\r\nContent-Type: text/plain; charset=utf-8\r\n\
                Content-Transfer-Encoding: quoted-printable\r\n\r\n\
                =E6=AC=A0=E8=96=AA=\r\n =E6=A1=88  \r\nline 2 a=3Db\r\n\
                --inner\r\nContent-Type: text/html; charset=\"UTF-8\"\r\n\
                Content-Transfer-Encoding: base64\r\n\r\n\
                PHA+5qyg6Jaq\r\n PC9wPg==\r\n--inner--\r\n\
                --outer\r\nContent-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nno\r\n\
                --outer--\r\n";
    let mail = Email {
        from: String::new(),
        to: vec![],
        data: data.into(),
    };
    assert_eq!(mail.subject().as_deref(), Some("Re: 关于拉萨 (no. 7) déjà"));
    assert_eq!(mail.text_part().as_deref(), Some("欠薪 案\nline 2 a=b"));
    assert_eq!(mail.html_part().as_deref(), Some("<p>欠薪</p>"));
    assert_eq!(
        mail.header("content-type").as_deref(),
        Some("multipart/mixed; boundary=\"outer\"")
    );
    let plain = Email {
        data: "Subject: plain\r\n\r\nhello\r\n".into(),
        ..mail
    };
    assert_eq!(plain.text_part().as_deref(), Some("hello"));
    assert_eq!(plain.html_part(), None);
}

/// Dropping the server closes open connections and the listener promptly.
#[test]
fn drop_closes_connections() {
    let server = SmtpServer::start().unwrap();
    let port = server.port();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut greeting = [0u8; 4];
    s.read_exact(&mut greeting).unwrap();
    let t = Instant::now();
    drop(server);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest); // EOF (or reset), not a 5 s timeout
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// Several lettre clients at once: a thread per connection, nothing lost.
#[test]
fn concurrent_senders() {
    let server = SmtpServer::start().unwrap();
    std::thread::scope(|sc| {
        for i in 0..6 {
            let server = &server;
            sc.spawn(move || {
                let msg = Message::builder()
                    .from(FROM.parse().unwrap())
                    .to(TO[0].parse().unwrap())
                    .subject(format!("{SUBJECT} #{i}"))
                    .body(format!("第 {i} 封"))
                    .unwrap();
                transport(server).send(&msg).unwrap();
            });
        }
    });
    let mut subjects: Vec<String> = server
        .wait_for(6, Duration::from_secs(5))
        .iter()
        .map(|m| m.subject().unwrap())
        .collect();
    subjects.sort();
    let want: Vec<String> = (0..6).map(|i| format!("{SUBJECT} #{i}")).collect();
    assert_eq!(subjects, want);
}
