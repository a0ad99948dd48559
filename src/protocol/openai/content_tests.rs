//! Whole token events read straight from the read (`Decoder::content_event`) against `feed`
//! alone: hostile shapes around a learned template, each read whole, split at every byte,
//! and byte by byte.
#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

use crate::protocol::{Decoded, Decoder, Part, Protocol, ReadParts};

/// The events of `reads` decoded as the engine does: whole token events first, `feed` the
/// rest. Also counts the events read the fast way.
fn content_first(mut decoder: Box<dyn Decoder>, reads: &[&[u8]], fast: &mut usize) -> Vec<Decoded> {
    let mut out = Vec::new();
    for read in reads {
        let mut parts = ReadParts::new(read);
        while let Some(part) = parts.next_part(&mut *decoder) {
            match part {
                Part::Content(event) => {
                    assert!(!event.text.is_empty() && event.len > 0);
                    out.push(Decoded::Content {
                        text: event.text.into(),
                        reasoning: event.reasoning,
                    });
                    *fast += 1;
                }
                Part::Feed(piece) => decoder.feed(piece, &mut out),
            }
        }
    }
    decoder.finish(&mut out);
    out
}

fn feed_only(mut decoder: Box<dyn Decoder>, reads: &[&[u8]]) -> Vec<Decoded> {
    let mut out = Vec::new();
    for read in reads {
        decoder.feed(read, &mut out);
    }
    decoder.finish(&mut out);
    out
}

/// `events` (each a read of its own) give the same items both ways, also with any one read
/// split in two at any byte, and the whole body read at once and byte by byte; returns how
/// many events the fast path read.
fn agrees(protocol: Protocol, events: &[&[u8]]) -> usize {
    let mut fast = 0;
    let mut check = |reads: &[&[u8]], what: &str| {
        let expected = feed_only(protocol.decoder(true), reads);
        let got = content_first(protocol.decoder(true), reads, &mut fast);
        assert_eq!(got, expected, "{what}: {events:?}");
    };
    check(events, "events as reads");
    for (i, event) in events.iter().enumerate() {
        for cut in 0..=event.len() {
            let (a, b) = event.split_at(cut);
            let mut reads = events.to_vec();
            reads.splice(i..=i, [a, b]);
            check(&reads, &format!("event {i} cut at {cut}"));
        }
    }
    let body = events.concat();
    check(&[&body], "one read");
    let bytes: Vec<&[u8]> = body.chunks(1).collect();
    check(&bytes, "byte by byte");
    fast
}

const CHAT: &str = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"TOKEN"},"logprobs":null,"finish_reason":null}]}"#;

fn chunk(token: &str) -> Vec<u8> {
    format!("data: {}\n\n", CHAT.replace("TOKEN", token)).into_bytes()
}

/// A stream that learns its template from the first chunk, reads `middle` and then a chunk
/// and the end.
fn around(protocol: Protocol, middle: &[u8]) -> usize {
    let (first, plain, last) = (chunk("a"), chunk("b"), chunk("c"));
    let end = b"data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\ndata: [DONE]\n\n";
    agrees(protocol, &[&first, &plain, middle, &last, end])
}

#[test]
fn a_stream_of_one_shape_is_read_the_fast_way() {
    let (a, b, c) = (chunk("tok "), chunk("é→😀"), chunk("x"));
    let fast = agrees(Protocol::OpenAiChat, &[&a, &b, &c, b"data: [DONE]\n\n"]);
    assert!(fast > 0);
}

