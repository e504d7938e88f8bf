//! A line's menus drawn as a graph, in SVG made on the server (no script, readable
//! printed): one box per node, in rows by how many steps it is from the first node, with
//! its id, its type and its prompt in the chosen language; each key a labelled arrow;
//! silence, a wrong key, too many failures and `0` (a person) drawn each in its own dash;
//! transfers, callback requests and ends of call marked; the node where callers most
//! often hang up outlined in red. The same graph is also given as a list, for screen
//! readers and searching.

use std::collections::{BTreeMap, VecDeque};

use maud::{Markup, html};

use crate::flow::{Flow, Node};
use crate::i18n::{tr, trf};

/// How a route is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A key of a menu.
    Key,
    /// The way on: after a prompt, an hours branch, a postcode's answer.
    Next,
    /// No key in time.
    Silence,
    /// A key that means nothing there.
    WrongKey,
    /// Too many silences or wrong keys, or a transfer or request that failed.
    Failure,
    /// `0`, from every menu: a person.
    Person,
}

impl Route {
    /// Line dash and colour.
    fn stroke(self) -> (&'static str, &'static str) {
        match self {
            Self::Key | Self::Next => ("", "#1b3a5c"),
            Self::Silence => ("6 4", "#1f6fb2"),
            Self::WrongKey => ("2 3", "#b35c00"),
            Self::Failure => ("10 3 2 3", "#b00020"),
            Self::Person => ("1 4", "#666666"),
        }
    }
}

/// One arrow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// From node (index).
    pub from: usize,
    /// To node (index).
    pub to: usize,
    /// Its label: the key, or what takes it.
    pub label: String,
    /// How it is taken.
    pub route: Route,
}

/// One box.
#[derive(Debug, Clone)]
pub struct Box {
    /// The node's id.
    pub id: String,
    /// Its type as the flow file writes it.
    pub kind: &'static str,
    /// Its prompt's text in the language shown.
    pub text: Option<String>,
    /// Transfer, request, end of call.
    pub mark: Option<String>,
    /// Steps from the first node (none: no route leads to it).
    pub depth: Option<usize>,
}

/// Adds an arrow: from a node, to a node (none: to itself), labelled, taken so.
trait AddEdge: FnMut(usize, Option<&crate::flow::Ref>, String, Route) {}
impl<F: FnMut(usize, Option<&crate::flow::Ref>, String, Route)> AddEdge for F {}

/// The graph of `flow` in `language`.
#[must_use]
pub fn graph(flow: &Flow, language: &str) -> (Vec<Box>, Vec<Edge>) {
    let file = &flow.file;
    let ids: Vec<&str> = file.nodes.keys().map(|k| k.get_ref().as_str()).collect();
    let index: BTreeMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let text = |prompt: &crate::flow::Ref| flow.text(prompt.get_ref(), language).map(str::to_owned);
    let defaults = &file.defaults;
    let mut boxes = Vec::new();
    let mut edges = Vec::new();
    let mut edge = |from: usize, to: Option<&crate::flow::Ref>, label: String, route: Route| {
        // No node named: the question is asked again.
        let to = match to {
            None => Some(from),
            Some(to) => index.get(to.get_ref().as_str()).copied(),
        };
        if let Some(to) = to {
            edges.push(Edge { from, to, label, route });
        }
    };
    // A question's failures: silence and a wrong key ask it again (with the words the
    // flow gives them); after `max_attempts` of them the call goes to its `fail` node.
    let failures = |edge: &mut dyn AddEdge, at: usize, fail: Option<&crate::flow::Ref>| {
        edge(at, None, tr("silence").to_owned(), Route::Silence);
        edge(at, None, tr("wrong key").to_owned(), Route::WrongKey);
        if let Some(fail) = fail.or(defaults.fail.as_ref()) {
            edge(
                at,
                Some(fail),
                trf("{count} failures", &[("count", &defaults.max_attempts)]),
                Route::Failure,
            );
        }
    };
    let human = &file.line.human;
    for (i, node) in file.nodes.values().enumerate() {
        let (kind, prompt, mark) = match node {
            Node::Say { prompt, next } => {
                edge(i, Some(next), tr("then").to_owned(), Route::Next);
                ("say", Some(prompt), None)
            }
            Node::Hours { open, closed } => {
                edge(i, Some(open), tr("open").to_owned(), Route::Next);
                edge(i, Some(closed), tr("closed").to_owned(), Route::Next);
                ("hours", None, None)
            }
            Node::Menu(menu) => {
                for option in &menu.options {
                    edge(i, Some(&option.goto), option.key.get_ref().clone(), Route::Key);
                }
                edge(i, Some(human), "0".to_owned(), Route::Person);
                failures(&mut edge, i, menu.fail.as_ref());
                ("menu", Some(&menu.prompt), None)
            }
            Node::Postcode(p) => {
                edge(i, Some(&p.inside), tr("served").to_owned(), Route::Next);
                edge(i, Some(&p.outside), tr("not served").to_owned(), Route::Next);
                failures(&mut edge, i, p.fail.as_ref());
                ("postcode", Some(&p.prompt), None)
            }
            Node::Transfer(t) => {
                edge(i, Some(&t.fail), tr("not answered").to_owned(), Route::Failure);
                if let Some(closed) = &t.closed {
                    edge(i, Some(closed), tr("closed").to_owned(), Route::Next);
                }
                ("transfer", t.prompt.as_ref(), Some(trf("transfer to {to}", &[("to", t.to.get_ref())])))
            }
            Node::Callback(c) => {
                if let Some(fail) = &c.fail {
                    edge(i, Some(fail), tr("fails").to_owned(), Route::Failure);
                }
                ("callback", None, Some(trf("registers a request: {service}", &[("service", &c.service)])))
            }
            Node::End { prompt, .. } => ("end", Some(prompt), Some(tr("end of the call").to_owned())),
        };
        boxes.push(Box { id: ids[i].to_owned(), kind, text: prompt.and_then(text), mark, depth: None });
    }
    // Rows: steps from the first node, `0` left out (it leads to a person from anywhere).
    let mut queue = VecDeque::new();
    if let Some(&start) = index.get(file.line.start.get_ref().as_str()) {
        boxes[start].depth = Some(0);
        queue.push_back(start);
    }
    while let Some(at) = queue.pop_front() {
        let depth = boxes[at].depth.unwrap_or(0) + 1;
        for e in edges.iter().filter(|e| e.from == at && e.route != Route::Person) {
            if boxes[e.to].depth.is_none() {
                boxes[e.to].depth = Some(depth);
                queue.push_back(e.to);
            }
        }
    }
    if let Some(&h) = index.get(human.get_ref().as_str()) {
        if boxes[h].depth.is_none() {
            boxes[h].depth = Some(1);
        }
    }
    (boxes, edges)
}

