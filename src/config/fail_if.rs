//! Thresholds (`fail_if`) from the race file and from `--fail-if`, each parsed before anything
//! is sent, so a typo is a configuration error that points at where it was written.

use crate::threshold;

use super::RaceConfig;
use super::error::{ConfigError, Location};

/// Appends `--fail-if` expressions to the race's thresholds (each parsed, so a typo is refused
/// before anything is sent) and checks that every endpoint prefix, the file's included, names
/// an endpoint of the race as it will run. `origin` is where the race's own thresholds came
/// from, for that last message.
pub fn add_fail_if(
    race: &mut RaceConfig,
    exprs: &[String],
    origin: &Location,
) -> Result<(), ConfigError> {
    for expr in exprs {
        threshold::parse(expr)
            .map_err(|e| threshold_error(Location::CommandLine, "--fail-if", &e))?;
    }
    let from_file = race.fail_if.len();
    race.fail_if.extend(exprs.iter().cloned());
    let parsed: Vec<_> = race
        .fail_if
        .iter()
        .filter_map(|expr| threshold::parse(expr).ok())
        .collect();
    let names: Vec<String> = race.endpoints.iter().map(|e| e.name.clone()).collect();
    let checked = threshold::check_endpoints(&parsed, &names)
        .and_then(|()| threshold::check_streamed(&parsed, race.workload.stream));
    if let Err(e) = checked {
        let index = race.fail_if.iter().position(|t| t.trim() == e.expression);
        let (at, key) = match index {
            Some(i) if i >= from_file => (Location::CommandLine, "--fail-if".to_string()),
            Some(i) => (origin.clone(), format!("thresholds.fail_if[{i}]")),
            None => (origin.clone(), "thresholds.fail_if".to_string()),
        };
        return Err(threshold_error(at, key, &e));
    }
    Ok(())
}

/// A threshold problem as a configuration error: the expression with its caret in the problem.
pub(super) fn threshold_error(
    at: Location,
    key: impl Into<String>,
    e: &threshold::ThresholdError,
) -> ConfigError {
    ConfigError::invalid(
        at,
        key,
        format!("{}\n{}", e.problem, e.pointer("    ")),
        e.help.clone(),
    )
}
