//! The client's hot paths under criterion: stream decoding for each protocol, the aggregator
//! folding events, the pipeline folding and recording them, the snapshot and the frame of a
//! big race, and loading a replay.
//!
//! Run: `cargo bench --bench hot_paths` (a few minutes; `-- decode` and the like run one group).
//! Times are the benchmark thread's CPU time (see `support/cpu_time.rs`: the machine is
//! shared). Decoding reports MB/s; the events in each stream are printed once at the start,
//! so events/s is that count divided by the time per iteration.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use llmrace::event::{EventKind, Offset, RaceEvent};
use llmrace::mock::{Profile, streamed_body};
use llmrace::protocol::{Decoded, Decoder, Protocol};
use llmrace::record::{Recorder, Replay, ReplayWriter, ResultsWriter};
use llmrace::stats::{Aggregator, Snapshot, fixture};
use llmrace::tui::{LaneInfo, RaceInfo, Scene, Screen, Theme, ThemeName, ViewState, screen};
use llmrace::workload::Prompt;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[path = "support/cpu_time.rs"]
mod cpu_time;
#[path = "support/replay_race.rs"]
mod replay_race;

use cpu_time::{ThreadCpu, cpu_now};

/// A TCP segment's payload on a 1500-byte MTU link, and a typical large socket read.
const PIECES: [usize; 2] = [1448, 16 * 1024];
/// The dashboard race: endpoints × finished requests each.
const ENDPOINTS: usize = 8;
const REQUESTS: usize = 100_000;
/// Events folded between two snapshots in the "live" case: one 30 Hz tick of a race
/// streaming 30 k tokens/s.
const BATCH: usize = 1000;

fn config() -> Criterion<ThreadCpu> {
    Criterion::default()
        .with_measurement(ThreadCpu)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .without_plots()
}

/// A realistic response (256 tokens of the mock's text, usage at the end) in `protocol`, with
/// `chunk` tokens per event, and how many items it decodes to.
fn stream(protocol: Protocol, chunk: u32) -> (Bytes, usize) {
    let profile =
        Profile::parse(&format!("instant,tokens=256,chunk={chunk}")).expect("a valid profile");
    let one = streamed_body(protocol, &profile, "Tell me a story about a race.", None)
        .expect("the mock answers llmrace's own request");
    let events = decode(protocol, &one, one.len()).len();
    (one, events)
}

fn decode(protocol: Protocol, body: &[u8], piece: usize) -> Vec<Decoded> {
    decode_with(protocol.decoder(true), body, piece)
}

fn decode_with(mut decoder: Box<dyn Decoder>, body: &[u8], piece: usize) -> Vec<Decoded> {
    let mut out = Vec::with_capacity(300);
    for part in body.chunks(piece) {
        decoder.feed(part, &mut out);
    }
    decoder.finish(&mut out);
    out
}

fn decoding(c: &mut Criterion<ThreadCpu>) {
    let mut group = c.benchmark_group("decode");
    for (protocol, chunk) in [
        (Protocol::OpenAiChat, 1),
        (Protocol::OpenAiChat, 16),
        (Protocol::OpenAiCompletions, 1),
        (Protocol::Anthropic, 1),
        (Protocol::Ollama, 1),
    ] {
        let (body, items) = stream(protocol, chunk);
        eprintln!(
            "decode/{}: one response of {} bytes, {items} decoded items ({} tokens, {chunk} per event)",
            protocol.name(),
            body.len(),
            256
        );
        group.throughput(Throughput::BytesDecimal(body.len() as u64));
        for piece in PIECES {
            let id = format!("{}/chunk{chunk}/{piece}B", protocol.name());
            group.bench_function(id, |b| {
                b.iter(|| decode(protocol, black_box(&body), piece));
            });
        }
    }
    // The OpenAI responses again with serde reading every chunk (no `protocol/openai/fast.rs`):
    // the fast path's gain, measured in the same run.
    for protocol in [Protocol::OpenAiChat, Protocol::OpenAiCompletions] {
        let (body, _) = stream(protocol, 1);
        group.throughput(Throughput::BytesDecimal(body.len() as u64));
        for piece in PIECES {
            let id = format!("{}-serde-only/chunk1/{piece}B", protocol.name());
            group.bench_function(id, |b| {
                b.iter(|| decode_with(protocol.decoder_serde_only(true), black_box(&body), piece));
            });
        }
    }
    per_event(&mut group);
    group.finish();
}

