//! Mock profile specs as users write them (`--mock-profile`, race files): the ones that parse,
//! and the ones that fail with a message naming the bad part and what is allowed.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use llmrace::mock::{Fault, Profile, TokenCount};

#[test]
fn profile_specs_that_parse() {
    for (name, _) in Profile::names() {
        assert_eq!(Profile::parse(name).unwrap().name, *name);
    }
    let p = Profile::parse("steady,ttft=200ms,itl=20ms,tokens=64").unwrap();
    assert_eq!(
        p.to_string(),
        Profile::parse(&p.to_string()).unwrap().to_string()
    );
    assert_eq!(p.tokens, TokenCount::Fixed(64));
    let p = Profile::parse("instant,tokens=256,chunk=1").unwrap();
    assert_eq!((p.name, p.chunk), ("instant", 1));
    let p = Profile::parse("turbo,fault=reset_mid_stream:1.0").unwrap();
    assert_eq!(p.faults, vec![(Fault::ResetMidStream, 1.0)]);
    let p = Profile::parse("fault=http_429:0.2,fault=cut:0.1").unwrap();
    assert_eq!(p.name, "steady");
    assert_eq!(p.faults.len(), 2);
    assert_eq!(Profile::parse("seed=7").unwrap().seed, 7);
    assert!(
        Profile::parse("flaky,fault=none")
            .unwrap()
            .faults
            .is_empty()
    );
    assert!(Profile::parse("tokens=10..20, ttft=1s+-100ms, itl=5~1").is_ok());
}

#[test]
fn profile_specs_that_fail_name_the_bad_part() {
    let cases = [
        ("warp", ["`warp`", "instant, turbo, steady"]),
        ("turbo,speed=9", ["`speed`", "ttft, itl, tokens"]),
        ("ttft=fast", ["`fast`", "`ttft`"]),
        ("tokens=9..3", ["`9..3`", "range"]),
        ("chunk=0", ["`0`", "at least 1"]),
        ("fault=gremlins:0.5", ["`gremlins`", "http_429"]),
        ("fault=http_500:2", ["`http_500:2`", "0 to 1"]),
        (
            "fault=http_500:0.7,fault=http_503:0.7",
            ["add up to", "more than 1"],
        ),
        ("ttft=5ms,turbo", ["`turbo`", "first"]),
        ("", ["empty", "steady"]),
    ];
    for (spec, needles) in cases {
        let message = Profile::parse(spec).unwrap_err().to_string();
        for needle in needles {
            assert!(message.contains(needle), "{spec:?}: {message}");
        }
    }
}
