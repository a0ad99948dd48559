//! The drawing toolkit every view uses: text measured, cut and padded by display width (the
//! columns a terminal gives it: two for a wide CJK character or an emoji, none for a combining
//! mark), a pen that writes into one area of the buffer and never outside it, progress bars and
//! the race clock. Widths are counted grapheme by grapheme, as ratatui's buffer draws them, so
//! what is measured here is what lands on screen.

use std::time::Duration;

use ratatui::buffer::{Buffer, CellWidth};
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use unicode_segmentation::UnicodeSegmentation;

/// Columns one grapheme takes. The buffer skips a grapheme that holds a control character, so
/// it takes none.
fn grapheme_width(grapheme: &str) -> usize {
    if grapheme.contains(char::is_control) {
        0
    } else {
        usize::from(grapheme.cell_width())
    }
}

/// Columns `text` takes on screen.
pub fn width(text: &str) -> usize {
    text.graphemes(true).map(grapheme_width).sum()
}

/// [`width`] as a cell count for layout arithmetic (saturating: no text is that wide).
pub fn text_width(text: &str) -> u16 {
    u16::try_from(width(text)).unwrap_or(u16::MAX)
}

/// Columns `c` takes standing alone (0 for a combining mark, 2 for a wide character).
pub fn char_width(c: char) -> usize {
    let mut utf8 = [0; 4];
    grapheme_width(c.encode_utf8(&mut utf8))
}

/// The longest start of `text` that fits `columns`, never splitting a grapheme (a wide
/// character that would straddle the edge is left out whole).
pub fn take_width(text: &str, columns: usize) -> &str {
    let mut used = 0;
    for (i, grapheme) in text.grapheme_indices(true) {
        used += grapheme_width(grapheme);
        if used > columns {
            return &text[..i];
        }
    }
    text
}

/// `text` cut to at most `columns`, ending in `…` when cut.
pub fn fit(text: &str, columns: usize) -> String {
    if width(text) <= columns {
        return text.to_string();
    }
    match columns {
        0 => String::new(),
        _ => format!("{}…", take_width(text, columns - 1)),
    }
}

/// `text` followed by spaces up to `columns` (a wider text is left as it is).
pub fn pad(text: &str, columns: usize) -> String {
    format!("{text}{}", " ".repeat(columns.saturating_sub(width(text))))
}

/// A progress bar of `width` cells, with eighth blocks for the partial cell.
pub fn bar(fraction: f64, width: u16) -> String {
    const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let cells = f64::from(width) * fraction.clamp(0.0, 1.0);
    let count = |x: f64| usize::try_from(whole(x)).unwrap_or(usize::MAX);
    let full = count(cells.floor());
    let part = count(((cells - cells.floor()) * 8.0).floor());
    let mut s = "█".repeat(full);
    if full < usize::from(width) {
        s.push(if part == 0 { '░' } else { EIGHTHS[part] });
        s.push_str(&"░".repeat(usize::from(width) - full - 1));
    }
    s
}

/// `x` rounded toward zero, as a count of cells, columns or seconds: NaN and negatives give 0,
/// anything too large the largest count.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "`as` from a float saturates and maps NaN to 0: exactly what a count wants"
)]
pub fn whole(x: f64) -> u64 {
    x as u64
}

/// Race time as `01:23.4`, or `1:02:03` past an hour.
pub fn clock(t: Duration) -> String {
    let tenths = t.as_millis() / 100;
    let secs = tenths / 10;
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{:02}:{:02}.{}", secs / 60, secs % 60, tenths % 10)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Writes text into one area of the buffer (a row, a panel), never outside it — so a narrow
/// terminal truncates instead of panicking.
pub struct Pen<'a> {
    pub buf: &'a mut Buffer,
    pub clip: Rect,
}

impl<'a> Pen<'a> {
    pub fn new(buf: &'a mut Buffer, clip: Rect) -> Self {
        Pen { buf, clip }
    }

