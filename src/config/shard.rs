//! One shard of a race split over several processes (`--shard K/N`): which of the race's
//! request ordinals it sends. The split is by ordinal (`i % N == K`), so the shards together
//! send the whole race's prompts in its order.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Shard `index` of `count` (0-based: `--shard 0/4` … `--shard 3/4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// `K/N` with `0 <= K < N`; the message says what was wrong and what to write.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let usage = "write it as K/N, shard K (counted from 0) of N, for example `--shard 0/4`";
        let (k, n) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not a shard: {usage}"))?;
        let number = |part: &str, what: &str| {
            part.trim()
                .parse::<u32>()
                .map_err(|_| format!("`{part}` in `{text}` is not a {what}: {usage}"))
        };
        let index = number(k, "shard number")?;
        let count = number(n, "shard count")?;
        if count == 0 {
            return Err(format!("`{text}` splits the race into no shards: {usage}"));
        }
        if index >= count {
            return Err(format!(
                "`{text}`: shards of {count} are numbered 0 to {}: {usage}",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether request ordinal `ordinal` of the whole race is this shard's.
    #[must_use]
    pub fn owns(self, ordinal: u64) -> bool {
        ordinal % u64::from(self.count) == u64::from(self.index)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n_and_refuses_the_rest() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(Shard::parse(" 0 / 1 "), Ok(Shard { index: 0, count: 1 }));
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        assert!(Shard::parse("4/4").unwrap_err().contains("0 to 3"));
    }

    #[test]
    fn the_shards_own_every_ordinal_once() {
        let shards: Vec<_> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        for ordinal in 0..30 {
            let owners = shards.iter().filter(|s| s.owns(ordinal)).count();
            assert_eq!(owners, 1, "{ordinal}");
        }
        assert_eq!(Shard { index: 2, count: 4 }.to_string(), "2/4");
    }
}
