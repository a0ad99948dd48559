//! Prompt files as users write them: each file in `fixtures/workload` with a sibling
//! `.expected` file must be refused with a message holding every line of it; the others must
//! load.

use std::path::{Path, PathBuf};

use llmrace::config::{PromptSource, WorkloadConfig};
use llmrace::workload;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/workload")
}

fn prompt_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e != "expected"))
        .collect();
    files.sort();
    files
}

#[test]
fn prompt_files_load_or_fail_precisely() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in prompt_files() {
        checked += 1;
        let Some(name) = path.file_name().map(PathBuf::from) else {
            continue;
        };
        // Relative to the base folder, as a race file's `prompts_file` is.
        let result = workload::load(&PromptSource::File(name), &dir());
        let expected = std::fs::read_to_string(path.with_extension("expected")).ok();
        match (result, expected) {
            (Ok(prompts), None) => {
                if prompts.iter().any(|p| p.text().trim().is_empty()) {
                    failures.push(format!("{}: an empty prompt was loaded", path.display()));
                }
            }
            (Ok(_), Some(_)) => failures.push(format!("{}: was accepted", path.display())),
            (Err(e), None) => failures.push(format!("{}: {e}", path.display())),
            (Err(e), Some(expected)) => {
                let message = e.to_string();
                for needle in expected.lines().filter(|l| !l.is_empty()) {
                    if !message.contains(needle) {
                        failures.push(format!(
                            "{}: message lacks `{needle}`:\n{message}",
                            path.display()
                        ));
                    }
                }
            }
        }
    }
    assert!(checked >= 7, "only {checked} fixtures found");
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn both_jsonl_forms_and_text_lines_become_messages() -> Result<(), workload::WorkloadError> {
    let prompts = workload::load(&PromptSource::File("good.jsonl".into()), &dir())?;
    assert_eq!(prompts.len(), 3);
    assert_eq!(prompts[1].messages.len(), 2);
    assert_eq!(prompts[1].messages[0].role, "system");
    assert_eq!(prompts[2].text(), "Name three sorting algorithms.");

    let prompts = workload::load(&PromptSource::File("good.txt".into()), &dir())?;
    let texts: Vec<String> = prompts.iter().map(workload::Prompt::text).collect();
    assert_eq!(
        texts,
        [
            "What is a mutex?",
            "Why is the sky blue?",
            "How do vaccines work?"
        ]
    );
    Ok(())
}

#[test]
fn a_missing_prompt_file_names_the_path() {
    let message = workload::load(&PromptSource::File("nope.jsonl".into()), &dir())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("nope.jsonl"), "{message}");
    assert!(message.contains("cannot read"), "{message}");
}

fn workload_of(prompts: PromptSource) -> WorkloadConfig {
    WorkloadConfig::of(prompts)
}

#[test]
fn sharegpt_first_human_turns_become_prompts() -> Result<(), workload::WorkloadError> {
    let mut config = workload_of(PromptSource::File("sharegpt.json".into()));
    let loaded = workload::load_workload(&config, &dir())?;
    assert_eq!(loaded.prompts.len(), 3);
    let first = &loaded.prompts[0];
    assert_eq!(first.messages.len(), 2);
    assert_eq!(first.messages[0].role, "system");
    assert_eq!(first.messages[1].content, "What does a load balancer do?");
    assert_eq!(loaded.prompts[1].text(), "Name three prime numbers.");
    assert!(loaded.prompts.iter().all(|p| p.max_tokens.is_none()));
    assert_eq!(loaded.notes.len(), 1, "{:?}", loaded.notes);
    assert!(loaded.notes[0].contains("2 conversation(s) without a human turn"));

    config.sharegpt_output_len = true;
    let loaded = workload::load_workload(&config, &dir())?;
    let answer = "It spreads incoming requests across several servers so that no single one is \
                  overloaded.";
    let budgets: Vec<Option<u32>> = loaded.prompts.iter().map(|p| p.max_tokens).collect();
    assert_eq!(
        budgets,
        [
            Some(llmrace::tokenizer::count_tokens(answer)),
            Some(llmrace::tokenizer::count_tokens("2, 3 and 5.")),
            None
        ]
    );
    Ok(())
}

#[test]
fn shuffled_file_prompts_follow_the_seed() -> Result<(), workload::WorkloadError> {
    let texts = |shuffle: bool, seed: u64| -> Result<Vec<String>, workload::WorkloadError> {
        let config = WorkloadConfig {
            shuffle,
            seed,
            ..workload_of(PromptSource::Builtin("code".into()))
        };
        let loaded = workload::load_workload(&config, &dir())?;
        Ok(loaded.prompts.iter().map(workload::Prompt::text).collect())
    };
    assert_eq!(texts(true, 3)?, texts(true, 3)?);
    assert_ne!(texts(true, 3)?, texts(false, 3)?);
    assert_ne!(texts(true, 3)?, texts(true, 4)?);
    Ok(())
}

#[test]
fn a_prompts_own_max_tokens_overrides_the_endpoints() -> Result<(), Box<dyn std::error::Error>> {
    let config = WorkloadConfig {
        sharegpt_output_len: true,
        turns: 1,
        think_time: None,
        ..workload_of(PromptSource::File("sharegpt.json".into()))
    };
    let prompts = workload::load_workload(&config, &dir())?.prompts;
    let body = serde_json::Map::new();
    let spec = llmrace::engine::TargetSpec {
        id: llmrace::event::EndpointId(0),
        name: "a",
        protocol: llmrace::protocol::Protocol::OpenAiChat,
        base_url: "http://127.0.0.1:9/v1",
        model: "m",
        api_key: None,
        headers: &[],
        body: &body,
        max_tokens: Some(77),
        temperature: None,
        stream: true,
        concurrency: 1,
        salt: None,
        http: llmrace::config::HttpVersion::Auto,
        embed_batch: 1,
    };
    let target = llmrace::engine::Target::new(&spec, &prompts)?;
    let budget = |i: usize| -> Result<serde_json::Value, serde_json::Error> {
        let body: serde_json::Value = serde_json::from_slice(target.body_for(prompts[i].id))?;
        Ok(body["max_tokens"].clone())
    };
    assert_eq!(budget(0)?, serde_json::json!(prompts[0].max_tokens));
    assert_ne!(budget(0)?, serde_json::json!(77));
    // The third conversation has no reference answer: the endpoint's budget applies.
    assert_eq!(budget(2)?, serde_json::json!(77));
    Ok(())
}
