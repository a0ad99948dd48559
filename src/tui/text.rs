//! Makes text from outside (model output, prompts) inert before it is drawn: a model that
//! answers with terminal escapes must not be able to move the cursor, recolour the screen, set
//! the window title or plant hyperlinks in the dashboard.

use std::borrow::Cow;

/// Tab stops every this many columns (counted from the last line break in the text).
const TAB_WIDTH: usize = 4;

/// What a neutralised character is shown as when it has no control picture of its own
/// (C1 controls, bidi overrides).
const PLACEHOLDER: char = '\u{FFFD}';

/// `text` safe to draw: escape sequences (CSI, OSC/DCS/APC/PM/SOS strings, single-character
/// ESC sequences) removed; other control characters shown as visible placeholders (`␇`, `␍`,
/// `�`); tabs expanded to spaces; bidi overrides and isolates neutralised. Only `\n` survives
/// as a control. Borrows when there is nothing to change, which is the common case.
pub fn inert(text: &str) -> Cow<'_, str> {
    if text.chars().all(|c| c == '\n' || !needs_care(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut column = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                out.push('\n');
                column = 0;
                continue;
            }
            '\t' => {
                let spaces = TAB_WIDTH - column % TAB_WIDTH;
                out.extend(std::iter::repeat_n(' ', spaces));
                column += spaces;
                continue;
            }
            // CRLF line ends are ordinary line ends, not a stray carriage return.
            '\r' if chars.peek() == Some(&'\n') => continue,
            '\u{1b}' => {
                skip_escape(&mut chars);
                continue;
            }
            _ => {}
        }
        let shown = if is_bidi_control(c) {
            PLACEHOLDER
        } else if let Some(picture) = control_picture(c) {
            picture
        } else if c.is_control() {
            // C1 controls (U+0080–U+009F): some terminals act on them (U+009B is a CSI).
            PLACEHOLDER
        } else {
            c
        };
        out.push(shown);
        column += 1;
    }
    Cow::Owned(out)
}

/// `text` on one line with its controls and invisible characters spelled out (`\n`,
/// `\u{1b}`, `\u{200b}`), for the raw view. Backslashes and double quotes are escaped too, so
/// the quoted text reads back exactly; everything else (apostrophes, accents, emoji) is shown
/// as it is.
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '"' => {
                out.push('\\');
                out.push(c);
            }
            c if needs_care(c) => out.extend(c.escape_debug()),
            c if is_invisible(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// Unicode format characters (Cf) and the line and paragraph separators (Zl, Zp): they take
/// no cell, so the raw view would hide that the model sent them (a zero-width space, a byte
/// order mark, a soft hyphen). The Cf ranges of Unicode 16.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
    )
}

