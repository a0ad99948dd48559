//! Damaged replays of format 3: cut at every byte, garbled at every byte, a record left
//! unreadable. Each still opens up to its last whole event, tells what was lost, and never
//! panics.

use std::io::{Cursor, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::{Replay, ReplayError, ReplayReader, fixture};
use crate::event::RaceEvent;

/// A small race written as a file: its compressed bytes, decompressed bytes, and events.
fn small_file() -> (Vec<u8>, Vec<u8>, Replay) {
    let dir = tempfile::tempdir().unwrap();
    let replay = fixture::replay(1, 2);
    fixture::write_file(dir.path(), &replay, None);
    let file = std::fs::read(dir.path().join(crate::record::REPLAY_FILE)).unwrap();
    let mut text = Vec::new();
    MultiGzDecoder::new(&file[..])
        .read_to_end(&mut text)
        .unwrap();
    (file, text, replay)
}

/// Where the records start: after the header line (the fixture has no prompts).
fn records_start(text: &[u8]) -> usize {
    text.iter().position(|&b| b == b'\n').unwrap() + 1
}

type InMemory = ReplayReader<Cursor<Vec<u8>>>;

fn read(text: &[u8]) -> Result<(Vec<RaceEvent>, InMemory), ReplayError> {
    let mut reader = ReplayReader::new(Cursor::new(text.to_vec()), Path::new("x.gz"))?;
    let events = reader.by_ref().collect();
    Ok((events, reader))
}

#[test]
fn a_file_cut_at_any_byte_plays_up_to_its_last_whole_event_and_says_so() {
    let (file, text, replay) = small_file();
    let start = records_start(&text);
    let mut whole_before = 0;
    for cut in 0..text.len() {
        let Ok((events, reader)) = read(&text[..cut]) else {
            assert!(cut < start, "cut at {cut}, among the records, did not open");
            continue;
        };
        assert!(cut >= start - 1, "a header cut at {cut} opened");
        assert_eq!(events[..], replay.events[..events.len()], "cut at {cut}");
        assert!(
            events.len() >= whole_before,
            "cut at {cut} read fewer events"
        );
        whole_before = events.len();
        assert_eq!(reader.end(), None, "cut at {cut}");
        let damage = reader.damage().unwrap();
        assert!(
            damage.contains("in the middle of record") || damage.contains("stops before"),
            "cut at {cut}: {damage}"
        );
    }
    assert_eq!(whole_before, replay.events.len());
    let (events, reader) = read(&text).unwrap();
    assert_eq!(events, replay.events);
    assert_eq!((reader.end(), reader.damage()), (replay.end, None));
    // The compressed file cut anywhere: it opens, or says it is not a replay; never panics.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.jsonl.gz");
    for cut in 2..file.len() {
        std::fs::write(&path, &file[..cut]).unwrap();
        if let Ok(read) = Replay::open(&path) {
            assert_eq!(read.events[..], replay.events[..read.events.len()]);
            if read.events.len() < replay.events.len() {
                assert!(read.damage.is_some(), "cut at {cut}");
            }
        }
    }
}

#[test]
fn a_file_garbled_at_any_byte_never_panics() {
    let (_, text, replay) = small_file();
    for at in records_start(&text)..text.len() {
        for byte in [0x00, 0xff] {
            let mut garbled = text.clone();
            garbled[at] = byte;
            let (events, reader) = read(&garbled).unwrap();
            // A change nobody can see (a byte of text) aside, the file says it is damaged.
            if reader.damage().is_none() {
                assert_eq!(events.len(), replay.events.len(), "{byte:#x} at {at}");
            }
        }
    }
}

#[test]
fn an_unreadable_record_loses_its_event_alone() {
    let (_, text, replay) = small_file();
    let start = records_start(&text);
    // The second record: its tag set to a kind no llmrace writes, in a file of this format.
    let mut rest = &text[start..];
    let first_len = super::binary::read_length(&mut rest).unwrap().unwrap();
    let second = text.len() - rest.len() + usize::try_from(first_len).unwrap();
    let mut rest = &text[second..];
    super::binary::read_length(&mut rest).unwrap();
    let mut garbled = text.clone();
    garbled[text.len() - rest.len()] = 0x7e;
    let (events, reader) = read(&garbled).unwrap();
    let mut expected = replay.events.clone();
    expected.remove(1);
    assert_eq!(events.len(), expected.len(), "{:?}", reader.damage());
    assert!(events == expected);
    assert_eq!(reader.end(), replay.end);
    assert_eq!(
        reader.damage(),
        Some("1 event missing: record 2 is unreadable: event 2 is lost with it")
    );
}

#[test]
fn an_end_that_claims_every_number_is_damage_and_no_panic() {
    let (_, text, _) = small_file();
    let mut hostile = text[..records_start(&text)].to_vec();
    let end = super::ReplayEnd {
        t: crate::event::Offset(u64::MAX),
        interrupted: true,
    };
    super::binary::Encoder::default().end(end, u64::MAX, &mut hostile);
    let (events, reader) = read(&hostile).unwrap();
    assert!(events.is_empty());
    assert_eq!(reader.end(), Some(end));
    assert!(
        reader
            .damage()
            .unwrap()
            .contains("missing before the end record")
    );
}

#[test]
fn a_tail_of_zeros_stops_the_reading_at_once_and_says_so() {
    let (_, text, replay) = small_file();
    let start = records_start(&text);
    let mut rest = &text[start..];
    let first_len = super::binary::read_length(&mut rest).unwrap().unwrap();
    let second = text.len() - rest.len() + usize::try_from(first_len).unwrap();
    // The file from its second record on zeroed, as a disk leaves it after a crash, or a
    // gzip bomb of zeros: one event read, then one message, not one per zero byte.
    let mut zeroed = text[..second].to_vec();
    zeroed.resize(second + 1_000_000, 0);
    let (events, reader) = read(&zeroed).unwrap();
    assert_eq!(events, replay.events[..1]);
    assert_eq!(
        reader.damage(),
        Some("record 2 is empty (zero bytes where a record's length belongs)")
    );
}
