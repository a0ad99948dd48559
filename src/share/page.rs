//! The share page: ONE self-contained HTML file that plays a recorded race back in a browser —
//! the race track, the lanes with their numbers, the arena (one prompt's responses from every
//! endpoint side by side, streaming at the times they arrived), play, pause, speed and seek,
//! then the final table and the medals. Nothing is fetched: a strict Content Security Policy
//! forbids it, styles and the script are inline, and every number was written here from the
//! aggregator's snapshots ([`data`]); the script only shows the frame for the time played.
//! Every text from the race is escaped (HTML) or sits in JSON that cannot end its element.
//!
//! Size: at most [`MAX_FRAMES`](crate::share::frames::MAX_FRAMES) + 1 frames of about 150
//! bytes per endpoint, and at most as many arena heats of [`data::TEXT_CAP`] characters per
//! endpoint: about 1 MB per endpoint at worst, whatever the race's length.

mod arena;
mod assets;
mod data;

use std::fmt::Write as _;

use crate::format::{ms, percent, rate, usd};
use crate::report::svg::{color, escape};
use crate::share::Recording;
use crate::stats::Snapshot;
use crate::stats::medals::{Medal, MedalKind};

/// What the page's Content Security Policy allows: its own inline script and styles, and
/// images only as data URLs. No request can leave it.
pub const CSP: &str =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

/// The page for `recording`, with `medals` beside the final table.
pub fn render(recording: &Recording, medals: &[Medal]) -> String {
    let header = &recording.header;
    let data = data::build(recording);
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>llmrace: {}</title>\n<style>{}</style>\n</head>\n<body>\n",
        escape(&header.name),
        assets::STYLE
    );
    let _ = writeln!(
        out,
        "<header><h1>llmrace · {}</h1><p class=\"meta\">Started {} · {} endpoints · ran {} · \
         llmrace {}</p></header>",
        escape(&header.name),
        header.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        header.endpoints.len(),
        ms(Some(recording.duration.as_secs_f64() * 1000.0)),
        escape(&header.llmrace_version),
    );
    for notice in notices(recording) {
        let _ = writeln!(out, "<p class=\"notice\">{}</p>", escape(&notice));
    }
    controls(&mut out);
    track(&mut out, recording);
    lanes(&mut out, recording);
    arena(&mut out, recording);
    final_section(&mut out, &recording.last, medals);
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"race-data\">{}</script>\n\
         <script>{}</script>\n</body>\n</html>\n",
        data::to_script_json(&data),
        assets::SCRIPT
    );
    out
}

fn notices(recording: &Recording) -> Vec<String> {
    let mut notices = recording.header.notices.clone();
    if let Some(damage) = &recording.damage {
        notices.push(crate::record::replay::damage::notice(damage));
    } else if recording.interrupted {
        notices.push("the race was stopped early: the replay ends where it stopped".to_string());
    }
    notices
}

fn controls(out: &mut String) {
    out.push_str(
        "<div id=\"controls\"><button id=\"play\" type=\"button\">Pause</button>\
         <label>speed <select id=\"speed\"><option value=\"0.5\">0.5×</option>\
         <option value=\"1\" selected>1×</option><option value=\"2\">2×</option>\
         <option value=\"4\">4×</option><option value=\"10\">10×</option></select></label>\
         <input id=\"seek\" type=\"range\" min=\"0\" max=\"1000\" value=\"0\" \
         aria-label=\"position in the race\"><span id=\"clock\"></span></div>\n",
    );
}

fn swatch(index: usize, name: &str) -> String {
    format!(
        "<span class=\"sw\" style=\"background:{}\"></span><bdi>{}</bdi>",
        color(index),
        escape(name)
    )
}

fn track(out: &mut String, recording: &Recording) {
    out.push_str(
        "<section id=\"track\"><h2>Race track <span class=\"note\">(share of its requests \
         done)</span></h2>",
    );
    for (i, e) in recording.header.endpoints.iter().enumerate() {
        let _ = write!(
            out,
            "<div class=\"row\" data-i=\"{i}\"><span class=\"name\">{}</span>\
             <span class=\"rail\"><span class=\"car\" style=\"background:{}\"></span></span>\
             <span class=\"done\"></span><span class=\"lead\"></span></div>",
            swatch(i, &e.name),
            color(i)
        );
    }
    out.push_str("</section>\n");
}

