//! Cache hygiene: the salt a cold race puts at the very start of every prompt, unique to each
//! endpoint of each run, so that no prompt (system prompt included) can hit a prefix that a
//! server cached for an earlier run, an earlier sweep level or another endpoint it serves.

use rand::Rng;

use crate::protocol::Message;

/// A fresh salt: a few tokens, drawn from the operating system's randomness.
pub fn fresh() -> String {
    let draw: u32 = rand::rng().random();
    format!("[{draw:08x}]")
}

/// The salt every shard of one race (`--shard K/N`) gives endpoint `index` named `name`: the
/// same in every shard, so together they send the bodies one process would have sent (a prompt
/// repeated across shards finds the prefix the server cached for another shard), derived from
/// what the shards share: the race's seed and, when given, the `--start-at` instant (in
/// nanoseconds since the Unix epoch), so a new instant gives a new salt.
pub fn shared(seed: u64, start_at_nanos: Option<i64>, index: usize, name: &str) -> String {
    // FNV-1a over the parts: stable across builds and machines, which std's hasher is not
    // promised to be.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(&seed.to_le_bytes());
    match start_at_nanos {
        Some(nanos) => {
            feed(&[1]);
            feed(&nanos.to_le_bytes());
        }
        None => feed(&[0]),
    }
    feed(&u64::try_from(index).unwrap_or(u64::MAX).to_le_bytes());
    feed(name.as_bytes());
    let draw = (hash >> 32) ^ (hash & 0xffff_ffff);
    format!("[{draw:08x}]")
}

/// `messages` with `salt` at the very start: before the first message's content, the system
/// prompt's when there is one.
pub fn salted(messages: &[Message], salt: &str) -> Vec<Message> {
    let mut salted = messages.to_vec();
    if let Some(first) = salted.first_mut() {
        first.content = with_salt(&first.content, salt);
    }
    salted
}

/// `text` with `salt` before it, as the first message of a salted prompt reads.
pub fn with_salt(text: &str, salt: &str) -> String {
    format!("{salt} {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_salt_goes_first_and_differs_every_time() {
        let messages = [Message::system("be brief"), Message::user("hi")];
        let salted = salted(&messages, "[0badc0de]");
        assert_eq!(salted[0].content, "[0badc0de] be brief");
        assert_eq!(salted[1], messages[1]);
        assert!(self::salted(&[], "[x]").is_empty());
        let salts: std::collections::HashSet<String> = (0..50).map(|_| fresh()).collect();
        assert_eq!(salts.len(), 50);
        assert!(salts.iter().all(|s| s.len() == 10));
    }

    #[test]
    fn a_shared_salt_is_the_same_for_the_same_race_and_differs_otherwise() {
        let salt = shared(7, Some(1_800_000_000_000_000_000), 0, "a");
        assert_eq!(salt, shared(7, Some(1_800_000_000_000_000_000), 0, "a"));
        assert_eq!(salt.len(), 10);
        let others = [
            shared(8, Some(1_800_000_000_000_000_000), 0, "a"),
            shared(7, Some(1_800_000_000_000_000_001), 0, "a"),
            shared(7, None, 0, "a"),
            shared(7, Some(1_800_000_000_000_000_000), 1, "a"),
            shared(7, Some(1_800_000_000_000_000_000), 0, "b"),
        ];
        let distinct: std::collections::HashSet<&String> = others.iter().chain([&salt]).collect();
        assert_eq!(distinct.len(), 6, "{others:?}");
    }
}
