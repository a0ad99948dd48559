//! A client that falls behind reading: tokens that waited in the socket are read together, and
//! the race says so instead of reporting the last one's arrival as the first token's.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::race::{race_config, records, run};

/// Content events the server streams, and the gap between them: short, so each read the
/// client makes once let go comes just after the latest segment, and measures little.
const EVENTS: u32 = 5;
const GAP: Duration = Duration::from_millis(10);
/// How long the client stays held once everything was written: enough for loopback to queue
/// the last bytes, far less than the notice's threshold, so what tells the stall is not how
/// late the last bytes were read.
const MARGIN: Duration = Duration::from_millis(2);

/// The steps the server and the held client wait for each other on; no timing decides them.
struct Handshake {
    /// The request is in: time to hold the client.
    arrived: Sender<()>,
    /// The client's thread is held: time to answer.
    held: Receiver<()>,
    /// The whole answer is written.
    written: Sender<()>,
}

/// Serves OpenAI chat streams on 127.0.0.1 (any other request gets a 404). The first one waits
/// on the handshake: it tells `arrived`, waits until the client is `held`, writes the head and
/// [`EVENTS`] content events [`GAP`] apart, each in its own write, and tells `written`.
fn serve(listener: &std::net::TcpListener, handshake: Handshake) {
    let handshake = Arc::new(Mutex::new(Some(handshake)));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { return };
        let handshake = Arc::clone(&handshake);
        std::thread::spawn(move || while serve_request(&stream, &handshake).is_some() {});
    }
}

/// Answers one request of `stream`; `None` once the client hung up.
fn serve_request(
    mut stream: &std::net::TcpStream,
    handshake: &Mutex<Option<Handshake>>,
) -> Option<()> {
    stream.set_nodelay(true).ok()?;
    let mut reader = BufReader::new(stream);
    let mut head = Vec::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().ok()?;
        }
        if line == "\r\n" {
            break;
        }
        head.push(line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    if !head.first()?.starts_with("POST") {
        stream
            .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
            .ok()?;
        return Some(());
    }
    let handshake = handshake.lock().ok()?.take();
    if let Some(steps) = &handshake {
        steps.arrived.send(()).ok()?;
        steps.held.recv().ok()?;
    }
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                transfer-encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).ok()?;
    let mut chunk = |data: &str| {
        let text = format!("{:x}\r\n{data}\r\n", data.len());
        stream.write_all(text.as_bytes())
    };
    for i in 0..EVENTS {
        std::thread::sleep(GAP);
        chunk(&format!(
            "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"t{i} \"}}}}]}}\n\n"
        ))
        .ok()?;
    }
    chunk("data: [DONE]\n\n").ok()?;
    stream.write_all(b"0\r\n\r\n").ok()?;
    if let Some(steps) = handshake {
        steps.written.send(()).ok()?;
    }
    Some(())
}

/// The race runs on this test's one thread; holding it stands for a client too busy to read.
#[tokio::test]
async fn tokens_read_together_mark_the_first_token_and_the_lateness() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("an address").port();
    let (arrived_tx, arrived) = channel();
    let (held, held_rx) = channel();
    let (written_tx, written) = channel();
    let handshake = Handshake {
        arrived: arrived_tx,
        held: held_rx,
        written: written_tx,
    };
    std::thread::spawn(move || serve(&listener, handshake));
    // Waits off the runtime for the request to reach the server, then holds the runtime's
    // thread until the whole answer is written: every token arrives while nobody reads.
    let (stall_tx, stall) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        if arrived.recv().is_ok() {
            let _ = stall_tx.send(());
        }
    });
    tokio::spawn(async move {
        if stall.await.is_ok() && held.send(()).is_ok() && written.recv().is_ok() {
            std::thread::sleep(MARGIN);
        }
    });

    let dir = tempfile::tempdir().expect("a folder");
    let spec = format!("busy=openai:http://127.0.0.1:{port}/v1#m");
    let outcome = run(race_config(&[&spec], 1, 1), dir.path()).await;

    let record = &records(dir.path())[0];
    assert!(record.batched_first_token, "{record:?}");
    // All of them, read once the client is let go; a read split by the kernel may part them.
    let together = record.first_read_events.expect("counted");
    assert!((2..=EVENTS).contains(&together), "{record:?}");
    let (floor, ttft) = (record.ttft_min_ms.unwrap(), record.ttft_ms.unwrap());
    assert!(floor < ttft, "{floor} {ttft}");
    assert_eq!(outcome.summary.endpoints[0].counts.batched_first_token, 1);

    let run_json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("run.json")).expect("run.json"),
    )
    .expect("JSON");
    // The race's figure is the exact largest of its requests'.
    assert_eq!(
        run_json["read_late_max_ms"].as_f64(),
        record.read_late_max_ms,
        "{run_json}"
    );
    // The reads came just after the last bytes, and say little of the stall; the runtime's
    // own lateness tells it: held while the server wrote every gap.
    let runtime_late = run_json["runtime_late_max_ms"]
        .as_f64()
        .expect("the runtime's lateness");
    assert!(
        runtime_late > llmrace::record::run_info::LATE_READ_NOTICE_MS,
        "{runtime_late}"
    );
    let notices = run_json["notices"].to_string();
    assert!(
        notices.contains("the client fell behind reading responses: its tasks ran up to"),
        "{notices}"
    );
    assert!(
        notices.contains("busy: 1 of 1 first tokens (100.0%) came in one read"),
        "{notices}"
    );
}
