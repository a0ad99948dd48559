//! `llmrace report` and `llmrace compare`: saved races read back, rendered, and gated on
//! thresholds or on regressions.

use super::{CommandError, gate};
use crate::{cli, print, report};

/// `llmrace report`: a saved race in the format asked for, optionally its result files rebuilt
/// from the replay, and thresholds checked.
pub fn report_command(args: &cli::ReportArgs) -> Result<i32, CommandError> {
    let thresholds = crate::threshold::parse_all(&args.fail_if)?;
    let format = report::Format::parse(&args.format).map_err(CommandError::Format)?;
    // Only the HTML report draws every request; the others need the summary alone.
    let records = if format == report::Format::Html {
        crate::replay::Records::Keep
    } else {
        crate::replay::Records::Skip
    };
    // Thresholds naming no endpoint, or a TPOT or ITL of a race that did not stream.
    let check_names = |names: Vec<String>, stream: bool| {
        crate::threshold::check_endpoints(&thresholds, &names)
            .and_then(|()| crate::threshold::check_streamed(&thresholds, stream))
            .map_err(CommandError::from)
    };
    // Result files rebuilt from the replay the report is read from: one pass gives both.
    let (run, rebuilt) = match &args.results {
        Some(dir) if crate::replay::load::is_read_from_replay(&args.run) => {
            let reader = crate::record::replay::ReplayReader::open(&args.run)?;
            // A threshold naming no endpoint is refused before anything is written.
            check_names(
                reader
                    .header()
                    .endpoints
                    .iter()
                    .map(|e| e.name.clone())
                    .collect(),
                reader.header().race.workload.stream,
            )?;
            let (dir, run) = crate::replay::report_file(reader, dir, records)?;
            (run, Some(dir))
        }
        _ => (crate::replay::load::load_with(&args.run, records)?, None),
    };
    // A replay's damage is told in the report itself (CSV has no room for it: here), the
    // other notices here.
    let told_here = |notice: &String| {
        format == report::Format::Csv || !crate::record::replay::damage::is_notice(notice)
    };
    for notice in run.info.notices.iter().filter(|n| told_here(n)) {
        print::err(&format!("note: {notice}"));
    }
    check_names(
        run.summary
            .endpoints
            .iter()
            .map(|e| e.name.clone())
            .collect(),
        run.info.race.workload.stream,
    )?;
    if let Some(dir) = &args.results {
        // Its damage, if any, was told with the notices above.
        let dir = if let Some(dir) = rebuilt {
            dir
        } else {
            rebuild_beside(&args.run, dir)?
        };
        print::err(&format!(
            "Result files rebuilt from the replay: {}",
            dir.display()
        ));
    }
    let text = report::render(&run, format);
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).map_err(|source| CommandError::Write {
                path: path.clone(),
                source,
            })?;
            print::err(&format!("Wrote {}", path.display()));
        }
        None => print::out(&text),
    }
    Ok(gate(&thresholds, &run.summary))
}

/// The result files of `run`'s replay rebuilt into `dir`, for a report read from the folder's
/// own files: damage the replay has is told, since the rebuilt files may differ from them.
fn rebuild_beside(
    run: &std::path::Path,
    dir: &std::path::Path,
) -> Result<std::path::PathBuf, CommandError> {
    let reader = crate::record::replay::ReplayReader::open(run)?;
    let (out, replayed) = crate::replay::report_file(reader, dir, crate::replay::Records::Skip)?;
    // The report comes from the folder's own files, which the replay's damage
    // does not touch: the rebuilt files do, and may say something else.
    let damage =
        (replayed.info.notices.iter()).filter(|n| crate::record::replay::damage::is_notice(n));
    let mut damaged = false;
    for notice in damage {
        print::err(&format!("note: {}: {notice}", out.display()));
        damaged = true;
    }
    if damaged {
        print::err(&format!(
            "note: the report printed comes from the result files in {}; {} was \
             rebuilt from its damaged replay and may differ",
            run.display(),
            out.display()
        ));
    }
    Ok(out)
}

