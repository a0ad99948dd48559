//! Shared-prefix prompts, for measuring prefix caching on purpose: prompts in groups, every
//! prompt of a group beginning with the same prefix of exactly `prefix_tokens` o200k tokens
//! and ending in a suffix of its own of exactly `suffix_tokens`. Prompt `i` is in group
//! `i % groups`, so the first `groups` prompts start one group each and every later one can
//! find its prefix in a server's cache. Also what share of input tokens such a server should
//! find cached ([`expected_hit_rate`]).

use std::sync::atomic::AtomicBool;

use crate::config::{PromptSource, SharedPrefixSpec, WorkloadConfig};
use crate::protocol::Message;

use super::rng::Rng;
use super::synthetic::{BYTES_PER_TOKEN, text_after, text_of};

/// The prompts of `spec`, made one at a time as they are taken (a group's prefix when its first
/// prompt is). Taking the first `n` gives exactly the first `n` of the whole set: each suffix
/// draws from where the previous one left the generator, and each prefix from its group's own.
///
/// Once `stop` is set, the prompt being made is cut short and the caller must let it go.
pub(super) fn generate<'a>(
    spec: &SharedPrefixSpec,
    stop: &'a AtomicBool,
) -> impl Iterator<Item = Vec<Message>> + use<'a> {
    let spec = *spec;
    let mut prefixes: Vec<Option<String>> = Vec::new();
    let mut suffixes = Rng::new(spec.seed);
    (0..spec.count).map(move |i| {
        let group = usize::try_from(i % spec.groups.max(1)).unwrap_or(0);
        if prefixes.len() <= group {
            prefixes.resize(group + 1, None);
        }
        let prefix = prefixes[group].get_or_insert_with(|| {
            text_of(spec.prefix_tokens, &mut group_rng(spec.seed, group), stop)
        });
        let suffix = text_after(spec.suffix_tokens, &mut suffixes, stop);
        vec![Message::user(format!("{prefix}{suffix}"))]
    })
}

/// The generator of group `group`'s prefix: its own stream, apart from the suffixes' (seeded
/// with `seed` itself) and from every other group's.
fn group_rng(seed: u64, group: usize) -> Rng {
    let group = u64::try_from(group).unwrap_or(u64::MAX);
    Rng::new(seed ^ group.wrapping_add(1).wrapping_mul(0xD1B5_4A32_D192_ED03))
}

/// About how many bytes of text a prompt of `spec` holds, from above.
pub(crate) fn bytes_per_prompt(spec: &SharedPrefixSpec) -> u64 {
    (u64::from(spec.prefix_tokens) + u64::from(spec.suffix_tokens)) * BYTES_PER_TOKEN
}

