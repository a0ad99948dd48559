//! Colours and styles of the dashboard: dark, light and a colour-blind-safe palette, and plain
//! (no colour at all) when `NO_COLOR` is set. Views ask the theme; they never name colours.

use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThemeName {
    Dark,
    Light,
    ColorBlind,
    /// No colours, only bold, dim and reverse (for `NO_COLOR`).
    Plain,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Theme {
    pub name: ThemeName,
    pub text: Style,
    pub dim: Style,
    pub title: Style,
    pub border: Style,
    /// The leader of the leaderboard, the winner of a metric.
    pub leader: Style,
    pub good: Style,
    pub warn: Style,
    pub bad: Style,
    /// The selected lane or row.
    pub selected: Style,
    /// Reasoning text, shown apart from the answer.
    pub reasoning: Style,
    /// The first-token marker in a response.
    pub marker: Style,
    /// Lane colours, used in order for endpoints that did not choose one.
    pub lanes: Vec<Color>,
}

impl Theme {
    pub fn new(name: ThemeName) -> Theme {
        let base = Theme {
            name,
            text: Style::default(),
            dim: Style::default().add_modifier(Modifier::DIM),
            title: Style::default().add_modifier(Modifier::BOLD),
            border: Style::default().add_modifier(Modifier::DIM),
            leader: Style::default().add_modifier(Modifier::BOLD),
            good: Style::default(),
            warn: Style::default().add_modifier(Modifier::BOLD),
            bad: Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED),
            selected: Style::default().add_modifier(Modifier::REVERSED),
            reasoning: Style::default().add_modifier(Modifier::ITALIC | Modifier::DIM),
            marker: Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            lanes: vec![Color::Reset],
        };
        match name {
            ThemeName::Plain => base,
            ThemeName::Dark => Theme {
                title: base.title.fg(Color::White),
                border: Style::default().fg(Color::DarkGray),
                leader: base.leader.fg(Color::Yellow),
                good: Style::default().fg(Color::Green),
                warn: base.warn.fg(Color::Yellow),
                bad: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
                selected: Style::default().bg(Color::DarkGray),
                reasoning: base.reasoning.fg(Color::Gray),
                marker: base.marker.fg(Color::Yellow),
                lanes: vec![
                    Color::Cyan,
                    Color::Green,
                    Color::Yellow,
                    Color::Magenta,
                    Color::Blue,
                    Color::LightRed,
                    Color::LightCyan,
                    Color::LightGreen,
                ],
                ..base
            },
            ThemeName::Light => Theme {
                title: base.title.fg(Color::Black),
                border: Style::default().fg(Color::Gray),
                leader: base.leader.fg(Color::Rgb(0x8a, 0x5a, 0x00)),
                good: Style::default().fg(Color::Rgb(0x1a, 0x7f, 0x37)),
                warn: base.warn.fg(Color::Rgb(0x9a, 0x67, 0x00)),
                bad: Style::default()
                    .fg(Color::Rgb(0xcf, 0x22, 0x2e))
                    .add_modifier(Modifier::BOLD),
                selected: Style::default().bg(Color::Rgb(0xdd, 0xe4, 0xee)),
                reasoning: base.reasoning.fg(Color::DarkGray),
                marker: base.marker.fg(Color::Rgb(0x9a, 0x67, 0x00)),
                lanes: vec![
                    Color::Rgb(0x09, 0x69, 0xda),
                    Color::Rgb(0x1a, 0x7f, 0x37),
                    Color::Rgb(0x9a, 0x67, 0x00),
                    Color::Rgb(0x82, 0x50, 0xdf),
                    Color::Rgb(0xbf, 0x39, 0x89),
                    Color::Rgb(0x0a, 0x7e, 0x8c),
                    Color::Rgb(0xbc, 0x4c, 0x00),
                    Color::Rgb(0x57, 0x60, 0x6a),
                ],
                ..base
            },
            // Okabe–Ito: distinguishable with the common colour-vision deficiencies.
            ThemeName::ColorBlind => Theme {
                title: base.title.fg(Color::White),
                border: Style::default().fg(Color::DarkGray),
                leader: base.leader.fg(Color::Rgb(0xf0, 0xe4, 0x42)),
                good: Style::default().fg(Color::Rgb(0x00, 0x9e, 0x73)),
                warn: base.warn.fg(Color::Rgb(0xe6, 0x9f, 0x00)),
                bad: Style::default()
                    .fg(Color::Rgb(0xd5, 0x5e, 0x00))
                    .add_modifier(Modifier::BOLD),
                selected: Style::default().bg(Color::DarkGray),
                reasoning: base.reasoning.fg(Color::Gray),
                marker: base.marker.fg(Color::Rgb(0xf0, 0xe4, 0x42)),
                lanes: vec![
                    Color::Rgb(0x56, 0xb4, 0xe9),
                    Color::Rgb(0xe6, 0x9f, 0x00),
                    Color::Rgb(0x00, 0x9e, 0x73),
                    Color::Rgb(0xcc, 0x79, 0xa7),
                    Color::Rgb(0x00, 0x72, 0xb2),
                    Color::Rgb(0xd5, 0x5e, 0x00),
                    Color::Rgb(0xf0, 0xe4, 0x42),
                    Color::Rgb(0x99, 0x99, 0x99),
                ],
                ..base
            },
        }
    }

    /// The colour of lane `index`: the race file's choice, else the palette's, in order.
    pub fn lane(&self, index: usize, chosen: Option<&str>) -> Style {
        if self.name == ThemeName::Plain {
            return Style::default();
        }
        let color = chosen
            .and_then(parse_color)
            .unwrap_or_else(|| self.lanes[index % self.lanes.len()]);
        Style::default().fg(color)
    }
}

/// A colour name as the race file spells it (`light_blue`, `dark_gray`) or `#rrggbb`.
pub fn parse_color(name: &str) -> Option<Color> {
    if let Some(hex) = name.strip_prefix('#') {
        let n = u32::from_str_radix(hex, 16)
            .ok()
            .filter(|_| hex.len() == 6)?;
        let [_, r, g, b] = n.to_be_bytes();
        return Some(Color::Rgb(r, g, b));
    }
    name.replace('_', "").parse::<Color>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_from_race_files() {
        assert_eq!(parse_color("cyan"), Some(Color::Cyan));
        assert_eq!(parse_color("light_blue"), Some(Color::LightBlue));
        assert_eq!(parse_color("dark_gray"), Some(Color::DarkGray));
        assert_eq!(parse_color("#ff8000"), Some(Color::Rgb(255, 128, 0)));
        assert_eq!(parse_color("#ff80"), None);
        assert_eq!(parse_color("nope"), None);
    }

    #[test]
    fn plain_has_no_colour() {
        let t = Theme::new(ThemeName::Plain);
        assert_eq!(t.lane(0, Some("red")), Style::default());
        assert_eq!(t.bad.fg, None);
    }
}
