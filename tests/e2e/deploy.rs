//! The deployment files run llmrace only with flags the binary accepts: every `llmrace
//! SUBCOMMAND …` written in `deploy/` (the Kubernetes manifests, the image's default command,
//! the Slurm scripts) and in DISTRIBUTED.md's examples is checked against that subcommand's
//! `--help`, so a renamed or removed flag fails here rather than on a cluster.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One llmrace command line found in a file: its subcommand and the words after it.
#[derive(Debug)]
struct Invocation {
    file: String,
    subcommand: String,
    words: Vec<String>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Whether a shell word runs llmrace: `llmrace`, `"${LLMRACE:-llmrace}"`, `/usr/bin/llmrace`.
fn is_llmrace(word: &str) -> bool {
    let word = word.trim_matches('"');
    if word.contains('=') {
        return false; // `LLMRACE=/path/llmrace` sets a variable
    }
    word == "llmrace" || word.ends_with(":-llmrace}") || word.ends_with("/llmrace")
}

/// The llmrace command lines of shell text: lines joined over `\` continuations, comments
/// left out, each command cut at `;`, `|` or `&&`.
fn shell_invocations(file: &str, text: &str) -> Vec<Invocation> {
    let mut found = Vec::new();
    let joined = text.replace("\\\n", " ");
    for line in joined.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        for (at, word) in words.iter().enumerate() {
            if !is_llmrace(word) {
                continue;
            }
            let mut rest = Vec::new();
            for word in &words[at + 1..] {
                if matches!(*word, ";" | "|" | "&&" | "||") {
                    break;
                }
                let ends = word.ends_with(';');
                rest.push(word.trim_end_matches(';').to_string());
                if ends {
                    break;
                }
            }
            if let Some((subcommand, words)) = rest.split_first() {
                found.push(Invocation {
                    file: file.to_string(),
                    subcommand: subcommand.clone(),
                    words: words.to_vec(),
                });
            }
        }
    }
    found
}

/// The items of each `args:` list of a manifest (an item's folded continuation lines joined).
/// A list that holds a shell script (`command: ["/bin/sh", "-c"]`) is read as shell; any other
/// is the arguments of the image's entrypoint, llmrace.
fn manifest_invocations(file: &str, text: &str) -> Vec<Invocation> {
    let mut found = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (at, line) in lines.iter().enumerate() {
        if line.trim() != "args:" {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let mut items: Vec<String> = Vec::new();
        for next in &lines[at + 1..] {
            let depth = next.len() - next.trim_start().len();
            let item = next.trim();
            if item.is_empty() || item.starts_with('#') {
                continue;
            }
            if depth < indent || (depth == indent && !item.starts_with("- ")) {
                break;
            }
            if let Some(first) = item.strip_prefix("- ") {
                items.push(first.to_string());
            } else {
                let last = items.last_mut().expect("a continuation follows an item");
                last.push(' ');
                last.push_str(item);
            }
        }
        let joined = items.join(" ");
        if joined.contains("llmrace ") {
            found.extend(shell_invocations(file, &joined));
        } else if let Some((subcommand, words)) = items.split_first() {
            found.push(Invocation {
                file: file.to_string(),
                subcommand: subcommand.clone(),
                words: words.to_vec(),
            });
        }
    }
    found
}

/// The image's default command: `CMD ["race", "--help"]` after `ENTRYPOINT ["llmrace"]`.
fn dockerfile_invocations(file: &str, text: &str) -> Vec<Invocation> {
    assert!(
        text.contains(r#"ENTRYPOINT ["llmrace"]"#),
        "{file}: the image's entrypoint is llmrace"
    );
    text.lines()
        .filter_map(|line| line.strip_prefix("CMD "))
        .map(|array| {
            let words: Vec<String> = serde_json::from_str(array).unwrap();
            let (subcommand, words) = words.split_first().unwrap();
            Invocation {
                file: file.to_string(),
                subcommand: subcommand.clone(),
                words: words.to_vec(),
            }
        })
        .collect()
}

/// The lines of a Markdown file's fenced code blocks.
fn code_blocks(text: &str) -> String {
    let mut inside = false;
    let mut code = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
        } else if inside {
            code.push_str(line);
            code.push('\n');
        }
    }
    code
}

