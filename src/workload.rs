//! The prompts of a race: built-in sets, files (text, JSONL, ShareGPT), inline, synthetic and
//! shared-prefix prompts, loaded into [`Prompt`]s once before the race starts, optionally in a seeded order;
//! only as many as the race can send are kept, and synthetic ones past those are never made.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use crate::config::{PromptSource, WorkloadConfig};
use crate::event::PromptId;
use crate::protocol::{Message, ToolDef};

mod content_parts;
mod conversation;
mod error;
mod image_files;
mod images;
mod long;
mod rng;
pub mod salt;
mod shared_prefix;
mod sharegpt;
mod synthetic;
mod tools;
mod trace;

use error::STOP_EVERY;
pub use error::WorkloadError;
pub use shared_prefix::expected_hit_rate;

const CHAT: &str = include_str!("../assets/prompts/chat.jsonl");
const RAG: &str = include_str!("../assets/prompts/rag.jsonl");
const CODE: &str = include_str!("../assets/prompts/code.jsonl");
const TOOLS: &str = include_str!("../assets/prompts/tools.jsonl");

/// A number of prompts and their text in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PromptsSize {
    pub count: u64,
    pub bytes: u64,
}

/// One prompt of the workload: the messages sent as one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub id: PromptId,
    pub messages: Vec<Message>,
    /// This prompt's own output budget (a ShareGPT reference answer's length); it overrides
    /// the endpoint's `max_tokens`.
    pub max_tokens: Option<u32>,
    /// Tools the model may call (the built-in `tools` set, a JSONL line's `tools`).
    pub tools: Vec<ToolDef>,
    /// Multi-turn sessions: the user messages of turns 2, 3, … (empty for single requests).
    pub follow_ups: Vec<String>,
    /// A trace's prompt: its row's time in the trace, from the first row (the engine plays it
    /// at the trace's speed). `None` for every other source.
    pub at: Option<std::time::Duration>,
}

/// The loaded prompts, and what the user should hear about how they were loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    pub prompts: Vec<Prompt>,
    /// One line each, e.g. conversations left out of a ShareGPT file.
    pub notes: Vec<String>,
}

impl Prompt {
    /// A prompt of `messages` with no budget of its own. Build prompts with this, so a field
    /// added to `Prompt` changes one place.
    pub fn new(id: PromptId, messages: Vec<Message>) -> Prompt {
        Prompt {
            id,
            messages,
            max_tokens: None,
            tools: Vec::new(),
            follow_ups: Vec::new(),
            at: None,
        }
    }

    /// All message contents, one after the other (for token estimates and the inspector).
    pub fn text(&self) -> String {
        self.messages
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

const LINE_HELP: &str = "each line must be {\"prompt\": \"...\"}, \
    {\"messages\": [{\"role\": \"user\", \"content\": \"...\"}]} or \
    {\"conversation\": [\"first user message\", \"second\"]}";

/// How much of a workload to load, and when to give up.
#[derive(Clone, Copy, Debug)]
pub struct Loading<'a> {
    /// The most prompts the race can send (its requests and warm-ups per endpoint, when it
    /// counts them): the prompts after these are never sent, so synthetic ones are not made and
    /// the others are let go before request bodies are built for them. `None`: all of them.
    pub needed: Option<u64>,
    /// Set when the user stops llmrace: making prompts stops soon after.
    pub stop: &'a AtomicBool,
    /// A trace's rows at or after this time in the trace (the race's duration at the trace's
    /// speed) are never sent, so they are not read on. `None`: no such cut.
    pub until: Option<std::time::Duration>,
}

impl Loading<'static> {
    /// Every prompt, never stopped.
    #[must_use]
    #[cfg(any(test, feature = "test-support"))]
    pub fn all() -> Loading<'static> {
        static NEVER: AtomicBool = AtomicBool::new(false);
        Loading {
            needed: None,
            stop: &NEVER,
            until: None,
        }
    }
}

