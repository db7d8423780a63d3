//! Bar charts as standalone inline SVG: no script, no external font or stylesheet, a viewBox
//! so they scale to a phone's width. Horizontal bars, because Chinese and Tibetan labels are
//! long and read best on one line. Every word shown (title, labels, series) comes from the
//! caller, so the console's templates keep the wording.

use std::fmt::Write;

use crate::text::thousands;

const FONTS: &str =
    "'Noto Sans CJK SC', 'WenQuanYi Micro Hei', 'Noto Serif Tibetan', 'Tibetan Machine Uni', sans-serif";
/// Colour-blind-safe (Okabe–Ito) colours, dark enough for white backgrounds.
const PALETTE: [&str; 6] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
];

/// Narrow enough that 13px text stays readable when a phone shrinks the chart to fit.
const WIDTH: f64 = 480.0;
const PAD: f64 = 12.0;
const TITLE_H: f64 = 36.0;
const LEGEND_H: f64 = 24.0;
const BAR_H: f64 = 18.0;
const BAR_GAP: f64 = 4.0;
const GROUP_GAP: f64 = 12.0;
/// Room for the value printed after the longest bar.
const VALUE_W: f64 = 80.0;
const FONT_PX: f64 = 13.0;

/// One bar per `(label, value)`, longest bar = largest value.
pub fn bar_chart(title: &str, bars: &[(&str, i64)]) -> String {
    let groups: Vec<(&str, Vec<i64>)> = bars.iter().map(|(l, v)| (*l, vec![*v])).collect();
    render(title, &[], &groups)
}

/// For each `(label, values)`, one bar per series (`values[i]` belongs to `series[i]`), with
/// a legend: met vs missed, sent vs answered.
pub fn grouped_bars(title: &str, series: &[&str], groups: &[(&str, Vec<i64>)]) -> String {
    render(title, series, groups)
}