/// Every flag `llmrace SUBCOMMAND --help` lists (`-o`, `--out`, …).
fn accepted_flags(subcommand: &str) -> BTreeSet<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args([subcommand, "--help"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "`llmrace {subcommand} --help` failed: is `{subcommand}` a subcommand?\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let help = String::from_utf8_lossy(&output.stdout).into_owned();
    // Bare `llmrace WORD --help` is the top-level help when WORD is no subcommand.
    assert!(
        help.contains(&format!("Usage: llmrace {subcommand} ")),
        "`llmrace {subcommand}` is not a subcommand: `llmrace {subcommand} --help` says\n{help}"
    );
    help.lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with('-'))
        .flat_map(|line| {
            line.split([' ', ','])
                .take_while(|word| word.starts_with('-') || word.is_empty())
                .filter(|word| word.len() > 1)
                .map(|word| word.split(['<', '=']).next().unwrap_or(word).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn flag_of(word: &str) -> Option<&str> {
    let flag = word.split('=').next()?;
    let is_flag = flag.starts_with('-')
        && flag.len() > 1
        && !flag[1..].starts_with(|c: char| c.is_ascii_digit());
    is_flag.then_some(flag)
}

fn every_invocation() -> Vec<Invocation> {
    let mut found = Vec::new();
    let deploy = root().join("deploy");
    for dir in ["kubernetes", "slurm"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(deploy.join(dir))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        for path in files {
            let name = path.strip_prefix(root()).unwrap().display().to_string();
            let text = read(&name);
            let file_name = path.file_name().unwrap().to_string_lossy();
            let kind = Path::new(&*file_name).extension().and_then(|e| e.to_str());
            match (file_name.as_ref(), kind) {
                ("Dockerfile", _) => found.extend(dockerfile_invocations(&name, &text)),
                (_, Some("yaml")) => found.extend(manifest_invocations(&name, &text)),
                (_, Some("sh" | "sbatch")) => found.extend(shell_invocations(&name, &text)),
                _ => {}
            }
        }
    }
    found.extend(shell_invocations(
        "DISTRIBUTED.md",
        &code_blocks(&read("DISTRIBUTED.md")),
    ));
    found
}

#[test]
fn the_deployment_files_use_only_flags_llmrace_accepts() {
    let invocations = every_invocation();
    let mut help: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut unknown = Vec::new();
    for invocation in &invocations {
        let accepted = help
            .entry(invocation.subcommand.clone())
            .or_insert_with(|| accepted_flags(&invocation.subcommand));
        for word in &invocation.words {
            if let Some(flag) = flag_of(word)
                && !accepted.contains(flag)
            {
                unknown.push(format!(
                    "{}: `llmrace {} … {flag}`",
                    invocation.file, invocation.subcommand
                ));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "flags llmrace does not accept:\n{}",
        unknown.join("\n")
    );

    // The scan found what it must: a scanner that finds nothing would pass anything.
    let has = |file: &str, subcommand: &str, flag: &str| {
        invocations.iter().any(|i| {
            i.file.ends_with(file)
                && i.subcommand == subcommand
                && (flag.is_empty() || i.words.iter().any(|w| w == flag))
        })
    };
    for (file, subcommand, flag) in [
        ("kubernetes/shards.yaml", "race", "--shard"),
        ("kubernetes/shards.yaml", "race", "--start-at"),
        ("kubernetes/shards.yaml", "race", "--metrics-addr"),
        ("kubernetes/merge.yaml", "merge", "-o"),
        ("kubernetes/Dockerfile", "race", "--help"),
        ("slurm/shards.sbatch", "race", "--shard"),
        ("slurm/shards.sbatch", "race", "--start-at"),
        ("slurm/merge.sbatch", "merge", "-o"),
        ("DISTRIBUTED.md", "race", "--shard"),
        ("DISTRIBUTED.md", "merge", ""),
    ] {
        assert!(
            has(file, subcommand, flag),
            "no `llmrace {subcommand} … {flag}` found in {file}: {invocations:#?}"
        );
    }
}

#[test]
fn the_scanners_read_shell_manifests_and_help() {
    let shell = "x=1\n# llmrace race --not-this\n\"${LLMRACE:-llmrace}\" race \"$r\" --headless \\\n  --shard \"$K/$N\" -o out; echo --nope\n";
    let found = shell_invocations("s", shell);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].subcommand, "race");
    assert_eq!(
        found[0].words,
        ["\"$r\"", "--headless", "--shard", "\"$K/$N\"", "-o", "out"]
    );

    let manifest = "      args:\n        - race\n        - --shard\n        - $(K)/$(N)\n      env:\n        - name: X\n";
    let found = manifest_invocations("m", manifest);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].words, ["--shard", "$(K)/$(N)"]);

    let script = "  command: [\"/bin/sh\", \"-c\"]\n  args:\n    - set -- a*;\n      exec llmrace merge \"$@\" -o m $F\n";
    let found = manifest_invocations("m", script);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].subcommand, "merge");
    assert_eq!(found[0].words, ["\"$@\"", "-o", "m", "$F"]);

    assert_eq!(flag_of("--out=x"), Some("--out"));
    assert_eq!(flag_of("-1"), None);
    assert_eq!(flag_of("$(K)/$(N)"), None);
    let race = accepted_flags("race");
    for flag in [
        "-o",
        "--out",
        "--headless",
        "-n",
        "--metrics-addr",
        "--help",
    ] {
        assert!(race.contains(flag), "{flag} in {race:?}");
    }
}