/// The prompts a race will make (or read) and keep, and their text in bytes, as far as they are
/// known before they are made: synthetic ones by their spec; a text or JSONL file's text is at
/// most its size (a ShareGPT file's answers, dropped, can be most of it). Zero: not known yet.
pub fn planned_size(
    config: &WorkloadConfig,
    base_dir: &Path,
    needed: Option<u64>,
) -> (PromptsSize, PromptsSize) {
    let (count, per_prompt) = match &config.prompts {
        PromptSource::Synthetic(spec) => (spec.count, synthetic::bytes_per_prompt(spec)),
        PromptSource::SharedPrefix(spec) => (spec.count, shared_prefix::bytes_per_prompt(spec)),
        PromptSource::File(file) if !is_sharegpt(file) => {
            let bytes = std::fs::metadata(base_dir.join(file)).map_or(0, |m| m.len());
            let read = PromptsSize { count: 0, bytes };
            return (read, PromptsSize::default());
        }
        _ => return Default::default(),
    };
    let count = u64::from(count);
    let sized = |needed: Option<u64>| {
        let count = needed.map_or(count, |n| count.min(n.max(1)));
        PromptsSize {
            count,
            bytes: count.saturating_mul(per_prompt),
        }
    };
    (sized(made_of(config, needed)), sized(needed))
}

/// The prompts to make or read (`None`: all of them) when the race keeps the first `needed`:
/// a shuffle draws from every prompt, so all of them are made first.
fn made_of(config: &WorkloadConfig, needed: Option<u64>) -> Option<u64> {
    needed.filter(|_| !config.shuffle)
}

/// Loads the workload of a race: its prompts (relative file paths are relative to `base_dir`),
/// with ShareGPT output lengths when asked for, in a seeded shuffled order when asked for.
#[cfg(any(test, feature = "test-support"))]
pub fn load_workload(config: &WorkloadConfig, base_dir: &Path) -> Result<Workload, WorkloadError> {
    load_needed(config, base_dir, Loading::all())
}

/// [`load_workload`], keeping only the prompts a race can send. Prompts come in the same order
/// with the same text as when all are loaded: the first `needed` of them.
pub fn load_needed(
    config: &WorkloadConfig,
    base_dir: &Path,
    loading: Loading<'_>,
) -> Result<Workload, WorkloadError> {
    let mut notes = Vec::new();
    let made = Loading {
        needed: made_of(config, loading.needed),
        ..loading
    };
    let mut prompts = match &config.prompts {
        PromptSource::Trace(file) => {
            trace_prompts(&base_dir.join(file), config.seed, &mut notes, made)?
        }
        source => load_source(
            source,
            base_dir,
            config.sharegpt_output_len,
            config.turns,
            &mut notes,
            made,
        )?,
    };
    if config.turns > 1 {
        for prompt in &mut prompts {
            conversation::fill_generated(prompt.id.0, &mut prompt.follow_ups, config.turns);
        }
    }
    let sharegpt = matches!(&config.prompts, PromptSource::File(f) if is_sharegpt(f));
    if config.sharegpt_output_len && !sharegpt {
        notes.push(
            "sharegpt_output_len only applies to ShareGPT (.json) prompt files: ignored"
                .to_string(),
        );
    }
    if let Some(spec) = config.images {
        let made = images::generate(spec, config.seed)?;
        for prompt in &mut prompts {
            images::attach(&mut prompt.messages, &made);
        }
    }
    if config.shuffle {
        rng::Rng::new(config.seed).shuffle(&mut prompts);
        // Ids are positions: targets index their request bodies by them.
        for (index, prompt) in prompts.iter_mut().enumerate() {
            prompt.id = PromptId(u32::try_from(index).unwrap_or(u32::MAX));
        }
    }
    if let Some(needed) = loading.needed {
        prompts.truncate(usize::try_from(needed).unwrap_or(usize::MAX).max(1));
    }
    Ok(Workload { prompts, notes })
}

/// Loads the prompts of `source` in their own order; relative file paths are relative to
/// `base_dir`.
#[cfg(any(test, feature = "test-support"))]
pub fn load(source: &PromptSource, base_dir: &Path) -> Result<Vec<Prompt>, WorkloadError> {
    load_source(source, base_dir, false, 1, &mut Vec::new(), Loading::all())
}