fn render(title: &str, series: &[&str], groups: &[(&str, Vec<i64>)]) -> String {
    let per_group = groups
        .iter()
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(0)
        .max(series.len())
        .max(1);
    let max = groups
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .max()
        .unwrap_or(0)
        .max(0);
    let empty = max == 0;

    // Labels are sized by an estimate (a CJK or Tibetan character is about one em, a Latin
    // one about half), capped so the bars keep at least half of the width.
    let label_w = groups
        .iter()
        .map(|(l, _)| text_width(l))
        .fold(0.0, f64::max)
        .clamp(FONT_PX * 2.0, WIDTH / 2.0 - PAD)
        + 8.0;
    let plot_x = PAD + label_w;
    let plot_w = WIDTH - plot_x - VALUE_W - PAD;
    let legend_h = if series.is_empty() { 0.0 } else { LEGEND_H };
    let group_h = per_group as f64 * (BAR_H + BAR_GAP) - BAR_GAP;
    let body_top = TITLE_H + legend_h;
    let body_h = if groups.is_empty() {
        // Room for the empty-state frame.
        3.0 * BAR_H
    } else {
        groups.len() as f64 * (group_h + GROUP_GAP) - GROUP_GAP
    };
    let height = body_top + body_h + PAD;

    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" role="img" aria-label="{t}" class="chart{cls}" font-family="{FONTS}" font-size="{FONT_PX}">"##,
        t = escape(title),
        cls = if empty { " chart-empty" } else { "" },
    );
    let _ = write!(s, "<title>{}</title>", escape(title));
    // What a screen reader reads instead of the bars.
    let desc: Vec<String> = groups
        .iter()
        .map(|(label, values)| {
            let vals: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(i, v)| match series.get(i) {
                    Some(name) => format!("{name} {}", thousands(*v)),
                    None => thousands(*v),
                })
                .collect();
            format!("{label}: {}", vals.join(", "))
        })
        .collect();
    let _ = write!(s, "<desc>{}</desc>", escape(&desc.join("; ")));
    let _ = write!(
        s,
        r##"<text x="{PAD}" y="{y}" font-size="16" font-weight="bold" fill="#222">{}</text>"##,
        escape(title),
        y = TITLE_H - 14.0,
    );

    if !series.is_empty() {
        let mut x = PAD;
        let y = TITLE_H + 2.0;
        for (i, name) in series.iter().enumerate() {
            let _ = write!(
                s,
                r##"<rect x="{x}" y="{y}" width="12" height="12" fill="{c}"/><text x="{tx}" y="{ty}" fill="#222">{n}</text>"##,
                c = PALETTE[i % PALETTE.len()],
                tx = x + 16.0,
                ty = y + 11.0,
                n = escape(name),
            );
            x += 16.0 + text_width(name) + 16.0;
        }
    }

    if groups.is_empty() {
        let _ = write!(
            s,
            r##"<rect x="{PAD}" y="{body_top}" width="{w}" height="{body_h}" fill="none" stroke="#bbb" stroke-dasharray="4 4"/><text x="{cx}" y="{cy}" text-anchor="middle" fill="#777">—</text>"##,
            w = WIDTH - 2.0 * PAD,
            cx = WIDTH / 2.0,
            cy = body_top + body_h / 2.0 + FONT_PX / 3.0,
        );
    }

    // The axis the bars grow from.
    if !groups.is_empty() {
        let _ = write!(
            s,
            r##"<line x1="{plot_x}" y1="{body_top}" x2="{plot_x}" y2="{y2}" stroke="#999"/>"##,
            y2 = body_top + body_h,
        );
    }
    for (g, (label, values)) in groups.iter().enumerate() {
        let top = body_top + g as f64 * (group_h + GROUP_GAP);
        let _ = write!(
            s,
            r##"<text x="{x}" y="{y}" text-anchor="end" fill="#222">{l}</text>"##,
            x = plot_x - 6.0,
            y = r1(top + group_h / 2.0 + FONT_PX / 3.0),
            l = escape(label),
        );
        for (i, v) in values.iter().enumerate() {
            let v = (*v).max(0);
            let y = top + i as f64 * (BAR_H + BAR_GAP);
            let w = if empty {
                0.0
            } else {
                r1(plot_w * v as f64 / max as f64)
            };
            let _ = write!(
                s,
                r##"<rect class="bar" x="{plot_x}" y="{y}" width="{w}" height="{BAR_H}" fill="{c}"/><text class="value" x="{vx}" y="{vy}" fill="#222">{n}</text>"##,
                c = PALETTE[if series.is_empty() {
                    0
                } else {
                    i % PALETTE.len()
                }],
                vx = r1(plot_x + w + 4.0),
                vy = r1(y + BAR_H / 2.0 + FONT_PX / 3.0),
                n = thousands(v),
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn r1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Rough rendered width: a Han character is one em, a Tibetan syllable letter about 0.7, the
/// rest about half.
fn text_width(s: &str) -> f64 {
    s.chars()
        .map(|c| match c {
            '\u{0F00}'..='\u{0FFF}' => 0.7,
            c if (c as u32) >= 0x2E80 => 1.0,
            _ => 0.55,
        })
        .sum::<f64>()
        * FONT_PX
}

/// Text and attribute values: the five XML specials escaped, and the control characters
/// XML 1.0 forbids dropped (a county name typed on a phone may carry anything).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `width` of each bar, in order.
    fn bar_widths(svg: &str) -> Vec<f64> {
        svg.split(r#"<rect class="bar""#)
            .skip(1)
            .map(|r| {
                let w = r.split(r#"width=""#).nth(1).unwrap();
                w[..w.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    fn values(svg: &str) -> Vec<String> {
        svg.split(r#"<text class="value""#)
            .skip(1)
            .map(|t| {
                let t = &t[t.find('>').unwrap() + 1..];
                t[..t.find('<').unwrap()].to_string()
            })
            .collect()
    }

    #[test]
    fn standalone_accessible_scalable() {
        let svg = bar_chart("本月投诉", &[("城关区", 3)]);
        assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 480 "#));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(r#"aria-label="本月投诉""#));
        assert!(svg.contains("<title>本月投诉</title>"));
        assert!(svg.contains("<desc>城关区: 3</desc>"));
        assert!(svg.contains("'Noto Sans CJK SC', 'WenQuanYi Micro Hei', 'Noto Serif Tibetan', 'Tibetan Machine Uni', sans-serif"));
        assert!(
            !svg.contains(" height=\"100%\""),
            "height follows the viewBox"
        );
    }

    #[test]
    fn labels_are_escaped() {
        let svg = grouped_bars(
            "A & B <script>",
            &["met \"on time\"", "missed"],
            &[("<b>O'Brien & 子</b>\u{7}", vec![1, 2])],
        );
        assert!(!svg.contains("<script>"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("A &amp; B &lt;script&gt;"));
        assert!(svg.contains("&lt;b&gt;O&apos;Brien &amp; 子&lt;/b&gt;"));
        assert!(svg.contains("met &quot;on time&quot;"));
        assert!(!svg.contains('\u{7}'), "control characters are not XML");
    }

    #[test]
    fn bars_scale_to_the_largest_value() {
        let svg = bar_chart("x", &[("a", 50), ("b", 100), ("c", 0), ("d", 25)]);
        let w = bar_widths(&svg);
        assert_eq!(w.len(), 4);
        assert!(
            w[1] > 100.0,
            "the largest bar takes the plot's width: {w:?}"
        );
        assert_eq!(w[0], r1(w[1] / 2.0));
        assert_eq!(w[2], 0.0);
        assert_eq!(w[3], r1(w[1] / 4.0));
        assert_eq!(values(&svg), ["50", "100", "0", "25"]);
        // and stay inside the viewBox, value included
        assert!(w[1] + VALUE_W <= WIDTH);
    }

    #[test]
    fn values_printed_with_thousands() {
        let svg = bar_chart("追回", &[("城关区", 1_234_567)]);
        assert_eq!(values(&svg), ["1,234,567"]);
    }

    #[test]
    fn empty_data_draws_an_empty_chart() {
        for svg in [
            bar_chart("空", &[]),
            grouped_bars("空", &["a", "b"], &[]),
            bar_chart("零", &[("a", 0), ("b", 0)]),
            grouped_bars("零", &["a", "b"], &[("x", vec![0, 0])]),
        ] {
            assert!(svg.contains("chart-empty"), "{svg}");
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
            assert!(bar_widths(&svg).iter().all(|w| *w == 0.0));
            assert!(svg.ends_with("</svg>"));
        }
        assert!(!bar_chart("有", &[("a", 1)]).contains("chart-empty"));
    }

    #[test]
    fn grouped_bars_have_a_legend_and_series_colours() {
        let svg = grouped_bars(
            "期限",
            &["按期", "逾期"],
            &[("受理", vec![8, 2]), ("办结", vec![3, 1])],
        );
        assert!(svg.contains(">按期</text>") && svg.contains(">逾期</text>"));
        assert_eq!(values(&svg), ["8", "2", "3", "1"]);
        let w = bar_widths(&svg);
        assert_eq!(w[1], r1(w[0] / 4.0));
        assert!(svg.contains(PALETTE[0]) && svg.contains(PALETTE[1]));
        assert!(svg.contains("<desc>受理: 按期 8, 逾期 2; 办结: 按期 3, 逾期 1</desc>"));
    }
}