/// One SSE event per read, as a server that writes each token on its own delivers them: a
/// vLLM-shaped chat stream of 1000 tokens of 1 to 8 bytes, the finish reason and usage last.
fn per_event_reads() -> Vec<Vec<u8>> {
    let words = [
        "a", " the", "ing", " race", "d", " to", " é", " clocks", "s", ",",
    ];
    let mut reads: Vec<Vec<u8>> = (0..1000)
        .map(|i| {
            format!(
                "data: {{\"id\":\"chatcmpl-8f3a2b\",\"object\":\"chat.completion.chunk\",\
                 \"created\":1765100000,\"model\":\"meta-llama/Llama-3.1-8B-Instruct\",\
                 \"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{}\"}},\"logprobs\":null,\
                 \"finish_reason\":null}}]}}\n\n",
                words[i % words.len()]
            )
            .into_bytes()
        })
        .collect();
    reads.push(
        b"data: {\"id\":\"chatcmpl-8f3a2b\",\"object\":\"chat.completion.chunk\",\
          \"created\":1765100000,\"model\":\"meta-llama/Llama-3.1-8B-Instruct\",\
          \"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"logprobs\":null,\
          \"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,\
          \"completion_tokens\":1000,\"total_tokens\":1012}}\n\ndata: [DONE]\n\n"
            .to_vec(),
    );
    reads
}

/// The per-event stream decoded one read at a time: per event, divide by 1001.
fn per_event(group: &mut criterion::BenchmarkGroup<'_, ThreadCpu>) {
    let reads = per_event_reads();
    let bytes: usize = reads.iter().map(Vec::len).sum();
    eprintln!(
        "decode/openai/per-event: {} reads of one event each, {bytes} bytes",
        reads.len()
    );
    group.throughput(Throughput::Elements(reads.len() as u64));
    let run = |mut decoder: Box<dyn Decoder>| {
        let mut out = Vec::with_capacity(8);
        let mut items = 0;
        for read in &reads {
            decoder.feed(black_box(read), &mut out);
            items += out.len();
            out.clear();
        }
        decoder.finish(&mut out);
        items + out.len()
    };
    group.bench_function("openai/per-event", |b| {
        b.iter(|| run(Protocol::OpenAiChat.decoder(true)));
    });
    group.bench_function("openai-serde-only/per-event", |b| {
        b.iter(|| run(Protocol::OpenAiChat.decoder_serde_only(true)));
    });
    // As the engine reads: whole token events straight from the read, `feed` the rest.
    let content_first = |mut decoder: Box<dyn Decoder>| {
        let mut out = Vec::with_capacity(8);
        let mut items = 0;
        for read in &reads {
            let mut rest = black_box(read.as_slice());
            while let Some(event) = decoder.content_event(rest) {
                black_box(compact_str::CompactString::from(event.text));
                items += 1;
                rest = rest.get(event.len..).unwrap_or_default();
            }
            if !rest.is_empty() {
                decoder.feed(rest, &mut out);
                items += out.len();
                out.clear();
            }
        }
        decoder.finish(&mut out);
        items + out.len()
    };
    group.bench_function("openai/per-event/content-first", |b| {
        b.iter(|| content_first(Protocol::OpenAiChat.decoder(true)));
    });
}

