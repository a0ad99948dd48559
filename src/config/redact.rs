//! The race as `run.json` may hold it: URLs redacted, sensitive header values and key-like
//! body fields replaced, by the rules of `secret.rs`.

use std::collections::BTreeMap;

use super::RaceConfig;
use crate::secret::{REDACTED, is_sensitive_header, redact_headers, redact_url};

/// The race as it may be written to `run.json`: URLs redacted, sensitive header values and
/// key-like body fields replaced by `REDACTED`.
pub fn redact_config(cfg: &RaceConfig) -> RaceConfig {
    let mut cfg = cfg.clone();
    for endpoint in &mut cfg.endpoints {
        endpoint.base_url = redact_url(&endpoint.base_url);
        if let super::ServerMetricsSource::Url(url) = &mut endpoint.server_metrics {
            *url = redact_url(url);
        }
        endpoint.headers = redact_headers::<_, _, BTreeMap<_, _>>(&endpoint.headers);
        for (name, value) in &mut endpoint.body {
            if is_sensitive_header(name) {
                *value = serde_json::Value::String(REDACTED.to_string());
            }
        }
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_for_run_json_holds_no_secrets() -> Result<(), Box<dyn std::error::Error>> {
        let mut cfg = crate::config::demo_race();
        let endpoint = cfg.endpoints.first_mut().ok_or("demo has endpoints")?;
        endpoint.base_url = "https://u:pw@h/v1?key=sk-1".into();
        endpoint
            .headers
            .insert("Authorization".into(), "Bearer sk-2".into());
        endpoint.headers.insert("X-Key".into(), "${K}".into());
        endpoint
            .body
            .insert("api_key".into(), serde_json::Value::String("sk-3".into()));
        endpoint.body.insert("top_p".into(), serde_json::json!(0.9));
        let json = serde_json::to_string(&redact_config(&cfg))?;
        for secret in ["sk-1", "pw", "sk-2", "sk-3"] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
        assert!(json.contains("${K}") && json.contains("0.9"));
        Ok(())
    }
}
