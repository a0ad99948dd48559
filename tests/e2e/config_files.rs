//! Race files as users write them: every file in `fixtures/config/valid` must resolve (and its
//! prompts load); every file in `fixtures/config/invalid` must be refused with a message that
//! holds each line of its sibling `.expected` file (a line starting with `!` must NOT appear —
//! for secrets). Adding a regression case means adding a pair of files.

use std::path::{Path, PathBuf};

use llmrace::cli::RaceArgs;
use llmrace::config::{self, ConfigError};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

fn resolve(path: &Path) -> Result<(config::RaceConfig, PathBuf), ConfigError> {
    llmrace::cli::from_args(&RaceArgs {
        race_file: Some(path.to_path_buf()),
        ..RaceArgs::default()
    })
}

#[test]
fn valid_race_files_resolve_and_their_prompts_load() {
    let mut failures = Vec::new();
    for path in fixtures("valid") {
        match resolve(&path) {
            Ok((race, base_dir)) => {
                if let Err(e) = llmrace::workload::load(&race.workload.prompts, &base_dir) {
                    failures.push(format!("{}: prompts: {e}", path.display()));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn invalid_race_files_are_refused_with_precise_messages() {
    let mut failures = Vec::new();
    for path in fixtures("invalid") {
        let expected_path = path.with_extension("expected");
        let Ok(expected) = std::fs::read_to_string(&expected_path) else {
            failures.push(format!("{}: missing .expected file", path.display()));
            continue;
        };
        let message = match resolve(&path) {
            Ok(_) => {
                failures.push(format!("{}: was accepted", path.display()));
                continue;
            }
            Err(e) => e.to_string(),
        };
        for line in expected.lines().filter(|l| !l.trim().is_empty()) {
            let (must_contain, needle) = match line.strip_prefix('!') {
                Some(forbidden) => (false, forbidden),
                None => (true, line),
            };
            if message.contains(needle) != must_contain {
                let verb = if must_contain { "lacks" } else { "contains" };
                failures.push(format!(
                    "{}: message {verb} `{needle}`:\n{message}",
                    path.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn a_missing_race_file_says_how_to_create_one() {
    let path = Path::new("surely/not/here/race.toml");
    let message = resolve(path)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("surely/not/here/race.toml"), "{message}");
    assert!(message.contains("llmrace init"), "{message}");
}

#[test]
fn the_example_race_file_is_valid_and_documents_every_key() {
    let race = config::from_toml_str(config::EXAMPLE_RACE_FILE, Path::new("race.toml"));
    assert!(race.is_ok(), "{:?}", race.err().map(|e| e.to_string()));
    for key in [
        "name",
        "builtin",
        "prompts_file",
        "max_tokens",
        "temperature",
        "stream",
        "requests",
        "duration",
        "concurrency",
        "warmup_requests",
        "warm_connections",
        "rate",
        "ramp",
        "arrivals",
        "max_in_flight",
        "laps",
        "concurrency_ramp",
        "retries",
        "connect",
        "first_token",
        "idle",
        "total",
        "ttft",
        "tpot",
        "ttlt",
        "protocol",
        "base_url",
        "model",
        "api_key_env",
        "headers",
        "body",
        "color",
    ] {
        assert!(
            config::EXAMPLE_RACE_FILE.contains(&format!("{key} =")),
            "example race file does not show `{key}`"
        );
    }
}
