//! The Prometheus text format (0.0.4) and `OpenMetrics` text, read into samples: a metric name,
//! its labels (escapes undone) and a value. `# HELP`, `# TYPE`, `# UNIT` and other comments,
//! timestamps and exemplars are read past; `# EOF` ends the page; CRLF line ends and a BOM are
//! accepted. Histogram and summary series are samples like any other (`_bucket{le=…}`, `_sum`,
//! `_count`, `{quantile=…}`).
//!
//! Written here rather than taken from a crate: `prometheus-parse` splits labels without regard
//! for quotes (a `,` or `=` in a label value breaks it, an open fix since 2024) and knows no
//! `OpenMetrics`; `openmetrics-parser` refuses any page that strays from the `OpenMetrics`
//! grammar, which the 0.0.4 pages of vLLM and llama.cpp do by design. The format is small; the
//! parser is fuzzed (`fuzzing::server_metrics`).
//!
//! Bounded: the work is linear in the page, a page over [`MAX_PAGE_BYTES`] is refused before
//! it is read, one of more than [`MAX_SAMPLES`] series when it gets there, and an error quotes
//! at most [`QUOTE_CHARS`] characters of the line at fault.

use std::fmt::Write as _;

/// Larger pages are refused: vLLM's, with every histogram of a few models, is well under 1 MB.
pub(crate) const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;
/// More samples are refused: a page of a few models' histograms has a few thousand, and each
/// sample read costs some 100 bytes until the page is dropped.
pub(crate) const MAX_SAMPLES: usize = 100_000;
/// How the error of a page of more than [`MAX_SAMPLES`] series begins.
pub(crate) const TOO_MANY_SERIES: &str = "more than";
/// At most this many characters of a bad line are quoted in its error.
const QUOTE_CHARS: usize = 60;

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    /// The value of label `name`, if the sample has it.
    pub(crate) fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `name{label="value",…}`, escaped as the text format escapes them: reads back as itself.
    pub(crate) fn series(&self) -> String {
        let mut out = String::with_capacity(self.name.len() + 16 * self.labels.len());
        let plain = is_plain_name(&self.name);
        if plain {
            out.push_str(&self.name);
        }
        if !plain || !self.labels.is_empty() {
            out.push('{');
            let mut first = true;
            if !plain {
                push_quoted(&mut out, &self.name);
                first = false;
            }
            for (k, v) in &self.labels {
                if !first {
                    out.push(',');
                }
                first = false;
                if is_plain_label(k) {
                    out.push_str(k);
                } else {
                    push_quoted(&mut out, k);
                }
                out.push('=');
                push_quoted(&mut out, v);
            }
            out.push('}');
        }
        out
    }
}

fn push_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// A metric name that needs no quotes (`OpenMetrics` 2 / Prometheus 3 quote any other).
fn is_plain_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

/// A label name that needs no quotes: as a metric name, without colons.
fn is_plain_label(name: &str) -> bool {
    is_plain_name(name) && !name.contains(':')
}

/// Reads a whole page.
///
/// # Errors
/// When the text is not a metrics page (HTML, JSON, binary, a line that is no sample, no
/// sample at all, too large): what was wrong and where, in words for a notice.
pub(crate) fn parse(text: &str) -> Result<Vec<Sample>, String> {
    if text.len() > MAX_PAGE_BYTES {
        return Err(format!(
            "the page is {} MB, over the {} MB llmrace reads",
            text.len() / (1024 * 1024),
            MAX_PAGE_BYTES / (1024 * 1024)
        ));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(kind) = not_a_page(text) {
        return Err(format!("not a metrics page: it looks like {kind}"));
    }
    let mut samples = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() {
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            if comment.trim() == "EOF" {
                break;
            }
            continue;
        }
        if samples.len() == MAX_SAMPLES {
            return Err(format!(
                "{TOO_MANY_SERIES} {MAX_SAMPLES} series on the page, more than llmrace reads"
            ));
        }
        match Line::new(trimmed).sample() {
            Ok(sample) => samples.push(sample),
            Err(why) => {
                return Err(format!("line {}: {why}: `{}`", index + 1, quote(trimmed)));
            }
        }
    }
    if samples.is_empty() {
        return Err("no metrics on the page (it is empty or only comments)".into());
    }
    Ok(samples)
}

/// What a body that is plainly not a metrics page is, judged from its start.
fn not_a_page(text: &str) -> Option<&'static str> {
    if text.contains('\0') {
        return Some("binary data");
    }
    match text.trim_start().chars().next() {
        Some('<') => Some("HTML or XML"),
        Some('[') => Some("JSON"),
        // A line may start with `{` too, when its metric name is quoted: only JSON parses.
        Some('{') if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() => Some("JSON"),
        _ => None,
    }
}

