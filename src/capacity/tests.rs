use super::*;

const GB: u64 = 1_000_000_000;

/// `prompts` synthetic prompts of `prompt_bytes` bytes in all, each made and kept.
fn demand(endpoints: &[(u64, bool)], prompts: u64, prompt_bytes: u64) -> Demand {
    let made = PromptsSize {
        count: prompts,
        bytes: prompt_bytes,
    };
    Demand {
        endpoints: endpoints.to_vec(),
        made,
        kept: made,
        replay: true,
        knob: Knob::Concurrency,
        source: Source::Synthetic,
        shuffle: false,
        destinations: (0..endpoints.len()).map(ports::Destination::Mock).collect(),
    }
}

fn message(result: Result<(), CapacityError>) -> String {
    result.err().map(|e| e.to_string()).unwrap_or_default()
}

#[test]
fn a_race_that_fits_passes_and_unknown_limits_are_not_checked() {
    let small = demand(&[(8, true), (8, false)], 20, 20 * 3_000);
    assert_eq!(small.check(Some(1024), Some(4 * GB)), Ok(()));
    let huge = demand(&[(1_000_000, false)], 20, 60_000);
    assert_eq!(huge.check(None, None), Ok(()));
}

#[test]
fn too_few_descriptors_say_what_to_lower_and_to_what() {
    // 2000 connections to a real server: 2064 descriptors with the files.
    let text = message(demand(&[(2000, false)], 20, 60_000).check(Some(1024), None));
    assert!(text.contains("about 2064 open files"), "{text}");
    assert!(text.contains("only 1024 (ulimit -n)"), "{text}");
    assert!(text.contains("ulimit -n 2064"), "{text}");
    assert!(text.contains("-c 960"), "{text}");
    // To the built-in mock, each connection takes both of its ends here.
    let text = message(demand(&[(600, true)], 20, 60_000).check(Some(1024), None));
    assert!(
        text.contains("about 1264 open files (600 connections, their 600 ends in the built-in mock, 64 for its files)"),
        "{text}"
    );
    assert!(text.contains("-c 480"), "{text}");
}

#[test]
fn too_many_workers_for_the_memory_advise_a_lower_concurrency() {
    let mut race = demand(&[(1_000_000, false)], 20, 60_000);
    race.knob = Knob::ConcurrencyRamp;
    let text = message(race.check(None, Some(16 * GB)));
    assert!(text.contains("the race needs about 65.5 GB"), "{text}");
    assert!(text.contains("only 16.0 GB is available"), "{text}");
    // Three quarters of 16 GB, less the prompts, at 64 KiB a connection.
    assert!(
        text.contains("--concurrency-ramp FROM..183101:OVER"),
        "{text}"
    );
}