/// A race file of one built-in mock endpoint, with a worker for each of up to four shards.
const MOCK_RACE: &str = "name = \"deploy-check\"\n[load]\nconcurrency = 4\n[[endpoint]]\nname = \"mock\"\nprotocol = \"openai\"\nbase_url = \"mock://turbo\"\n";

/// A folder of fake Slurm or kubectl commands that log their arguments to `calls` (one line
/// per call) and answer from `script` (shell `case "$*" in …` arms).
fn fake_commands(dir: &Path, names: &[&str], arms: &str) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for name in names {
        let path = bin.join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"{name} $*\" >> \"{calls}\"\ncase \"$*\" in\n{arms}\nesac\nexit 0\n",
                calls = dir.join("calls").display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
    bin
}

fn calls(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("calls")).unwrap_or_default()
}

fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// `deploy/slurm/submit.sh` with a fake `sbatch`; its output and exit code.
fn submit(dir: &Path, bin: &Path, args: &[&str]) -> (String, Option<i32>) {
    let output = Command::new(root().join("deploy/slurm/submit.sh"))
        .args(args)
        .env("PATH", path_with(bin))
        .env("LLMRACE", env!("CARGO_BIN_EXE_llmrace"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (said, output.status.code())
}

#[test]
fn race_check_resolves_the_race_and_exits_without_racing_or_writing() {
    let dir = tempfile::tempdir().unwrap();
    let race = dir.path().join("race.toml");
    std::fs::write(&race, MOCK_RACE).unwrap();
    let out = dir.path().join("out");
    let llmrace = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_llmrace"))
            .arg("race")
            .arg(&race)
            .args(["--check", "-o"])
            .arg(&out)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let ok = llmrace(&[
        "-c",
        "4",
        "--shard",
        "1/4",
        "--start-at",
        "+1h",
        "--fail-if",
        "ttft.p95 > 1s",
    ]);
    let said = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        said.contains("Race 'deploy-check' checked as shard 1/4: 1 endpoint"),
        "{said}"
    );
    assert!(!out.exists(), "--check wrote {}", out.display());

    for (args, says) in [
        (
            &["--start-at", "2026-12-07T09:00:00"][..],
            "is not an instant",
        ),
        (
            &["-c", "1", "--shard", "1/4"][..],
            "leaves shard 1/4 no worker",
        ),
        (
            &["--fail-if", "nobody: ttft.p95 > 1s"][..],
            "no endpoint is named `nobody`",
        ),
        (
            &["--prompts", "/nonexistent/prompts.jsonl"][..],
            "cannot read prompts file",
        ),
    ] {
        let refused = llmrace(args);
        let said = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{args:?}: {said}");
        assert!(said.contains(says), "{args:?}: {said}");
    }
    std::fs::write(&race, MOCK_RACE.replace("[[endpoint]]", "[[endpoints]]")).unwrap();
    let typo = llmrace(&[]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&typo.stderr).contains("did you mean `endpoint`?"));
    assert!(!out.exists());
}