fn load_source(
    source: &PromptSource,
    base_dir: &Path,
    sharegpt_output_len: bool,
    turns: u32,
    notes: &mut Vec<String>,
    loading: Loading<'_>,
) -> Result<Vec<Prompt>, WorkloadError> {
    match source {
        PromptSource::Inline(texts) => {
            let mut prompts = Prompts::new("inline prompts");
            for text in texts {
                prompts.push(vec![user(text)])?;
            }
            prompts.finish()
        }
        PromptSource::Synthetic(spec) => {
            let mut prompts = Prompts::new("synthetic prompts");
            let needed = loading.needed.unwrap_or(u64::MAX).max(1);
            let made = synthetic::generate(spec, loading.stop);
            for messages in made.take(usize::try_from(needed).unwrap_or(usize::MAX)) {
                // Thousands of prompts take seconds to make: a signal must not wait for them.
                if loading.stop.load(Ordering::Relaxed) {
                    return Err(WorkloadError::Stopped);
                }
                prompts.push(messages)?;
            }
            prompts.finish()
        }
        // `load_needed` reads a trace with the workload's seed; without one, seed 0.
        PromptSource::Trace(file) => trace_prompts(&base_dir.join(file), 0, notes, loading),
        PromptSource::SharedPrefix(spec) => take_made(
            "shared-prefix prompts",
            shared_prefix::generate(spec, loading.stop),
            loading,
        ),
        PromptSource::Builtin(name) if name == "long" => {
            let rag: Vec<Vec<Message>> =
                read_jsonl(RAG.as_bytes(), "built-in `rag`", 1, notes, loading.stop)?
                    .into_iter()
                    .map(|p| p.messages)
                    .collect();
            let mut prompts = Prompts::new("built-in `long`");
            for messages in long::compose(&rag) {
                prompts.push(messages)?;
            }
            prompts.finish()
        }
        PromptSource::Builtin(name) => {
            let text = builtin_text(name)
                .ok_or_else(|| WorkloadError::UnknownBuiltin { name: name.clone() })?;
            let name = format!("built-in `{name}`");
            read_jsonl(text.as_bytes(), &name, turns, notes, loading.stop)
        }
        PromptSource::File(file) => {
            let path = base_dir.join(file);
            if path.is_dir() {
                return Err(WorkloadError::Folder { path });
            }
            if is_sharegpt(&path) {
                return read_sharegpt(&path, sharegpt_output_len, turns, notes, loading.stop);
            }
            let extension = path
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase());
            let reader = File::open(&path).map_err(|io| WorkloadError::Read {
                path: path.clone(),
                io,
            })?;
            let name = path.display().to_string();
            let reader = BufReader::new(reader);
            match extension.as_deref() {
                Some("jsonl" | "ndjson") => {
                    read_jsonl_in(reader, &name, path.parent(), turns, notes, loading.stop)
                }
                _ => read_text(reader, &name, loading.stop),
            }
        }
    }
}

/// A trace's rows the race can send, as prompts with their output lengths and times.
fn trace_prompts(
    path: &Path,
    seed: u64,
    notes: &mut Vec<String>,
    loading: Loading<'_>,
) -> Result<Vec<Prompt>, WorkloadError> {
    let cut = trace::Cut {
        needed: loading.needed,
        until: loading.until,
        stop: loading.stop,
    };
    let name = path.display().to_string();
    let mut prompts = Prompts::new(&name);
    for made in trace::load(path, seed, notes, cut)? {
        prompts.push(vec![user(&made.text)])?;
        if let Some(last) = prompts.prompts.last_mut() {
            last.max_tokens = Some(made.max_tokens);
            last.at = Some(made.at);
        }
    }
    prompts.finish()
}

/// The first `loading.needed` prompts that `made` makes, one at a time, until a signal.
fn take_made(
    source_name: &str,
    made: impl Iterator<Item = Vec<Message>>,
    loading: Loading<'_>,
) -> Result<Vec<Prompt>, WorkloadError> {
    let mut prompts = Prompts::new(source_name);
    let needed = loading.needed.unwrap_or(u64::MAX).max(1);
    for messages in made.take(usize::try_from(needed).unwrap_or(usize::MAX)) {
        // Thousands of prompts take seconds to make: a signal must not wait for them.
        if loading.stop.load(Ordering::Relaxed) {
            return Err(WorkloadError::Stopped);
        }
        prompts.push(messages)?;
    }
    prompts.finish()
}

/// How many rows of the trace `text` (at most 64) a race would keep, read as a race reads
/// it but with no prompt made: the trace parsers under fuzzing.
#[cfg(any(test, feature = "test-support"))]
pub fn read_trace(text: &[u8]) -> Result<usize, WorkloadError> {
    static NEVER: AtomicBool = AtomicBool::new(false);
    let cut = trace::Cut {
        needed: Some(64),
        until: None,
        stop: &NEVER,
    };
    trace::read(text, "fuzz", &mut Vec::new(), cut).map(|rows| rows.len())
}

