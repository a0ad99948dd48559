//! A replay as format-2 JSON lines: the header, one line per prompt, every event numbered
//! from 1, and the end line. What `zcat` showed of a replay before format 3, for people and
//! scripts that read replays with `jq`; gzip'd, it is a replay an older llmrace opens.

use std::io::{BufRead, Write};

use super::{EndLine, EventLine, HeaderLine, PromptLine, ReplayReader, prompt_line};

/// The format these lines are in: the last one whose events were JSON lines.
const JSON_LINES_FORMAT: u32 = 2;

/// Writes every event left in `reader` to `out` as JSON lines, after the header and prompts;
/// the end line follows when the replay has one. How the replay was damaged, if it was, is
/// the reader's to tell afterwards.
pub fn write<R: BufRead>(
    reader: &mut ReplayReader<R>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut header = reader.header().clone();
    header.llmrace_replay = JSON_LINES_FORMAT;
    let prompts = std::mem::take(&mut header.prompts);
    line(
        out,
        &HeaderLine {
            header: &header,
            prompt_lines: prompts.len(),
        },
    )?;
    for (prompt, messages) in prompts.iter().enumerate() {
        let messages = prompt_line::fit(messages);
        line(out, &PromptLine { prompt, messages })?;
    }
    let mut n = 0;
    for event in reader.by_ref() {
        n += 1;
        line(out, &EventLine { n, event: &event })?;
    }
    if let Some(end) = reader.end() {
        line(
            out,
            &EndLine {
                end,
                events: Some(n),
            },
        )?;
    }
    out.flush()
}

fn line(out: &mut impl Write, value: &impl serde::Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::path::Path;

    use super::super::{Replay, fixture};
    use super::*;

    /// A format-3 file written as JSON lines reads back as the same replay, of format 2.
    #[test]
    fn json_lines_read_back_as_the_same_replay() {
        let dir = tempfile::tempdir().unwrap();
        let mut replay = fixture::replay(2, 5);
        replay.header.prompts = vec![vec![crate::protocol::Message::user("hi".to_string())]];
        fixture::write_file(dir.path(), &replay, None);
        let mut reader = ReplayReader::open(dir.path()).unwrap();
        let mut text = Vec::new();
        write(&mut reader, &mut text).unwrap();
        assert!(text.starts_with(b"{\"llmrace_replay\":2,"));
        let read = Replay::read_all(ReplayReader::new(Cursor::new(text), Path::new("x")).unwrap());
        assert_eq!(read.events, replay.events);
        assert_eq!(read.end, replay.end);
        assert_eq!(read.damage, None);
        assert_eq!(read.header.prompts, replay.header.prompts);
        assert_eq!(read.header.llmrace_replay, 2);
    }
}