#[test]
fn hostile_shapes_read_as_feed_reads_them() {
    let chat = |token: &str| CHAT.replace("TOKEN", token);
    let mut middles: Vec<Vec<u8>> = [
        // line ends and the space after the colon
        format!("data:{}\n\n", chat("t")),
        format!("data:  {}\n\n", chat("t")),
        format!("data: {}  \n\n", chat("t")),
        format!("data: {}\r\n\r\n", chat("t")),
        format!("data: {}\r\r", chat("t")),
        format!("data: {}\n\r\n", chat("t")),
        format!("data: {}\r\n\n", chat("t")),
        format!("data: {}\n", chat("t")),
        format!("data: {}\ndata: {}\n\n", chat("t"), chat("u")),
        format!("data: {}\ndata\n\n", chat("t")),
        // comments, other fields, names
        format!(": ping\n\ndata: {}\n\n", chat("t")),
        format!(": ping\ndata: {}\n\n", chat("t")),
        format!("id: 7\ndata: {}\n\n", chat("t")),
        format!("event: error\ndata: {}\n\n", chat("t")),
        format!("event: message\ndata: {}\n\n", chat("t")),
        format!("data: {}\n\nevent: error\ndata: boom\n\n", chat("t")),
        format!("\ndata: {}\n\n", chat("t")),
        format!("\u{feff}data: {}\n\n", chat("t")),
        // several events in one read, then one cut short
        format!(
            "data: {}\n\ndata: {}\n\ndata: {}",
            chat("t"),
            chat("u"),
            chat("v")
        ),
        // escapes, surrogates, controls, the token's end in the token
        format!("data: {}\n\n", chat(r#"a\"b"#)),
        format!("data: {}\n\n", chat(r"a\nb")),
        format!("data: {}\n\n", chat(r"\ud83d\ude00")),
        format!("data: {}\n\n", chat(r"\ud83d")),
        format!("data: {}\n\n", chat("a\tb")),
        format!("data: {}\n\n", chat(r#"x"},"finish_reason":"stop"}]}"#)),
        format!("data: {}\n\n", chat("")),
        // another frame: an obfuscation field, a finish reason, usage, an error, garbage
        format!(
            "data: {}\n\n",
            chat("t").replace(r"]}", r#"],"obfuscation":"Xb3"}"#)
        ),
        format!(
            "data: {}\n\n",
            chat("t").replace(r#""finish_reason":null"#, r#""finish_reason":"length""#)
        ),
        format!(
            "data: {}\n\n",
            chat("t").replace("]}", r#"],"usage":{"prompt_tokens":1}}"#)
        ),
        "data: {\"error\":{\"message\":\"overloaded\"}}\n\n".to_owned(),
        "data: not json\n\n".to_owned(),
        "data: [DONE]\n\n".to_owned(),
        String::new(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    // invalid UTF-8 in the token, whole and cut short
    for bad in [&b"\xff"[..], b"\xc3", b"a\xe2\x82", b"\xed\xa0\x80"] {
        let mut event = b"data: ".to_vec();
        let (head, tail) = CHAT.split_once("TOKEN").unwrap();
        event.extend_from_slice(head.as_bytes());
        event.extend_from_slice(bad);
        event.extend_from_slice(tail.as_bytes());
        event.extend_from_slice(b"\n\n");
        middles.push(event);
    }
    for protocol in [Protocol::OpenAiChat, Protocol::OpenAiCompletions] {
        for middle in &middles {
            around(protocol, middle);
        }
    }
}

#[test]
fn reasoning_and_an_empty_id_are_read_the_fast_way() {
    for shape in [
        r#"{"id":"c","choices":[{"index":0,"delta":{"reasoning_content":"TOKEN"},"finish_reason":null}]}"#,
        r#"{"id":"","choices":[{"index":0,"delta":{"content":"TOKEN"},"finish_reason":null}]}"#,
        r#"{"choices":[{"index":0,"delta":{"content":"TOKEN"},"finish_reason":null}],"id":"late"}"#,
        r#"{"id":"cmpl-1","object":"text_completion","created":1,"choices":[{"text":"TOKEN","index":0,"logprobs":null,"finish_reason":null}],"model":"m"}"#,
    ] {
        let events: Vec<Vec<u8>> = ["a", "b", "c"]
            .iter()
            .map(|t| format!("data: {}\n\n", shape.replace("TOKEN", t)).into_bytes())
            .chain([b"data: [DONE]\n\n".to_vec()])
            .collect();
        let events: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
        let protocol = if shape.contains("text_completion") {
            Protocol::OpenAiCompletions
        } else {
            Protocol::OpenAiChat
        };
        assert!(agrees(protocol, &events) > 0, "{shape}");
    }
}

/// A read that starts inside an event (the server's writes coalesced, cut anywhere by the
/// reads): the events after that one's end are read whole again.
#[test]
fn a_read_that_starts_inside_an_event_reads_the_whole_ones_after_it() {
    let body: Vec<u8> = ["a", "b", "c", "d", "e", "f"]
        .iter()
        .flat_map(|t| chunk(t))
        .chain(b"data: [DONE]\n\n".iter().copied())
        .collect();
    let first = chunk("a").len() + 20;
    let reads: [&[u8]; 2] = [&body[..first], &body[first..]];
    let mut fast = 0;
    let got = content_first(Protocol::OpenAiChat.decoder(true), &reads, &mut fast);
    assert_eq!(got, feed_only(Protocol::OpenAiChat.decoder(true), &reads));
    // b's end is fed, c to f are read whole
    assert_eq!(fast, 4);
}

/// A chunk whose token makes its line longer than the parser takes is the parser's: it ends
/// the body as too long, as `feed` does.
#[test]
fn a_line_too_long_is_left_to_the_parser() {
    let huge = chunk(&"x".repeat(crate::protocol::sse::MAX_EVENT_BYTES));
    let (a, b) = (chunk("a"), chunk("b"));
    let reads: [&[u8]; 3] = [&a, &b, &huge];
    let mut fast = 0;
    let got = content_first(Protocol::OpenAiChat.decoder(true), &reads, &mut fast);
    assert_eq!(got, feed_only(Protocol::OpenAiChat.decoder(true), &reads));
    assert!(
        matches!(got.last(), Some(Decoded::Malformed { message }) if message.contains("longer than")),
        "{got:?}"
    );
}
