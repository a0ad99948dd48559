//! What the share page's script plays, as JSON: per frame each lane's numbers (written for
//! people here, from the aggregator's snapshot: the script never computes a figure), the
//! race-track positions and leader, which arena heat is shown; and the heats' responses with
//! the race time each piece of text arrived. Text from the race is made inert (control
//! characters replaced) and cut; the JSON is escaped for its `<script>` element.

use serde::Serialize;

use super::arena::{self, Heat};
use crate::format::{ms, rate};
use crate::share::Recording;
use crate::stats::snapshot::{RequestState, RequestView};
use crate::stats::{EndpointSnapshot, Snapshot};

/// Characters of one response the page keeps (the rest is cut, and said to be).
pub const TEXT_CAP: usize = 1_000;
/// Characters of a prompt the page shows.
pub const PROMPT_CAP: usize = 600;

#[derive(Serialize)]
pub struct Data {
    /// Race seconds the page plays.
    pub duration: f64,
    pub frames: Vec<Frame>,
    pub heats: Vec<HeatData>,
}

#[derive(Serialize)]
pub struct Frame {
    /// Race seconds.
    pub t: f64,
    /// The endpoint ahead on the race track, if any has done a request.
    pub leader: Option<usize>,
    /// The arena heat shown (index into `heats`).
    pub heat: Option<usize>,
    pub lanes: Vec<Lane>,
}

/// One endpoint's numbers at one frame, written for people.
#[derive(Serialize)]
pub struct Lane {
    /// Share of its requests done (0 to 1): its place on the race track.
    pub progress: f64,
    pub done: String,
    pub ok: u64,
    pub failed: u64,
    pub in_flight: u64,
    pub ttft: String,
    pub itl: String,
    pub tps: String,
    pub output: u64,
}

#[derive(Serialize)]
pub struct HeatData {
    pub prompt: String,
    /// Per endpoint, its response (`None` when it is not known).
    pub responses: Vec<Option<Response>>,
}

/// One endpoint's answer to a heat's prompt, with race times in seconds.
#[derive(Serialize)]
pub struct Response {
    pub sent: f64,
    /// When its first token came, and the TTFT written for people.
    pub first_at: Option<f64>,
    pub ttft: String,
    /// When it ended, how, and its place among the heat's finishers (1 = first).
    pub end_at: Option<f64>,
    pub outcome: String,
    pub place: Option<usize>,
    /// `[race seconds, text, reasoning]` in arrival order.
    pub pieces: Vec<(f64, String, bool)>,
    pub cut: bool,
}

/// The page's data from a recording.
pub fn build(recording: &Recording) -> Data {
    let mut frames: Vec<&Snapshot> = recording.frames.iter().collect();
    frames.push(&recording.last);
    let (shown, heats) = arena::heats(&frames);
    let views = arena::responses(frames.iter().copied(), &heats);
    let totals: Vec<u64> = (recording.last.endpoints.iter())
        .map(|e| e.counts.requests_done())
        .collect();
    let frames = frames
        .iter()
        .zip(shown)
        .map(|(snapshot, heat)| frame(snapshot, heat, &totals))
        .collect();
    let heats = heats
        .iter()
        .map(|heat| heat_data(recording, heat, &views))
        .collect();
    Data {
        duration: micros(recording.duration.as_secs_f64()),
        frames,
        heats,
    }
}

fn frame(snapshot: &Snapshot, heat: Option<usize>, totals: &[u64]) -> Frame {
    let lanes: Vec<Lane> = snapshot
        .endpoints
        .iter()
        .zip(totals)
        .map(|(e, total)| lane(e, *total))
        .collect();
    Frame {
        t: micros(snapshot.t.as_secs_f64()),
        leader: leader(&snapshot.endpoints, &lanes),
        heat,
        lanes,
    }
}

fn lane(e: &EndpointSnapshot, total: u64) -> Lane {
    let done = e.counts.requests_done();
    Lane {
        progress: if total == 0 {
            0.0
        } else {
            (done as f64 / total as f64).min(1.0)
        },
        done: format!("{done}/{total}"),
        ok: e.counts.succeeded,
        failed: e.counts.failed,
        in_flight: e.counts.in_flight,
        ttft: ms(e.latency.ttft_ms.map(|s| s.p50)),
        itl: ms(e.latency.itl_ms.map(|s| s.p50)),
        tps: rate(e.rates.live_output_tokens_per_s),
        output: e.tokens.output,
    }
}

/// The endpoint furthest along the track; between equals, the one with more requests
/// succeeded, then the higher output rate. None before any request is done.
fn leader(endpoints: &[EndpointSnapshot], lanes: &[Lane]) -> Option<usize> {
    let key = |i: usize| {
        (
            lanes[i].progress,
            endpoints[i].counts.succeeded,
            endpoints[i].rates.output_tokens_per_s,
        )
    };
    (0..lanes.len())
        .filter(|i| lanes[*i].progress > 0.0)
        .max_by(|a, b| {
            let (x, y) = (key(*a), key(*b));
            x.0.total_cmp(&y.0)
                .then(x.1.cmp(&y.1))
                .then(x.2.total_cmp(&y.2))
                // The first listed wins a tie.
                .then(b.cmp(a))
        })
}

