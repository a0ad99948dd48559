//! Header values that refer to the environment: `${NAME}` anywhere in a value is replaced by the
//! variable's value when the race starts, so header secrets stay out of race files.

use super::EndpointConfig;
use super::error::ConfigError;

impl EndpointConfig {
    /// The endpoint's extra headers with every `${NAME}` read from the environment.
    pub fn resolve_headers(&self) -> Result<Vec<(String, String)>, ConfigError> {
        self.resolve_headers_with(|var| std::env::var(var).ok())
    }

    /// Like [`EndpointConfig::resolve_headers`], looking variables up with `lookup`.
    pub fn resolve_headers_with(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<(String, String)>, ConfigError> {
        self.headers
            .iter()
            .map(|(name, value)| {
                let value = interpolate(value, &lookup).map_err(|var| ConfigError::HeaderEnv {
                    endpoint: self.name.clone(),
                    header: name.clone(),
                    var,
                })?;
                Ok((name.clone(), value))
            })
            .collect()
    }
}

/// `text` with each `${NAME}` replaced; `Err(NAME)` for the first variable that is not set.
/// A `$` not followed by a well-formed `{NAME}` is kept as it is.
fn interpolate(text: &str, lookup: &impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let name = after.find('}').map(|end| &after[..end]).filter(|name| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if let Some(name) = name {
            let value = lookup(name).ok_or_else(|| name.to_string())?;
            // Values carry no line breaks into a header (a key file's trailing newline).
            out.push_str(value.trim_end_matches(['\r', '\n']));
            rest = &after[name.len() + 1..];
        } else {
            out.push_str("${");
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(var: &str) -> Option<String> {
        match var {
            "TOKEN" => Some("t0k\n".to_string()),
            "TEAM" => Some("perf".to_string()),
            _ => None,
        }
    }

    #[test]
    fn interpolates_references_anywhere() {
        assert_eq!(
            interpolate("Bearer ${TOKEN}", &env),
            Ok("Bearer t0k".into())
        );
        assert_eq!(interpolate("${TEAM}-${TEAM}", &env), Ok("perf-perf".into()));
        assert_eq!(interpolate("plain", &env), Ok("plain".into()));
        assert_eq!(interpolate("a${b c}${", &env), Ok("a${b c}${".into()));
        assert_eq!(interpolate("${NOPE}", &env), Err("NOPE".into()));
    }

    #[test]
    fn unset_variables_name_endpoint_header_and_variable() {
        let mut endpoint = crate::config::demo_race().endpoints.remove(0);
        endpoint.headers.insert("X-Team".into(), "${TEAM}".into());
        endpoint.headers.insert("X-Token".into(), "${NOPE}".into());
        let message = endpoint
            .resolve_headers_with(env)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.contains(&format!("`{}`", endpoint.name)),
            "{message}"
        );
        assert!(message.contains("X-Token"), "{message}");
        assert!(message.contains("export NOPE="), "{message}");

        endpoint.headers.remove("X-Token");
        let resolved = endpoint.resolve_headers_with(env).unwrap_or_default();
        assert_eq!(resolved, [("X-Team".to_string(), "perf".to_string())]);
    }
}