/// Characters `inert` changes or drops (all controls and the bidi formatting characters).
fn needs_care(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// Embeddings, overrides (U+202A–U+202E) and isolates (U+2066–U+2069): they reorder what
/// follows them ("Trojan Source"), so the text on screen would not be the text received.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The Unicode control picture of a C0 control or DEL (`␇` for BEL), so people see that
/// something was there and what.
fn control_picture(c: char) -> Option<char> {
    match u32::from(c) {
        n @ 0..=0x1f => char::from_u32(0x2400 + n),
        0x7f => Some('\u{2421}'),
        _ => None,
    }
}

/// Consumes the rest of an escape sequence whose ESC was just read. Follows ECMA-48 loosely:
/// whatever does not fit a sequence ends it and is then read as ordinary text, so a stray ESC
/// can only ever hide the sequence it starts.
fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.peek().copied() {
        // CSI: parameters and intermediates (0x20–0x3F), then one final byte (0x40–0x7E).
        Some('[') => {
            chars.next();
            while let Some(&c) = chars.peek() {
                match c {
                    '\u{20}'..='\u{3f}' => {
                        chars.next();
                    }
                    '\u{40}'..='\u{7e}' => {
                        chars.next();
                        return;
                    }
                    _ => return,
                }
            }
        }
        // OSC, DCS, SOS, PM, APC: a string ended by BEL, ESC \ or the C1 ST. An unended
        // string hides the rest of the text, as it would on a terminal.
        Some(']' | 'P' | 'X' | '^' | '_') => {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\u{07}' | '\u{9c}' => return,
                    '\u{1b}' => {
                        if chars.peek() == Some(&'\\') {
                            chars.next();
                        }
                        return;
                    }
                    _ => {}
                }
            }
        }
        // nF (ESC ( B and the like: intermediates then a final) and the single-character
        // Fp/Fe/Fs sequences (ESC 7, ESC M, ESC c).
        Some('\u{20}'..='\u{7e}') => {
            while let Some(&c) = chars.peek() {
                if !matches!(c, '\u{20}'..='\u{7e}') {
                    return;
                }
                chars.next();
                if !matches!(c, '\u{20}'..='\u{2f}') {
                    return;
                }
            }
        }
        // A lone ESC (at the end, or before text that starts no sequence): just dropped.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_text_is_borrowed() {
        let text = "Hello, wörld — 你好 👋\nsecond line";
        assert!(matches!(inert(text), Cow::Borrowed(_)));
        assert_eq!(inert(text), text);
    }

    #[test]
    fn csi_sequences_are_removed() {
        assert_eq!(inert("\x1b[31mred\x1b[0m plain"), "red plain");
        assert_eq!(inert("a\x1b[2J\x1b[Hb"), "ab");
        assert_eq!(inert("x\x1b[?1049hy"), "xy");
        // Unfinished at the end of the text: gone, nothing dangling.
        assert_eq!(inert("tail\x1b[38;5"), "tail");
    }

    #[test]
    fn osc_strings_are_removed_with_either_terminator() {
        assert_eq!(inert("\x1b]0;pwned title\x07after"), "after");
        assert_eq!(
            inert("\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\"),
            "link"
        );
        assert_eq!(inert("a\x1b]52;c;Zm9v\u{9c}b"), "ab");
        assert_eq!(inert("\x1bPq#0;2;0;0;0\x1b\\ok"), "ok");
        assert_eq!(inert("cut\x1b]0;never ended"), "cut");
    }

    #[test]
    fn the_raw_view_escapes_only_what_must_be() {
        assert_eq!(escaped("it's «ok» ✓"), "it's «ok» ✓");
        assert_eq!(
            escaped("a\"b\\c\nd\u{1b}[31m\u{202e}"),
            "a\\\"b\\\\c\\nd\\u{1b}[31m\\u{202e}"
        );
    }

    #[test]
    fn the_raw_view_shows_invisible_characters() {
        assert_eq!(escaped("\u{feff}a\u{200b}b"), "\\u{feff}a\\u{200b}b");
        assert_eq!(
            escaped("x\u{ad}\u{200d}\u{2060}\u{2028}\u{2029}'"),
            "x\\u{ad}\\u{200d}\\u{2060}\\u{2028}\\u{2029}'"
        );
    }

    #[test]
    fn single_character_escapes_are_removed() {
        assert_eq!(inert("a\x1b7b\x1b8c"), "abc");
        assert_eq!(inert("a\x1bcb"), "ab");
        assert_eq!(inert("a\x1b(Bb"), "ab");
        assert_eq!(inert("end\x1b"), "end");
        assert_eq!(inert("a\x1b\x1b[1mb"), "ab");
        assert_eq!(inert("a\x1b(\x07b"), "a␇b");
    }

    #[test]
    fn other_controls_become_visible_placeholders() {
        assert_eq!(inert("ding\x07"), "ding␇");
        assert_eq!(inert("over\rwrite"), "over␍write");
        assert_eq!(inert("nul\0"), "nul␀");
        assert_eq!(inert("back\x08"), "back␈");
        assert_eq!(inert("del\x7f"), "del␡");
        assert_eq!(inert("c1\u{9b}31m"), "c1\u{FFFD}31m");
        assert_eq!(inert("c1\u{85}"), "c1\u{FFFD}");
    }

    #[test]
    fn crlf_is_a_line_end() {
        assert_eq!(inert("one\r\ntwo"), "one\ntwo");
    }

    #[test]
    fn tabs_expand_to_tab_stops() {
        assert_eq!(inert("\tx"), "    x");
        assert_eq!(inert("ab\tc"), "ab  c");
        assert_eq!(inert("abcd\te"), "abcd    e");
        assert_eq!(inert("ab\n\tc"), "ab\n    c");
    }

    #[test]
    fn bidi_overrides_are_neutralised() {
        let trojan = "access = \u{202e}\u{2066}// admin\u{2069}\u{2066}";
        let shown = inert(trojan);
        assert!(!shown.chars().any(is_bidi_control));
        assert!(shown.contains("// admin"));
    }

    proptest! {
        #[test]
        fn output_holds_no_control_but_newline(text in any::<String>()) {
            let shown = inert(&text);
            for c in shown.chars() {
                prop_assert!(c == '\n' || !c.is_control(), "{c:?} in {shown:?}");
                prop_assert!(!is_bidi_control(c), "{c:?} in {shown:?}");
            }
        }

        // Random strings rarely hold escapes: build text out of the dangerous pieces.
        #[test]
        fn escape_heavy_output_holds_no_control_but_newline(
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just("\x1b".to_string()),
                    Just("\x1b[".to_string()),
                    Just("\x1b]".to_string()),
                    Just("\x07".to_string()),
                    Just("\x1b\\".to_string()),
                    Just("\u{9b}".to_string()),
                    Just("\u{9c}".to_string()),
                    Just("\r".to_string()),
                    Just("\t".to_string()),
                    Just("\n".to_string()),
                    "[ -~]{0,4}",
                    "\\PC{0,3}",
                ],
                0..24,
            )
        ) {
            let text = pieces.concat();
            let shown = inert(&text);
            for c in shown.chars() {
                prop_assert!(c == '\n' || !c.is_control(), "{c:?} in {shown:?}");
            }
        }
    }
}
