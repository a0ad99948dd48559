//! Synthetic prompts of a chosen length in tokens: seeded random words whose o200k token count
//! (the tokenizer of [`count_tokens`]) is the sampled length exactly. Chat templates add a few
//! tokens of their own on the server, and other tokenizers count a little differently.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::{LengthDistribution, SyntheticSpec};
use crate::protocol::Message;
use crate::tokenizer::count_tokens;

use super::rng::Rng;

/// Lower-case English words that are each one o200k token with their leading space (a test
/// checks), so a prompt's length can be tuned word by word.
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "the", "time", "year", "people", "way", "day", "man", "thing", "woman", "life", "child",
    "world", "school", "state", "family", "student", "group", "country", "problem", "hand", "part",
    "place", "case", "week", "company", "system", "program", "question", "work", "government",
    "number", "night", "point", "home", "water", "room", "mother", "area", "money", "story",
    "fact", "month", "lot", "right", "study", "book", "eye", "job", "word", "business", "issue",
    "side", "kind", "head", "house", "service", "friend", "father", "power", "hour", "game",
    "line", "end", "member", "law", "car", "city", "community", "name", "president", "team",
    "minute", "idea", "kid", "body", "information", "back", "parent", "face", "others", "level",
    "office", "door", "health", "person", "art", "war", "history", "party", "result", "change",
    "morning", "reason", "research", "girl", "guy", "moment", "air", "teacher", "force",
    "education", "good", "new", "first", "last", "long", "great", "little", "own", "other", "old",
    "big", "high", "different", "small", "large", "next", "early", "young", "important", "few",
    "public", "bad", "same", "able", "make", "take", "come", "see", "know", "get", "give", "find",
    "think", "tell", "become", "show", "leave", "feel", "put", "bring", "begin", "keep", "hold",
    "write", "stand", "hear", "let", "mean", "set", "meet", "run", "pay", "sit", "speak", "lie",
    "lead", "read", "grow", "lose", "fall", "send", "build", "understand", "draw", "break",
    "spend", "cut", "rise", "drive", "buy", "wear", "choose", "and", "with", "from", "about",
    "over", "after", "under", "before", "often", "always", "never", "very", "quite", "rather",
    "slowly", "quickly", "river", "mountain", "garden", "window", "market", "bridge", "letter",
    "music", "paper", "summer", "winter", "island", "forest", "engine", "village", "station",
    "kitchen", "doctor",
];

/// The prompts of `spec`, made one at a time as they are taken: `count` user messages, each
/// with its sampled length in tokens. Each prompt draws from where the previous one left the
/// generator, so taking the first `n` gives exactly the first `n` of the whole set.
///
/// Once `stop` is set, the prompt being made is cut short and the caller must let it go.
pub(super) fn generate<'a>(
    spec: &SyntheticSpec,
    stop: &'a AtomicBool,
) -> impl Iterator<Item = Vec<Message>> + use<'a> {
    let spec = *spec;
    let mut rng = Rng::new(spec.seed);
    (0..spec.count).map(move |_| {
        let tokens = sample_length(&spec, &mut rng);
        vec![Message::user(text_of(tokens, &mut rng, stop))]
    })
}

