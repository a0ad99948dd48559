use super::*;

/// Decodes `input` fed in the pieces `cuts` splits it into: the data, whether the body ended,
/// how many bytes were consumed, or the first error.
fn decode_split(input: &[u8], cuts: &[usize]) -> Result<(Vec<u8>, bool, usize), ChunkError> {
    let mut chunked = Chunked::default();
    let mut data = Vec::new();
    let mut consumed = 0;
    let mut from = 0;
    for to in cuts.iter().copied().chain([input.len()]) {
        let mut piece = &input[from..to];
        while !piece.is_empty() && !chunked.is_done() {
            let step = chunked.step(piece)?;
            if let Some(range) = step.data {
                data.extend_from_slice(&piece[range]);
            }
            consumed += step.consumed;
            piece = &piece[step.consumed..];
        }
        from = to;
    }
    Ok((data, chunked.is_done(), consumed))
}

fn decode(input: &[u8]) -> Result<(Vec<u8>, bool, usize), ChunkError> {
    decode_split(input, &[])
}

const BODY: &[u8] = b"5;name=\"x\"\r\nhello\r\nA \r\n, world!!!\r\n0\r\nx-trailer: yes\r\n\r\n";

#[test]
fn a_body_with_extensions_and_trailers_decodes_split_at_every_byte_and_pair() {
    let whole = decode(BODY).unwrap();
    assert_eq!(whole, (b"hello, world!!!".to_vec(), true, BODY.len()));
    for cut in 0..=BODY.len() {
        assert_eq!(decode_split(BODY, &[cut]).unwrap(), whole, "cut at {cut}");
        for second in cut..=BODY.len() {
            assert_eq!(decode_split(BODY, &[cut, second]).unwrap(), whole);
        }
    }
}

#[test]
fn bytes_after_the_end_are_not_consumed() {
    let mut input = b"3\r\nabc\r\n0\r\n\r\n".to_vec();
    let end = input.len();
    input.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    assert_eq!(decode(&input).unwrap(), (b"abc".to_vec(), true, end));
}

#[test]
fn uppercase_hex_and_leading_zeros_are_sizes() {
    let input = b"000A\r\n0123456789\r\n00\r\n\r\n";
    assert_eq!(decode(input).unwrap().0, b"0123456789");
}

#[test]
fn an_unfinished_body_is_not_done() {
    for input in [
        &b"5\r\nhel"[..],
        b"5\r\nhello\r\n",
        b"0\r\n",
        b"0\r\nx: y\r\n",
    ] {
        let (_, done, consumed) = decode(input).unwrap();
        assert!(!done, "{input:?}");
        assert_eq!(consumed, input.len());
    }
}

#[test]
fn a_size_that_is_not_hex_says_what_it_was() {
    for (input, quoted) in [
        (&b"-5\r\nhello\r\n"[..], "-"),
        (b"zz\r\n", "z"),
        (b"\r\n", ""),
        (b"5x\r\n", "5x"),
    ] {
        let err = decode(input).unwrap_err();
        assert_eq!(err, ChunkError::NotHex(quoted.to_string()), "{input:?}");
        assert!(
            err.to_string()
                .starts_with("the server's chunk size line was not hex"),
            "{err}"
        );
    }
}

#[test]
fn a_huge_size_is_refused_not_overflowed() {
    let err = decode(b"10000000000000000\r\n").unwrap_err();
    assert!(matches!(err, ChunkError::TooLarge(_)), "{err:?}");
    // The largest 16-digit size is a size: the body is then cut short, not an overflow.
    let (data, done, _) = decode(b"FFFFFFFFFFFFFFFF\r\nabc").unwrap();
    assert_eq!((data.as_slice(), done), (&b"abc"[..], false));
}

#[test]
fn missing_line_ends_are_errors() {
    for input in [
        &b"5\nhello\r\n"[..],
        b"5\rhello",
        b"5\r\nhelloX\r\n",
        b"5\r\nhello\rX",
        b"0\r\nx: y\rZ",
    ] {
        assert!(
            matches!(decode(input), Err(ChunkError::BadLineEnd(_))),
            "{input:?}"
        );
    }
}

#[test]
fn endless_lines_and_trailers_are_bounded() {
    let mut line = b"5;".to_vec();
    line.resize(MAX_LINE + 10, b'a');
    assert_eq!(decode(&line).unwrap_err(), ChunkError::LineTooLong);
    let mut trailers = b"0\r\n".to_vec();
    while trailers.len() < 2 * MAX_TRAILERS {
        trailers.extend_from_slice(b"x: y\r\n");
    }
    assert_eq!(decode(&trailers).unwrap_err(), ChunkError::TrailersTooLong);
}

#[test]
fn control_bytes_in_a_bad_size_are_not_quoted() {
    let err = decode(b"\x1b[31m\r\n").unwrap_err();
    assert!(!err.to_string().contains('\x1b'), "{err}");
}

/// Many bodies of framing-like bytes, each decoded whole and split at a point: the same data,
/// end and consumption, or the same error; never a panic. (A fuzz target's promise, seeded.)
#[test]
fn any_bytes_decode_the_same_however_split() {
    const ALPHABET: &[u8] = b"0123456789abcdefABCDEF;=\r\n\r\n\t x-";
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for _ in 0..5_000 {
        let len = usize::try_from(next() % 64).unwrap();
        let body: Vec<u8> = (0..len)
            .map(|_| ALPHABET[usize::try_from(next()).unwrap() % ALPHABET.len()])
            .collect();
        let cut = usize::try_from(next()).unwrap() % (len + 1);
        assert_eq!(
            decode(&body),
            decode_split(&body, &[cut]),
            "{body:?} cut at {cut}"
        );
    }
}
