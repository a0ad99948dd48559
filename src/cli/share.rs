//! `llmrace share`'s flags: the race to share and what to make of it.

use std::path::PathBuf;

use clap::Args;

pub const SHARE_LONG_ABOUT: &str = "\
Share a recorded race. --format html (the default) writes ONE self-contained HTML page that
plays the race back in any browser, offline: the race track, the lanes with their numbers, the
arena (one prompt's responses from every endpoint, streaming side by side), play, pause, speed
and seek, then the final table and the medals. Open it with #t=0.5 after its address to start
paused half-way (#t=12s: at 12 seconds). --format cast writes an asciinema recording (v2) of the
dashboard playing the race, for `asciinema play` or a web player. RUN is a results folder (or
its replay file); a race run with --no-replay cannot be shared. Every number is the race's own,
folded from its replay by the same code as the live race; a long race is sampled at a coarser
step (at most 600 frames), its final numbers exact.

Examples:
  llmrace share RUN -o race.html
  llmrace share RUN --format cast -o race.cast --size 160x50
  llmrace share RUN -o - > race.html";

/// `llmrace share`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ShareArgs {
    /// A results folder or a replay file.
    #[arg(value_name = "RUN")]
    pub run: PathBuf,

    /// The file to write (`-` for stdout).
    #[arg(short = 'o', long = "out", value_name = "FILE", required = true)]
    pub out: PathBuf,

    /// html (a page that plays the race in a browser) or cast (an asciinema recording of the
    /// dashboard). Default: cast when the file ends in .cast, else html.
    #[arg(short = 'f', long, value_name = "FORMAT", value_parser = ["html", "cast"])]
    pub format: Option<String>,

    /// The recording's terminal size, `WIDTHxHEIGHT` (cast only).
    #[arg(long, value_name = "WxH", default_value = "120x40",
          value_parser = crate::share::cast::parse_size)]
    pub size: (u16, u16),

    /// The dashboard's colours in the recording: dark, light, colorblind or plain (cast
    /// only; `NO_COLOR` set means plain).
    #[arg(long, value_name = "THEME", value_parser = ["dark", "light", "colorblind", "plain"])]
    pub theme: Option<String>,
}

impl ShareArgs {
    /// Whether a recording (rather than a page) is asked for.
    pub fn cast(&self) -> bool {
        match self.format.as_deref() {
            Some(format) => format == "cast",
            None => self.out.extension().is_some_and(|e| e == "cast"),
        }
    }
}