#[test]
fn too_many_prompts_for_the_memory_advise_fewer_prompts_or_a_request_count() {
    // A hundred million 512-token prompts to one endpoint, with a replay: four copies.
    let prompts = 100_000_000;
    let text = message(demand(&[(4, false)], prompts, prompts * 3_072).check(None, Some(16 * GB)));
    assert!(text.contains("-n N"), "{text}");
    let fit: u64 = text
        .split("use at most ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // What fits does fit, and is not far below what would.
    let fitted = demand(&[(4, false)], fit, fit * 3_072);
    assert_eq!(fitted.check(None, Some(16 * GB)), Ok(()));
    let more = demand(&[(4, false)], fit * 11 / 10, fit * 11 / 10 * 3_072);
    assert!(more.check(None, Some(16 * GB)).is_err());
}

#[test]
fn the_demand_follows_the_races_load() -> Result<(), crate::pace::RateError> {
    let mut race = crate::config::demo_race();
    race.load.concurrency = 7;
    race.load.requests = None;
    race.endpoints.truncate(2);
    race.endpoints[1].concurrency = Some(3);
    race.endpoints[1].base_url = "http://127.0.0.1:9/v1".to_string();
    let some = PromptsSize {
        count: 5,
        bytes: 500,
    };
    let d = Demand::of(&race, some, some, false);
    assert_eq!(d.endpoints, [(7, true), (3, false)]);
    assert_eq!(d.knob, Knob::Concurrency);
    race.load.rate = Some("5/s".parse()?);
    race.load.max_in_flight = Some(50);
    let d = Demand::of(&race, some, some, false);
    assert_eq!(d.endpoints, [(50, true), (50, false)]);
    assert_eq!(d.knob, Knob::MaxInFlight);
    // No more connections than requests sent, warm-ups included.
    race.load.requests = Some(4);
    race.load.warmup_requests = 2;
    let d = Demand::of(&race, some, some, false);
    assert_eq!(d.endpoints, [(6, true), (6, false)]);
    race.load.rate = None;
    race.load.concurrency = 1_000_000;
    let d = Demand::of(&race, some, some, false);
    assert_eq!(d.endpoints, [(6, true), (3, false)]);
    Ok(())
}

#[test]
fn a_reserve_holds_descriptors_until_released() {
    let reserve = Reserve::hold();
    assert_eq!(reserve.held(), 4);
    reserve.release();
}

/// A race of `count` synthetic prompts of 512 tokens to four endpoints, with a replay, that
/// sends `requests` of them to each.
fn synthetic_race(count: u32, shuffle: bool, requests: u64) -> Demand {
    let mut race = crate::config::demo_race();
    race.workload.prompts = crate::config::PromptSource::Synthetic(crate::config::SyntheticSpec {
        input_tokens: 512,
        distribution: crate::config::LengthDistribution::Fixed,
        spread: 0,
        count,
        seed: 0,
    });
    race.workload.shuffle = shuffle;
    race.endpoints.truncate(1);
    race.endpoints = vec![race.endpoints[0].clone(); 4];
    let (made, kept) =
        crate::workload::planned_size(&race.workload, std::path::Path::new("."), Some(requests));
    Demand::of(&race, made, kept, true)
}

#[test]
fn shuffled_prompts_are_counted_once_and_only_those_sent_are_copied() {
    let shuffled = synthetic_race(100_000, true, 20);
    assert_eq!((shuffled.made.count, shuffled.kept.count), (100_000, 20));
    // A hundred thousand made once (~0.3 GB); twenty kept, copied for four endpoints and the
    // replay: well within 1 GB, where counting every prompt's copies would need 3.3 GB.
    assert!(shuffled.prompt_memory() < 400_000_000, "{shuffled:?}");
    assert_eq!(shuffled.check(None, Some(GB)), Ok(()));
    // Not shuffled, only the twenty are made.
    let plain = synthetic_race(100_000, false, 20);
    assert_eq!((plain.made.count, plain.kept.count), (20, 20));
}

#[test]
fn a_request_count_is_advised_only_where_it_bounds_the_prompts() {
    let text = message(synthetic_race(1_000_000, true, 2000).check(None, Some(GB)));
    assert!(text.contains("a smaller `count`"), "{text}");
    assert!(
        !text.contains("-n N"),
        "a shuffle makes every prompt: {text}"
    );
    let text = message(synthetic_race(1_000_000, false, u64::MAX).check(None, Some(GB)));
    assert!(
        text.contains("only that many prompts are then made"),
        "{text}"
    );
    // A file is read whole: a count bounds only the prompts kept, and helps only when the file
    // itself fits.
    let file = |file_bytes, kept: u64| Demand {
        made: PromptsSize {
            count: 1_000,
            bytes: file_bytes,
        },
        kept: PromptsSize {
            count: kept,
            bytes: kept * 100_000,
        },
        source: Source::File,
        ..demand(&[(1, false)], 0, 0)
    };
    let text = message(file(600_000_000, 1_000).check(None, Some(GB)));
    assert!(text.contains("a shorter file"), "{text}");
    assert!(
        text.contains("only that many prompts are then kept"),
        "{text}"
    );
    let text = message(file(2 * GB, 0).check(None, Some(GB)));
    assert!(text.contains("a shorter file"), "{text}");
    assert!(!text.contains("-n N"), "{text}");
}

#[test]
fn a_sweep_is_told_to_keep_its_levels_lower() {
    let mut sweep = demand(&[(1_000_000, false)], 0, 0);
    sweep.knob = Knob::SweepLevels;
    let text = message(sweep.check(Some(1024), None));
    assert!(
        text.contains("keep the sweep's levels at or below 960"),
        "{text}"
    );
    assert!(!text.contains("-c "), "{text}");
}

#[test]
fn more_connections_to_one_server_than_local_ports_say_how_to_fit() {
    let range = ports::PortRange {
        low: 32768,
        high: 60999,
    };
    let mut d = demand(&[(20_000, false), (20_000, false)], 20, 60_000);
    // Two servers: each has the whole range.
    d.destinations = vec![
        ports::Destination::of(0, "http://127.0.0.1:8000/v1"),
        ports::Destination::of(1, "http://127.0.0.1:8001/v1"),
    ];
    assert_eq!(d.check_ports(Some(range)), Ok(()));
    assert_eq!(d.check_ports(None), Ok(()));
    // One server behind both endpoints: 40 000 ports from one range of 27 232.
    d.destinations[1] = ports::Destination::of(1, "http://127.0.0.1:8000/v2");
    let text = message(d.check_ports(Some(range)));
    assert!(
        text.contains("up to 40000 connections at once to 127.0.0.1:8000"),
        "{text}"
    );
    assert!(text.contains("only 27232 local ports"), "{text}");
    assert!(text.contains("32768–60999"), "{text}");
    assert!(
        text.contains("ip_local_port_range=\"1024 65535\""),
        "{text}"
    );
    assert!(
        text.contains("at most 13616 per endpoint (-c 13616)"),
        "{text}"
    );
    assert!(text.contains("--shard"), "{text}");
}
