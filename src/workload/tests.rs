use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[test]
fn builtin_sets_have_the_promised_shape() -> TestResult {
    // (name, prompt count range, bytes per prompt range): ~4 bytes per token.
    let expected = [
        ("chat", 16..=24, 700..=1_600),
        ("rag", 8..=12, 15_000..=24_000),
        ("code", 12..=16, 1_400..=3_000),
    ];
    for (name, count, bytes) in expected {
        let prompts = load(&PromptSource::Builtin(name.to_string()), Path::new("."))?;
        assert!(
            count.contains(&prompts.len()),
            "{name}: {} prompts",
            prompts.len()
        );
        for prompt in &prompts {
            let size = prompt.text().len();
            assert!(
                bytes.contains(&size),
                "{name} #{}: {size} bytes",
                prompt.id.0
            );
            assert_eq!(
                prompt.messages.last().map(|m| m.role.as_str()),
                Some("user")
            );
        }
        let ids: Vec<u32> = prompts.iter().map(|p| p.id.0).collect();
        assert_eq!(ids, (0..u32::try_from(ids.len())?).collect::<Vec<_>>());
    }
    Ok(())
}

#[test]
fn every_builtin_set_a_race_file_may_name_loads() -> TestResult {
    for name in crate::config::BUILTIN_SETS {
        let prompts = load(&PromptSource::Builtin(name.to_string()), Path::new("."))?;
        assert!(!prompts.is_empty(), "{name}");
    }
    Ok(())
}

#[test]
fn unknown_builtin_is_refused() {
    let err = load(&PromptSource::Builtin("poetry".into()), Path::new("."));
    assert!(matches!(err, Err(WorkloadError::UnknownBuiltin { .. })));
}

#[test]
fn inline_prompts_become_user_messages() -> TestResult {
    let source = PromptSource::Inline(vec!["a".into(), "b".into()]);
    let prompts = load(&source, Path::new("."))?;
    assert_eq!(prompts.len(), 2);
    assert_eq!(prompts[1].id, PromptId(1));
    assert_eq!(prompts[1].messages, [user("b")]);
    assert!(load(&PromptSource::Inline(vec![]), Path::new(".")).is_err());
    Ok(())
}

#[test]
fn jsonl_lines_in_both_forms() -> TestResult {
    let text = "{\"prompt\": \"hi\"}\n\n{\"messages\": [{\"role\": \"system\", \"content\": \
                \"be brief\"}, {\"role\": \"user\", \"content\": [{\"type\": \"text\", \
                \"text\": \"why?\"}]}], \"id\": 7}\r\n";
    let prompts = read_jsonl(
        text.as_bytes(),
        "t.jsonl",
        1,
        &mut Vec::new(),
        Loading::all().stop,
    )?;
    assert_eq!(prompts.len(), 2);
    assert_eq!(prompts[1].text(), "be brief\nwhy?");
    // A byte-order mark before the first line is not part of it.
    let marked = format!("\u{feff}{text}");
    let prompts = read_jsonl(
        marked.as_bytes(),
        "t.jsonl",
        1,
        &mut Vec::new(),
        Loading::all().stop,
    )?;
    assert_eq!(prompts[0].text(), "hi");
    Ok(())
}