fn heat_data(
    recording: &Recording,
    heat: &Heat,
    views: &std::collections::BTreeMap<
        (usize, crate::event::RequestId),
        std::sync::Arc<RequestView>,
    >,
) -> HeatData {
    let prompt = (recording.header.prompts)
        .get(heat.prompt.0 as usize)
        .and_then(|messages| messages.last())
        .map_or_else(
            || format!("prompt {}", heat.prompt.0),
            |m| match cut(&m.content, PROMPT_CAP) {
                (text, n) if n > PROMPT_CAP => format!("{text}…"),
                (text, _) => text,
            },
        );
    let mut responses: Vec<Option<Response>> = heat
        .requests
        .iter()
        .enumerate()
        .map(|(i, id)| id.and_then(|id| views.get(&(i, id))).map(|v| response(v)))
        .collect();
    // Places: the succeeded responses in the order they ended.
    let mut ended: Vec<(f64, usize)> = (responses.iter().enumerate())
        .filter_map(|(i, r)| {
            let r = r.as_ref()?;
            (r.outcome == "ok").then_some((r.end_at?, i))
        })
        .collect();
    ended.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (place, (_, i)) in ended.into_iter().enumerate() {
        if let Some(r) = &mut responses[i] {
            r.place = Some(place + 1);
        }
    }
    HeatData { prompt, responses }
}

fn response(view: &RequestView) -> Response {
    let sent = view.sent.as_secs_f64();
    let at = |ms: f64| micros(sent + ms / 1000.0);
    let mut left = TEXT_CAP;
    let mut pieces = Vec::new();
    let mut was_cut = false;
    for segment in &view.segments {
        if left == 0 {
            was_cut = true;
            break;
        }
        let text = match &segment.tool {
            Some(tool) if segment.text.is_empty() => {
                format!("[tool call {}]", tool.name.as_deref().unwrap_or("?"))
            }
            _ => segment.text.to_string(),
        };
        let (text, n) = cut(&text, left);
        was_cut |= n > left;
        left = left.saturating_sub(n);
        pieces.push((at(segment.at_ms), text, segment.reasoning));
    }
    let outcome = match &view.state {
        RequestState::InFlight => "in flight".to_string(),
        RequestState::Succeeded => "ok".to_string(),
        RequestState::Failed { class, message } => {
            cut(&format!("failed ({class}): {message}"), 200).0
        }
        RequestState::Cancelled => "cancelled".to_string(),
    };
    Response {
        sent: micros(sent),
        first_at: view.ttft_ms.map(at),
        ttft: ms(view.ttft_ms),
        end_at: view.ended_ms.map(at),
        outcome,
        place: None,
        pieces,
        cut: was_cut || view.truncated,
    }
}

/// Race seconds to the microsecond: sums such as 149.594 + 0.000272 otherwise print with
/// float noise (149.59417690700002). Rounding keeps order, so a piece at the race's end still
/// shows at its end.
fn micros(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e6
}

/// `text` made inert (control characters but newlines and tabs replaced) and cut to `max`
/// characters; with the count of characters it had.
fn cut(text: &str, max: usize) -> (String, usize) {
    let mut out = String::new();
    let mut n = 0;
    for c in text.chars() {
        if n < max {
            out.push(if c.is_control() && c != '\n' && c != '\t' {
                '\u{fffd}'
            } else {
                c
            });
        }
        n += 1;
    }
    (out, n)
}

/// `data` as JSON that can sit inside a `<script>` element: no `<`, `>` or `&` (so no
/// `</script>` or `<!--` can end it), nor the line separators old parsers choke on.
pub fn to_script_json(data: &Data) -> String {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "{}".to_string());
    let mut out = String::with_capacity(json.len() + json.len() / 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_end_its_element() {
        let data = Data {
            duration: 1.0,
            frames: Vec::new(),
            heats: vec![HeatData {
                prompt: "</script><script>alert(1)</script><!-- & \u{2028}".to_string(),
                responses: Vec::new(),
            }],
        };
        let json = to_script_json(&data);
        for bad in ["<", ">", "&", "\u{2028}"] {
            assert!(!json.contains(bad), "{json}");
        }
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back["heats"][0]["prompt"],
            "</script><script>alert(1)</script><!-- & \u{2028}"
        );
    }

    #[test]
    fn times_are_kept_to_the_microsecond_without_float_noise() {
        let at = micros(149.594_141_824 + 0.000_272);
        assert_eq!(serde_json::to_string(&at).unwrap(), "149.594414");
        assert!(micros(150.092_629_659) <= micros(150.092_629_659_1));
    }

    #[test]
    fn text_is_made_inert_and_cut() {
        let (text, n) = cut("a\u{1b}[31mb\nc\u{7}", 4);
        assert_eq!(text, "a\u{fffd}[3");
        assert_eq!(n, 10);
    }
}