/// The share of input tokens a server that caches prompt prefixes should report as cached for
/// the `n` requests an endpoint sent after its first `first` (its warm-ups), when `workload`
/// is shared-prefix and the requests reached the server one after the other in the order sent:
/// the first prompt of each group finds nothing cached, a later one its group's prefix, a
/// prompt sent again (the set wrapped around) all of itself. `None` for other workloads, or
/// no request. Requests that run at the same time do worse: the first ones of a group do not
/// find each other's prefix.
#[must_use]
pub fn expected_hit_rate(workload: &WorkloadConfig, first: u64, n: u64) -> Option<f64> {
    let PromptSource::SharedPrefix(spec) = &workload.prompts else {
        return None;
    };
    if n == 0 || spec.groups == 0 || spec.count == 0 {
        return None;
    }
    // The prompts in the order they are sent: a shuffle draws the same permutation from the
    // same seed, whatever it shuffles.
    let mut order: Vec<u32> = (0..spec.count).collect();
    if workload.shuffle {
        Rng::new(workload.seed).shuffle(&mut order);
    }
    let prompt = u64::from(spec.prefix_tokens) + u64::from(spec.suffix_tokens);
    let end = first.saturating_add(n);
    let mut seen = vec![false; usize::try_from(spec.groups).unwrap_or(usize::MAX)];
    let mut cached: u64 = 0;
    for (sequence, index) in (0..end).zip(&order) {
        let group = usize::try_from(index % spec.groups).unwrap_or(0);
        let hit = std::mem::replace(&mut seen[group], true);
        if sequence >= first && hit {
            cached += u64::from(spec.prefix_tokens);
        }
    }
    // Past the whole set, every prompt is a repeat of one sent before.
    let repeats = end - first.max(u64::from(spec.count)).min(end);
    cached += repeats * prompt;
    #[expect(clippy::cast_precision_loss, reason = "token counts far below 2^52")]
    Some(cached as f64 / (n as f64 * prompt as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::count_tokens;

    /// Never set: these prompts are made to the end.
    static GO: AtomicBool = AtomicBool::new(false);

    fn spec(groups: u32, prefix_tokens: u32, suffix_tokens: u32, count: u32) -> SharedPrefixSpec {
        SharedPrefixSpec {
            groups,
            prefix_tokens,
            suffix_tokens,
            count,
            seed: 7,
        }
    }

    fn texts(spec: &SharedPrefixSpec) -> Vec<String> {
        generate(spec, &GO)
            .map(|mut p| p.remove(0).content)
            .collect()
    }

    /// The prefix of group `group`, as the generator makes it.
    fn prefix_of(spec: &SharedPrefixSpec, group: usize) -> String {
        text_of(spec.prefix_tokens, &mut group_rng(spec.seed, group), &GO)
    }

    #[test]
    fn prompts_count_their_prefix_and_suffix_exactly() {
        for (prefix, suffix) in [(1, 1), (2, 3), (64, 16), (2048, 256), (300, 1)] {
            let spec = spec(3, prefix, suffix, 7);
            for (i, text) in texts(&spec).iter().enumerate() {
                let group_prefix = prefix_of(&spec, i % 3);
                assert_eq!(count_tokens(&group_prefix), prefix, "{prefix}+{suffix}");
                assert!(text.starts_with(&group_prefix), "{i}: {text}");
                assert_eq!(count_tokens(text), prefix + suffix, "{i}: {text}");
            }
        }
    }

    #[test]
    fn a_prompts_tokens_begin_with_its_prefixs_tokens() {
        // The prefix a server caches is a prefix of tokens, not only of text.
        let spec = spec(2, 200, 50, 4);
        for (i, text) in texts(&spec).iter().enumerate() {
            let bpe = tiktoken_rs::o200k_base_singleton();
            let whole = bpe.encode_ordinary(text);
            let prefix = bpe.encode_ordinary(&prefix_of(&spec, i % 2));
            assert_eq!(whole[..prefix.len()], prefix[..], "{i}");
        }
    }

    #[test]
    fn groups_share_their_prefix_and_nothing_else() {
        let spec = spec(4, 100, 20, 12);
        let texts = texts(&spec);
        let prefixes: Vec<String> = (0..4).map(|g| prefix_of(&spec, g)).collect();
        for (i, text) in texts.iter().enumerate() {
            for (g, prefix) in prefixes.iter().enumerate() {
                assert_eq!(
                    text.starts_with(prefix),
                    g == i % 4,
                    "prompt {i}, group {g}"
                );
            }
        }
        // Every prompt differs after its prefix.
        let mut suffixes: Vec<&str> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| &t[prefixes[i % 4].len()..])
            .collect();
        suffixes.sort_unstable();
        suffixes.dedup();
        assert_eq!(suffixes.len(), 12);
    }

    #[test]
    fn same_seed_same_prompts_and_the_first_few_are_the_first_few() {
        let a = texts(&spec(3, 40, 10, 9));
        assert_eq!(a, texts(&spec(3, 40, 10, 9)));
        let other = SharedPrefixSpec {
            seed: 8,
            ..spec(3, 40, 10, 9)
        };
        assert_ne!(a, texts(&other));
        let few: Vec<String> = generate(&spec(3, 40, 10, 9), &GO)
            .take(4)
            .map(|mut p| p.remove(0).content)
            .collect();
        assert_eq!(few, a[..4]);
    }

    #[test]
    fn the_size_estimate_is_an_upper_bound() {
        let spec = spec(3, 500, 100, 9);
        let bytes: usize = texts(&spec).iter().map(String::len).sum();
        assert!(bytes_per_prompt(&spec) * 9 >= bytes as u64);
    }

    fn workload(spec: SharedPrefixSpec) -> WorkloadConfig {
        WorkloadConfig::of(PromptSource::SharedPrefix(spec))
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    #[test]
    fn the_expected_hit_rate_counts_the_first_of_each_group_uncached() {
        let w = workload(spec(8, 2048, 256, 100));
        // 20 requests: 8 uncached, 12 with 2048 of 2304 tokens cached.
        assert!(close(
            expected_hit_rate(&w, 0, 20),
            12.0 * 2048.0 / (20.0 * 2304.0)
        ));
        // After 8 warm-ups, every measured request finds its prefix.
        assert!(close(expected_hit_rate(&w, 8, 20), 2048.0 / 2304.0));
        // Fewer requests than groups: nothing to find.
        assert!(close(expected_hit_rate(&w, 0, 5), 0.0));
        assert_eq!(expected_hit_rate(&w, 0, 0), None);
        let mut chat = w.clone();
        chat.prompts = PromptSource::Builtin("chat".to_string());
        assert_eq!(expected_hit_rate(&chat, 0, 20), None);
    }

    #[test]
    fn prompts_sent_again_are_cached_whole() {
        let w = workload(spec(2, 30, 10, 4));
        // 4 fresh (2 uncached, 2 with 30 of 40), then 4 repeats of 40 of 40.
        assert!(close(
            expected_hit_rate(&w, 0, 8),
            (2.0 * 30.0 + 4.0 * 40.0) / (8.0 * 40.0)
        ));
        assert!(close(expected_hit_rate(&w, 4, 4), 1.0));
        assert!(close(expected_hit_rate(&w, 6, 10), 1.0));
    }

    #[test]
    fn a_shuffled_order_is_followed() {
        let mut w = workload(spec(4, 10, 10, 8));
        w.shuffle = true;
        w.seed = 3;
        let mut order: Vec<u32> = (0..8).collect();
        Rng::new(3).shuffle(&mut order);
        let mut seen = [false; 4];
        let hits = order
            .iter()
            .filter(|i| std::mem::replace(&mut seen[**i as usize % 4], true))
            .count();
        assert_eq!(hits, 4);
        assert!(close(
            expected_hit_rate(&w, 0, 8),
            4.0 * 10.0 / (8.0 * 20.0)
        ));
        // The first request of the shuffled order is a group's first.
        assert!(close(expected_hit_rate(&w, 0, 1), 0.0));
    }
}
