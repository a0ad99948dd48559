//! The inspector's data: each endpoint's most recent requests as [`RequestView`]s, filled from
//! the events as they arrive, in a bounded ring. Views are shared with published snapshots and
//! copied on write, so a snapshot costs one pointer copy per request and only the requests that
//! changed since the last snapshot are ever cloned; their text and headers are shared by that
//! copy too (`stats/segments.rs`), so it costs what changed, not the text so far.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use super::request::duration_ms;
use super::snapshot::{Mark, RequestState, RequestView, Segment};
use crate::event::{EventKind, Offset, PromptId, RequestId, ServerTimings, TokenSource, ToolCall};

/// Requests kept per endpoint, in flight and ended.
pub const RECENT_REQUESTS: usize = 32;
/// Response text kept per request, in bytes; the rest is dropped (`truncated`).
pub const TEXT_CAP: usize = 64 * 1024;
/// Segments kept per request; later arrivals are merged into the last one.
pub const SEGMENT_CAP: usize = 4096;
/// Marks kept per request: a request has a handful, but a misbehaving server could repeat
/// usage or timings in every chunk.
pub const MARK_CAP: usize = 64;

/// A request being followed in its endpoint's ring: where it sits (valid until it is pushed
/// out) and how much of its text is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewHandle {
    slot: u64,
    text_bytes: usize,
}

/// The ring of one endpoint's recent requests, oldest first.
#[derive(Clone, Debug, Default)]
pub struct RecentRequests {
    views: VecDeque<Arc<RequestView>>,
    /// How many views were ever pushed: the slot of the next one.
    pushed: u64,
}

impl RecentRequests {
    /// Starts following a request that was just sent, pushing out the oldest beyond
    /// [`RECENT_REQUESTS`].
    pub fn sent(
        &mut self,
        request: RequestId,
        prompt: PromptId,
        warmup: bool,
        sent: Offset,
    ) -> ViewHandle {
        if self.views.len() == RECENT_REQUESTS {
            self.views.pop_front();
        }
        self.views
            .push_back(Arc::new(RequestView::sent(request, prompt, warmup, sent)));
        let slot = self.pushed;
        self.pushed += 1;
        ViewHandle {
            slot,
            text_bytes: 0,
        }
    }

    /// Folds in an event of the request behind `handle` that arrived at race time `t`;
    /// nothing if the request was pushed out of the ring. Terminal events set the state;
    /// the output token count follows with [`RecentRequests::ended`].
    pub fn apply(&mut self, handle: &mut ViewHandle, t: Offset, kind: &EventKind) {
        if let Some(view) = self.get_mut(handle.slot) {
            view.apply(t, kind, &mut handle.text_bytes);
        }
    }

    /// What only the request's record knows once it ended: the output tokens as counted by
    /// the one rule in `request.rs` (server usage wins over an estimate).
    pub fn ended(&mut self, handle: &ViewHandle, output_tokens: Option<u32>) {
        if let Some(view) = self.get_mut(handle.slot) {
            view.output_tokens = output_tokens;
        }
    }

    /// The request in `slot`, if it is still in the ring, cloned first if a published
    /// snapshot still shares it.
    fn get_mut(&mut self, slot: u64) -> Option<&mut RequestView> {
        let oldest = self.pushed - self.views.len() as u64;
        let index = usize::try_from(slot.checked_sub(oldest)?).ok()?;
        self.views.get_mut(index).map(Arc::make_mut)
    }

    /// The ring as a snapshot holds it: pointer copies.
    pub fn shared(&self) -> Vec<Arc<RequestView>> {
        self.views.iter().cloned().collect()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.views.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }
}

impl RequestView {
    /// A request that was just sent.
    fn sent(request: RequestId, prompt: PromptId, warmup: bool, sent: Offset) -> Self {
        RequestView {
            request,
            prompt,
            warmup,
            sent,
            state: RequestState::InFlight,
            http_status: None,
            server_request_id: None,
            headers: Arc::default(),
            new_connection: false,
            ttft_ms: None,
            ended_ms: None,
            output_tokens: None,
            finish_reason: None,
            segments: super::segments::Segments::new(),
            marks: Vec::new(),
            truncated: false,
            session: None,
        }
    }

