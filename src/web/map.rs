//! The coordinators' map, drawn on the server as SVG from the postcodes' coordinates (no
//! tile service, nothing fetched from elsewhere): a disc per postcode sized by its active
//! volunteers, a square beside it for missions still looking for someone. A table gives
//! the same figures for screen readers and print.

use crate::i18n::{tr, trf};
use maud::{Markup, html};

use crate::ops::missions::Place;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 480.0;
const MARGIN: f64 = 40.0;

/// The map of `places`.
#[must_use]
pub fn map(places: &[Place]) -> Markup {
    if places.is_empty() {
        return html! { p.empty { (tr("No postcode to show yet.")) } };
    }
    // An equirectangular projection around the places' mean latitude: over a city or a
    // province the distortion is far below the coordinates' own precision.
    let lat0 =
        places.iter().map(|p| p.point.lat).sum::<f64>() / f64::from(u32::try_from(places.len()).unwrap_or(1));
    let squeeze = lat0.to_radians().cos();
    let xs: Vec<f64> = places.iter().map(|p| p.point.lon * squeeze).collect();
    let ys: Vec<f64> = places.iter().map(|p| -p.point.lat).collect();
    let (min_x, max_x) = bounds(&xs);
    let (min_y, max_y) = bounds(&ys);
    let span = (max_x - min_x).max(max_y - min_y).max(0.01);
    let scale = ((WIDTH - 2.0 * MARGIN) / span).min((HEIGHT - 2.0 * MARGIN) / span);
    let at = |i: usize| (MARGIN + (xs[i] - min_x) * scale, MARGIN + (ys[i] - min_y) * scale);
    // One kilometre in pixels, for the scale bar (a degree of latitude is 111.2 km).
    let km = scale / 111.2;
    let bar_km =
        [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0].into_iter().find(|k| k * km >= 60.0).unwrap_or(100.0);
    html! {
        figure.map {
            svg.map viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-labelledby="map-title" xmlns="http://www.w3.org/2000/svg" {
                title #map-title { (tr("Volunteers and missions by postcode")) }
                rect x="0" y="0" width=(WIDTH) height=(HEIGHT) fill="#f7f9fb" stroke="#c8c8c8" {}
                @for (i, p) in places.iter().enumerate() {
                    @let (x, y) = at(i);
                    @let r = 6.0 + 4.0 * f64::from(p.volunteers).sqrt();
                    g {
                        title { (p.label) ": " (trf("{volunteers} volunteer(s), {missions} mission(s) looking for someone", &[("volunteers", &p.volunteers), ("missions", &p.open_missions)])) }
                        circle cx=(fmt(x)) cy=(fmt(y)) r=(fmt(r)) fill=(if p.volunteers == 0 { "#ffffff" } else { "#0b5394" })
                            fill-opacity="0.75" stroke="#0b5394" {}
                        @if p.open_missions > 0 {
                            rect x=(fmt(x + r)) y=(fmt(y - r - 4.0)) width="18" height="18" fill="#a40000" {}
                            text x=(fmt(x + r + 9.0)) y=(fmt(y - r + 9.0)) font-size="12" fill="#fff" text-anchor="middle" { (p.open_missions) }
                        }
                        text x=(fmt(x)) y=(fmt(y + r + 14.0)) font-size="13" text-anchor="middle" fill="#1b1b1b" { (p.postcode) }
                        @if p.volunteers > 0 {
                            text x=(fmt(x)) y=(fmt(y + 4.5)) font-size="12" text-anchor="middle" fill="#fff" { (p.volunteers) }
                        }
                    }
                }
                g {
                    line x1=(MARGIN) y1=(HEIGHT - 18.0) x2=(fmt(MARGIN + bar_km * km)) y2=(HEIGHT - 18.0) stroke="#1b1b1b" stroke-width="3" {}
                    text x=(MARGIN) y=(HEIGHT - 24.0) font-size="12" { (bar_km) " km" }
                }
            }
            figcaption {
                (tr("Discs: active volunteers living in each postcode (the number inside)."))
                " "
                (tr("Red squares: missions still looking for a volunteer."))
            }
        }
        table {
            caption { (tr("The same, as a table")) }
            thead { tr { th scope="col" { (tr("Postcode")) } th scope="col" { (tr("Volunteers")) } th scope="col" { (tr("On duty")) } th scope="col" { (tr("Looking for a volunteer")) } th scope="col" { (tr("Accepted")) } } }
            tbody {
                @for p in places {
                    tr { td { (p.label) } td { (p.volunteers) } td { (p.on_duty) } td { (p.open_missions) } td { (p.accepted_missions) } }
                }
            }
        }
    }
}

fn bounds(values: &[f64]) -> (f64, f64) {
    values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(*v), hi.max(*v)))
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::places::Places;

    fn place(code: &str, volunteers: u32, open: u32) -> Place {
        let p = Places::builtin().find(code).unwrap();
        Place {
            postcode: code.to_owned(),
            label: p.label(),
            point: p.centre,
            volunteers,
            on_duty: volunteers,
            open_missions: open,
            accepted_missions: 0,
        }
    }

    #[test]
    fn every_postcode_is_drawn_inside_the_frame_north_up() {
        let places = [place("4020", 3, 1), place("4031", 0, 0), place("4800", 1, 0)];
        let svg = map(&places).into_string();
        let cx: Vec<f64> = svg
            .match_indices("<circle cx=\"")
            .map(|(i, _)| svg[i + 12..].split('"').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(cx.len(), 3, "{svg}");
        assert!(cx.iter().all(|x| (MARGIN..=WIDTH - MARGIN).contains(x)), "{cx:?}");
        assert!(cx[2] > cx[0], "Verviers lies east of Liège");
        assert!(svg.contains(">4031</text>") && svg.contains("1 mission(s) looking for someone"), "{svg}");
        assert!(svg.contains("<td>0</td>"), "a postcode without volunteers shows as such");
    }
}