/// `llmrace compare`: the last run against the first, and a trend when there are more.
pub fn compare_command(args: &cli::CompareArgs) -> Result<i32, CommandError> {
    let runs = args
        .runs
        .iter()
        .map(|p| crate::replay::load::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    let (Some(base), Some(current)) = (runs.first(), runs.last()) else {
        return Err(CommandError::TwoRunsNeeded);
    };
    for (path, run) in args.runs.iter().zip(&runs) {
        for notice in &run.info.notices {
            print::err(&format!("note: {}: {notice}", path.display()));
        }
    }
    let comparison = report::compare::compare(base, current);
    // Forced, runs that differ are gated on what they share; when they share no endpoint
    // there is nothing to gate on, and no verdict can pass.
    let nothing_compared = comparison.endpoints.is_empty();
    if args.fail_on_regression.is_some() && (!args.force || nothing_compared) {
        let mismatches = report::compare::mismatches(base, current, &comparison);
        if !mismatches.is_empty() {
            let help = if nothing_compared {
                "help: gate runs that share an endpoint (by name); --force cannot gate on nothing"
            } else {
                "help: compare runs of the same race, or add --force to gate on what they have \
                 in common"
            };
            return Err(cannot_gate(args, mismatches.join("; "), help));
        }
    }
    let markdown = matches!(args.format.as_str(), "md" | "markdown");
    if markdown {
        print::out(&report::compare::render_markdown(&comparison));
    } else {
        print::out(&report::compare::render_text(&comparison));
    }
    print::out(&report::compare::servers(base, current, markdown));
    if let Some(unchecked) = report::compare::unchecked(base, current) {
        print::out(&format!("{unchecked}\n"));
    }
    // What the runs sent (prompts, turns, images, cache mode) decides their numbers as much
    // as the endpoints do: said under every comparison, gated or not.
    let workload = report::compare::workload_differences(base, current);
    if !workload.is_empty() {
        print::out(&format!(
            "the runs sent different workloads ({}): changes may come from that\n",
            workload.join("; ")
        ));
    }
    let differences = report::compare::setup_differences(base, current);
    if !differences.is_empty() {
        print::out(&format!(
            "the runs differ in load, endpoints or cache hits ({}): changes may come from that\n",
            differences.join("; ")
        ));
    }
    if runs.len() > 2 {
        print::out("\n");
        print::out(&report::compare::trend(&runs));
    }
    let Some(pct) = args.fail_on_regression else {
        return Ok(0);
    };
    // A gate that could judge nothing must not pass: "no regression" would be unfounded.
    let (judged, metrics) = report::compare::judged(&comparison);
    if judged == 0 {
        return Err(cannot_gate(
            args,
            format!(
                "not enough samples to judge any metric (each test needs at least {} \
                 succeeded requests per endpoint in both runs)",
                report::compare::MIN_SAMPLES
            ),
            "help: race more requests (-n) in both runs",
        ));
    }
    if judged < metrics {
        print::err(&format!(
            "note: {} of {metrics} metrics could not be judged (not enough samples or no \
             data): the gate covers the other {judged}",
            metrics - judged
        ));
    }
    let regressions = report::compare::regressions(&comparison, pct);
    if regressions.is_empty() {
        print::err(&format!("No regression beyond noise and {pct}%."));
        return Ok(0);
    }
    print::err(&format!("Regressions beyond noise and {pct}%:"));
    for r in &regressions {
        print::err(&format!("  {r}"));
    }
    Ok(1)
}

/// `compare --fail-on-regression` refusing to judge the last run against the first.
fn cannot_gate(args: &cli::CompareArgs, why: String, help: &str) -> CommandError {
    CommandError::CannotGate {
        current: args.runs[args.runs.len() - 1].clone(),
        base: args.runs[0].clone(),
        why,
        help: help.to_string(),
    }
}
