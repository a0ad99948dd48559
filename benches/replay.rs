//! Replay size and load speed of a 10-minute race: what one file of a long, busy race weighs
//! on disk, and how long opening it and folding it through the aggregator take. (The load's
//! events/s on a shorter race is also in the criterion suite, `benches/hot_paths.rs`; this
//! report stays outside criterion because its point is one 940 k-event file, not a loop.)
//!
//! Run: `cargo bench --bench replay`

use std::time::Instant;

use llmrace::record::Replay;

#[path = "support/replay_race.rs"]
mod replay_race;

const RACE_S: u64 = 600;
const LOADS: usize = 5;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let events = replay_race::events(RACE_S);
    let started = Instant::now();
    let path = replay_race::write(dir.path(), &events, RACE_S);
    let write_s = started.elapsed().as_secs_f64();
    let size = std::fs::metadata(&path).expect("replay size").len();
    println!(
        "10-minute race, {} endpoints × {} streams: {} events, replay {:.2} MB \
         ({:.1} bytes/event), written in {write_s:.2} s",
        replay_race::ENDPOINTS,
        replay_race::STREAMS,
        events.len(),
        size as f64 / 1e6,
        size as f64 / events.len() as f64
    );

    let mut loads = Vec::new();
    for _ in 0..LOADS {
        let started = Instant::now();
        let replay = Replay::open(&path).expect("open the replay");
        let loaded = started.elapsed().as_secs_f64();
        let last = llmrace::fold_replay(&replay, |_| {});
        let total = started.elapsed().as_secs_f64();
        assert_eq!(replay.events.len(), events.len());
        assert!(!last.endpoints.is_empty());
        loads.push((loaded, total));
    }
    loads.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (loaded, total) = loads[loads.len() / 2];
    let (_, fastest) = loads[0];
    let (_, slowest) = loads[loads.len() - 1];
    println!(
        "load {loaded:.3} s + aggregate {:.3} s = {total:.3} s for {} events ({:.2} M events/s), \
         median of {LOADS} (range {fastest:.3}-{slowest:.3} s)",
        total - loaded,
        events.len(),
        events.len() as f64 / total / 1e6
    );
}
