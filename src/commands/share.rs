//! `llmrace share`: a recorded race made into a page that plays it in a browser, or an
//! asciinema recording of the dashboard, written to a file or stdout.

use super::{CommandError, tell_damage, tell_format, theme_name};
use crate::{cli, print, share, tui};

/// `llmrace share`: reads the race's replay, samples it, writes the page or the recording.
pub fn share_command(args: &cli::ShareArgs) -> Result<i32, CommandError> {
    if let Some(why) = share::output::refusal(&args.run, &args.out) {
        return Err(CommandError::Format(format!(
            "not writing {}: {why}\n  help: give -o a new file, such as race.html or race.cast",
            args.out.display()
        )));
    }
    let recording = share::record(&args.run)?;
    tell_damage(recording.damage.as_deref());
    tell_format(&recording.header);
    let text = if args.cast() {
        let theme = tui::Theme::new(theme_name(args.theme.as_deref()));
        share::cast::render(&recording, args.size, &theme)
    } else {
        let medals = crate::stats::medals::medals(&recording.last);
        share::page::render(&recording, &medals)
    };
    if args.out.as_os_str() == "-" {
        print::out(&text);
        return Ok(0);
    }
    share::output::write(&args.out, &text).map_err(|source| CommandError::Write {
        path: args.out.clone(),
        source,
    })?;
    print::err(&format!(
        "Wrote {} ({}, {} frames {} s apart, final numbers exact)",
        args.out.display(),
        crate::format::bytes(text.len() as u64),
        recording.frames.len() + 1,
        recording.step.as_secs_f64()
    ));
    Ok(0)
}