fn read_sharegpt(
    path: &Path,
    output_len: bool,
    turns: u32,
    notes: &mut Vec<String>,
    stop: &AtomicBool,
) -> Result<Vec<Prompt>, WorkloadError> {
    let file = File::open(path).map_err(|io| WorkloadError::Read {
        path: path.to_path_buf(),
        io,
    })?;
    let name = path.display().to_string();
    let parsed = sharegpt::parse(file, &name, output_len, turns, stop)?;
    if parsed.skipped > 0 {
        notes.push(format!(
            "{name}: {} conversation(s) without a human turn were left out",
            parsed.skipped
        ));
    }
    parsed
        .shortfall
        .finish(&name, parsed.prompts.len(), notes)?;
    let mut prompts = Prompts::new(&name);
    for (messages, max_tokens, follow_ups) in parsed.prompts {
        prompts.push(messages)?;
        if let Some(last) = prompts.prompts.last_mut() {
            last.max_tokens = max_tokens;
            last.follow_ups = follow_ups;
        }
    }
    prompts.finish()
}

fn builtin_text(name: &str) -> Option<&'static str> {
    match name {
        "chat" => Some(CHAT),
        "rag" => Some(RAG),
        "code" => Some(CODE),
        "tools" => Some(TOOLS),
        _ => None,
    }
}

fn user(text: &str) -> Message {
    Message::user(text)
}

/// Prompts collected in order, numbered as they come.
struct Prompts<'a> {
    source_name: &'a str,
    prompts: Vec<Prompt>,
}

impl<'a> Prompts<'a> {
    fn new(source_name: &'a str) -> Self {
        Prompts {
            source_name,
            prompts: Vec::new(),
        }
    }

    fn push(&mut self, messages: Vec<Message>) -> Result<(), WorkloadError> {
        let id = u32::try_from(self.prompts.len()).map_err(|_| WorkloadError::TooMany {
            source_name: self.source_name.to_string(),
        })?;
        self.prompts.push(Prompt::new(PromptId(id), messages));
        Ok(())
    }

    fn finish(self) -> Result<Vec<Prompt>, WorkloadError> {
        if self.prompts.is_empty() {
            return Err(WorkloadError::Empty {
                source_name: self.source_name.to_string(),
            });
        }
        Ok(self.prompts)
    }
}

/// `ShareGPT` files are `.json`; other files hold a prompt per line.
fn is_sharegpt(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Visits each line with its 1-based number, reading one line at a time, until `stop` is set.
fn each_line(
    reader: impl BufRead,
    source_name: &str,
    stop: &AtomicBool,
    mut visit: impl FnMut(usize, &str) -> Result<(), WorkloadError>,
) -> Result<(), WorkloadError> {
    for (index, line) in reader.lines().enumerate() {
        if index.is_multiple_of(STOP_EVERY) && stop.load(Ordering::Relaxed) {
            return Err(WorkloadError::Stopped);
        }
        let number = index + 1;
        let line = line.map_err(|io| WorkloadError::Line {
            source_name: source_name.to_string(),
            line: number,
            problem: format!("cannot read this line: {io}"),
            help: if io.kind() == std::io::ErrorKind::InvalidData {
                "prompt files must be UTF-8 text"
            } else {
                "check that the file can be read"
            }
            .to_string(),
        })?;
        // A byte-order mark (Windows editors write one) is not part of the first line.
        let line = if index == 0 {
            line.strip_prefix('\u{feff}').unwrap_or(&line)
        } else {
            &line
        };
        visit(number, line)?;
    }
    Ok(())
}

fn read_text(
    reader: impl BufRead,
    source_name: &str,
    stop: &AtomicBool,
) -> Result<Vec<Prompt>, WorkloadError> {
    let mut prompts = Prompts::new(source_name);
    each_line(reader, source_name, stop, |_, line| {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            return Ok(());
        }
        prompts.push(vec![user(line)])
    })?;
    prompts.finish()
}

fn read_jsonl(
    reader: impl BufRead,
    source_name: &str,
    turns: u32,
    notes: &mut Vec<String>,
    stop: &AtomicBool,
) -> Result<Vec<Prompt>, WorkloadError> {
    read_jsonl_in(reader, source_name, None, turns, notes, stop)
}

