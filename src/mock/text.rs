//! The mock's deterministic text: a fixed vocabulary of ordinary English words, picked by a
//! seeded hash so the same request always gets the same answer, and a cheap input-token guess.

use bytes::{BufMut, BytesMut};

/// One word per token, each with its leading space, all plain ASCII letters: a real BPE
/// tokenizer counts about one token per word, and no word ever needs JSON escaping.
#[rustfmt::skip]
const VOCAB: &[&str] = &[
    " the", " of", " and", " to", " in", " is", " that", " it", " was", " for", " on", " are",
    " as", " with", " his", " they", " at", " be", " this", " from", " have", " or", " by", " one",
    " had", " not", " but", " what", " all", " were", " when", " we", " there", " can", " an",
    " your", " which", " their", " said", " if", " do", " will", " each", " about", " how", " up",
    " out", " them", " then", " she", " many", " some", " so", " these", " would", " other",
    " into", " has", " more", " her", " two", " like", " him", " see", " time", " could", " no",
    " make", " than", " first", " been", " its", " who", " now", " people", " my", " made",
    " over", " did", " down", " only", " way", " find", " use", " may", " water", " long",
    " little", " very", " after", " words", " called", " just", " where", " most", " know", " get",
    " through", " back", " much", " before", " go", " good", " new", " write", " our", " used",
    " me", " man", " too", " any", " day", " same", " right", " look", " think", " also",
    " around", " another", " came", " come", " work", " three", " word", " must", " because",
    " does", " part", " even", " place", " well", " such", " here", " take", " why", " things",
    " help", " put", " years", " different", " away", " again", " off", " went", " old", " number",
    " great", " tell", " men", " say", " small", " every", " found", " still", " between", " name",
    " should", " home", " big", " give", " air", " line", " set", " own", " under", " read",
    " last", " never", " us", " left", " end", " along", " while", " might", " next", " sound",
    " below", " saw", " something", " thought", " both", " few", " those", " always", " looked",
    " show", " large", " often", " together", " asked", " house", " world", " going", " want",
    " school", " important", " until", " form", " food", " keep", " children", " feet", " land",
    " side", " without", " once", " animals", " life", " enough", " took", " sometimes", " four",
    " head", " above", " kind", " began", " almost", " live", " page", " got", " earth", " need",
    " far", " hand", " high", " year", " mother", " light", " country", " father", " let",
    " night", " following", " picture", " being", " study", " second", " eyes", " soon", " times",
    " story", " since", " white", " days", " paper", " hard", " near", " sentence", " better",
    " best", " across", " during", " today", " others", " however", " sure", " means", " knew",
    " try", " told", " young", " sun", " ways", " thing", " whole", " hear", " example", " heard",
    " several", " change", " answer", " room", " sea", " against", " top", " turned", " learn",
    " point", " city", " play", " toward", " five", " using", " usually",
];

/// A well-mixed 64-bit permutation (SplitMix64's finaliser): portable and stable across
/// toolchains, unlike `DefaultHasher`, so a seed means the same text everywhere.
pub(crate) fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a over the request body: cheap, stable, good enough to tell prompts apart.
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// The word for token `index` of the text seeded by `seed`.
pub(crate) fn word(seed: u64, index: u32) -> &'static str {
    let pick = mix(seed ^ mix(u64::from(index)));
    #[expect(
        clippy::cast_possible_truncation,
        reason = "below VOCAB.len(), a usize"
    )]
    let index = (pick % VOCAB.len() as u64) as usize;
    VOCAB[index]
}

/// Writes tokens `from..from + count` of the text seeded by `seed`.
pub(crate) fn write_words(out: &mut BytesMut, seed: u64, from: u32, count: u32) {
    for index in from..from.saturating_add(count) {
        out.put_slice(word(seed, index).as_bytes());
    }
}

/// Roughly four bytes of English per token, never zero: the mock needs a plausible count,
/// not a tokenizer.
pub(crate) fn estimate_tokens(text_bytes: u64) -> u32 {
    u32::try_from(text_bytes.div_ceil(4).max(1)).unwrap_or(u32::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    #[test]
    fn words_are_json_safe_and_spaced() {
        for w in VOCAB {
            assert!(w.starts_with(' '));
            assert!(w[1..].bytes().all(|b| b.is_ascii_lowercase()), "{w:?}");
        }
    }

    #[test]
    fn same_seed_same_words_and_different_seeds_differ() {
        let mut a = BytesMut::new();
        let mut b = BytesMut::new();
        let mut c = BytesMut::new();
        write_words(&mut a, 7, 0, 50);
        write_words(&mut b, 7, 0, 50);
        write_words(&mut c, 8, 0, 50);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn token_estimate_is_never_zero() {
        assert_eq!(estimate_tokens(0), 1);
        assert_eq!(estimate_tokens(9), 3);
    }
}