/// Text of exactly `tokens` o200k tokens drawn from `seed` alone, stoppable like [`generate`].
/// Its first word is one token even without a space before it (a seed whose first word is
/// not gives way to the next seed on), so every piece is one token: the text of fewer tokens
/// from the same seed is a prefix of it, and such texts joined with a space count the sum of
/// their tokens (tests check both). A trace's blocks are made with it.
pub(super) fn text_from_seed(tokens: u32, seed: u64, stop: &AtomicBool) -> String {
    let mut text = String::new();
    for attempt in 0..64_u64 {
        let seed = seed.wrapping_add(attempt.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        text = text_of(tokens, &mut Rng::new(seed), stop);
        let first = text.split(' ').next().unwrap_or_default();
        if count_tokens(first) == 1 {
            break;
        }
    }
    text
}

/// About how many bytes of text a prompt of `spec` holds on average, from above: the mean
/// length is `input_tokens` (with half a spread of margin for lengths clamped at one token),
/// and a token is a short word with its space.
pub(crate) fn bytes_per_prompt(spec: &SyntheticSpec) -> u64 {
    let margin = match spec.distribution {
        LengthDistribution::Fixed => 0,
        LengthDistribution::Uniform | LengthDistribution::Normal => spec.spread / 2,
    };
    u64::from(spec.input_tokens.saturating_add(margin).max(1)) * BYTES_PER_TOKEN
}

/// Bytes of synthetic text per token, rounded up (a test checks it against the words).
pub(super) const BYTES_PER_TOKEN: u64 = 6;

#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "clamped to 1..=u32::MAX before the cast"
)]
fn sample_length(spec: &SyntheticSpec, rng: &mut Rng) -> u32 {
    let middle = spec.input_tokens.max(1);
    match spec.distribution {
        LengthDistribution::Fixed => middle,
        LengthDistribution::Uniform => {
            let low = middle.saturating_sub(spec.spread).max(1);
            let high = middle.saturating_add(spec.spread);
            let width = u64::from(high - low) + 1;
            low + u32::try_from(rng.below(width)).unwrap_or(0)
        }
        LengthDistribution::Normal => {
            let value = f64::from(middle) + f64::from(spec.spread) * rng.normal();
            value.round().clamp(1.0, f64::from(u32::MAX)) as u32
        }
    }
}

/// Random words, with a full stop now and then, counting exactly `tokens` o200k tokens.
pub(super) fn text_of(tokens: u32, rng: &mut Rng, stop: &AtomicBool) -> String {
    words(tokens, rng, stop, false)
}

/// [`text_of`] to follow other text of it: it begins with a space, and appended to such text
/// it adds exactly `tokens` tokens and leaves the tokens before it as they were (o200k cuts
/// before a word's leading space, and this text never begins with a full stop).
pub(super) fn text_after(tokens: u32, rng: &mut Rng, stop: &AtomicBool) -> String {
    words(tokens, rng, stop, true)
}

/// The words of [`text_of`]; `after`: every piece stands after other text.
fn words(tokens: u32, rng: &mut Rng, stop: &AtomicBool, after: bool) -> String {
    let target = tokens as usize;
    let mut pieces: Vec<usize> = Vec::with_capacity(target + 8);
    let mut until_stop = 8 + rng.below(10);
    let mut grow = |pieces: &mut Vec<usize>, n: usize| {
        for _ in 0..n {
            if until_stop == 0 {
                pieces.push(FULL_STOP);
                until_stop = 8 + rng.below(10);
            } else {
                pieces.push(usize::try_from(rng.below(WORDS.len() as u64)).unwrap_or(0));
                until_stop -= 1;
            }
        }
    };
    grow(&mut pieces, target);
    let mut counts = PieceCounts::default();
    // Pieces are about one token each; recount and adjust until the count is exact. Additivity
    // makes this converge in a step or two; the bound only guards against a tokenizer surprise.
    for _ in 0..64 {
        // A prompt of a million tokens takes a while: a signal need not wait for more.
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let count = counts.of(&pieces, after);
        match count.cmp(&target) {
            std::cmp::Ordering::Equal => break,
            std::cmp::Ordering::Less => grow(&mut pieces, target - count),
            std::cmp::Ordering::Greater => {
                let keep = pieces.len().saturating_sub(count - target);
                pieces.truncate(keep);
            }
        }
    }
    join(&pieces, after)
}

/// The piece after the words: a full stop, which takes no space before it.
const FULL_STOP: usize = WORDS.len();

/// The text of piece `index` (a word of [`WORDS`] or the full stop) and whether it takes a
/// space before it where it stands: every word but the text's first does.
fn piece(index: usize, first: bool) -> (&'static str, bool) {
    match WORDS.get(index) {
        Some(word) => (word, !first),
        None => (".", false),
    }
}

