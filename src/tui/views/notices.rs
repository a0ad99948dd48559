//! Notices: what the user should know that the numbers alone do not say — an endpoint failing
//! every request, rate limiting, responses that were not the protocol, token counts the server
//! got wrong — plus what was found before the start. Drawn in their own strip, never over other
//! content.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::event::ErrorClass;
use crate::record::run_info::usage_notice;
use crate::stats::Snapshot;
use crate::tui::draw::{Pen, fit};
use crate::tui::{RaceInfo, Theme};

/// How bad it is: decides the look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Warn,
    Bad,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub level: Level,
    pub text: String,
}

/// Rows the strip gets at most: notices must not crowd out the race.
pub const MAX_ROWS: u16 = 3;

/// The notices for this moment: the race's own first, then per endpoint in race order.
pub fn notices(info: &RaceInfo, snapshot: &Snapshot) -> Vec<Notice> {
    let mut out: Vec<Notice> = info
        .notices
        .iter()
        .map(|text| Notice {
            level: Level::Warn,
            text: text.clone(),
        })
        .collect();
    for (i, e) in snapshot.endpoints.iter().enumerate() {
        let c = &e.counts;
        if c.failed > 0 && c.succeeded == 0 {
            // The most frequent class says why; the other notices would only repeat it.
            let top = e
                .errors
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(class, _)| *class);
            let why = top.map_or(String::new(), |class| {
                format!(" ({}{})", class.name(), hint(class))
            });
            let what = if c.failed == 1 {
                "its first request failed".to_string()
            } else {
                format!("all {} requests failed", c.failed)
            };
            // The race's notice at its end says the same in other words
            // (`record::run_info`): this one, with its hint, stands for both.
            let told_at_end = [
                format!("{}: all {} requests failed: ", e.name, c.failed),
                format!("{}: its only request failed: ", e.name),
            ];
            out.retain(|n| !told_at_end.iter().any(|p| n.text.starts_with(p.as_str())));
            out.push(Notice {
                level: Level::Bad,
                text: format!("{}: {what}{why}", e.name),
            });
            continue;
        }
        if let Some(n) = e.errors.get(&ErrorClass::RateLimited) {
            out.push(Notice {
                level: Level::Warn,
                text: format!(
                    "{}: rate limited {n}× (HTTP 429) — its numbers include the provider's limits",
                    e.name
                ),
            });
        }
        if let Some(n) = e.errors.get(&ErrorClass::Protocol) {
            let protocol = info
                .lanes
                .get(i)
                .map_or("its protocol", |l| l.protocol.as_str());
            let responses = if *n == 1 {
                "1 response was".to_string()
            } else {
                format!("{n} responses were")
            };
            out.push(Notice {
                level: Level::Warn,
                text: format!(
                    "{}: {responses} not valid {protocol} — check the endpoint's protocol",
                    e.name
                ),
            });
        }
        if let Some(text) = usage_notice(e) {
            out.push(Notice {
                level: Level::Warn,
                text,
            });
        }
    }
    // The race's notices at its end repeat some of those told live (the same words, from the
    // same functions): each is shown once.
    let mut seen = std::collections::HashSet::new();
    out.retain(|notice| seen.insert(notice.text.clone()));
    out
}

/// What to check when every request fails with `class`.
fn hint(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Dns => ": check the host name",
        ErrorClass::Connect | ErrorClass::ConnectTimeout => ": is the server up?",
        ErrorClass::Auth => ": check the API key",
        ErrorClass::NotFound => ": check the URL and model",
        ErrorClass::BadRequest => ": check the model and parameters",
        ErrorClass::Protocol => ": check the endpoint's protocol",
        ErrorClass::RateLimited => ": the provider is limiting requests",
        ErrorClass::Blocked => ": the provider's safety filter refused the prompts",
        _ => "",
    }
}

/// Rows the strip needs for these notices.
pub fn height(notices: &[Notice]) -> u16 {
    u16::try_from(notices.len())
        .unwrap_or(u16::MAX)
        .min(MAX_ROWS)
}

