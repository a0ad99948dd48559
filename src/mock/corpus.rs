//! The mock's written answers to the built-in prompt sets (`assets/mock/answers.txt`): which
//! entry a request's body asks for, and the tokens of its answer and of a reasoning profile's
//! thinking. A request no entry matches keeps the word generator (`text.rs`).

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use bytes::{BufMut, BytesMut};

use super::text::mix;

const SOURCE: &str = include_str!("../../assets/mock/answers.txt");
/// The entry whose answers are the sentences reasoning thinks in.
const THINKING: &str = "@thinking";

/// The answers as tokens (words, split on spaces) and the matcher of their keys.
struct Corpus {
    /// Each entry's answers; entry `i` belongs to key `i`.
    entries: Vec<Vec<Vec<&'static str>>>,
    thinking: Vec<Vec<&'static str>>,
    /// `None` only if the keys were too many for the matcher: then no prompt has answers.
    keys: Option<AhoCorasick>,
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| parse(SOURCE))
}

fn parse(source: &'static str) -> Corpus {
    let mut keys = Vec::new();
    let mut entries: Vec<Vec<Vec<&'static str>>> = Vec::new();
    let mut thinking = Vec::new();
    let mut in_thinking = false;
    for line in source.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(key) = line.strip_prefix("== ") {
            in_thinking = key == THINKING;
            if !in_thinking {
                keys.push(key);
                entries.push(Vec::new());
            }
            continue;
        }
        let tokens = line.split(' ').filter(|w| !w.is_empty()).collect();
        match entries.last_mut() {
            _ if in_thinking => thinking.push(tokens),
            Some(answers) => answers.push(tokens),
            None => {}
        }
    }
    let keys = AhoCorasick::new(&keys).ok();
    Corpus {
        entries,
        thinking,
        keys,
    }
}

/// The entry a request body asks for: the one whose key appears last in it (a conversation's
/// latest question comes last), or `None` for a prompt the corpus does not know.
pub(crate) fn find(body: &[u8]) -> Option<u16> {
    let found = corpus().keys.as_ref()?.find_iter(body).last()?;
    u16::try_from(found.pattern().as_usize()).ok()
}

/// Where a response's text comes from when its prompt has written answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    pub entry: u16,
    /// Tokens of reasoning before the answer: indexes below it are thinking.
    pub reasoning: u32,
}

impl Answer {
    /// Writes tokens `from..from + count` of the response seeded by `seed`: thinking, then the
    /// answer, each an endless run of whole answers (sentences) picked by the seed, so every
    /// token count the profile asks for is met.
    pub(crate) fn write(self, out: &mut BytesMut, seed: u64, from: u32, count: u32) {
        let corpus = corpus();
        let Some(answers) = corpus.entries.get(usize::from(self.entry)) else {
            return;
        };
        let end = from.saturating_add(count);
        if from < self.reasoning {
            write_run(
                out,
                &corpus.thinking,
                mix(seed ^ 0x7417),
                from,
                end.min(self.reasoning),
            );
        }
        if end > self.reasoning {
            let start = from.max(self.reasoning) - self.reasoning;
            write_run(out, answers, seed, start, end - self.reasoning);
        }
    }
}

/// Tokens `from..to` of the run that starts with answer `seed % len` and goes on with the
/// next ones, round and round. The run's first token has no space before it.
fn write_run(out: &mut BytesMut, answers: &[Vec<&'static str>], seed: u64, from: u32, to: u32) {
    let total: usize = answers.iter().map(Vec::len).sum();
    if total == 0 || from >= to {
        return;
    }
    let first = usize::try_from(seed % answers.len() as u64).unwrap_or(0);
    let order = answers.iter().cycle().skip(first);
    let skip = usize::try_from(from).unwrap_or(usize::MAX) % total;
    let count = usize::try_from(to - from).unwrap_or(usize::MAX);
    for (at, word) in (from..).zip(order.flatten().skip(skip).take(count)) {
        if at > 0 {
            out.put_u8(b' ');
        }
        out.put_slice(word.as_bytes());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn text(answer: Answer, seed: u64, from: u32, count: u32) -> String {
        let mut out = BytesMut::new();
        answer.write(&mut out, seed, from, count);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn every_token_is_safe_inside_any_json_string() {
        let corpus = corpus();
        assert!(corpus.entries.len() >= 40, "{}", corpus.entries.len());
        assert!(corpus.thinking.len() >= 10);
        for answers in corpus.entries.iter().chain([&corpus.thinking]) {
            assert!(answers.len() >= 2, "an entry with one answer");
            for word in answers.iter().flatten() {
                assert!(
                    !word
                        .chars()
                        .any(|c| c == '"' || c == '\\' || c.is_control()),
                    "{word:?}"
                );
            }
        }
    }

    #[test]
    fn a_body_finds_the_key_that_comes_last() {
        let body = br#"{"messages":[{"role":"user","content":"I run a small bakery and we just got our first online ordering page"},{"role":"assistant","content":"..."},{"role":"user","content":"My daughter is nine and asked me why the moon looks bigger"}]}"#;
        let found = find(body).unwrap();
        let answer = Answer {
            entry: found,
            reasoning: 0,
        };
        assert!(text(answer, 0, 0, 400).contains("moon"));
        assert_eq!(find(b"{\"prompt\":\"an unknown question\"}"), None);
    }

    #[test]
    fn pieces_join_into_the_whole_and_the_count_is_met() {
        let answer = Answer {
            entry: find(b"counts words in a text file and returns the ten most").unwrap(),
            reasoning: 7,
        };
        let whole = text(answer, 42, 0, 500);
        let mut pieces = String::new();
        let mut from = 0;
        for count in [1, 2, 5, 3, 13, 100, 376] {
            pieces.push_str(&text(answer, 42, from, count));
            from += count;
        }
        assert_eq!(pieces, whole);
        // Reasoning and answer both start without a space; every later token has one.
        let thinking = text(answer, 42, 0, 7);
        assert_eq!(thinking.split(' ').count(), 7);
        assert!(!thinking.starts_with(' '));
        let rest = text(answer, 42, 7, 493);
        assert!(!rest.starts_with(' '));
        assert_eq!(
            rest.split(' ').count(),
            493,
            "more tokens than an entry's answers: it goes round"
        );
    }

    #[test]
    fn every_built_in_text_prompt_has_its_own_answers() {
        let mut seen = std::collections::BTreeSet::new();
        for set in [
            include_str!("../../assets/prompts/chat.jsonl"),
            include_str!("../../assets/prompts/code.jsonl"),
            include_str!("../../assets/prompts/rag.jsonl"),
        ] {
            for line in set.lines() {
                // The body as a client writes it: the messages re-serialised, salt first.
                let prompt: serde_json::Value = serde_json::from_str(line).unwrap();
                let body = serde_json::json!({"model": "m", "messages": prompt["messages"]});
                let entry = find(body.to_string().as_bytes());
                assert!(
                    entry.is_some_and(|e| seen.insert(e)),
                    "{entry:?} for {}",
                    &line[..120]
                );
            }
        }
        assert_eq!(
            seen.len(),
            corpus().entries.len(),
            "an entry no prompt asks for"
        );
    }

    #[test]
    fn the_seed_picks_the_answer() {
        let answer = Answer {
            entry: 0,
            reasoning: 0,
        };
        let firsts: std::collections::BTreeSet<String> =
            (0..12).map(|seed| text(answer, seed, 0, 6)).collect();
        assert!(firsts.len() >= 2, "{firsts:?}");
        assert_eq!(text(answer, 5, 0, 30), text(answer, 5, 0, 30));
    }
}