/// Reads a JSONL prompts file; `dir`, the file's folder, is where the images it names are
/// (`None`: a built-in set, which names none).
fn read_jsonl_in(
    reader: impl BufRead,
    source_name: &str,
    dir: Option<&Path>,
    turns: u32,
    notes: &mut Vec<String>,
    stop: &AtomicBool,
) -> Result<Vec<Prompt>, WorkloadError> {
    let mut prompts = Prompts::new(source_name);
    let mut images = dir.map(image_files::ImageFiles::new);
    let mut shortfall = conversation::Shortfall::new(turns);
    each_line(reader, source_name, stop, |number, line| {
        if line.trim().is_empty() {
            return Ok(());
        }
        let bad_line = |problem| WorkloadError::Line {
            source_name: source_name.to_string(),
            line: number,
            problem,
            help: LINE_HELP.to_string(),
        };
        let (mut messages, follow_ups) = parse_jsonl_line(line).map_err(bad_line)?;
        let tools = tools::of_line(line).map_err(|problem| WorkloadError::Line {
            source_name: source_name.to_string(),
            line: number,
            problem,
            help: tools::TOOLS_HELP.to_string(),
        })?;
        if let Some(images) = &mut images {
            images
                .attach(line, &mut messages)
                .map_err(|p| WorkloadError::Line {
                    source_name: source_name.to_string(),
                    line: number,
                    problem: p.problem,
                    help: p.help,
                })?;
        }
        // A line with a conversation runs as far as its own turns go.
        if let Some(follow_ups) = &follow_ups
            && !shortfall.keeps(number, follow_ups.len() + 1)
        {
            return Ok(());
        }
        prompts.push(messages)?;
        if let Some(last) = prompts.prompts.last_mut() {
            last.tools = tools;
            if let Some(follow_ups) = follow_ups {
                last.follow_ups = follow_ups
                    .into_iter()
                    .take(conversation::follow_ups_needed(turns))
                    .collect();
            }
        }
        Ok(())
    })?;
    shortfall.finish(source_name, prompts.prompts.len(), notes)?;
    prompts.finish()
}

/// One JSONL line: `{"prompt": "…"}`, `{"messages": [{"role", "content"}, …]}` or
/// `{"conversation": ["first user message", "second", …], "system": "…"}` (the first message is
/// the prompt, the others its follow-ups, returned apart). Other fields (ids, metadata from
/// datasets) are ignored.
type JsonlPrompt = (Vec<Message>, Option<Vec<String>>);

fn parse_jsonl_line(line: &str) -> Result<JsonlPrompt, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(object) = value else {
        return Err("expected a JSON object".to_string());
    };
    if let Some(conversation) = object.get("conversation") {
        if object.contains_key("prompt") || object.contains_key("messages") {
            return Err("has `conversation` and `prompt` or `messages`; keep one".to_string());
        }
        return conversation::parse_jsonl(conversation, object.get("system"))
            .map(|(messages, follow_ups)| (messages, Some(follow_ups)));
    }
    let messages = match (object.get("prompt"), object.get("messages")) {
        (Some(_), Some(_)) => Err("has both `prompt` and `messages`; keep one".to_string()),
        (Some(Value::String(text)), None) if !text.trim().is_empty() => Ok(vec![user(text)]),
        (Some(_), None) => Err("`prompt` must be a non-empty string".to_string()),
        (None, Some(Value::Array(items))) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_message(item).map_err(|e| format!("messages[{i}]: {e}")))
            .collect(),
        (None, Some(_)) => Err("`messages` must be a non-empty array".to_string()),
        (None, None) => Err("has neither `prompt` nor `messages`".to_string()),
    }?;
    Ok((messages, None))
}

fn parse_message(item: &Value) -> Result<Message, String> {
    let role = item
        .get("role")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .ok_or("needs a `role` string (system, user or assistant)")?;
    let content = match item.get("content") {
        Some(Value::String(text)) => text.clone(),
        // OpenAI's list-of-parts form: the text parts; images are attached apart.
        Some(Value::Array(parts)) => content_parts::text_of(parts)?,
        _ => return Err("needs a `content` string".to_string()),
    };
    Ok(Message::new(role, content))
}

#[cfg(test)]
mod image_tests;
#[cfg(test)]
mod tests;