/// One notice per row; when there are more than fit, the last row says how many are hidden.
pub fn render(area: Rect, buf: &mut Buffer, notices: &[Notice], theme: &Theme) {
    let rows = usize::from(area.height);
    if rows == 0 {
        return;
    }
    let shown = if notices.len() > rows {
        rows - 1
    } else {
        notices.len()
    };
    let width = area.width.saturating_sub(3);
    let pen = &mut Pen::new(buf, area);
    for (y, notice) in (area.y..area.bottom()).zip(&notices[..shown]) {
        let style = match notice.level {
            Level::Warn => theme.warn,
            Level::Bad => theme.bad,
        };
        pen.left(area.x + 1, y, 1, "!", style);
        let text = fit(&notice.text, usize::from(width));
        pen.left(area.x + 3, y, width, &text, style);
    }
    if shown < notices.len() {
        let more = format!("… and {} more notices", notices.len() - shown);
        pen.left(area.x + 3, area.bottom() - 1, width, &more, theme.dim);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Offset;
    use crate::stats::EndpointSnapshot;
    use crate::stats::snapshot::{Counts, Health, Latency, Rates, Tokens};
    use crate::tui::LaneInfo;

    fn endpoint(name: &str, ok: u64, errors: &[(ErrorClass, u64)]) -> EndpointSnapshot {
        let failed = errors.iter().map(|(_, n)| n).sum();
        EndpointSnapshot {
            server: None,
            buckets: std::sync::Arc::default(),
            embeddings: None,
            name: name.to_string(),
            counts: Counts {
                sent: ok + failed,
                succeeded: ok,
                failed,
                ..Counts::default()
            },
            errors: errors.iter().copied().collect(),
            latency: Latency::default(),
            tokens: Tokens::default(),
            rates: Rates::default(),
            recent_seconds: Vec::new(),
            requests: Vec::new(),
            health: Health::default(),
            wins_first_token: 0,
            wins_first_finished: 0,
            laps: 0,
        }
    }

    fn info(protocols: &[&str], notices: &[&str]) -> RaceInfo {
        RaceInfo {
            name: "test".to_string(),
            lanes: protocols
                .iter()
                .map(|p| LaneInfo {
                    name: String::new(),
                    model: String::new(),
                    protocol: (*p).to_string(),
                    color: None,
                    price: None,
                    simulated: false,
                    concurrency: 1,
                    salt: None,
                })
                .collect(),
            requests: None,
            duration: None,
            load: String::new(),
            prompts: Vec::new().into(),
            replay: false,
            notices: notices.iter().map(|n| (*n).to_string()).collect(),
            metrics: None,
        }
    }

    fn texts(notices: &[Notice]) -> Vec<(Level, &str)> {
        notices.iter().map(|n| (n.level, n.text.as_str())).collect()
    }

    #[test]
    fn a_healthy_race_has_none() {
        let snapshot = Snapshot {
            playback: None,
            commentary: std::sync::Arc::default(),
            t: Offset::ZERO,
            finished: false,
            endpoints: vec![endpoint("a", 10, &[]), endpoint("idle", 0, &[])],
            costs: std::collections::BTreeMap::new(),
        };
        assert!(notices(&info(&["openai", "openai"], &[]), &snapshot).is_empty());
    }

    #[test]
    fn failing_rate_limited_and_protocol_errors_are_told() {
        let snapshot = Snapshot {
            playback: None,
            commentary: std::sync::Arc::default(),
            t: Offset::ZERO,
            finished: false,
            endpoints: vec![
                endpoint(
                    "down",
                    0,
                    &[(ErrorClass::Connect, 3), (ErrorClass::Auth, 5)],
                ),
                endpoint("busy", 8, &[(ErrorClass::RateLimited, 2)]),
                endpoint(
                    "odd",
                    8,
                    &[(ErrorClass::Protocol, 1), (ErrorClass::RateLimited, 1)],
                ),
                endpoint("once", 0, &[(ErrorClass::StreamCut, 1)]),
            ],
            costs: std::collections::BTreeMap::new(),
        };
        let info = info(
            &["openai", "openai", "ollama", "anthropic"],
            &[
                "warm-up: x unreachable",
                // The race's end says what the live notice says, in other words: told once.
                "down: all 8 requests failed: auth — check the API key",
                "once: its only request failed: stream_cut",
            ],
        );
        let all = notices(&info, &snapshot);
        assert_eq!(
            texts(&all),
            vec![
                (Level::Warn, "warm-up: x unreachable"),
                (
                    Level::Bad,
                    "down: all 8 requests failed (auth: check the API key)"
                ),
                (
                    Level::Warn,
                    "busy: rate limited 2× (HTTP 429) — its numbers include the provider's limits"
                ),
                (
                    Level::Warn,
                    "odd: rate limited 1× (HTTP 429) — its numbers include the provider's limits"
                ),
                (
                    Level::Warn,
                    "odd: 1 response was not valid ollama — check the endpoint's protocol"
                ),
                (Level::Bad, "once: its first request failed (stream_cut)"),
            ]
        );
        assert_eq!(height(&all), MAX_ROWS);
        let mut zero = endpoint("zero", 3, &[]);
        zero.tokens.contradicted_output_requests = 3;
        let info = RaceInfo {
            notices: vec!["warm-up: x unreachable".to_string()],
            ..info
        };
        let snapshot = Snapshot {
            endpoints: vec![zero],
            costs: std::collections::BTreeMap::new(),
            ..snapshot
        };
        assert_eq!(
            texts(&notices(&info, &snapshot)),
            [
                (Level::Warn, "warm-up: x unreachable"),
                (
                    Level::Warn,
                    "zero: the server reported 0 output tokens for 3 responses that carried \
                     text; llmrace counted them with its tokenizer (estimate)"
                ),
            ]
        );
        assert_eq!(height(&all[..1]), 1);
        assert_eq!(height(&[]), 0);
    }

    #[test]
    fn a_notice_told_live_and_at_the_end_is_shown_once() {
        let mut e = endpoint("a", 3, &[]);
        e.tokens.contradicted_output_requests = 3;
        let live = usage_notice(&e).unwrap();
        let snapshot = Snapshot {
            playback: None,
            commentary: std::sync::Arc::default(),
            t: Offset::ZERO,
            finished: true,
            endpoints: vec![e],
            costs: std::collections::BTreeMap::new(),
        };
        let shown = notices(&info(&["openai"], &[live.as_str()]), &snapshot);
        assert_eq!(shown.iter().filter(|n| n.text == live).count(), 1);
    }

    #[test]
    fn overflow_says_how_many_are_hidden() {
        let theme = Theme::new(crate::tui::ThemeName::Plain);
        let many: Vec<Notice> = (0..5)
            .map(|i| Notice {
                level: Level::Warn,
                text: format!("notice {i}"),
            })
            .collect();
        let area = Rect::new(0, 0, 40, 3);
        let mut buf = Buffer::empty(area);
        render(area, &mut buf, &many, &theme);
        let rows: Vec<String> = (0..3)
            .map(|y| {
                (0..40)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect();
        assert_eq!(
            rows,
            [" ! notice 0", " ! notice 1", "   … and 3 more notices"]
        );
    }
}
