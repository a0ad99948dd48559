//! Tests of the scraper against tiny HTTP servers of their own on 127.0.0.1.

use std::fmt::Write as _;
use std::sync::Mutex;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// What the server answers each request with, in turn (the last again and again). `None`
/// reads the request and never answers.
type Script = Vec<Option<Vec<u8>>>;

/// A server on 127.0.0.1 answering as `script` says; the request heads it read.
async fn serve(script: Script) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&heads);
    tokio::spawn(async move {
        let mut turn = 0;
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            loop {
                let mut head = Vec::new();
                let mut buf = [0; 4096];
                while !head.ends_with(b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                if head.is_empty() {
                    break;
                }
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).to_string());
                let answer = script[turn.min(script.len() - 1)].clone();
                turn += 1;
                let Some(answer) = answer else {
                    // Holds the connection, unanswered, until the client leaves.
                    let _ = socket.read(&mut buf).await;
                    break;
                };
                if socket.write_all(&answer).await.is_err() {
                    break;
                }
            }
        }
    });
    (format!("http://{addr}/metrics"), heads)
}

fn ok(content_type: &str, body: &str) -> Option<Vec<u8>> {
    answer(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

fn status(line: &str, extra: &str) -> Option<Vec<u8>> {
    answer(format!("HTTP/1.1 {line}\r\n{extra}content-length: 0\r\n\r\n").into_bytes())
}

/// An answer (the script's `None` is none).
#[expect(clippy::unnecessary_wraps, reason = "a script's step")]
fn answer(bytes: Vec<u8>) -> Option<Vec<u8>> {
    Some(bytes)
}

const PAGE: &str = "# HELP vllm:num_requests_waiting Requests waiting.\n\
                    # TYPE vllm:num_requests_waiting gauge\n\
                    vllm:num_requests_waiting{model_name=\"m\"} 3.0\n";

fn plan_of(url: &str, named: bool, endpoints: &[(&str, u16)]) -> ScrapePlan {
    let mut plan = ScrapePlan::default();
    for (model, id) in endpoints {
        let (origin, path) = Origin::parse(url).unwrap();
        plan.add(origin, path, url, named, model, EndpointId(*id));
    }
    plan
}

/// Scrapes `plan` until its first `n` events have come (or the scraper ended), then stops it.
async fn events_of(plan: ScrapePlan, n: usize) -> Vec<RaceEvent> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stops = ScrapeStops::default();
    let task = tokio::spawn(scrape(plan, None, RaceClock::start(), tx, stops.clone()));
    let mut events = Vec::new();
    while events.len() < n {
        match rx.recv().await {
            Some(event) => events.push(event),
            None => break,
        }
    }
    stops.abort.cancel();
    task.await.unwrap();
    events
}

fn scrape_of(event: &RaceEvent) -> &ServerScrape {
    match &event.kind {
        EventKind::ServerMetrics(scrape) => scrape,
        other => panic!("not a scrape: {other:?}"),
    }
}

#[tokio::test]
async fn a_page_becomes_an_event_for_every_endpoint_of_its_model_and_no_key_is_sent() {
    let (url, heads) = serve(vec![ok("text/plain; version=0.0.4", PAGE)]).await;
    let plan = plan_of(&url, true, &[("m", 0), ("m", 2), ("other", 1)]);
    assert_eq!(plan.pages.len(), 1, "one URL, scraped once");
    let events = events_of(plan, 2).await;
    let (a, b) = (&events[0], &events[1]);
    assert_eq!((a.endpoint, b.endpoint), (EndpointId(0), EndpointId(1)));
    assert_eq!(a.request, RequestId::SERVER);
    let scrape = scrape_of(a);
    assert_eq!(scrape.also, vec![EndpointId(2)]);
    assert!(scrape.error.is_none(), "{:?}", scrape.error);
    assert!(scrape.reading.is_some());
    assert_eq!(scrape.url, url);
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 1, "one fetch for both models");
    let head = heads[0].to_ascii_lowercase();
    assert!(head.starts_with("get /metrics http/1.1\r\n"), "{head}");
    for never in ["authorization", "x-api-key", "api-key", "cookie"] {
        assert!(!head.contains(never), "{never} sent: {head}");
    }
}

