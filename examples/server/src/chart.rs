//! Charts drawn on the server as SVG, inline in the page: no chart library in the browser,
//! nothing to load, readable without script and printed as drawn. A chart is horizontal
//! bars, one per label, which reads the same right to left: in an Arabic page the labels
//! stand on the right and the bars grow leftwards. Every chart sits beside the table of
//! the same numbers, and says what it shows to a screen reader (`role="img"`, its title,
//! and each bar's label and value).

use std::fmt::Write;

/// One bar.
pub struct Bar {
    /// What it is (a status, a source, a reason), as the page says it.
    pub label: String,
    /// Its length, relative to the others (only drawn: amounts are never computed in it).
    pub size: f64,
    /// Its value as the page writes it (`12`, `1,250.500 KWD`, `3 days`).
    pub text: String,
}

/// The page's direction for a chart.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Left to right.
    Ltr,
    /// Right to left (labels on the right, bars growing leftwards).
    Rtl,
}

impl Dir {
    /// Of a page's `dir` attribute.
    pub fn of(dir: &str) -> Self {
        if dir == "rtl" { Dir::Rtl } else { Dir::Ltr }
    }
}

/// Text made safe inside SVG markup.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const WIDTH: f64 = 640.0;
const LABELS: f64 = 190.0;
const VALUES: f64 = 150.0;
const ROW: f64 = 30.0;
const BAR: f64 = 18.0;

/// A bar chart titled `title` (its `id` names it for the page's tests and links).
pub fn bars(id: &str, title: &str, bars: &[Bar], dir: Dir) -> String {
    let id = esc(id);
    let height = ROW * bars.len().max(1) as f64 + 8.0;
    let max = bars.iter().map(|b| b.size).fold(0.0_f64, f64::max);
    let room = WIDTH - LABELS - VALUES;
    let mut svg = String::new();
    let d = if dir == Dir::Rtl { "rtl" } else { "ltr" };
    // `write!` to a String cannot fail.
    let _ = write!(
        svg,
        "<svg class=\"chart\" id=\"{id}\" role=\"img\" aria-labelledby=\"{id}-title\" \
         viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\" \
         direction=\"{d}\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"{id}-title\">{}</title>",
        esc(title)
    );
    if bars.is_empty() {
        let x = if dir == Dir::Rtl { WIDTH - 8.0 } else { 8.0 };
        let _ = write!(svg, "<text x=\"{x}\" y=\"22\" class=\"empty\">—</text>");
    }
    for (i, b) in bars.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let len = if max > 0.0 {
            (b.size.max(0.0) / max * room).max(if b.size > 0.0 { 2.0 } else { 0.0 })
        } else {
            0.0
        };
        // In the page's direction every text starts at its x: a label at the outer edge,
        // a value just past its bar's end.
        let (label_x, bar_x, value_x) = match dir {
            Dir::Ltr => (8.0, LABELS, LABELS + len + 6.0),
            Dir::Rtl => (
                WIDTH - 8.0,
                WIDTH - LABELS - len,
                WIDTH - LABELS - len - 6.0,
            ),
        };
        let text_y = y + BAR / 2.0 + 5.0;
        // A value is written left to right (digits, a currency code), so in a right-to-left
        // chart it ends, not starts, just past its bar.
        let value_anchor = if dir == Dir::Rtl { "end" } else { "start" };
        let _ = write!(
            svg,
            "<g class=\"bar\"><title>{label}: {text}</title>\
             <text x=\"{label_x}\" y=\"{text_y}\" class=\"label\">{label}</text>\
             <rect x=\"{bar_x:.1}\" y=\"{y}\" width=\"{len:.1}\" height=\"{BAR}\" rx=\"3\"></rect>\
             <text x=\"{value_x:.1}\" y=\"{text_y}\" class=\"value\" direction=\"ltr\" \
             text-anchor=\"{value_anchor}\">{text}</text></g>",
            label = esc(&b.label),
            text = esc(&b.text),
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, size: f64) -> Bar {
        Bar {
            label: label.to_owned(),
            size,
            text: format!("{size}"),
        }
    }

    #[test]
    fn bars_are_scaled_to_the_longest_and_labels_are_escaped() {
        let svg = bars(
            "c",
            "Leads <by> status",
            &[bar("جديد", 10.0), bar("<script>", 5.0), bar("none", 0.0)],
            Dir::Ltr,
        );
        assert!(svg.contains("<title id=\"c-title\">Leads &lt;by&gt; status</title>"));
        assert!(svg.contains("width=\"300.0\""), "{svg}");
        assert!(svg.contains("width=\"150.0\""));
        assert!(svg.contains("width=\"0.0\""));
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn right_to_left_puts_labels_on_the_right_and_grows_bars_leftwards() {
        let svg = bars("c", "t", &[bar("جديد", 10.0)], Dir::Rtl);
        assert!(svg.contains("direction=\"rtl\""));
        // The label at the right edge, the bar ending where the labels begin.
        assert!(svg.contains("<text x=\"632\""), "{svg}");
        assert!(svg.contains("<rect x=\"150.0\""), "{svg}");
        assert!(svg.contains("width=\"300.0\""));
        // The value ends just left of the bar.
        assert!(
            svg.contains(
                "x=\"144.0\" y=\"18\" class=\"value\" direction=\"ltr\" text-anchor=\"end\""
            ),
            "{svg}"
        );
    }

    #[test]
    fn an_empty_chart_says_so() {
        assert!(bars("c", "t", &[], Dir::Rtl).contains("class=\"empty\""));
    }
}
