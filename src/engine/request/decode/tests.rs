//! One response's reads decoded into events: whole token events read straight from the read
//! and the rest fed to the decoder give one content event per read, in order.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use super::*;
use crate::engine::request::tests::target;
use crate::event::{EndpointId, RequestId};

fn chunk(token: &str) -> String {
    format!(
        "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\
         \"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{token}\"}},\
         \"finish_reason\":null}}]}}\n\n"
    )
}

/// A read of one whole event, of two, of one and the start of the next, and of that one's end
/// with the end of the stream: each read's content is one event, its chunks counted.
#[test]
fn each_read_gives_one_content_event_whole_events_or_not() {
    let target = target();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let out = Emitter {
        events: &tx,
        endpoint: EndpointId(0),
        request: RequestId(1),
    };
    let mut state = StreamState::new(&target, PromptId(0), &out);
    let e = chunk("e");
    let (e1, e2) = e.split_at(30);
    let reads = [
        chunk("a"),
        chunk("b"),
        chunk("c") + &chunk("d"),
        chunk("f") + e1,
        e2.to_owned() + &chunk("g") + "data: [DONE]\n\n",
    ];
    for (i, read) in (0u64..).zip(&reads) {
        let end = state.on_bytes(Offset(i), read.as_bytes(), ReadNote::default());
        assert!(end.is_none());
    }
    assert!(matches!(state.on_body_end(), StreamEnd::Finished));
    assert_eq!(state.captured, "abcdfeg");
    assert_eq!(state.response_id.as_deref(), Some("chatcmpl-1"));
    drop(state);
    let mut contents = Vec::new();
    while let Ok(event) = rx.try_recv() {
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
    let target = target();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let out = Emitter {
        events: &tx,
        endpoint: EndpointId(0),
        request: RequestId(1),
    };
    let mut state = StreamState::new(&target, PromptId(0), &out);
    let b = chunk("b");
    let (b1, b2) = b.split_at(30);
    let usage = "data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\
                 \"completion_tokens\":3}}\n\n";
    let reads = [
        chunk("a"),
        b1.to_owned(),
        b2.to_owned() + usage + &chunk("c") + "data: [DONE]\n\n",
    ];
    for (i, read) in (0u64..).zip(&reads) {
        assert!(
            state
                .on_bytes(Offset(i), read.as_bytes(), ReadNote::default())
                .is_none()
        );
    }
    assert!(matches!(state.on_body_end(), StreamEnd::Finished));
    drop(state);
    let mut got = Vec::new();
    while let Ok(event) = rx.try_recv() {
        match event.kind {
            EventKind::Content { text, .. } => got.push(format!("{} {text}", event.t.0)),
            EventKind::Usage { output, .. } => got.push(format!("{} usage {output:?}", event.t.0)),
            _ => {}
        }
    }
    assert_eq!(got, ["0 a", "2 b", "2 usage Some(3)", "2 c"]);
}
