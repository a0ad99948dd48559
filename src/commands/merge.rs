//! `llmrace merge`: the shards' folders merged into one, the merged race's final table and
//! shards printed, and its thresholds (the race's own and `--fail-if`) judged.

use std::fmt::Write as _;

use super::{CommandError, closing_lines, gate};
use crate::record::run_info::ShardRun;
use crate::{cli, print};

/// `llmrace merge`: returns the process exit code (1 when a threshold holds or a file could
/// not be written).
pub fn merge_command(args: &cli::MergeArgs) -> Result<i32, CommandError> {
    // A threshold that does not parse is refused before anything is read.
    crate::threshold::parse_all(&args.fail_if)?;
    let options = crate::replay::MergeOptions {
        allow_missing: args.allow_missing,
        replace: args.force,
    };
    let merged = crate::replay::merge(&args.shards, &args.out, options)?;
    let (info, summary) = (&merged.run.info, &merged.run.summary);
    // The race's own thresholds, then the flags', each once.
    let mut expressions = info.race.fail_if.clone();
    for expression in &args.fail_if {
        if !expressions.contains(expression) {
            expressions.push(expression.clone());
        }
    }
    let thresholds = crate::threshold::parse_all(&expressions)?;
    let names: Vec<String> = summary.endpoints.iter().map(|e| e.name.clone()).collect();
    crate::threshold::check_endpoints(&thresholds, &names)?;
    crate::threshold::check_streamed(&thresholds, info.race.workload.stream)?;
    for notice in &info.notices {
        print::err(&format!("! {notice}"));
    }
    print::out(&closing_lines(
        &summary.endpoints,
        &summary.costs,
        summary.expected_cache.as_ref(),
    ));
    print::out(&crate::report::proxy::lines(&info.endpoints));
    print::out(&shards_line(&info.shards, &info.missing_shards));
    print::out(&format!("Results: {}\n", merged.dir.display()));
    for failure in &merged.write_failures {
        print::err(&format!("error: {failure}"));
    }
    let gated = gate(&thresholds, summary);
    Ok(if merged.write_failures.is_empty() {
        gated
    } else {
        1
    })
}

/// `Merged 3 of 4 shards: 0/4 on a (start skew +1.2 ms), …; missing: 2/4`.
fn shards_line(shards: &[ShardRun], missing: &[u32]) -> String {
    let count = shards.first().map_or(0, |s| s.count);
    let mut text = format!("Merged {} of {count} shards:", shards.len());
    for (i, shard) in shards.iter().enumerate() {
        let separator = if i == 0 { " " } else { ", " };
        let _ = write!(
            text,
            "{separator}{}/{} on {}",
            shard.index, shard.count, shard.host
        );
        if let Some(skew) = shard.start_skew_ms {
            let _ = write!(text, " (start skew {skew:+.1} ms)");
        }
    }
    if !missing.is_empty() {
        let mut names: Vec<String> = missing
            .iter()
            .take(8)
            .map(|k| format!("{k}/{count}"))
            .collect();
        if missing.len() > 8 {
            names.push(format!("and {} more", missing.len() - 8));
        }
        let _ = write!(text, "; missing: {}", names.join(", "));
    }
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shards_line_names_hosts_skews_and_gaps() {
        let shard = |index, host: &str, skew| ShardRun {
            index,
            count: 3,
            host: host.to_string(),
            start_at: None,
            start_skew_ms: skew,
            folder: None,
        };
        let line = shards_line(&[shard(0, "a", Some(1.25)), shard(2, "b", None)], &[1]);
        assert_eq!(
            line,
            "Merged 2 of 3 shards: 0/3 on a (start skew +1.2 ms), 2/3 on b; missing: 1/3\n"
        );
    }
}