fn aggregation(c: &mut Criterion<ThreadCpu>) {
    let events: Vec<RaceEvent> = fixture::events(ENDPOINTS, 1000).collect();
    let mut group = c.benchmark_group("aggregate");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function(format!("{}_events_8x1000_requests", events.len()), |b| {
        b.iter_batched(
            || fixture::aggregator(ENDPOINTS),
            |mut aggregator| {
                for event in &events {
                    aggregator.apply(event);
                }
                aggregator
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

/// The pipeline's work for each event, as its thread does it in a live race: the aggregator
/// folds it, the recorder writes it to the replay and each finished request to the result
/// files. Its rate is the most the event channel can drain on one core (BENCHMARKS.md, "The
/// event channel").
fn pipeline(c: &mut Criterion<ThreadCpu>) {
    let events: Vec<RaceEvent> = fixture::events(ENDPOINTS, 1000).collect();
    let endpoints = u16::try_from(ENDPOINTS).expect("a few endpoints");
    let mut group = c.benchmark_group("pipeline");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(6));
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function(format!("fold_and_record/{}_events", events.len()), |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("a folder");
                let results = ResultsWriter::create(dir.path()).expect("the result files");
                let replay = ReplayWriter::create(dir.path(), &replay_race::header(endpoints))
                    .expect("the replay");
                let recorder = Recorder::new(results, Some(replay));
                (dir, fixture::aggregator(ENDPOINTS), recorder)
            },
            |(dir, mut aggregator, mut recorder)| {
                for event in &events {
                    recorder.event(event);
                    if let Some(record) = aggregator.apply(event) {
                        recorder.request(&record);
                    }
                }
                recorder.flush();
                (dir, aggregator, recorder)
            },
            BatchSize::PerIteration,
        );
    });
    // The reference load of "Per-event delivery" (one token per event, 100 streams of
    // 1 000-token answers) through everything the pipeline's thread does with it: the fold,
    // the replay's records (compressed on a thread of its own, not counted), the request
    // records, and a snapshot published every `EVENTS_PER_SNAPSHOT` events and held, as the
    // dashboard holds it, so the views written after it are copied on write.
    let tokens = streaming_race();
    group.throughput(Throughput::Elements(tokens.len() as u64));
    group.bench_function(format!("live_tokens/{STREAMS}x{TOKENS}"), |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("a folder");
                let results = ResultsWriter::create(dir.path()).expect("the result files");
                let replay =
                    ReplayWriter::create(dir.path(), &replay_race::header(1)).expect("the replay");
                (
                    dir,
                    fixture::aggregator(1),
                    Recorder::new(results, Some(replay)),
                )
            },
            |(dir, mut aggregator, mut recorder)| {
                let mut held = None;
                for batch in tokens.chunks(EVENTS_PER_SNAPSHOT) {
                    for event in batch {
                        recorder.event(event);
                        if let Some(record) = aggregator.apply(event) {
                            recorder.request(&record);
                        }
                    }
                    let t = batch.last().map_or(Offset(0), |e| e.t);
                    held = Some(Arc::new(aggregator.snapshot(t, false)));
                }
                recorder.flush();
                (dir, aggregator, recorder, held)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

/// Requests streaming at once and tokens each in [`publishing`]: the reference load of
/// BENCHMARKS.md's "Per-event delivery" (100 streams, one token per event, 1 000-token answers).
const STREAMS: u64 = 100;
const TOKENS: u64 = 1000;
/// Events between two published snapshots there: 30 a second at 100 k events/s.
const EVENTS_PER_SNAPSHOT: usize = 3300;

/// The events of [`STREAMS`] requests on one endpoint sent together, then one token each in
/// turn, 1 ms apart per round, then their ends; built from the fixture's own events.
fn streaming_race() -> Vec<RaceEvent> {
    let template = |wanted: fn(&EventKind) -> bool| {
        fixture::events(1, 1)
            .find(|e| wanted(&e.kind))
            .expect("the fixture has every kind")
    };
    let sent = template(|k| matches!(k, EventKind::Sent { warmup: false, .. }));
    let mut content = template(|k| matches!(k, EventKind::Content { .. }));
    if let EventKind::Content {
        text,
        chunks,
        after,
        ..
    } = &mut content.kind
    {
        *text = "tok ".into();
        *chunks = 1;
        *after = None;
    }
    let finished = template(|k| matches!(k, EventKind::Finished { .. }));
    let at = |event: &RaceEvent, ms: u64, request: u64| RaceEvent {
        t: llmrace::event::Offset(ms * 1_000_000),
        request: llmrace::event::RequestId(1000 + request),
        ..event.clone()
    };
    let start = 10_000;
    let mut events: Vec<RaceEvent> = (0..STREAMS).map(|r| at(&sent, start, r)).collect();
    for token in 1..=TOKENS {
        events.extend((0..STREAMS).map(|r| at(&content, start + token, r)));
    }
    events.extend((0..STREAMS).map(|r| at(&finished, start + TOKENS + 1, r)));
    events
}

/// Publishing under a live race's text: the aggregator folds [`streaming_race`] and publishes
/// a snapshot every [`EVENTS_PER_SNAPSHOT`] events, holding the last one as the dashboard
/// does, so every request written after a snapshot is copied on write. Per event: the fold
/// and its share of publishing and of those copies.
fn publishing(c: &mut Criterion<ThreadCpu>) {
    let events = streaming_race();
    let mut group = c.benchmark_group("publish");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(6));
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function(
        format!("live_text/{STREAMS}x{TOKENS}_tokens_snapshot_every_{EVENTS_PER_SNAPSHOT}"),
        |b| {
            b.iter_batched(
                || fixture::aggregator(1),
                |mut aggregator| {
                    let mut held = None;
                    for batch in events.chunks(EVENTS_PER_SNAPSHOT) {
                        for event in batch {
                            aggregator.apply(event);
                        }
                        let t = batch.last().map_or(llmrace::event::Offset(0), |e| e.t);
                        held = Some(Arc::new(aggregator.snapshot(t, false)));
                    }
                    (aggregator, held)
                },
                BatchSize::PerIteration,
            );
        },
    );
    group.finish();
}

/// The race of 8 × 100 k requests live (events up to the fixture's snapshot time; the race
/// goes on, generated as it is consumed) and the same race of 8 × 100 k requests finished.
fn big_race() -> (Aggregator, fixture::Events, Aggregator) {
    let started = Instant::now();
    let until = fixture::live_at(REQUESTS as u64);
    let mut live = fixture::aggregator(ENDPOINTS);
    // Room for every batch criterion asks for: the live race keeps sending past 100 k.
    let mut events = fixture::events(ENDPOINTS, REQUESTS * 3);
    for event in events.by_ref() {
        let last = event.t > until;
        live.apply(&event);
        if last {
            break;
        }
    }
    let mut finished = fixture::aggregator(ENDPOINTS);
    let mut after_live = 0u64;
    for event in fixture::events(ENDPOINTS, REQUESTS) {
        after_live += u64::from(event.t > until);
        finished.apply(&event);
    }
    eprintln!(
        "built {ENDPOINTS} endpoints × {REQUESTS} requests (live and finished) in {:.1} s",
        started.elapsed().as_secs_f64(),
    );
    // Why the race goes on past 100 k for the batches: the race that stops there has only
    // this many events after the live time, too few for more than a handful of batches.
    eprintln!("the race of {REQUESTS} requests has {after_live} events after the live time");
    (live, events, finished)
}

fn dashboard(c: &mut Criterion<ThreadCpu>) {
    let (mut live, mut tail, mut finished) = big_race();
    let live_t = fixture::live_at(REQUESTS as u64);
    let mut group = c.benchmark_group("dashboard_8x100k");
    group.bench_function("snapshot/live_unchanged", |b| {
        b.iter(|| live.snapshot(live_t, false));
    });
    group.bench_function("snapshot/finished_unchanged", |b| {
        b.iter(|| finished.snapshot(live_t, true));
    });
    // Only the snapshot is timed, not folding the batch before it.
    let mut ended = 0u64;
    let mut batches = 0u64;
    let mut t = live_t;
    group.bench_function(format!("snapshot/live_after_{BATCH}_events"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                for event in tail.by_ref().take(BATCH) {
                    t = event.t;
                    ended += u64::from(matches!(event.kind, EventKind::Finished { .. }));
                    live.apply(&event);
                }
                batches += 1;
                let started = cpu_now();
                black_box(live.snapshot(t, false));
                total += cpu_now().saturating_sub(started);
            }
            total
        });
    });
    eprintln!(
        "{batches} batches of {BATCH} events ended {:.1} requests each",
        ended as f64 / batches.max(1) as f64
    );
    for (label, snapshot) in [
        ("live", live.snapshot(live_t, false)),
        ("finished", finished.snapshot(live_t, true)),
    ] {
        render_views(&mut group, &format!("render_120x40/{label}"), &snapshot);
    }
    group.finish();
}