/// The start of a bad line, control characters made visible, for an error.
fn quote(line: &str) -> String {
    let mut out = String::new();
    for (i, c) in line.chars().enumerate() {
        if i == QUOTE_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A cursor over one sample line.
struct Line<'a> {
    rest: &'a str,
}

impl<'a> Line<'a> {
    fn new(line: &'a str) -> Line<'a> {
        Line { rest: line }
    }

    fn skip_blanks(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t']);
    }

    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn sample(mut self) -> Result<Sample, String> {
        let line_len = self.rest.len();
        let mut name = self.name()?.map(str::to_owned);
        let mut labels = Vec::new();
        let after_name = self.rest;
        self.skip_blanks();
        if self.eat('{') {
            self.labels(&mut name, &mut labels)?;
        } else {
            self.rest = after_name;
        }
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return Err("no metric name".into());
        };
        let before = self.rest.len();
        self.skip_blanks();
        if self.rest.len() == before && !self.rest.is_empty() {
            return Err(
                if labels.is_empty() && self.rest.len() + name.len() == line_len {
                    "a metric name has only letters, digits, `_` and `:`".into()
                } else {
                    "a blank expected before the value".into()
                },
            );
        }
        let value = self.number().ok_or("no value after the metric")?;
        let value = parse_value(value).ok_or_else(|| format!("`{}` is no number", quote(value)))?;
        // A timestamp (milliseconds in 0.0.4, seconds in OpenMetrics) or an exemplar may
        // follow; neither is a reading's business.
        self.skip_blanks();
        if !self.rest.is_empty() && !self.rest.starts_with('#') {
            let stamp = self.number().unwrap_or_default();
            if parse_value(stamp).is_none() {
                return Err(format!("`{}` is no timestamp", quote(stamp)));
            }
            self.skip_blanks();
            if !self.rest.is_empty() && !self.rest.starts_with('#') {
                return Err("more after the value and timestamp".into());
            }
        }
        Ok(Sample {
            name,
            labels,
            value,
        })
    }

    /// A bare name at the cursor (`None` when the line starts with `{`, whose first item may
    /// be a quoted name).
    fn name(&mut self) -> Result<Option<&'a str>, String> {
        if self.rest.starts_with('{') {
            return Ok(None);
        }
        let end = self
            .rest
            .char_indices()
            .find(|&(i, c)| {
                !(if i == 0 {
                    is_name_start(c)
                } else {
                    is_name_char(c)
                })
            })
            .map_or(self.rest.len(), |(i, _)| i);
        if end == 0 {
            return Err("a line starts with a metric name or `#`".into());
        }
        let (name, rest) = self.rest.split_at(end);
        self.rest = rest;
        Ok(Some(name))
    }

    /// The labels after `{`, up to and with `}`. A quoted item with no `=` is the metric's name
    /// (`{"name.with.dots", a="b"}`), once, and only where the line began with no name.
    fn labels(
        &mut self,
        name: &mut Option<String>,
        labels: &mut Vec<(String, String)>,
    ) -> Result<(), String> {
        loop {
            self.skip_blanks();
            if self.eat('}') {
                return Ok(());
            }
            let key = if self.rest.starts_with('"') {
                self.quoted()?
            } else {
                let end = self
                    .rest
                    .char_indices()
                    .find(|&(i, c)| {
                        !(if i == 0 {
                            c.is_ascii_alphabetic() || c == '_'
                        } else {
                            c.is_ascii_alphanumeric() || c == '_'
                        })
                    })
                    .map_or(self.rest.len(), |(i, _)| i);
                if end == 0 {
                    return Err("a label name or `}` expected".into());
                }
                let (key, rest) = self.rest.split_at(end);
                self.rest = rest;
                key.to_owned()
            };
            self.skip_blanks();
            if self.eat('=') {
                self.skip_blanks();
                if !self.rest.starts_with('"') {
                    return Err(format!(
                        "the value of label `{}` is not quoted",
                        quote(&key)
                    ));
                }
                let value = self.quoted()?;
                labels.push((key, value));
            } else if name.is_none() && labels.is_empty() {
                *name = Some(key);
            } else {
                return Err(format!("`=` expected after label `{}`", quote(&key)));
            }
            self.skip_blanks();
            if !self.eat(',') {
                self.skip_blanks();
                if self.eat('}') {
                    return Ok(());
                }
                return Err("`,` or `}` expected between labels".into());
            }
        }
    }

    /// A `"…"` string at the cursor, its escapes undone (`\\`, `\"`, `\n`; any other
    /// backslash is kept as written, as Prometheus's own parser does).
    fn quoted(&mut self) -> Result<String, String> {
        let body = &self.rest[1..];
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &body[i + 1..];
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, e @ ('\\' | '"'))) => out.push(e),
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err("a quoted string is not closed".into())
    }

    /// The next blank-delimited token.
    fn number(&mut self) -> Option<&'a str> {
        let end = self.rest.find([' ', '\t']).unwrap_or(self.rest.len());
        let (token, rest) = self.rest.split_at(end);
        self.rest = rest;
        (!token.is_empty()).then_some(token)
    }
}

