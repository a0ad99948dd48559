//! How a race's load is split among its shards (`--shard K/N`), and what cannot be split. Every
//! share is by ordinal, as requests are (`i % N == K`): shard K owns the workers (slots), the
//! requests and the sessions numbered K, K + N, K + 2N, … of the whole race, so the remainder
//! of a division goes to the shards numbered below it, and the shards together are the race.

use super::{ConfigError, Location, RaceConfig, Shard};

impl Shard {
    /// How many of the whole race's ordinals `0..total` are this shard's.
    #[must_use]
    pub fn owned_below(self, total: u64) -> u64 {
        total
            .saturating_sub(u64::from(self.index))
            .div_ceil(u64::from(self.count))
    }

    /// The whole race's ordinal of this shard's `local`th (from 0).
    #[must_use]
    pub fn ordinal(self, local: u64) -> u64 {
        local
            .saturating_mul(u64::from(self.count))
            .saturating_add(u64::from(self.index))
    }

    /// This shard's workers of a closed loop of `concurrency` per endpoint: one more than
    /// `concurrency / N` on the shards numbered below `concurrency % N`.
    #[must_use]
    pub fn slots(self, concurrency: u32) -> u32 {
        u32::try_from(self.owned_below(u64::from(concurrency))).unwrap_or(u32::MAX)
    }

    /// The whole race's worker slot of this shard's `local`th worker: a concurrency ramp lets
    /// the race's slots send in order, so each shard's share rises with it.
    #[must_use]
    pub fn slot(self, local: u32) -> u32 {
        u32::try_from(self.ordinal(u64::from(local))).unwrap_or(u32::MAX)
    }

    /// This shard's request limit of a race limited to `requests` per endpoint. With sessions
    /// (`turns` > 1) the limit counts turns and runs whole sessions, and a session is one
    /// ordinal: the shard runs its share of the race's sessions, every turn of each.
    #[must_use]
    pub fn requests(self, requests: u64, turns: u32) -> u64 {
        let turns = u64::from(turns.max(1));
        self.owned_below(requests / turns) * turns
    }

    /// What this shard sends of `race`, as the banner says it before the start: `shard 1/3: 2 of
    /// 6 requests per endpoint, concurrency 2 of 6` (the race file's numbers are the whole
    /// race's, which a shard's banner would otherwise seem to send alone).
    #[must_use]
    pub fn share(self, race: &RaceConfig) -> String {
        let load = &race.load;
        let mut parts = Vec::new();
        if let Some(n) = load.requests {
            let mine = self.requests(n, race.workload.turns);
            parts.push(format!("{mine} of {n} requests per endpoint"));
        }
        if let Some(d) = load.duration {
            parts.push(format!(
                "for {} (every shard)",
                humantime::format_duration(d)
            ));
        }
        if load.trace_speed.is_some() {
            parts.push(format!(
                "the trace's rows {} + {} × i",
                self.index, self.count
            ));
        } else if load.open_loop().is_some() {
            parts.push(format!("1/{} of the rate", self.count));
        } else {
            let c = load.concurrency.max(1);
            parts.push(format!("concurrency {} of {c}", self.slots(c)));
        }
        format!("shard {self}: {}", parts.join(", "))
    }