/// Benches drawing the board, the inspector and the charts of `snapshot` at 120×40.
fn render_views(
    group: &mut criterion::BenchmarkGroup<'_, ThreadCpu>,
    name: &str,
    snapshot: &Snapshot,
) {
    for view in [Screen::Board, Screen::Inspector, Screen::Charts] {
        let info = race_info();
        let theme = Theme::new(ThemeName::Dark);
        let state = ViewState {
            screen: view,
            ..ViewState::default()
        };
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
        group.bench_function(format!("{name}/{view:?}"), |b| {
            b.iter(|| {
                let scene = Scene {
                    info: &info,
                    view: &state,
                    snapshot,
                    theme: &theme,
                };
                terminal
                    .draw(|frame| screen::draw(frame, &scene))
                    .expect("draw");
            });
        });
    }
}

/// Issue 22's scale target: this many streams in flight at once, none of them ended.
const IN_FLIGHT: usize = 10_000;

/// The dashboard while 10 000 streams are in flight (8 endpoints × 1 250, every one sent,
/// none ended), and a tail of their later tokens: the snapshot and frame do not grow with the
/// requests in flight, only with what the aggregator keeps per endpoint.
fn in_flight_race() -> (Aggregator, Vec<RaceEvent>, Offset) {
    let per_endpoint = IN_FLIGHT / ENDPOINTS;
    let mut aggregator = fixture::aggregator(ENDPOINTS);
    let mut open = std::collections::HashSet::new();
    let mut t = Offset::ZERO;
    let mut tail = Vec::new();
    let ends = |kind: &EventKind| {
        matches!(
            kind,
            EventKind::Finished { .. } | EventKind::Failed { .. } | EventKind::Cancelled { .. }
        )
    };
    for event in fixture::events(ENDPOINTS, per_endpoint) {
        if ends(&event.kind) {
            continue;
        }
        if open.len() < IN_FLIGHT {
            open.insert(event.request);
            t = event.t;
            aggregator.apply(&event);
        } else if matches!(event.kind, EventKind::Content { .. }) {
            tail.push(event);
        }
    }
    eprintln!(
        "{} requests in flight, {} of their token events left for the batches",
        open.len(),
        tail.len()
    );
    (aggregator, tail, t)
}

