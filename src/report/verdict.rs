//! The verdict of a race's threshold checks, as CI logs show it: a pass/FAIL table and a
//! closing line.

use std::fmt::Write as _;

use crate::threshold::Check;

/// The checks as a table, then a verdict line:
///
/// ```text
///          threshold           endpoint  measured
/// ✓ pass   ttft.p95 > 800ms    vllm      412.3 ms
/// ✗ FAIL   error_rate > 1%     ollama    3.20%
/// 1 of 2 checks failed
/// ```
pub fn render(checks: &[Check]) -> String {
    let width = |f: fn(&Check) -> &str, header: &str| {
        checks
            .iter()
            .map(|c| f(c).chars().count())
            .chain([header.chars().count()])
            .max()
            .unwrap_or(0)
    };
    let expression = width(|c| &c.expression, "threshold");
    let endpoint = width(|c| &c.endpoint, "endpoint");
    let mut out = format!(
        "{:8} {:expression$}  {:endpoint$}  measured\n",
        "", "threshold", "endpoint"
    );
    for check in checks {
        let verdict = if check.passed { "✓ pass" } else { "✗ FAIL" };
        let line = format!(
            "{verdict:8} {:expression$}  {:endpoint$}  {}",
            check.expression, check.endpoint, check.measured
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let failed = checks.iter().filter(|c| !c.passed).count();
    let noun = if checks.len() == 1 { "check" } else { "checks" };
    // Writing to a String cannot fail.
    let _ = if failed == 0 {
        writeln!(out, "all {} {noun} passed", checks.len())
    } else {
        writeln!(out, "{failed} of {} {noun} failed", checks.len())
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lines_up_and_gives_a_verdict() {
        let checks = vec![
            Check {
                expression: "ttft.p95 > 800ms".to_string(),
                endpoint: "vllm".to_string(),
                measured: "412.3 ms".to_string(),
                passed: true,
            },
            Check {
                expression: "error_rate > 1%".to_string(),
                endpoint: "ollama".to_string(),
                measured: "3.20%".to_string(),
                passed: false,
            },
        ];
        let expected = concat!(
            "         threshold         endpoint  measured\n",
            "✓ pass   ttft.p95 > 800ms  vllm      412.3 ms\n",
            "✗ FAIL   error_rate > 1%   ollama    3.20%\n",
            "1 of 2 checks failed\n",
        );
        assert_eq!(render(&checks), expected);
        assert_eq!(
            render(&checks[..1]).lines().last(),
            Some("all 1 check passed")
        );
    }
}