#[tokio::test]
async fn a_named_page_that_fails_is_told_each_time_and_the_next_scrape_still_works() {
    let (url, _) = serve(vec![
        status("404 Not Found", ""),
        ok("text/html", "<html>hi</html>"),
        status(
            "302 Found",
            "location: http://127.0.0.1:1/metrics?token=sk-1\r\n",
        ),
        ok("text/plain", "no metrics here, sorry\n"),
        ok("text/plain", ""),
        ok("text/plain", PAGE),
    ])
    .await;
    let events = events_of(plan_of(&url, true, &[("m", 0)]), 6).await;
    let errors: Vec<_> = events
        .iter()
        .map(|e| scrape_of(e).error.clone().map(|e| (e.class, e.message)))
        .collect();
    let class = |i: usize| errors[i].as_ref().map(|e| e.0);
    let message = |i: usize| errors[i].as_ref().map(|e| e.1.clone()).unwrap_or_default();
    assert_eq!(class(0), Some(ScrapeFailure::Status));
    assert!(message(0).contains("404"), "{}", message(0));
    assert_eq!(class(1), Some(ScrapeFailure::Garbage));
    assert!(message(1).contains("text/html"), "{}", message(1));
    assert_eq!(class(2), Some(ScrapeFailure::Status));
    assert!(message(2).contains("not followed"), "{}", message(2));
    assert!(!message(2).contains("sk-1"), "{}", message(2));
    assert_eq!(class(3), Some(ScrapeFailure::Garbage));
    assert_eq!(class(4), Some(ScrapeFailure::Garbage));
    assert!(message(4).contains("empty"), "{}", message(4));
    assert_eq!(class(5), None, "{:?}", errors[5]);
}

#[tokio::test]
async fn an_automatic_page_that_is_not_there_is_dropped_without_a_word() {
    for answer in [status("404 Not Found", ""), ok("text/html", "<html/>")] {
        let (url, heads) = serve(vec![answer]).await;
        let events = events_of(plan_of(&url, false, &[("m", 0)]), 1).await;
        assert!(events.is_empty(), "{events:?}");
        assert_eq!(heads.lock().unwrap().len(), 1, "tried once");
    }
    // Nothing listens there.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metrics", closed.local_addr().unwrap());
    drop(closed);
    assert!(
        events_of(plan_of(&url, false, &[("m", 0)]), 1)
            .await
            .is_empty()
    );
    let named = events_of(plan_of(&url, true, &[("m", 0)]), 1).await;
    let error = scrape_of(&named[0]).error.clone().unwrap();
    assert_eq!(error.class, ScrapeFailure::Connect, "{error:?}");
}

#[tokio::test]
async fn an_automatic_page_that_worked_once_is_told_when_it_fails() {
    let (url, _) = serve(vec![
        ok("text/plain", PAGE),
        status("503 Service Unavailable", ""),
    ])
    .await;
    let events = events_of(plan_of(&url, false, &[("m", 0)]), 2).await;
    assert!(scrape_of(&events[0]).error.is_none());
    let error = scrape_of(&events[1]).error.clone().unwrap();
    assert_eq!(error.class, ScrapeFailure::Status);
}

#[tokio::test]
async fn a_page_that_never_comes_times_out() {
    let (url, _) = serve(vec![None, ok("text/plain", PAGE)]).await;
    let events = events_of(plan_of(&url, true, &[("m", 0)]), 2).await;
    let error = scrape_of(&events[0]).error.clone().unwrap();
    assert_eq!(error.class, ScrapeFailure::Timeout, "{error:?}");
    assert!(
        scrape_of(&events[1]).error.is_none(),
        "a new connection after the timeout"
    );
}

#[tokio::test]
async fn a_page_over_the_cap_is_not_read_whole() {
    let size = MAX_PAGE_BYTES + 1;
    let mut huge = format!("HTTP/1.1 200 OK\r\ncontent-length: {size}\r\n\r\n").into_bytes();
    huge.extend(std::iter::repeat_n(b'#', size));
    let (url, _) = serve(vec![Some(huge)]).await;
    let events = events_of(plan_of(&url, true, &[("m", 0)]), 1).await;
    let error = scrape_of(&events[0]).error.clone().unwrap();
    assert_eq!(error.class, ScrapeFailure::TooLarge, "{error:?}");
    assert!(error.message.contains("8 MiB"), "{}", error.message);
}

#[test]
fn a_page_of_too_many_series_is_too_large_not_garbage() {
    let mut page = String::new();
    for i in 0..=100_000 {
        let _ = writeln!(page, "s_{i} 1");
    }
    let error = read_page(page.as_bytes(), &["m".to_string()]).unwrap_err();
    assert_eq!(error.class, ScrapeFailure::TooLarge, "{error:?}");
    assert!(error.message.contains("100000 series"), "{}", error.message);
}