const W: i64 = 240;
const H: i64 = 96;
const GAP_X: i64 = 36;
const GAP_Y: i64 = 110;
const MARGIN: i64 = 80;

/// Cuts `text` into at most `lines` lines of about `width` characters, the last ending
/// with … when the text goes on.
fn wrap(text: &str, width: usize, lines: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut words = text.split_whitespace().peekable();
    while let Some(word) = words.next() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut current));
            if out.len() == lines {
                if let Some(last) = out.last_mut() {
                    last.push('…');
                }
                return out;
            }
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
        if words.peek().is_none() {
            out.push(std::mem::take(&mut current));
        }
    }
    out.truncate(lines);
    out
}

/// The SVG of `flow` in `language`; `hot` is the node where callers most often hang up,
/// with how many did.
#[must_use]
pub fn svg(flow: &Flow, language: &str, hot: Option<(&str, i64)>) -> Markup {
    let (boxes, edges) = graph(flow, language);
    let unreachable_row = boxes.iter().filter_map(|b| b.depth).max().map_or(0, |d| d + 1);
    let row_of = |b: &Box| b.depth.unwrap_or(unreachable_row);
    let mut rows: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, b) in boxes.iter().enumerate() {
        rows.entry(row_of(b)).or_default().push(i);
    }
    let mut at = vec![(0i64, 0i64); boxes.len()];
    for (row, members) in &rows {
        for (col, &i) in members.iter().enumerate() {
            let (col, row) = (i64::try_from(col).unwrap_or(0), i64::try_from(*row).unwrap_or(0));
            at[i] = (MARGIN + col * (W + GAP_X), MARGIN + 30 + row * (H + GAP_Y));
        }
    }
    let widest = rows.values().map(Vec::len).max().unwrap_or(1);
    let width = MARGIN * 2 + i64::try_from(widest).unwrap_or(1) * (W + GAP_X) + 120;
    let height = MARGIN * 2 + 30 + i64::try_from(rows.len()).unwrap_or(1) * (H + GAP_Y);
    let title = trf("The menus of {line}", &[("line", &flow.file.line.name)]);
    // Arrows between the same two boxes (several keys to one place) fan out apart.
    let spread: Vec<i64> = edges
        .iter()
        .enumerate()
        .map(|(n, e)| {
            let same: Vec<usize> =
                (0..edges.len()).filter(|&m| edges[m].from == e.from && edges[m].to == e.to).collect();
            let place = same.iter().position(|&m| m == n).unwrap_or(0);
            let (place, count) = (i64::try_from(place).unwrap_or(0), i64::try_from(same.len()).unwrap_or(1));
            (2 * place - (count - 1)) * 22
        })
        .collect();
    html! {
        svg.flow-graph xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="graph-title"
            viewBox={ "0 0 " (width) " " (height) } width=(width) height=(height) font-family="sans-serif" {
            title #graph-title { (title) }
            defs {
                marker #arrow viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse" {
                    path d="M 0 0 L 10 5 L 0 10 z" fill="#1b3a5c" {}
                }
            }
            @for (n, e) in edges.iter().enumerate() {
                @let ((sx, sy), (tx, ty)) = (at[e.from], at[e.to]);
                @let (dash, colour) = e.route.stroke();
                @let (d, (lx, ly)) = curve((sx, sy), (tx, ty), (e.from == e.to).then_some(e.route == Route::WrongKey), spread[n]);
                g.edge data-from=(boxes[e.from].id) data-to=(boxes[e.to].id) data-route=(format!("{:?}", e.route).to_lowercase()) {
                    path d=(d) fill="none" stroke=(colour) stroke-width=(if e.route == Route::Person { "1" } else { "1.6" })
                        stroke-dasharray=(dash) marker-end="url(#arrow)" {}
                    text x=(lx) y=(ly) font-size="13" text-anchor="middle" fill=(colour) stroke="#ffffff" stroke-width="4" paint-order="stroke" { (e.label) }
                }
            }
            @for (i, b) in boxes.iter().enumerate() {
                @let (x, y) = at[i];
                @let is_hot = hot.is_some_and(|(node, _)| node == b.id);
                g.node data-node=(b.id) data-kind=(b.kind) {
                    rect x=(x) y=(y) width=(W) height=(H) rx="8"
                        fill=(if b.depth.is_none() { "#f3f3f3" } else { "#ffffff" })
                        stroke=(if is_hot { "#b00020" } else { "#1b3a5c" }) stroke-width=(if is_hot { "4" } else { "1.5" })
                        stroke-dasharray=(if b.depth.is_none() { "4 3" } else { "" }) {}
                    @if b.kind == "end" || b.kind == "transfer" {
                        rect x=(x + 4) y=(y + 4) width=(W - 8) height=(H - 8) rx="6" fill="none" stroke="#1b3a5c" stroke-width="1" {}
                    }
                    text x=(x + 10) y=(y + 20) font-size="14" font-weight="bold" fill="#111111" { (b.id) }
                    text x=(x + W - 10) y=(y + 20) font-size="12" text-anchor="end" fill="#555555" { (b.kind) }
                    @let line_y = y + 40;
                    @if let Some(mark) = &b.mark {
                        text x=(x + 10) y=(line_y) font-size="12" font-style="italic" fill="#1b3a5c" { (mark) }
                    }
                    @for (n, line) in b.text.as_deref().map(|t| wrap(t, 34, if b.mark.is_some() { 2 } else { 3 })).unwrap_or_default().iter().enumerate() {
                        @let dy = if b.mark.is_some() { 16 } else { 0 } + i64::try_from(n).unwrap_or(0) * 16;
                        text x=(x + 10) y=(line_y + dy) font-size="12" fill="#333333" { (line) }
                    }
                    @if is_hot {
                        @let (_, count) = hot.unwrap_or_default();
                        text x=(x + W / 2) y=(y - 8) font-size="13" text-anchor="middle" font-weight="bold" fill="#b00020" {
                            (trf("{count} hang-ups here in 30 days", &[("count", &count)]))
                        }
                    }
                    @if b.depth.is_none() {
                        text x=(x + 10) y=(y + H - 8) font-size="12" fill="#b00020" { (tr("no route leads here")) }
                    }
                }
            }
        }
    }
}

