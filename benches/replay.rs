//! Replay size and load speed of a 10-minute race: what one file of a long, busy race weighs
//! on disk, and how long opening it and folding it through the aggregator take. (The load's
//! events/s on a shorter race is also in the criterion suite, `benches/hot_paths.rs`; this
//! report stays outside criterion because its point is one 940 k-event file, not a loop.)
//!
//! Run: `cargo bench --bench replay`. `REPLAY_MINUTES=50` races longer (4.7 M events);
//! `REPLAY_OUT=DIR` keeps the replay in `DIR` (to open it with `llmrace replay` by hand).

use std::time::Instant;

use llmrace::record::Replay;
use llmrace::record::replay::ReplayReader;

#[path = "support/replay_race.rs"]
mod replay_race;

const LOADS: usize = 5;

fn main() {
    let minutes: u64 = std::env::var("REPLAY_MINUTES").map_or(10, |m| {
        m.parse()
            .expect("REPLAY_MINUTES is a whole number of minutes")
    });
    let race_s = minutes * 60;
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = std::env::var_os("REPLAY_OUT").map_or(temp.path().to_path_buf(), Into::into);
    std::fs::create_dir_all(&dir).expect("REPLAY_OUT is a folder that can be created");
    assert!(
        !dir.join(llmrace::record::REPLAY_FILE).exists(),
        "{} already holds a replay: give REPLAY_OUT an empty folder",
        dir.display()
    );
    let events = replay_race::events(race_s);
    let started = Instant::now();
    let path = replay_race::write(&dir, &events, race_s);
    let write_s = started.elapsed().as_secs_f64();
    let size = std::fs::metadata(&path).expect("replay size").len();
    println!(
        "{minutes}-minute race, {} endpoints × {} streams: {} events, replay {:.2} MB \
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

    // Reading alone, on the reading thread as every pass over a replay does: the floor of what
    // follows.
    let mut reads = Vec::new();
    for _ in 0..LOADS {
        let started = Instant::now();
        let mut reader = ReplayReader::open(&path).expect("open the replay");
        let mut count = 0;
        reader.read_ahead(|_| count += 1);
        reads.push(started.elapsed().as_secs_f64());
        assert_eq!(count, events.len());
    }
    reads.sort_by(f64::total_cmp);
    println!(
        "read {:.3} s, median of {LOADS} (range {:.3}-{:.3} s)",
        reads[LOADS / 2],
        reads[0],
        reads[LOADS - 1]
    );

    // What `llmrace replay` does before the dashboard's first frame.
    let mut opens = Vec::new();
    for _ in 0..LOADS {
        let started = Instant::now();
        let reader = ReplayReader::open(&path).expect("open the replay");
        let (log, last) = llmrace::replay::load_for_playback(reader);
        opens.push(started.elapsed().as_secs_f64());
        assert_eq!(log.len(), events.len());
        assert!(!last.endpoints.is_empty());
    }
    opens.sort_by(f64::total_cmp);
    println!(
        "open for the dashboard {:.3} s ({:.2} M events/s), median of {LOADS} (range {:.3}-{:.3} s)",
        opens[LOADS / 2],
        events.len() as f64 / opens[LOADS / 2] / 1e6,
        opens[0],
        opens[LOADS - 1]
    );
}