/// Token counts of the pieces as they stand in a text, each tokenized once. o200k's
/// pre-tokenizer cuts a text of these pieces at every piece (a word with its space, a full
/// stop), and BPE never merges across its cuts, so a text counts the sum of its pieces: a
/// million-token prompt is counted without tokenizing it whole, which took seconds (a test
/// checks the sum against the whole text's count).
#[derive(Default)]
struct PieceCounts {
    /// By piece, then by whether it is the text's first.
    known: Vec<[Option<usize>; 2]>,
}

impl PieceCounts {
    /// The token count of [`join`]`(pieces, after)`.
    fn of(&mut self, pieces: &[usize], after: bool) -> usize {
        if self.known.is_empty() {
            self.known = vec![[None; 2]; FULL_STOP + 1];
        }
        pieces
            .iter()
            .enumerate()
            .map(|(at, &index)| {
                let first = at == 0 && !after;
                *self.known[index][usize::from(first)].get_or_insert_with(|| {
                    let (text, spaced) = piece(index, first);
                    let text = if spaced {
                        format!(" {text}")
                    } else {
                        text.to_string()
                    };
                    count_tokens(&text) as usize
                })
            })
            .sum()
    }
}

/// The text of `pieces`, indices of [`piece`]; `after`: the first piece follows other text.
fn join(pieces: &[usize], after: bool) -> String {
    let mut text = String::with_capacity(pieces.len() * 7);
    for (at, &index) in pieces.iter().enumerate() {
        let (piece, spaced) = piece(index, at == 0 && !after);
        if spaced {
            text.push(' ');
        }
        text.push_str(piece);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Never set: these prompts are made to the end.
    static GO: AtomicBool = AtomicBool::new(false);

    fn spec(distribution: LengthDistribution, spread: u32, count: u32) -> SyntheticSpec {
        SyntheticSpec {
            input_tokens: 512,
            distribution,
            spread,
            count,
            seed: 7,
        }
    }

    fn all(spec: &SyntheticSpec) -> Vec<Vec<Message>> {
        generate(spec, &GO).collect()
    }

    fn lengths(prompts: &[Vec<Message>]) -> Vec<f64> {
        prompts
            .iter()
            .map(|p| f64::from(count_tokens(&p[0].content)))
            .collect()
    }

    #[test]
    fn every_word_is_one_token() {
        for word in WORDS {
            assert_eq!(count_tokens(&format!(" {word}")), 1, "{word}");
        }
    }

    #[test]
    fn seeded_texts_are_prefixes_of_longer_ones_and_add_up_when_joined() {
        let long = text_from_seed(512, 9, &GO);
        let short = text_from_seed(100, 9, &GO);
        assert!(long.starts_with(&short), "{short} / {long}");
        assert_ne!(long, text_from_seed(512, 10, &GO));
        let joined = [long.as_str(), short.as_str(), &text_from_seed(7, 3, &GO)].join(" ");
        assert_eq!(count_tokens(&joined), 512 + 100 + 7);
        // Whatever word a seed starts with, each text counts its length alone and after others.
        for seed in 0..40 {
            let text = text_from_seed(20, seed, &GO);
            assert_eq!(count_tokens(&text), 20, "{text}");
            assert_eq!(count_tokens(&format!("{long} {text}")), 512 + 20, "{text}");
        }
    }

    #[test]
    fn long_prompts_count_their_length_when_tokenized_whole() {
        // Made by summing their pieces' counts: the tokenizer on the whole text must agree.
        for (distribution, spread) in [
            (LengthDistribution::Fixed, 0),
            (LengthDistribution::Uniform, 5_000),
        ] {
            let spec = SyntheticSpec {
                input_tokens: 40_000,
                ..spec(distribution, spread, 2)
            };
            let mut rng = Rng::new(spec.seed);
            for prompt in generate(&spec, &GO) {
                let sampled = sample_length(&spec, &mut rng);
                assert_eq!(count_tokens(&prompt[0].content), sampled);
                // Skip the words the prompt drew, so the next length is the next prompt's.
                let _ = text_of(sampled, &mut rng, &GO);
            }
        }
    }

    #[test]
    fn fixed_lengths_are_exact() {
        for tokens in [1, 2, 7, 100, 512, 4096] {
            let spec = SyntheticSpec {
                input_tokens: tokens,
                count: 3,
                ..spec(LengthDistribution::Fixed, 0, 3)
            };
            for prompt in generate(&spec, &GO) {
                assert_eq!(count_tokens(&prompt[0].content), tokens);
            }
        }
    }

    #[test]
    #[expect(clippy::cast_precision_loss, reason = "a few hundred samples")]
    fn distributions_have_their_mean_and_spread() {
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let sd = |v: &[f64]| {
            let m = mean(v);
            (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
        };
        let uniform = lengths(&all(&spec(LengthDistribution::Uniform, 128, 400)));
        assert!(uniform.iter().all(|l| (384.0..=640.0).contains(l)));
        assert!(
            (mean(&uniform) - 512.0).abs() < 512.0 * 0.03,
            "{}",
            mean(&uniform)
        );
        // A uniform on [a, b] has standard deviation (b - a) / sqrt(12).
        assert!((sd(&uniform) - 256.0 / 12f64.sqrt()).abs() < 10.0);

        let normal = lengths(&all(&spec(LengthDistribution::Normal, 64, 400)));
        assert!(
            (mean(&normal) - 512.0).abs() < 512.0 * 0.03,
            "{}",
            mean(&normal)
        );
        assert!((sd(&normal) - 64.0).abs() < 10.0, "{}", sd(&normal));
    }

    #[test]
    fn same_seed_same_prompts() {
        let a = all(&spec(LengthDistribution::Normal, 64, 5));
        let b = all(&spec(LengthDistribution::Normal, 64, 5));
        let c = all(&SyntheticSpec {
            seed: 8,
            ..spec(LengthDistribution::Normal, 64, 5)
        });
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a[0], a[1]);
    }

    /// FNV-1a over every prompt's text, each closed by a NUL.
    fn fingerprint(prompts: impl Iterator<Item = Vec<Message>>) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for prompt in prompts {
            for byte in prompt[0].content.bytes().chain([0]) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x100_0000_01b3);
            }
        }
        hash
    }

    #[test]
    fn prompts_made_as_taken_are_the_ones_made_all_at_once_before() {
        // Fingerprints of the prompts the eager generator made (before prompts were made one at
        // a time): same seed, same text, same order.
        for (distribution, spread, expected, start) in [
            (
                LengthDistribution::Normal,
                64,
                0x7e6e_54fd_c9b2_9dd1,
                "time before doctor",
            ),
            (
                LengthDistribution::Uniform,
                100,
                0x134d_048b_b1ec_4982,
                "public time before",
            ),
            (
                LengthDistribution::Fixed,
                0,
                0xc7c8_0bd8_21fb_3ab9,
                "child public time",
            ),
        ] {
            let spec = SyntheticSpec {
                input_tokens: 300,
                distribution,
                spread,
                count: 40,
                seed: 11,
            };
            assert_eq!(
                fingerprint(generate(&spec, &GO)),
                expected,
                "{distribution:?}"
            );
            let first = generate(&spec, &GO).next().unwrap_or_default();
            assert!(first[0].content.starts_with(start), "{distribution:?}");
            // The first few taken alone are the first few of the whole set.
            let whole = all(&spec);
            let few: Vec<_> = generate(&spec, &GO).take(3).collect();
            assert_eq!(few, whole[..3]);
        }
    }

    #[test]
    fn the_size_estimate_is_an_upper_bound_close_to_the_truth() {
        for (distribution, spread) in [
            (LengthDistribution::Fixed, 0),
            (LengthDistribution::Uniform, 256),
            (LengthDistribution::Normal, 128),
        ] {
            let spec = spec(distribution, spread, 200);
            let bytes: usize = generate(&spec, &GO).map(|p| p[0].content.len()).sum();
            let estimate = bytes_per_prompt(&spec) * 200;
            let bytes = bytes as u64;
            assert!(estimate >= bytes, "{distribution:?}: {estimate} < {bytes}");
            assert!(
                estimate < bytes * 3 / 2,
                "{distribution:?}: {estimate} vs {bytes}"
            );
        }
    }
}