/// The lanes' cells the script fills, by the key of `data::Lane` each shows.
const LANE_CELLS: [(&str, &str); 8] = [
    ("done", "done"),
    ("ok", "ok"),
    ("failed", "failed"),
    ("in_flight", "in flight"),
    ("ttft", "TTFT p50"),
    ("itl", "ITL p50"),
    ("tps", "tok/s (10 s)"),
    ("output", "output tokens"),
];

fn lanes(out: &mut String, recording: &Recording) {
    out.push_str(
        "<section id=\"lanes\"><h2>Lanes</h2><table><thead><tr><th>endpoint</th><th>model</th>",
    );
    for (_, title) in LANE_CELLS {
        let _ = write!(out, "<th>{title}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for (i, e) in recording.header.endpoints.iter().enumerate() {
        let _ = write!(
            out,
            "<tr data-i=\"{i}\"><td>{}</td><td><code>{}</code></td>",
            swatch(i, &e.name),
            escape(&e.model)
        );
        for (key, _) in LANE_CELLS {
            let _ = write!(out, "<td class=\"n\" data-k=\"{key}\"></td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></section>\n");
}

fn arena(out: &mut String, recording: &Recording) {
    out.push_str(
        "<section id=\"arena\"><h2>Arena <span class=\"note\">(the same prompt, every \
         endpoint)</span></h2><p id=\"prompt\" class=\"prompt\"></p><div class=\"cols\">",
    );
    for (i, e) in recording.header.endpoints.iter().enumerate() {
        let _ = write!(
            out,
            "<div class=\"col\" data-i=\"{i}\" style=\"border-top-color:{}\">\
             <div class=\"head\">{}</div><div class=\"stats\"></div>\
             <div class=\"reasoning\"></div><div class=\"text\"></div></div>",
            color(i),
            swatch(i, &e.name)
        );
    }
    out.push_str("</div></section>\n");
}

fn final_section(out: &mut String, last: &Snapshot, medals: &[Medal]) {
    let priced = !last.costs.is_empty();
    out.push_str(
        "<section id=\"final\" hidden><h2>Final results</h2><table><thead><tr><th>endpoint</th>\
         <th>ok/sent</th><th>success</th><th>TTFT p50</th><th>TTFT p90</th><th>TTLT p50</th>\
         <th>ITL p50</th><th>output tok/s</th><th>output tokens</th>",
    );
    if priced {
        out.push_str("<th>cost</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for (i, e) in last.endpoints.iter().enumerate() {
        let l = &e.latency;
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}/{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
            swatch(i, &e.name),
            e.counts.succeeded,
            e.counts.sent,
            percent(e.rates.success_rate),
            ms(l.ttft_ms.map(|s| s.p50)),
            ms(l.ttft_ms.map(|s| s.p90)),
            ms(l.ttlt_ms.map(|s| s.p50)),
            ms(l.itl_ms.map(|s| s.p50)),
            rate(e.rates.output_tokens_per_s),
            e.tokens.output
        );
        if priced {
            let cost = last.costs.get(&e.name).map(|c| usd(c.total_usd));
            let _ = write!(
                out,
                "<td class=\"n\">{}</td>",
                cost.as_deref().unwrap_or("—")
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    medal_list(out, last, medals);
    out.push_str("</section>\n");
}

/// The medals, each with its endpoint (in its colour) and the figure that won it.
fn medal_list(out: &mut String, last: &Snapshot, medals: &[Medal]) {
    if medals.is_empty() {
        return;
    }
    out.push_str("<h3>Medals</h3><ul id=\"medals\">");
    for medal in medals {
        let name = last
            .endpoints
            .get(medal.endpoint)
            .map_or("?", |e| e.name.as_str());
        let _ = write!(
            out,
            "<li><b>{}</b>: {} <span class=\"figure\">({})</span></li>",
            medal_title(medal.kind),
            swatch(medal.endpoint, name),
            escape(&medal.figure)
        );
    }
    out.push_str("</ul>");
}

fn medal_title(kind: MedalKind) -> &'static str {
    match kind {
        MedalKind::FastestFirstToken => "Fastest first token",
        MedalKind::FastestFinisher => "Fastest finisher",
        MedalKind::Steadiest => "Steadiest",
        MedalKind::MostOutput => "Most output",
        MedalKind::ZeroErrors => "Zero errors",
        MedalKind::Cheapest => "Cheapest",
    }
}

#[cfg(test)]
#[path = "page/tests.rs"]
mod tests;