    /// `text` in the `width` cells from `(x, y)`, aligned, cut to fit.
    pub fn put(&mut self, x: u16, y: u16, width: u16, text: &str, style: Style, align: Align) {
        if !self.clip.contains(Position { x, y }) {
            return;
        }
        let width = width.min(self.clip.right() - x);
        let used = text_width(text).min(width);
        let start = match align {
            Align::Left => x,
            Align::Right => x + (width - used),
        };
        let room = usize::from(width - (start - x));
        self.buf.set_stringn(start, y, text, room, style);
    }

    pub fn left(&mut self, x: u16, y: u16, width: u16, text: &str, style: Style) {
        self.put(x, y, width, text, style, Align::Left);
    }

    pub fn right(&mut self, x: u16, y: u16, width: u16, text: &str, style: Style) {
        self.put(x, y, width, text, style, Align::Right);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_is_one_column_a_character() {
        assert_eq!(width("turbo"), 5);
        assert_eq!(fit("stream_cut", 6), "strea…");
        assert_eq!(fit("ok", 6), "ok");
        assert_eq!(fit("anything", 0), "");
        assert_eq!(pad("ok", 4), "ok  ");
    }

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(width("日本語"), 6);
        assert_eq!(width("🏁 go"), 5);
        assert_eq!(char_width('語'), 2);
        // A wide character that would straddle the edge is left out, not split.
        assert_eq!(take_width("日本語", 3), "日");
        assert_eq!(fit("日本語モデル", 5), "日本…");
        assert_eq!(width(&fit("日本語モデル", 6)), 5);
        assert_eq!(pad("日本", 6), "日本  ");
    }

    #[test]
    fn zero_width_characters_take_none() {
        // `e` and a combining acute accent: one column, and never cut apart.
        let accented = "cafe\u{301}";
        assert_eq!(width(accented), 4);
        assert_eq!(char_width('\u{301}'), 0);
        assert_eq!(fit(accented, 4), accented);
        assert_eq!(take_width("e\u{301}x", 1), "e\u{301}");
        assert_eq!(width("a\u{200b}b"), 2);
    }

    #[test]
    fn emoji_sequences_are_measured_as_drawn() {
        // A family (joined with zero-width joiners) and a flag are one wide grapheme each.
        let family = "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}";
        assert_eq!(width(family), 2);
        assert_eq!(width("\u{1f1ef}\u{1f1f5}"), 2);
        assert_eq!(fit(&format!("{family}{family}"), 3), format!("{family}…"));
    }

    #[test]
    fn what_is_measured_is_what_the_buffer_draws() {
        for text in [
            "日本語 model",
            "cafe\u{301} ☕",
            "🏁 flag \u{1f1ef}\u{1f1f5}",
            "a\tb",
        ] {
            let mut buf = Buffer::empty(Rect::new(0, 0, 40, 1));
            let (end, _) = buf.set_stringn(0, 0, text, 40, Style::default());
            assert_eq!(usize::from(end), width(text), "{text:?}");
        }
    }

    #[test]
    fn the_pen_never_writes_past_its_width() {
        let area = Rect::new(0, 0, 10, 1);
        let mut buf = Buffer::empty(area);
        let mut pen = Pen::new(&mut buf, area);
        pen.left(0, 0, 5, "日本語モデル", Style::default());
        pen.right(5, 0, 5, "語", Style::default());
        assert_eq!(buf, Buffer::with_lines(["日本    語"]));
    }

    #[test]
    fn bars_fill_in_eighths() {
        assert_eq!(bar(0.0, 4), "░░░░");
        assert_eq!(bar(0.5, 4), "██░░");
        assert_eq!(bar(0.55, 4), "██▏░");
        assert_eq!(bar(1.0, 4), "████");
        assert_eq!(bar(7.0, 2), "██");
        assert_eq!(bar(-1.0, 2), "░░");
        assert_eq!(bar(f64::NAN, 2), "░░");
    }

    #[test]
    fn whole_numbers_saturate() {
        assert_eq!(whole(2.9), 2);
        assert_eq!(whole(-3.0), 0);
        assert_eq!(whole(f64::NAN), 0);
        assert_eq!(whole(f64::INFINITY), u64::MAX);
    }
}
