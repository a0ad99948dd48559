//! Lays styled text out in rows of a given width: word wrapping that respects wide characters,
//! and a gutter label per row (time marks beside a response). The inspector needs the rows
//! themselves, not a wrapped paragraph, to follow the end of a stream and to scroll by rows.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::tui::draw::{char_width, fit};

/// Columns taken by a gutter label and the space after it.
pub const GUTTER: usize = 7;

/// Packs short items (`ok`, `HTTP 200`, `96 tokens`) into as few rows as fit `width`,
/// separated by a dim dot; an item wider than a row is cut.
pub fn pack(items: Vec<Span<'static>>, width: usize, separator: Style) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut line: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for item in items {
        let w = item.width();
        if !line.is_empty() && used + 3 + w > width {
            lines.push(Line::from(std::mem::take(&mut line)));
            used = 0;
        }
        if !line.is_empty() {
            line.push(Span::styled(" · ", separator));
            used += 3;
        }
        let item = if w > width {
            Span::styled(fit(&item.content, width), item.style)
        } else {
            item
        };
        used += item.width();
        line.push(item);
    }
    if !line.is_empty() {
        lines.push(Line::from(line));
    }
    lines
}

#[derive(Clone, Copy)]
struct Cell {
    c: char,
    style: Style,
    width: usize,
    /// Index into `Flow::labels` of a gutter label that belongs to the row this cell ends up on.
    label: Option<usize>,
}

/// Text poured in piece by piece, wrapped at spaces (or anywhere in a word wider than a row).
pub struct Flow {
    width: usize,
    gutter: bool,
    labels: Vec<Span<'static>>,
    pending_label: Option<usize>,
    rows: Vec<Line<'static>>,
    current: Vec<Cell>,
    used: usize,
}

impl Flow {
    /// Rows `width` columns wide in all, the gutter (when asked for) included.
    pub fn new(width: usize, gutter: bool) -> Flow {
        let text_width = if gutter {
            width.saturating_sub(GUTTER)
        } else {
            width
        };
        Flow {
            width: text_width.max(1),
            gutter,
            labels: Vec::new(),
            pending_label: None,
            rows: Vec::new(),
            current: Vec::new(),
            used: 0,
        }
    }

    /// Shows `label` in the gutter of the row where the next visible character lands (the first
    /// label of a row wins).
    pub fn label(&mut self, label: Span<'static>) {
        self.labels.push(label);
        self.pending_label = Some(self.labels.len() - 1);
    }

    /// Text in one style; `\n` starts a new row. Expects inert text.
    pub fn push(&mut self, text: &str, style: Style) {
        for c in text.chars() {
            if c == '\n' {
                self.end_row();
            } else {
                self.push_char(c, style);
            }
        }
    }

    /// Like `push`, with the first visible character in `first` (the first-token marker).
    pub fn push_marked(&mut self, text: &str, style: Style, first: Style) {
        let mut marked = false;
        for c in text.chars() {
            if c == '\n' {
                self.end_row();
            } else if !marked && !c.is_whitespace() {
                marked = true;
                self.push_char(c, first);
            } else {
                self.push_char(c, style);
            }
        }
    }

    /// Ends the current row if anything is on it.
    pub fn break_row(&mut self) {
        if !self.current.is_empty() {
            self.end_row();
        }
    }

    /// A whole row of its own (a heading), after whatever came before.
    pub fn row(&mut self, line: Line<'static>) {
        self.break_row();
        let mut spans = Vec::new();
        if self.gutter {
            spans.push(Span::raw(" ".repeat(GUTTER)));
        }
        spans.extend(line.spans);
        self.rows.push(Line::from(spans));
    }

    pub fn finish(mut self) -> Vec<Line<'static>> {
        self.break_row();
        self.rows
    }

    fn push_char(&mut self, c: char, style: Style) {
        let width = char_width(c);
        if self.used + width > self.width {
            if c == ' ' {
                // A space at the wrap point is the break itself.
                self.end_row();
                return;
            }
            self.wrap();
        }
        // Labels go with words: a space may vanish at a break.
        let label = if c == ' ' {
            None
        } else {
            self.pending_label.take()
        };
        self.used += width;
        self.current.push(Cell {
            c,
            style,
            width,
            label,
        });
    }

    /// Moves the word being written to a new row, or breaks it if it fills a row alone.
    fn wrap(&mut self) {
        let space = self.current.iter().rposition(|cell| cell.c == ' ');
        match space {
            Some(at) if at > 0 => {
                let word = self.current.split_off(at + 1);
                self.current.pop();
                self.end_row();
                self.used = word.iter().map(|cell| cell.width).sum();
                self.current = word;
            }
            _ => self.end_row(),
        }
    }

    fn end_row(&mut self) {
        let cells = std::mem::take(&mut self.current);
        self.used = 0;
        let mut spans = Vec::new();
        if self.gutter {
            let label = cells
                .iter()
                .find_map(|cell| cell.label)
                .and_then(|i| self.labels.get(i));
            spans.push(match label {
                Some(label) => Span::styled(
                    format!("{:>width$} ", label.content, width = GUTTER - 1),
                    label.style,
                ),
                None => Span::raw(" ".repeat(GUTTER)),
            });
        }
        let mut run = String::new();
        let mut run_style = None;
        for cell in cells {
            if run_style.is_some_and(|s| s != cell.style) {
                spans.push(Span::styled(
                    std::mem::take(&mut run),
                    run_style.unwrap_or_default(),
                ));
            }
            run_style = Some(cell.style);
            run.push(cell.c);
        }
        if let Some(style) = run_style {
            spans.push(Span::styled(run, style));
        }
        self.rows.push(Line::from(spans));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(rows: &[Line<'_>]) -> Vec<String> {
        rows.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn wraps_at_spaces() {
        let mut flow = Flow::new(10, false);
        flow.push("the quick brown fox jumps", Style::default());
        assert_eq!(texts(&flow.finish()), ["the quick", "brown fox", "jumps"]);
    }

    #[test]
    fn breaks_words_wider_than_a_row() {
        let mut flow = Flow::new(4, false);
        flow.push("abcdefghij", Style::default());
        assert_eq!(texts(&flow.finish()), ["abcd", "efgh", "ij"]);
    }

    #[test]
    fn wide_characters_do_not_overflow() {
        let mut flow = Flow::new(5, false);
        flow.push("你好世界", Style::default());
        assert_eq!(texts(&flow.finish()), ["你好", "世界"]);
    }

    #[test]
    fn newlines_start_rows_and_blank_lines_stay() {
        let mut flow = Flow::new(20, false);
        flow.push("one\n\ntwo", Style::default());
        assert_eq!(texts(&flow.finish()), ["one", "", "two"]);
    }

    #[test]
    fn labels_follow_their_word_to_the_next_row() {
        let mut flow = Flow::new(GUTTER + 8, true);
        flow.push("hello wo", Style::default());
        flow.label(Span::raw("+1.0s"));
        flow.push("rld again", Style::default());
        assert_eq!(
            texts(&flow.finish()),
            ["       hello", " +1.0s world", "       again"]
        );
    }

    #[test]
    fn pack_fills_rows() {
        let items = vec![
            Span::raw("ok"),
            Span::raw("HTTP 200"),
            Span::raw("96 tokens"),
        ];
        let rows = pack(items, 16, Style::default());
        assert_eq!(texts(&rows), ["ok · HTTP 200", "96 tokens"]);
    }
}