#[test]
fn a_bad_tool_or_content_part_is_refused_with_its_own_help() {
    let read = |text: &str| {
        read_jsonl(
            text.as_bytes(),
            "p.jsonl",
            1,
            &mut Vec::new(),
            Loading::all().stop,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
    };
    let message = read(
        "{\"prompt\": \"hi\", \"tools\": [{\"type\": \"function\", \"function\": \
         {\"name\": \"w\"}, \"parameters\": {}}]}\n",
    );
    assert!(
        message.starts_with("p.jsonl:1: tools[0]: has `parameters` beside `function`"),
        "{message}"
    );
    assert!(message.contains("help: each tool is"), "{message}");
    assert!(message.contains("input_schema"), "{message}");
    let anthropic = "{\"prompt\": \"hi\", \"tools\": [{\"name\": \"w\", \"input_schema\": \
                     {\"type\": \"object\", \"properties\": {\"city\": {}}}}]}\n";
    let prompts = read_jsonl(
        anthropic.as_bytes(),
        "p.jsonl",
        1,
        &mut Vec::new(),
        Loading::all().stop,
    )
    .unwrap_or_default();
    assert_eq!(
        prompts[0].tools[0].parameters["properties"]["city"],
        serde_json::json!({})
    );
    let message = read(
        "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"input_audio\", \
         \"input_audio\": {}}]}]}\n",
    );
    assert!(
        message.starts_with("p.jsonl:1: messages[0]: content part 0 is of type `input_audio`"),
        "{message}"
    );
}

#[test]
fn jsonl_errors_name_file_and_line() {
    for (text, needle) in [
        ("{\"prompt\": \"ok\"}\n{\"promt\": \"x\"}\n", "neither"),
        ("{\"prompt\": \"ok\"}\nnot json\n", "not valid JSON"),
        ("[1]\n", "JSON object"),
        ("{\"messages\": [{\"content\": \"x\"}]}\n", "role"),
        ("{\"prompt\": \"\"}\n", "non-empty"),
    ] {
        let message = read_jsonl(
            text.as_bytes(),
            "p.jsonl",
            1,
            &mut Vec::new(),
            Loading::all().stop,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(message.contains(needle), "{message}");
        assert!(message.starts_with("p.jsonl:"), "{message}");
    }
    let message = read_jsonl(
        "\n\n".as_bytes(),
        "p.jsonl",
        1,
        &mut Vec::new(),
        Loading::all().stop,
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(message.contains("no prompts"), "{message}");
}

#[test]
fn text_files_hold_one_prompt_per_line() -> TestResult {
    let prompts = read_text(
        "first\r\n\n  \nsecond\n".as_bytes(),
        "p.txt",
        Loading::all().stop,
    )?;
    let texts: Vec<String> = prompts.iter().map(Prompt::text).collect();
    assert_eq!(texts, ["first", "second"]);
    Ok(())
}

#[test]
fn long_builtin_is_about_32k_tokens() -> TestResult {
    let prompts = load(&PromptSource::Builtin("long".into()), Path::new("."))?;
    assert!((4..=6).contains(&prompts.len()), "{}", prompts.len());
    for prompt in &prompts {
        let tokens = crate::tokenizer::count_tokens(&prompt.text());
        assert!(
            (28_000..=36_000).contains(&tokens),
            "#{}: {tokens}",
            prompt.id.0
        );
        assert!(
            prompt
                .text()
                .contains("Question: The answer is in collection 4")
        );
    }
    assert_ne!(prompts[0].text(), prompts[1].text());
    Ok(())
}

#[test]
fn shuffle_is_seeded_and_renumbers() -> TestResult {
    let config = |shuffle, seed| WorkloadConfig {
        shuffle,
        seed,
        ..WorkloadConfig::of(PromptSource::Builtin("chat".into()))
    };
    let texts = |w: &Workload| w.prompts.iter().map(Prompt::text).collect::<Vec<_>>();
    let plain = load_workload(&config(false, 7), Path::new("."))?;
    let a = load_workload(&config(true, 7), Path::new("."))?;
    let b = load_workload(&config(true, 7), Path::new("."))?;
    let c = load_workload(&config(true, 8), Path::new("."))?;
    assert_eq!(texts(&a), texts(&b));
    assert_ne!(texts(&a), texts(&plain));
    assert_ne!(texts(&a), texts(&c));
    let mut sorted = texts(&a);
    sorted.sort();
    let mut expected = texts(&plain);
    expected.sort();
    assert_eq!(sorted, expected);
    let ids: Vec<u32> = a.prompts.iter().map(|p| p.id.0).collect();
    assert_eq!(ids, (0..u32::try_from(ids.len())?).collect::<Vec<_>>());
    Ok(())
}

/// `count` synthetic prompts of 16 tokens.
fn synthetic(count: u32, shuffle: bool) -> WorkloadConfig {
    WorkloadConfig {
        shuffle,
        seed: 3,
        ..WorkloadConfig::of(PromptSource::Synthetic(crate::config::SyntheticSpec {
            input_tokens: 16,
            distribution: crate::config::LengthDistribution::Fixed,
            spread: 0,
            count,
            seed: 3,
        }))
    }
}

#[test]
fn a_race_that_counts_its_requests_gets_the_first_prompts_only() -> TestResult {
    let stop = AtomicBool::new(false);
    let needed = |n| Loading {
        needed: Some(n),
        stop: &stop,
        until: None,
    };
    let texts = |w: &Workload| w.prompts.iter().map(Prompt::text).collect::<Vec<_>>();
    let all = load_workload(&synthetic(50, false), Path::new("."))?;
    let first = load_needed(&synthetic(50, false), Path::new("."), needed(7))?;
    assert_eq!(texts(&first), texts(&all)[..7]);
    // A hundred million are asked for; the seven sent are all that is made.
    let huge = load_needed(&synthetic(100_000_000, false), Path::new("."), needed(7))?;
    assert_eq!(texts(&huge), texts(&all)[..7]);
    let planned = |config, needed| {
        let (made, kept) = planned_size(&config, Path::new("."), needed);
        (made.count, kept.count)
    };
    assert_eq!(planned(synthetic(100_000_000, false), Some(7)), (7, 7));
    // A shuffle draws from them all; the race still keeps only what it sends.
    let shuffled = load_workload(&synthetic(50, true), Path::new("."))?;
    let kept = load_needed(&synthetic(50, true), Path::new("."), needed(7))?;
    assert_eq!(texts(&kept), texts(&shuffled)[..7]);
    assert_eq!(planned(synthetic(50, true), Some(7)), (50, 7));
    assert_eq!(planned(synthetic(50, true), None), (50, 50));
    Ok(())
}

#[test]
fn reading_a_file_stops_when_asked() -> TestResult {
    let dir = tempfile::tempdir()?;
    let stop = AtomicBool::new(true);
    let stopped = Loading {
        needed: None,
        stop: &stop,
        until: None,
    };
    for (name, text) in [
        ("p.txt", "one\ntwo\n"),
        ("p.jsonl", "{\"prompt\": \"one\"}\n"),
        (
            "p.json",
            "[{\"conversations\": [{\"from\": \"human\", \"value\": \"x\"}]}]",
        ),
    ] {
        std::fs::write(dir.path().join(name), text)?;
        let source = PromptSource::File(name.into());
        let loaded = load_source(&source, dir.path(), false, 1, &mut Vec::new(), stopped);
        assert!(matches!(loaded, Err(WorkloadError::Stopped)), "{name}");
        assert_eq!(
            load(&source, dir.path())?.len(),
            1 + usize::from(name == "p.txt")
        );
    }
    Ok(())
}

#[test]
fn a_files_size_bounds_its_prompts_before_it_is_read() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("p.jsonl"), "{\"prompt\": \"one\"}\n")?;
    std::fs::write(dir.path().join("p.json"), "[]")?;
    let file = |name: &str| WorkloadConfig {
        prompts: PromptSource::File(name.into()),
        ..synthetic(1, false)
    };
    let (read, kept) = planned_size(&file("p.jsonl"), dir.path(), Some(5));
    assert_eq!((read.bytes, kept.bytes), (18, 0));
    // A ShareGPT file's answers, dropped as it is read, may be most of it.
    let (read, _) = planned_size(&file("p.json"), dir.path(), Some(5));
    assert_eq!(read.bytes, 0);
    Ok(())
}

#[test]
fn making_prompts_stops_when_asked() {
    let config = synthetic(u32::MAX, false);
    let stop = AtomicBool::new(true);
    let loading = Loading {
        needed: None,
        stop: &stop,
        until: None,
    };
    let loaded = load_needed(&config, Path::new("."), loading);
    assert!(matches!(loaded, Err(WorkloadError::Stopped)));
}

#[test]
fn the_tools_set_offers_tools_with_every_prompt() -> Result<(), WorkloadError> {
    let prompts = load(&PromptSource::Builtin("tools".into()), Path::new("."))?;
    assert!(prompts.len() >= 10);
    for prompt in &prompts {
        let names: Vec<&str> = prompt.tools.iter().map(|t| t.name.as_str()).collect();
        assert!(
            names.contains(&"get_weather") && names.contains(&"calculator"),
            "{names:?}"
        );
        assert!(
            prompt
                .tools
                .iter()
                .all(|t| t.parameters["type"] == "object")
        );
    }
    // The other sets offer none.
    let chat = load(&PromptSource::Builtin("chat".into()), Path::new("."))?;
    assert!(chat.iter().all(|p| p.tools.is_empty()));
    Ok(())
}

/// `count` shared-prefix prompts in `groups` groups, each of `prefix_tokens` + 8 tokens.
fn shared_prefix(groups: u32, prefix_tokens: u32, count: u32) -> WorkloadConfig {
    WorkloadConfig {
        prompts: PromptSource::SharedPrefix(crate::config::SharedPrefixSpec {
            groups,
            prefix_tokens,
            suffix_tokens: 8,
            count,
            seed: 7,
        }),
        ..synthetic(1, false)
    }
}

#[test]
fn a_race_of_twenty_requests_makes_twenty_shared_prefix_prompts_and_their_groups_only() -> TestResult
{
    let here = Path::new(".");
    // Four billion prompts in four billion groups: made eagerly, neither would fit.
    let huge = shared_prefix(u32::MAX, 64, u32::MAX);
    let stop = AtomicBool::new(false);
    let needed = Loading {
        needed: Some(20),
        until: None,
        stop: &stop,
    };
    let made = load_needed(&huge, here, needed)?;
    let all = load_workload(&shared_prefix(30, 64, 40), here)?;
    assert_eq!(made.prompts.len(), 20);
    assert_eq!(made.prompts, all.prompts[..20]);
    let (planned, kept) = planned_size(&huge, here, Some(20));
    assert_eq!((planned.count, kept.count), (20, 20));
    assert_eq!(planned.bytes, 20 * 72 * 6);
    Ok(())
}

#[test]
fn making_shared_prefix_prompts_stops_when_asked() {
    let stop = AtomicBool::new(true);
    let loading = Loading {
        needed: None,
        until: None,
        stop: &stop,
    };
    let loaded = load_needed(
        &shared_prefix(8, 1_000_000, u32::MAX),
        Path::new("."),
        loading,
    );
    assert!(matches!(loaded, Err(WorkloadError::Stopped)));
}