#[test]
fn slurm_submit_refuses_before_creating_or_submitting_anything() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_commands(dir.path(), &["sbatch", "scancel"], "  *) echo 41 ;;");
    std::fs::write(dir.path().join("race.toml"), MOCK_RACE).unwrap();
    std::fs::write(
        dir.path().join("typo.toml"),
        MOCK_RACE.replace("[[endpoint]]", "[[endpoints]]"),
    )
    .unwrap();
    let results = dir.path().join("runs/run-1");
    let results = results.to_str().unwrap();
    for (args, says) in [
        // No zone: every shard would refuse it.
        (
            &["--start-at", "2030-01-01T09:00:00", "race.toml", results][..],
            "is not an instant with its zone",
        ),
        (
            &["--start-at", "2020-01-01T09:00:00Z", "race.toml", results][..],
            "has passed",
        ),
        (
            &["--start-in", "1m30s", "race.toml", results][..],
            "is not a duration",
        ),
        (&["typo.toml", results][..], "did you mean `endpoint`?"),
        (
            &["race.toml", results, "--", "-c", "0"][..],
            "--concurrency",
        ),
        // Shard 0 would have a worker; the last shard, the one checked, has none.
        (
            &["race.toml", results, "--", "-c", "2"][..],
            "leaves shard 3/4 no worker",
        ),
        (
            &["--fail-if", "ttft.p95 >", "race.toml", results][..],
            "no value after the comparison",
        ),
        (
            &["--metrics-port", "65534", "race.toml", results][..],
            "is not a port for 4 shards",
        ),
        (
            &[
                "--metrics-port",
                "9464",
                "race.toml",
                results,
                "--",
                "--metrics-addr",
                "0.0.0.0:1",
            ][..],
            "both --metrics-port and --metrics-addr",
        ),
    ] {
        let (said, code) = submit(dir.path(), &bin, args);
        assert_eq!(code, Some(2), "{args:?}: {said}");
        assert!(said.contains(says), "{args:?}: {said}");
        assert!(
            !dir.path().join("runs").exists(),
            "{args:?} left a folder: {said}"
        );
        assert_eq!(calls(dir.path()), "", "{args:?} submitted: {said}");
    }

    // sbatch refusing the array: the folders made for it go again.
    let refusing = fake_commands(
        &dir.path().join("refusing"),
        &["sbatch"],
        "  *) echo 'sbatch: error: invalid partition' >&2; exit 1 ;;",
    );
    let (said, code) = submit(dir.path(), &refusing, &["race.toml", results]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("nothing was submitted"), "{said}");
    assert!(!dir.path().join("runs").exists(), "{said}");
}

#[test]
fn slurm_submit_passes_an_instant_with_an_offset_a_port_per_shard_and_merge_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_commands(dir.path(), &["sbatch"], "  *) echo 41 ;;");
    std::fs::write(dir.path().join("race.toml"), MOCK_RACE).unwrap();
    let at = (chrono::Utc::now() + chrono::Duration::hours(1))
        .with_timezone(&chrono::FixedOffset::east_opt(3600).unwrap())
        .format("%Y-%m-%dT%H:%M:%S+01:00")
        .to_string();
    let (said, code) = submit(
        dir.path(),
        &bin,
        &[
            "-n",
            "3",
            "--start-at",
            &at,
            "--metrics-port",
            "127.0.0.1:9500",
            "--fail-if",
            "ttft.p95 > 800ms",
            "race.toml",
            "run",
        ],
    );
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains(&format!("starting together at {at}")),
        "{said}"
    );
    assert!(said.contains("127.0.0.1:9500-9502"), "{said}");
    assert!(dir.path().join("run/logs").is_dir());
    // The folders reach the jobs as absolute paths: a task's working folder is its own.
    let results = dir.path().join("run");
    assert!(
        said.contains(&format!("results: {}/merged", results.display())),
        "{said}"
    );
    let calls = calls(dir.path());
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines.len(), 2, "{calls}");
    assert!(
        lines[0].contains("--array=0-2") && lines[0].ends_with(&at),
        "{calls}"
    );
    assert!(
        lines[1].contains("--dependency=afterany:41")
            && lines[1].ends_with("--fail-if ttft.p95 > 800ms"),
        "{calls}"
    );
}

