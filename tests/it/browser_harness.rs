//! Proves our headless-Chromium setup (tests/it/support/browser.rs) on its own, without the
//! hotline service: Chromium starts with our flags, shows exactly the viewport asked for
//! (desktop and phone), takes Chinese and Tibetan typed into a form intact, renders Tibetan
//! with a real font, and screenshots.
//!
//! Needs Debian's `chromium` and `chromium-driver`. Without them the test is skipped, unless
//! `CI` is set, in which case it fails. Set `BROWSER_SCREENSHOT_DIR` to keep the screenshots.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use crate::support::browser::{browser_or_skip, run, Browser};

const CASE_LINE: &str = "Q123459 拉萨北环路改造工程 བཀྲ་ཤིས";
const REMARK: &str = "བཀྲ་ཤིས་བདེ་ལེགས། 你好，世界";

/// A page with a Chinese and Tibetan label, a text input and a phone-ready viewport.
fn page() -> String {
    let html = format!(
        "<!DOCTYPE html><html lang=\"zh\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>案件</title></head><body>\
         <p id=\"case\">{CASE_LINE}</p>\
         <label for=\"remark\">备注 སྤྱོད་མཁན།</label><input id=\"remark\" name=\"remark\">\
         </body></html>"
    );
    format!(
        "data:text/html;charset=utf-8,{}",
        percent_encoding::utf8_percent_encode(&html, percent_encoding::NON_ALPHANUMERIC)
    )
}

/// Width and height from the PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    let be = |i: usize| u32::from_be_bytes(png[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

async fn screenshot(b: &Browser, name: &str) -> Vec<u8> {
    let dir = std::env::var_os("BROWSER_SCREENSHOT_DIR").filter(|d| !d.is_empty());
    let keep = dir.is_some();
    let dir = dir.map(Into::into).unwrap_or_else(std::env::temp_dir);
    let path = dir.join(format!("{name}-{}.png", std::process::id()));
    let png = b.screenshot_png(&path).await;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 1024, "PNG only {} bytes", png.len());
    if keep {
        eprintln!("screenshot: {}", path.display());
    } else {
        let _ = std::fs::remove_file(&path);
    }
    png
}

#[test]
fn browser_harness_desktop_types_and_renders_tibetan() {
    if !browser_or_skip("browser_harness_desktop_types_and_renders_tibetan") {
        return;
    }
    run(async {
        let b = Browser::start(1280, 900).await;
        b.goto(&page()).await.unwrap();
        assert_eq!(b.title().await.unwrap(), "案件");
        let line = b
            .wait_for_text("#case", "Q123459", Duration::from_secs(5))
            .await;
        assert_eq!(line.text().await.unwrap(), CASE_LINE);
        let label = b.find(Locator::Css("label[for=remark]")).await.unwrap();
        assert_eq!(label.text().await.unwrap(), "备注 སྤྱོད་མཁན།");

        // Combining vowel signs (U+0F72 in ཤིས) arrive intact in what the page sees.
        let remark = b.find(Locator::Css("#remark")).await.unwrap();
        remark.send_keys(REMARK).await.unwrap();
        assert_eq!(remark.prop("value").await.unwrap().as_deref(), Some(REMARK));

        // A font for Tibetan is installed: a Tibetan letter is not drawn as the box of a
        // character no font has (the fonts are needed for screenshots, not for tests).
        let widths = b
            .execute(
                "const c = document.createElement('canvas').getContext('2d'); \
                 c.font = '40px serif'; \
                 return [c.measureText('\u{0F40}').width, c.measureText('\u{E000}').width]",
                vec![],
            )
            .await
            .unwrap();
        let renders = widths[0] != widths[1];
        if std::env::var_os("CI").is_some() {
            assert!(
                renders,
                "no Tibetan font: apt-get install fonts-tibetan-machine"
            );
        } else if !renders {
            eprintln!("no Tibetan font (apt-get install fonts-tibetan-machine): {widths}");
        }

        let png = screenshot(&b, "browser_harness_desktop").await;
        assert_eq!(png_size(&png), (1280, 900), "PNG width x height");
    });
}

#[test]
fn browser_harness_phone_size() {
    if !browser_or_skip("browser_harness_phone_size") {
        return;
    }
    run(async {
        let b = Browser::start(390, 844).await;
        b.goto(&page()).await.unwrap();
        let size = b
            .execute("return [window.innerWidth, window.innerHeight]", vec![])
            .await
            .unwrap();
        assert_eq!(size, json!([390, 844]), "viewport");
        let png = screenshot(&b, "browser_harness_phone_size").await;
        assert_eq!(png_size(&png), (390, 844), "PNG width x height");
    });
}
