//! One response's reads decoded into events: whole token events read straight from the read
//! and the rest fed to the decoder give one content event per read, in order.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use super::*;
use crate::engine::request::tests::target;
use crate::event::{EndpointId, RaceEvent, RequestId};

fn chunk(token: &str) -> String {
    format!(
        "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\
         \"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{token}\"}},\
         \"finish_reason\":null}}]}}\n\n"
    )
}

/// Reads `reads` in order, stamped 0, 1, 2…, to the body's end, which must be a finished
/// one: the events sent, the text captured and the response's id.
fn decode(reads: &[String]) -> (Vec<RaceEvent>, String, Option<String>) {
    let target = target();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let out = Emitter {
        events: &tx,
        endpoint: EndpointId(0),
        request: RequestId(1),
    };
    let mut state = StreamState::new(&target, PromptId(0), &out);
    for (i, read) in (0u64..).zip(reads) {
        let end = state.on_bytes(Offset(i), read.as_bytes(), ReadNote::default());
        assert!(end.is_none(), "read {i}");
    }
    assert!(matches!(state.on_body_end(), StreamEnd::Finished));
    let (captured, response_id) = (state.captured.clone(), state.response_id.clone());
    drop(state);
    let mut events = Vec::new();
    while let Ok(event) = rx.try_recv() {
        events.push(event);
    }
    (events, captured, response_id)
}

/// A read of one whole event, of two, of one and the start of the next, and of that one's end
/// with the end of the stream: each read's content is one event, its chunks counted.
#[test]
fn each_read_gives_one_content_event_whole_events_or_not() {
    let e = chunk("e");
    let (e1, e2) = e.split_at(30);
    let reads = [
        chunk("a"),
        chunk("b"),
        chunk("c") + &chunk("d"),
        chunk("f") + e1,
        e2.to_owned() + &chunk("g") + "data: [DONE]\n\n",
    ];
    let (events, captured, response_id) = decode(&reads);
    assert_eq!(captured, "abcdfeg");
    assert_eq!(response_id.as_deref(), Some("chatcmpl-1"));
    let mut contents = Vec::new();
    for event in events {
        if let EventKind::Content { text, chunks, .. } = event.kind {
            contents.push((event.t.0, text.to_string(), chunks));
        }
    }
    let expected = [
        (0, "a", 1),
        (1, "b", 1),
        (2, "cd", 2),
        (3, "f", 1),
        (4, "eg", 2),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|&(t, text, chunks)| (t, text.to_owned(), chunks))
        .collect();
    assert_eq!(contents, expected);
}

/// A read that starts inside an event, then usage, then a whole token event: the events come
/// out in the order the body has them.
#[test]
fn a_read_split_at_its_events_keeps_their_order() {
    let b = chunk("b");
    let (b1, b2) = b.split_at(30);
    let usage = "data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\
                 \"completion_tokens\":3}}\n\n";
    let reads = [
        chunk("a"),
        b1.to_owned(),
        b2.to_owned() + usage + &chunk("c") + "data: [DONE]\n\n",
    ];
    let mut got = Vec::new();
    for event in decode(&reads).0 {
        match event.kind {
            EventKind::Content { text, .. } => got.push(format!("{} {text}", event.t.0)),
            EventKind::Usage { output, .. } => got.push(format!("{} usage {output:?}", event.t.0)),
            _ => {}
        }
    }
    assert_eq!(got, ["0 a", "2 b", "2 usage Some(3)", "2 c"]);
}