#[test]
fn kubernetes_run_sh_quotes_merge_flags_and_checks_the_secret_and_race_first() {
    let dir = tempfile::tempdir().unwrap();
    let deploy = dir.path().join("kubernetes");
    std::fs::create_dir_all(&deploy).unwrap();
    for name in ["run.sh", "start.env", "kustomization.yaml"] {
        std::fs::copy(
            root().join("deploy/kubernetes").join(name),
            deploy.join(name),
        )
        .unwrap();
    }
    std::fs::write(deploy.join("race.toml"), MOCK_RACE).unwrap();
    let run = |bin: &Path, args: &[&str]| {
        let output = Command::new(deploy.join("run.sh"))
            .args(args)
            .env("PATH", path_with(bin))
            .env("LLMRACE", env!("CARGO_BIN_EXE_llmrace"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
            output.status.code(),
        )
    };

    // The committed start.env is a placeholder every shard refuses.
    let start = std::fs::read_to_string(deploy.join("start.env")).unwrap();
    let placeholder = start
        .lines()
        .find_map(|l| l.strip_prefix("START_AT="))
        .unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args(["race", "--check", "--start-at", placeholder])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("run-run.sh"));

    // No Secret: refused before anything changes on the cluster.
    let missing = dir.path().join("missing");
    let bin = fake_commands(&missing, &["kubectl"], "  *'get secret'*) exit 1 ;;");
    let (said, code) = run(&bin, &[]);
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("kubectl create secret generic llmrace-keys"),
        "{said}"
    );
    assert_eq!(calls(&missing), "kubectl get secret llmrace-keys\n");

    // A --fail-if the race cannot hold: refused before kubectl is asked anything.
    let bin = fake_commands(
        dir.path(),
        &["kubectl"],
        "  *'get job'*) echo 'Complete ' ;;",
    );
    let (said, code) = run(&bin, &["--fail-if", "nobody: ttft.p95 > 1s"]);
    assert_eq!(code, Some(2), "{said}");
    assert_eq!(calls(dir.path()), "", "{said}");

    // Nor a race whose split over the kustomization's N (4) leaves a shard no worker.
    let one_worker = MOCK_RACE.replace("base_url", "concurrency = 2\nbase_url");
    std::fs::write(deploy.join("race.toml"), one_worker).unwrap();
    let (said, code) = run(&bin, &[]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("split into 4 shards"), "{said}");
    assert_eq!(calls(dir.path()), "", "{said}");
    std::fs::write(deploy.join("race.toml"), MOCK_RACE).unwrap();

    let (said, code) = run(
        &bin,
        &[
            "--allow-missing",
            "--fail-if",
            "ttft.p95 > 800ms",
            "--start-in",
            "90s",
        ],
    );
    assert_eq!(code, Some(0), "{said}");
    let start = std::fs::read_to_string(deploy.join("start.env")).unwrap();
    let flags = start
        .lines()
        .find_map(|l| l.strip_prefix("MERGE_FLAGS="))
        .unwrap();
    // The merge pod's script reads them back as the words they were.
    let words = Command::new("/bin/sh")
        .arg("-c")
        .arg("eval \"set -- $MERGE_FLAGS\"; printf '[%s]' \"$@\"")
        .env("MERGE_FLAGS", flags)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&words.stdout),
        "[--allow-missing][--fail-if][ttft.p95 > 800ms]"
    );
    let calls = calls(dir.path());
    let secret = calls.find("get secret llmrace-keys").unwrap();
    let apply = calls.find("apply -k").unwrap();
    assert!(secret < apply, "{calls}");
}