#[tokio::test]
async fn finishing_scrapes_once_more_and_aborting_stops_at_once() {
    let (url, heads) = serve(vec![ok("text/plain", PAGE)]).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stops = ScrapeStops::default();
    let task = tokio::spawn(scrape(
        plan_of(&url, true, &[("m", 0)]),
        None,
        RaceClock::start(),
        tx,
        stops.clone(),
    ));
    assert!(
        rx.recv().await.is_some(),
        "the first scrape, before the start"
    );
    stops.finish.cancel();
    task.await.unwrap();
    let mut after = 0;
    while rx.recv().await.is_some() {
        after += 1;
    }
    assert!(
        (1..=2).contains(&after),
        "one last scrape (and any under way): {after}"
    );
    assert_eq!(heads.lock().unwrap().len(), 1 + after);

    // Aborted while a page hangs: it ends without waiting for the timeout.
    let (url, _) = serve(vec![None]).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stops = ScrapeStops::default();
    stops.abort.cancel();
    scrape(
        plan_of(&url, true, &[("m", 0)]),
        None,
        RaceClock::start(),
        tx,
        stops,
    )
    .await;
    assert!(rx.recv().await.is_none(), "nothing after an abort");
}

#[test]
fn an_https_page_without_trusted_certificates_says_why() {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let plan = plan_of("https://127.0.0.1:1/metrics", true, &[("m", 0)]);
            assert!(plan.needs_tls());
            let events = events_of(plan, 1).await;
            let error = scrape_of(&events[0]).error.clone().unwrap();
            assert!(error.message.contains("certificates"), "{}", error.message);
        });
}

#[test]
fn a_sample_line_is_told_from_html_and_json() {
    assert!(has_a_sample(PAGE));
    assert!(has_a_sample("up 1\n"));
    assert!(has_a_sample("x_total{a=\"b c\"} NaN\n"));
    assert!(!has_a_sample("<html><body>hello world</body></html>"));
    assert!(!has_a_sample("{\"object\": \"list\", \"data\": []}"));
    assert!(!has_a_sample("# HELP only comments\n"));
    assert!(!has_a_sample("Not Found\n"));
}

#[test]
fn series_are_kept_finite_cut_and_capped() {
    let long = "é".repeat(MAX_SERIES_NAME_BYTES);
    let mut series = vec![
        ("a".to_string(), 1.0),
        ("nan".to_string(), f64::NAN),
        (long, 2.0),
    ];
    let (kept, left_out) = kept_series(&series);
    assert_eq!((kept.len(), left_out), (2, 1));
    assert!(kept[1].0.len() <= MAX_SERIES_NAME_BYTES);
    series.extend((0..MAX_SCRAPE_SERIES).map(|i| (format!("s{i}"), 0.0)));
    let (kept, left_out) = kept_series(&series);
    assert_eq!(kept.len(), MAX_SCRAPE_SERIES);
    assert_eq!(left_out as usize, series.len() - MAX_SCRAPE_SERIES);
}

#[test]
fn endpoints_of_one_page_share_it_and_a_named_one_makes_it_told() {
    let mut plan = plan_of("http://127.0.0.1:8000/metrics", false, &[("m", 0)]);
    let (origin, path) = Origin::parse("http://127.0.0.1:8000/metrics").unwrap();
    plan.add(
        origin,
        path,
        "http://127.0.0.1:8000/metrics",
        true,
        "m",
        EndpointId(1),
    );
    let (origin, path) = Origin::parse("http://127.0.0.1:8001/metrics?token=sk-9").unwrap();
    plan.add(
        origin,
        path,
        "http://127.0.0.1:8001/metrics?token=sk-9",
        true,
        "m",
        EndpointId(2),
    );
    assert_eq!(plan.pages.len(), 2);
    assert!(plan.pages[0].named);
    assert_eq!(
        plan.pages[0].groups,
        vec![("m".to_string(), vec![EndpointId(0), EndpointId(1)])]
    );
    assert!(
        !plan.pages[1].shown.contains("sk-9"),
        "{}",
        plan.pages[1].shown
    );
    assert!(!plan.needs_tls());
}

/// The race's end waits for the scrape after the finish only [`FINAL_SCRAPE_WAIT`]: a page
/// that hangs then is given up, not waited for until its timeout (which would send a failed
/// scrape).
#[tokio::test]
async fn a_page_hanging_at_the_finish_is_given_up_soon() {
    let (url, _) = serve(vec![None]).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stops = ScrapeStops::default();
    stops.finish.cancel();
    scrape(
        plan_of(&url, true, &[("m", 0)]),
        None,
        RaceClock::start(),
        tx,
        stops,
    )
    .await;
    assert!(
        rx.recv().await.is_none(),
        "no scrape waited for until it timed out"
    );
}