fn dashboard_in_flight(c: &mut Criterion<ThreadCpu>) {
    let (mut live, tail, live_t) = in_flight_race();
    // Taken before the batches below fold the tail again and again (their requests' texts
    // then grow past any real answer's).
    let snapshot = Arc::new(live.snapshot(live_t, false));
    let mut group = c.benchmark_group("dashboard_10k_in_flight");
    group.bench_function("snapshot/live_unchanged", |b| {
        b.iter(|| live.snapshot(live_t, false));
    });
    // Only the snapshot is timed, not folding the batch before it; the tail is folded again
    // from its start when it runs out (events already folded are folded twice: the
    // aggregator's work per event is the same).
    let mut next = 0;
    group.bench_function(format!("snapshot/live_after_{BATCH}_events"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut t = live_t;
                for _ in 0..BATCH {
                    let Some(event) = tail.get(next % tail.len().max(1)) else {
                        break;
                    };
                    next += 1;
                    t = t.max(event.t);
                    live.apply(event);
                }
                let started = cpu_now();
                black_box(live.snapshot(t, false));
                total += cpu_now().saturating_sub(started);
            }
            total
        });
    });
    render_views(&mut group, "render_120x40", &snapshot);
    group.finish();
}

fn race_info() -> RaceInfo {
    RaceInfo {
        name: "bench".into(),
        lanes: fixture::endpoint_names(ENDPOINTS)
            .into_iter()
            .map(|name| LaneInfo {
                name,
                model: "model".into(),
                protocol: "openai".into(),
                color: None,
                price: None,
                simulated: true,
                concurrency: 16,
                salt: None,
            })
            .collect(),
        requests: Some(REQUESTS as u64),
        duration: None,
        metrics: None,
        load: "open loop".into(),
        prompts: Arc::from(
            (0..fixture::PROMPTS)
                .map(|i| {
                    Prompt::new(
                        llmrace::event::PromptId(i),
                        vec![llmrace::protocol::Message::user(format!("prompt {i}"))],
                    )
                })
                .collect::<Vec<_>>(),
        ),
        replay: false,
        notices: Vec::new(),
    }
}

fn replay_load(c: &mut Criterion<ThreadCpu>) {
    const SECONDS: u64 = 60;
    let dir = tempfile::tempdir().expect("temp dir");
    let events = replay_race::events(SECONDS);
    let path = replay_race::write(dir.path(), &events, SECONDS);
    let mut group = c.benchmark_group("replay");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function(format!("load/{}_events", events.len()), |b| {
        b.iter(|| Replay::open(&path).expect("open the replay"));
    });
    group.bench_function(format!("load_and_aggregate/{}_events", events.len()), |b| {
        b.iter(|| -> Snapshot {
            let replay = Replay::open(&path).expect("open the replay");
            llmrace::fold_replay(&replay, |_| {})
        });
    });
    group.finish();
}

criterion_group! {
    name = hot_paths;
    config = config();
    targets = decoding, aggregation, pipeline, publishing, dashboard, dashboard_in_flight, replay_load
}
criterion_main!(hot_paths);