    /// The arrival seed of this shard of a race seeded with `seed`: one of its own, so the
    /// shards' Poisson streams are independent (together they are one Poisson stream at the
    /// race's rate), and the same on every run. A race of one shard keeps the race's seed.
    #[must_use]
    pub fn seed(self, seed: u64) -> u64 {
        if self.count == 1 {
            return seed;
        }
        // SplitMix64's finaliser over the seed and the shard: well mixed, so neighbouring
        // shards or seeds share no stream.
        let mut z = seed ^ (u64::from(self.index) << 32 | u64::from(self.count));
        z = z.wrapping_add(0x5368_6172_6420_4b2f);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// What a shard of `race` could not run, refused before anything is sent: laps (one prompt to
/// every endpoint at one instant, the next lap when all have answered: that needs one process
/// watching every endpoint), and a shard left with nothing to do.
pub(crate) fn check_shard(race: &RaceConfig) -> Result<(), ConfigError> {
    let Some(shard) = race.shard else {
        return Ok(());
    };
    let refuse = |problem: String, help: String| {
        Err(ConfigError::invalid(
            Location::CommandLine,
            "--shard",
            problem,
            help,
        ))
    };
    let n = shard.count;
    let load = &race.load;
    if load.laps {
        return refuse(
            "laps cannot be split into shards: each lap sends one prompt to every endpoint at the \
             same instant and waits for all of them before the next, which needs one process to \
             see every answer"
                .to_string(),
            "run the laps in one process (drop --shard), or race without --laps".to_string(),
        );
    }
    let turns = race.workload.turns;
    if let Some(requests) = load.requests
        && shard.requests(requests, turns) == 0
    {
        let (what, least) = if turns > 1 {
            (
                format!("{} sessions of {turns} turns", requests / u64::from(turns)),
                u64::from(n) * u64::from(turns),
            )
        } else {
            (format!("{requests} requests"), u64::from(n))
        };
        return refuse(
            format!("shard {shard} of a race of {what} per endpoint would send nothing"),
            format!("raise -n to {least} or more, or split the race into fewer shards"),
        );
    }
    let open = load.open_loop().is_some() || load.trace_speed.is_some();
    if open {
        if let Some(cap) = load.max_in_flight
            && shard.slots(cap) == 0
        {
            return refuse(
                format!(
                    "--max-in-flight {cap} split into {n} shards leaves shard {shard} no request \
                     in flight"
                ),
                format!("raise --max-in-flight to {n} or more, or split into fewer shards"),
            );
        }
        return Ok(());
    }
    for endpoint in &race.endpoints {
        let concurrency = endpoint.concurrency.unwrap_or(load.concurrency).max(1);
        if shard.slots(concurrency) == 0 {
            return refuse(
                format!(
                    "{}: concurrency {concurrency} split into {n} shards leaves shard {shard} no \
                     worker",
                    endpoint.name
                ),
                if concurrency == 1 {
                    format!(
                        "raise -c (or the endpoint's `concurrency`) to {n} or more, or race it \
                         in one process (without --shard)"
                    )
                } else {
                    format!(
                        "raise -c (or the endpoint's `concurrency`) to {n} or more, or split \
                         into {concurrency} shards or fewer"
                    )
                },
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shards(count: u32) -> Vec<Shard> {
        (0..count).map(|index| Shard { index, count }).collect()
    }

    #[test]
    fn every_ordinal_of_the_race_is_sent_by_exactly_one_shard() {
        for count in 1..=5 {
            for total in 0..40 {
                let mut sent: Vec<u64> = shards(count)
                    .into_iter()
                    .flat_map(|s| (0..s.owned_below(total)).map(move |local| s.ordinal(local)))
                    .collect();
                sent.sort_unstable();
                let whole: Vec<u64> = (0..total).collect();
                assert_eq!(sent, whole, "{total} requests in {count} shards");
            }
        }
    }

    #[test]
    fn concurrency_is_divided_with_the_remainder_on_the_first_shards() {
        let split: Vec<u32> = shards(4).into_iter().map(|s| s.slots(10)).collect();
        assert_eq!(split, [3, 3, 2, 2]);
        let split: Vec<u32> = shards(3).into_iter().map(|s| s.slots(2)).collect();
        assert_eq!(split, [1, 1, 0]);
        // The race's slots, each once: a ramp reaches them in the race's order.
        let mut slots: Vec<u32> = shards(4)
            .into_iter()
            .flat_map(|s| (0..s.slots(10)).map(move |local| s.slot(local)))
            .collect();
        slots.sort_unstable();
        assert_eq!(slots, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn sessions_stay_whole_on_one_shard() {
        // 10 sessions of 3 turns (31 requests hold 10 whole sessions).
        let limits: Vec<u64> = shards(4).into_iter().map(|s| s.requests(31, 3)).collect();
        assert_eq!(limits, [9, 9, 6, 6]);
        assert_eq!(limits.iter().sum::<u64>(), 30);
        assert_eq!(Shard { index: 0, count: 1 }.requests(31, 1), 31);
    }

    #[test]
    fn each_shard_draws_its_own_seed_from_the_race_seed() {
        let seeds: Vec<u64> = shards(4).into_iter().map(|s| s.seed(42)).collect();
        let again: Vec<u64> = shards(4).into_iter().map(|s| s.seed(42)).collect();
        assert_eq!(seeds, again);
        for (i, a) in seeds.iter().enumerate() {
            assert!(seeds[i + 1..].iter().all(|b| a != b), "{seeds:?}");
        }
        assert_ne!(Shard { index: 1, count: 4 }.seed(43), seeds[1]);
        assert_ne!(Shard { index: 1, count: 2 }.seed(42), seeds[1]);
        assert_eq!(Shard { index: 0, count: 1 }.seed(42), 42);
    }

    #[test]
    fn a_shards_banner_line_names_its_share_not_the_races() {
        let mut race = crate::config::demo_race();
        race.load.requests = Some(6);
        race.load.duration = None;
        race.load.concurrency = 6;
        let shard = Shard { index: 1, count: 3 };
        assert_eq!(
            shard.share(&race),
            "shard 1/3: 2 of 6 requests per endpoint, concurrency 2 of 6"
        );
        race.load.rate = Some("2/s".parse().expect("a rate"));
        assert!(
            shard.share(&race).ends_with(", 1/3 of the rate"),
            "{}",
            shard.share(&race)
        );
    }

    #[test]
    fn a_concurrency_of_one_is_told_to_race_in_one_process() {
        let mut race = crate::config::demo_race();
        race.load.concurrency = 1;
        for e in &mut race.endpoints {
            e.concurrency = None;
        }
        race.shard = Some(Shard { index: 1, count: 2 });
        let message = check_shard(&race).expect_err("no worker").to_string();
        assert!(!message.contains("1 shards"), "{message}");
        assert!(message.contains("without --shard"), "{message}");
    }
}