/// The path of an arrow from the box at `s` to the box at `t`, and where its label goes:
/// down into the next rows, or round the right side back up; to itself (`Some(left)`), a
/// loop on its left or right side. `spread` moves an arrow aside from others between the
/// same two boxes.
fn curve(
    (sx, sy): (i64, i64),
    (tx, ty): (i64, i64),
    itself: Option<bool>,
    spread: i64,
) -> (String, (i64, i64)) {
    if let Some(left) = itself {
        let (x, out) = if left { (sx, -60) } else { (sx + W, 60) };
        let y = sy + H / 2;
        let d = format!("M {x} {} C {} {} {} {} {x} {}", y - 14, x + out, y - 40, x + out, y + 40, y + 14);
        return (d, (x + out * 4 / 5, y + 4));
    }
    if ty > sy {
        let (x0, y0, x1, y1) = (sx + W / 2, sy + H, tx + W / 2, ty);
        let bend = (y1 - y0) / 2;
        let d = format!(
            "M {x0} {y0} C {} {} {} {} {x1} {y1}",
            x0 + spread * 2,
            y0 + bend,
            x1 + spread * 2,
            y1 - bend
        );
        (d, ((x0 + x1) / 2 + spread * 3 / 2, (y0 + y1) / 2))
    } else {
        let (x0, y0, x1, y1) = (sx + W, sy + H / 2, tx + W, ty + H / 2);
        let out = 50 + (sy - ty).abs() / 6 + spread.abs() * 2;
        let d = format!("M {x0} {y0} C {} {y0} {} {y1} {x1} {y1}", x0 + out, x1 + out);
        (d, ((x0 + x1) / 2 + out * 3 / 4, (y0 + y1) / 2))
    }
}
