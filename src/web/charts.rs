//! Bar charts as SVG, drawn on the server: no script, sharp when printed, with a title
//! and a description for screen readers.

use std::fmt::Write as _;

use maud::{Markup, PreEscaped, html};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;

/// One series of a chart.
pub struct Series<'a> {
    /// Legend.
    pub name: &'a str,
    /// Fill (a colour that stays distinct in grey when printed).
    pub fill: &'a str,
    /// One value per label; `None` draws nothing.
    pub values: Vec<Option<f64>>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A round top for the axis: 1, 2, 5 × a power of ten.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    // Quarters of these tops are round too (gridlines at 25 %, 50 %, 75 %).
    let power = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 4.0, 8.0, 10.0].iter().map(|m| m * power).find(|v| *v >= max).unwrap_or(10.0 * power)
}

fn number(v: f64) -> String {
    let decimals = usize::from((v - v.round()).abs() >= 1e-9);
    crate::i18n::current().number(v, decimals)
}

/// A grouped bar chart.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn bars(id: &str, title: &str, labels: &[String], series: &[Series<'_>]) -> Markup {
    let max = series.iter().flat_map(|s| s.values.iter().flatten()).fold(0.0f64, |a, b| a.max(*b));
    let top = nice_max(max);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let groups = labels.len().max(1) as f64;
    let group_w = plot_w / groups;
    let bar_w = (group_w * 0.8 / series.len().max(1) as f64).max(1.0);
    let y = |v: f64| TOP + plot_h - v / top * plot_h;
    let total: f64 = series.iter().flat_map(|s| s.values.iter().flatten()).sum();
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg id="{id}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-t {id}-d" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        escape(title),
        escape(&crate::i18n::trf(
            "{count} values, highest {highest}, total {total}",
            &[("count", &labels.len()), ("highest", &number(max)), ("total", &number(total))]
        ))
    );
    for i in 0..=4 {
        let v = top * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ccc"/><text x="{}" y="{:.1}" text-anchor="end" font-size="11">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(v) + 4.0,
            number(v),
            y = y(v)
        );
    }
    let every = labels.len().div_ceil(12).max(1);
    for (g, label) in labels.iter().enumerate() {
        let x0 = LEFT + group_w * g as f64 + group_w * 0.1;
        for (k, s) in series.iter().enumerate() {
            let Some(v) = s.values.get(g).copied().flatten() else { continue };
            let x = x0 + bar_w * k as f64;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {} {}</title></rect>"#,
                y(v),
                bar_w.max(1.0) - 0.5,
                (TOP + plot_h - y(v)).max(0.0),
                s.fill,
                escape(label),
                escape(s.name),
                number(v)
            );
        }
        if g % every == 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" text-anchor="middle" font-size="11">{}</text>"#,
                LEFT + group_w * (g as f64 + 0.5),
                HEIGHT - BOTTOM + 16.0,
                escape(label)
            );
        }
    }
    let mut x = LEFT;
    for s in series {
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}" font-size="11">{}</text>"#,
            HEIGHT - 14.0,
            s.fill,
            x + 14.0,
            HEIGHT - 5.0,
            escape(s.name)
        );
        x += 24.0 + 7.0 * s.name.len() as f64;
    }
    svg.push_str("</svg>");
    html! { figure.chart { figcaption { (title) } (PreEscaped(svg)) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round() {
        assert!((nice_max(0.0) - 1.0).abs() < 1e-9);
        assert!((nice_max(5.0) - 8.0).abs() < 1e-9);
        assert!((nice_max(12.0) - 20.0).abs() < 1e-9);
        assert!((nice_max(335.0) - 400.0).abs() < 1e-9);
    }

    #[test]
    fn labels_are_escaped_and_every_value_is_a_bar() {
        let chart = bars(
            "c",
            "A <b>",
            &["x&y".to_owned(), "z".to_owned()],
            &[Series { name: "n", fill: "#000", values: vec![Some(1.0), None] }],
        )
        .into_string();
        assert!(chart.contains("A &lt;b&gt;") && chart.contains("x&amp;y"));
        assert_eq!(chart.matches("<rect").count(), 2, "one bar and one legend swatch");
        assert!(chart.contains("<figcaption>A &lt;b&gt;</figcaption>"), "a visible title");
    }
}
