//! Prompt files as users write them: each file in `fixtures/workload` with a sibling
//! `.expected` file must be refused with a message holding every line of it; the others must
//! load.

use std::path::{Path, PathBuf};

use llmrace::config::PromptSource;
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
