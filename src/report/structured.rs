//! What the answers were, beyond their timing: the tool calls they made and, when the
//! requests asked for JSON, the share that was valid JSON. One line per endpoint, the same in
//! the final table and the Markdown and HTML reports.

use crate::format::percent;
use crate::stats::EndpointSnapshot;

/// `name: 22/24 answers valid JSON (91.7%)`, when the endpoint's requests asked for JSON.
pub fn json_line(e: &EndpointSnapshot) -> Option<String> {
    let share = e.counts.json_valid_share()?;
    Some(format!(
        "{}: {}/{} answers valid JSON ({})",
        e.name,
        e.counts.json_valid,
        e.counts.json_checked,
        percent(share)
    ))
}

/// `name: 24 of 24 answers called a tool`, when any did.
pub fn tool_line(e: &EndpointSnapshot) -> Option<String> {
    let n = e.counts.tool_call_requests;
    (n > 0).then(|| {
        format!(
            "{}: {n} of {} answers called a tool",
            e.name, e.counts.succeeded
        )
    })
}

/// Every endpoint's tool and JSON lines, in order: the Markdown and HTML reports' list.
pub fn lines(endpoints: &[EndpointSnapshot]) -> Vec<String> {
    endpoints
        .iter()
        .flat_map(|e| [tool_line(e), json_line(e)])
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_only_when_there_is_something_to_say() {
        let mut run = crate::replay::load::fixture(1, 4);
        let e = &mut run.summary.endpoints[0];
        assert_eq!((json_line(e), tool_line(e)), (None, None));
        e.counts.json_checked = 12;
        e.counts.json_valid = 11;
        e.counts.tool_call_requests = 3;
        let name = e.name.clone();
        assert_eq!(
            json_line(e).as_deref(),
            Some(format!("{name}: 11/12 answers valid JSON (91.7%)").as_str())
        );
        assert!(tool_line(e).is_some_and(|l| l.starts_with(&format!("{name}: 3 of "))));
    }
}