    /// Folds in an event that arrived at race time `t`; `text_bytes` is the text kept so far.
    #[expect(
        clippy::too_many_lines,
        reason = "one arm per event kind, each short; a scrape's is one line"
    )]
    fn apply(&mut self, t: Offset, kind: &EventKind, text_bytes: &mut usize) {
        let at_ms = duration_ms(t.since(self.sent));
        match kind {
            // Told after the view is made, only for a session's turn.
            EventKind::Sent { session, turn, .. } => self.session = session.zip(*turn),
            EventKind::Resent { lost } => {
                // Times count from the second send now, as the record's do.
                self.sent = t;
                self.mark(0.0, format!("sent again on a new connection: {lost}"));
            }
            EventKind::Headers {
                status,
                new_connection,
                connect_us,
                server_request_id,
                headers,
            } => {
                self.http_status = Some(*status);
                self.new_connection = *new_connection;
                self.server_request_id.clone_from(server_request_id);
                self.headers = headers.as_slice().into();
                if *new_connection {
                    // The connection was opened before the request went out: its mark sits
                    // where connecting ended, when that is known.
                    match connect_us {
                        Some(us) => {
                            let connect_ms = duration_ms(Duration::from_micros(*us));
                            self.mark(
                                connect_ms.min(at_ms),
                                format!("new connection, connected in {}", ms_label(connect_ms)),
                            );
                        }
                        None => self.mark(at_ms, "new connection".to_string()),
                    }
                }
                self.mark(at_ms, format!("headers {status}"));
            }
            EventKind::Content {
                text,
                reasoning,
                chunks,
                tool,
                ..
            } => self.content(
                at_ms,
                text,
                (*reasoning, tool.as_ref()),
                *chunks,
                text_bytes,
            ),
            EventKind::Usage {
                input,
                output,
                cached_input,
                cache_write,
                reasoning,
                source,
                ..
            } => {
                let counts = [
                    ("in", *input),
                    ("out", *output),
                    ("cached", *cached_input),
                    ("cache_write", *cache_write),
                    ("reasoning", *reasoning),
                ];
                self.mark(at_ms, usage_label(counts, *source));
            }
            EventKind::ServerTimings(timings) => self.mark(at_ms, server_timings_label(timings)),
            EventKind::ServerMetrics(_) => {} // no request's: the aggregator folds it apart
            EventKind::Finished { finish_reason, .. } => {
                self.state = RequestState::Succeeded;
                self.finish_reason.clone_from(finish_reason);
                self.ended_ms = Some(at_ms);
                let label = match finish_reason {
                    Some(reason) => format!("finished: {reason}"),
                    None => "finished".to_string(),
                };
                self.mark(at_ms, label);
            }
            EventKind::Failed {
                class,
                message,
                status,
                ..
            } => {
                self.state = RequestState::Failed {
                    class: *class,
                    message: message.clone(),
                };
                if status.is_some() {
                    self.http_status = *status;
                }
                self.ended_ms = Some(at_ms);
                let label = match status {
                    Some(status) => format!("failed: {class} (HTTP {status}): {message}"),
                    None => format!("failed: {class}: {message}"),
                };
                self.mark(at_ms, label);
            }
            EventKind::Cancelled { .. } => {
                self.state = RequestState::Cancelled;
                self.ended_ms = Some(at_ms);
                self.mark(at_ms, "cancelled".to_string());
            }
        }
    }

    /// `kind`: reasoning or not, and the tool call the text is arguments of.
    fn content(
        &mut self,
        at_ms: f64,
        text: &str,
        kind: (bool, Option<&ToolCall>),
        chunks: u32,
        text_bytes: &mut usize,
    ) {
        let (reasoning, tool) = kind;
        // Empty content (a role-only or keep-alive chunk) is not a token, as for TTFT; a tool
        // call's first piece is, even when only its name came.
        if text.is_empty() && tool.is_none() {
            return;
        }
        self.ttft_ms.get_or_insert(at_ms);
        let kept = self.keep_text(text, *text_bytes);
        *text_bytes += kept.len();
        if self.segments.len() >= SEGMENT_CAP
            && let Some(last) = self.segments.last_mut()
            && last.tool.as_deref() == tool
        {
            last.text.push_str(kept);
            last.chunks = last.chunks.saturating_add(chunks);
            return;
        }
        self.segments.push(Segment {
            at_ms,
            text: kept.into(),
            reasoning,
            chunks,
            tool: tool.cloned().map(Box::new),
        });
    }

    /// The part of `text` that still fits under [`TEXT_CAP`], cut at a character boundary.
    fn keep_text<'t>(&mut self, text: &'t str, used: usize) -> &'t str {
        if self.truncated {
            return "";
        }
        let room = TEXT_CAP.saturating_sub(used);
        if text.len() <= room {
            return text;
        }
        self.truncated = true;
        let mut end = room;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        &text[..end]
    }

    fn mark(&mut self, at_ms: f64, label: String) {
        if self.marks.len() < MARK_CAP {
            self.marks.push(Mark { at_ms, label });
        } else if let Some(last) = self.marks.last_mut() {
            // The end of a request matters more than a repeated report before it.
            *last = Mark { at_ms, label };
        }
    }
}

fn ms_label(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.1} ms")
    }
}

/// `server: prompt 12 tok in 3.2 ms, eval 96 tok in 1.10 s, load 2.0 ms, total 1.20 s`.
/// `usage in=12 out=40 (estimate)`: the counts reported, named.
fn usage_label(counts: [(&str, Option<u32>); 5], source: TokenSource) -> String {
    let mut label = String::from("usage");
    for (name, value) in counts {
        if let Some(n) = value {
            let _ = write!(label, " {name}={n}");
        }
    }
    if source == TokenSource::Estimate {
        label.push_str(" (estimate)");
    }
    label
}

fn server_timings_label(t: &ServerTimings) -> String {
    let ns_label = |ns: u64| ms_label(ns as f64 / 1e6);
    let mut parts = Vec::new();
    for (name, count, ns) in [
        ("prompt", t.prompt_eval_count, t.prompt_eval_ns),
        ("eval", t.eval_count, t.eval_ns),
    ] {
        match (count, ns) {
            (Some(n), Some(ns)) => parts.push(format!("{name} {n} tok in {}", ns_label(ns))),
            (Some(n), None) => parts.push(format!("{name} {n} tok")),
            (None, Some(ns)) => parts.push(format!("{name} {}", ns_label(ns))),
            (None, None) => {}
        }
    }
    if let Some(ns) = t.load_ns {
        parts.push(format!("load {}", ns_label(ns)));
    }
    if let Some(ns) = t.total_ns {
        parts.push(format!("total {}", ns_label(ns)));
    }
    if parts.is_empty() {
        "server timings".to_string()
    } else {
        format!("server: {}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests;