/// A sample value as the formats write them: decimals, exponents, `+Inf`, `-Inf`, `NaN`.
/// Rust's own float syntax also takes `inf` and `infinity` in any case, harmless here.
fn parse_value(token: &str) -> Option<f64> {
    token.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Sample {
        let mut samples = parse(line).unwrap();
        assert_eq!(samples.len(), 1, "{samples:?}");
        samples.remove(0)
    }

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_plain_sample_and_one_with_labels_timestamp_and_exemplar() {
        let s = one("vllm:num_requests_running 3\n");
        assert_eq!(
            (s.name.as_str(), s.labels.len(), s.value),
            ("vllm:num_requests_running", 0, 3.0)
        );
        let s = one(
            "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n",
        );
        assert_eq!(s.labels, labels(&[("method", "post"), ("code", "200")]));
        assert!((s.value - 1027.0).abs() < f64::EPSILON);
    }

    #[test]
    fn escapes_in_label_values_are_undone_and_written_back() {
        let s = one(r#"m{path="C:\\dir\\",q="say \"hi\"",nl="a\nb",x="a,b=c}"} 1"#);
        assert_eq!(
            s.labels,
            labels(&[
                ("path", "C:\\dir\\"),
                ("q", "say \"hi\""),
                ("nl", "a\nb"),
                ("x", "a,b=c}")
            ])
        );
        assert_eq!(one(&format!("{} 1", s.series())), s);
    }

    #[test]
    fn special_values_and_spacing() {
        assert!(one("a +Inf").value.is_infinite());
        assert!(one("a -Inf").value.is_sign_negative());
        assert!(one("a NaN").value.is_nan());
        assert!((one("a{ x = \"1\" , } 1.5e3").value - 1500.0).abs() < f64::EPSILON);
        assert!((one("\ta{} -0.25 17").value + 0.25).abs() < f64::EPSILON);
    }

    #[test]
    fn comments_crlf_bom_and_eof() {
        let page = "\u{feff}# HELP a Some help.\r\n# TYPE a counter\r\n# UNIT a seconds\r\n\r\na_total 1\r\n# EOF\r\nnot read\n";
        let samples = parse(page).unwrap();
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].name, "a_total");
    }

    #[test]
    fn histogram_and_summary_series_are_samples() {
        let page = "# TYPE h histogram\nh_bucket{le=\"0.1\"} 2\nh_bucket{le=\"+Inf\"} 5\nh_sum 1.5\nh_count 5\n# TYPE s summary\ns{quantile=\"0.99\"} 0.3\ns_sum 4\ns_count 9\n";
        let samples = parse(page).unwrap();
        assert_eq!(samples.len(), 7);
        assert_eq!(samples[1].label("le"), Some("+Inf"));
        assert_eq!(samples[4].series(), "s{quantile=\"0.99\"}");
    }

    #[test]
    fn quoted_metric_names() {
        let s = one(r#"{"my.metric", "a.b"="x"} 2"#);
        assert_eq!(s.name, "my.metric");
        assert_eq!(s.labels, labels(&[("a.b", "x")]));
        assert_eq!(s.series(), r#"{"my.metric","a.b"="x"}"#);
        assert_eq!(one(&format!("{} 2", s.series())), s);
    }

    #[test]
    fn garbage_is_an_error_in_words() {
        let html = "<!DOCTYPE html><html><body>404 Not Found</body></html>";
        assert!(parse(html).unwrap_err().contains("HTML"));
        assert!(
            parse("{\"error\": \"not found\"}")
                .unwrap_err()
                .contains("JSON")
        );
        assert!(parse("a 1\0\x01").unwrap_err().contains("binary"));
        assert!(parse("").unwrap_err().contains("no metrics"));
        assert!(
            parse("# only\n# comments\n")
                .unwrap_err()
                .contains("no metrics")
        );
        assert_eq!(
            parse("404 page not found").unwrap_err(),
            "line 1: a line starts with a metric name or `#`: `404 page not found`"
        );
        let err = parse("ok 1\nbad{a=1} 2").unwrap_err();
        assert!(
            err.starts_with("line 2: the value of label `a` is not quoted"),
            "{err}"
        );
        assert!(parse("a{b=\"open 1").unwrap_err().contains("not closed"));
        assert!(parse("a one").unwrap_err().contains("no number"));
        assert!(parse("a 1 2 3").unwrap_err().contains("more after"));
        assert!(parse("a").unwrap_err().contains("no value"));
        assert!(parse("a-b 1").unwrap_err().contains("metric name"));
        assert!(parse("{a=\"b\"} 1").unwrap_err().contains("no metric name"));
    }

    #[test]
    fn a_huge_line_is_quoted_short_and_a_huge_page_refused() {
        let err = parse(&format!("bad{}", "x".repeat(100_000))).unwrap_err();
        assert!(err.len() < 200, "{err}");
        let page = "a 1\n".repeat(MAX_PAGE_BYTES / 4 + 1);
        assert!(parse(&page).unwrap_err().contains("over the 8 MB"));
        assert_eq!(
            parse(&"a 1\n".repeat(MAX_SAMPLES)).unwrap().len(),
            MAX_SAMPLES
        );
        let many = "a 1\n".repeat(MAX_SAMPLES + 1);
        assert!(
            parse(&many)
                .unwrap_err()
                .contains("more than 100000 series")
        );
    }
}
