//! API keys and other secrets: read from the environment, redacted everywhere. Nothing in this
//! file ever formats a secret value, not even in errors.

use std::fmt;

/// What every redacted value is replaced with.
pub const REDACTED: &str = "REDACTED";

/// An API key. `Debug` and `Display` never show it; only [`ApiKey::expose`] does, at the one
/// place a request header is built.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Reads the key from environment variable `var` for the endpoint named `endpoint`.
    pub fn from_env(var: &str, endpoint: &str) -> Result<ApiKey, SecretError> {
        match std::env::var(var) {
            Ok(value) => ApiKey::from_value(Some(value), var, endpoint),
            Err(std::env::VarError::NotPresent) => ApiKey::from_value(None, var, endpoint),
            Err(std::env::VarError::NotUnicode(_)) => Err(SecretError::NotUnicode {
                endpoint: endpoint.to_string(),
                var: var.to_string(),
            }),
        }
    }

    /// Like [`ApiKey::from_env`] with the variable's value already looked up (for tests and
    /// for other sources of environment).
    pub fn from_value(
        value: Option<String>,
        var: &str,
        endpoint: &str,
    ) -> Result<ApiKey, SecretError> {
        let unset = || SecretError::Unset {
            endpoint: endpoint.to_string(),
            var: var.to_string(),
        };
        // Keys pasted from files often carry a trailing newline, which would break the header.
        let key = value.ok_or_else(unset)?.trim().to_string();
        if key.is_empty() {
            return Err(SecretError::Empty {
                endpoint: endpoint.to_string(),
                var: var.to_string(),
            });
        }
        // A line break or control character inside the key (two keys pasted together, a
        // file with Windows line ends) cannot go into a header: said here, naming the variable,
        // not later as a bad `authorization` header.
        if key.chars().any(|c| c.is_control() && c != '\t') {
            return Err(SecretError::NotAHeader {
                endpoint: endpoint.to_string(),
                var: var.to_string(),
            });
        }
        Ok(ApiKey(key))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({REDACTED})")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// A secret that could not be read. Messages name the endpoint and the variable, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "endpoint `{endpoint}`: the API key variable {var} is not set\n  help: export {var}=... \
         before starting the race (keys are read from the environment, never from race files)"
    )]
    Unset { endpoint: String, var: String },
    #[error(
        "endpoint `{endpoint}`: the API key variable {var} is set but empty\n  help: export \
         {var}=... with the key as its value"
    )]
    Empty { endpoint: String, var: String },
    #[error(
        "endpoint `{endpoint}`: the API key variable {var} is not valid UTF-8\n  help: export \
         {var}=... again with the key as plain text"
    )]
    NotUnicode { endpoint: String, var: String },
    #[error(
        "endpoint `{endpoint}`: the API key in {var} holds a line break or another control \
         character, which an HTTP header cannot carry\n  help: export {var}=... with the key \
         alone, on one line, as the provider shows it"
    )]
    NotAHeader { endpoint: String, var: String },
}

/// Query parameters whose values are secrets (compared case-insensitively).
const SECRET_PARAMS: [&str; 9] = [
    "key",
    "api_key",
    "api-key",
    "apikey",
    "token",
    "access_token",
    "sig",
    "signature",
    "password",
];

/// `url` with the values of key-like query (and fragment) parameters and any userinfo password
/// replaced by `REDACTED`. Works on any text holding a URL, such as `-e NAME=openai:URL#MODEL`.
pub fn redact_url(url: &str) -> String {
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((head, fragment)) => (head, Some(fragment)),
        None => (url, None),
    };
    let (before_query, query) = match before_fragment.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (before_fragment, None),
    };
    let mut out = redact_userinfo(before_query);
    if let Some(query) = query {
        out.push('?');
        out.push_str(&redact_params(query));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(&redact_params(fragment));
    }
    out
}

fn redact_userinfo(url: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let authority_end = url[authority_start..]
        .find('/')
        .map_or(url.len(), |i| authority_start + i);
    let authority = &url[authority_start..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return url.to_string();
    };
    let password_start = authority_start + colon + 1;
    let password_end = authority_start + at;
    format!(
        "{}{REDACTED}{}",
        &url[..password_start],
        &url[password_end..]
    )
}

fn redact_params(params: &str) -> String {
    params
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_param(name) => format!("{name}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn is_secret_param(name: &str) -> bool {
    SECRET_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(name))
}

/// The secret values a race sends — API keys, sensitive header values, key-like URL
/// parameters — so that text coming back from servers can have them blanked before it is
/// recorded or shown: an error body quoting the key it refused ("Incorrect API key provided:
/// sk-…") would otherwise carry it into the results.
#[derive(Clone, Default)]
pub struct Secrets(Vec<String>);

/// Values shorter than this are not blanked: such a value is no real secret, and blanking a
/// short common word would garble every message it appears in.
const MIN_SECRET_LEN: usize = 8;

impl Secrets {
    /// A secret value; with a scheme (`Bearer sk-…`), the token alone is added too.
    pub fn add(&mut self, value: &str) {
        let value = value.trim();
        let token = value.rsplit(' ').next().unwrap_or(value);
        for v in [value, token] {
            if v.len() >= MIN_SECRET_LEN && !self.0.iter().any(|s| s == v) {
                self.0.push(v.to_string());
            }
        }
        // The longest first, so a token inside a longer value never leaves part of it behind.
        self.0.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// The values of `url`'s key-like query and fragment parameters and its password.
    pub fn add_url(&mut self, url: &str) {
        let after_query = url.split_once('?').map_or("", |(_, q)| q);
        for params in after_query.split('#') {
            for pair in params.split('&') {
                if let Some((name, value)) = pair.split_once('=')
                    && is_secret_param(name)
                {
                    self.add(value);
                }
            }
        }
        let redacted = redact_userinfo(url);
        if redacted != url
            && let Some(start) = redacted.find(REDACTED)
        {
            let rest = &url[start..];
            if let Some(end) = rest.find('@') {
                self.add(&rest[..end]);
            }
        }
    }

    /// `text` with every secret value replaced by `REDACTED`; `None` when it holds none.
    pub fn scrub(&self, text: &str) -> Option<String> {
        if !self.0.iter().any(|s| text.contains(s.as_str())) {
            return None;
        }
        let mut out = text.to_string();
        for secret in &self.0 {
            out = out.replace(secret.as_str(), REDACTED);
        }
        Some(out)
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} values, {REDACTED})", self.0.len())
    }
}

/// Whether a header carries credentials: its value must never be written anywhere.
pub fn is_sensitive_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "x-api-key" | "api-key" | "cookie" | "set-cookie"
    ) || ["key", "token", "secret", "password", "auth"]
        .iter()
        .any(|word| name.contains(word))
}

/// Headers with the values of sensitive ones replaced by `REDACTED`, except values that only
/// refer to environment variables (`${VAR}`, `Bearer ${VAR}`): those hold no secret and show
/// which variable was used.
pub fn redact_headers<K, V, C>(headers: impl IntoIterator<Item = (K, V)>) -> C
where
    K: AsRef<str>,
    V: AsRef<str>,
    C: FromIterator<(String, String)>,
{
    headers
        .into_iter()
        .map(|(name, value)| {
            let (name, value) = (name.as_ref(), value.as_ref());
            let value = if is_sensitive_header(name) && !is_env_reference(value) {
                REDACTED
            } else {
                value
            };
            (name.to_string(), value.to_string())
        })
        .collect()
}

/// `${VAR}` or `SCHEME ${VAR}` (`Bearer ${TOKEN}`): text that names a secret without holding it.
fn is_env_reference(value: &str) -> bool {
    let reference = match value.trim().rsplit_once(' ') {
        Some((scheme, reference)) if scheme.chars().all(|c| c.is_ascii_alphabetic()) => reference,
        Some(_) => return false,
        None => value.trim(),
    };
    reference
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(|var| {
            !var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_never_print() {
        let key = ApiKey::from_value(Some("sk-live-123\n".into()), "K", "e");
        let Ok(key) = key else {
            panic!("key should be accepted");
        };
        assert_eq!(key.expose(), "sk-live-123");
        assert_eq!(format!("{key}"), "REDACTED");
        assert_eq!(format!("{key:?}"), "ApiKey(REDACTED)");
        assert!(!format!("{:?}", Some(&key)).contains("sk-live"));
    }

    #[test]
    fn missing_keys_say_which_endpoint_and_variable() {
        let err = ApiKey::from_value(None, "VLLM_API_KEY", "vllm")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("`vllm`"), "{err}");
        assert!(err.contains("export VLLM_API_KEY=..."), "{err}");
        let err = ApiKey::from_value(Some("  ".into()), "K", "e").err();
        assert!(matches!(err, Some(SecretError::Empty { .. })));
    }

    /// A new user's trial: a key with a line break inside was told as a bad `authorization`
    /// header; it is the variable's value that is wrong, and the value is never shown.
    #[test]
    fn a_key_a_header_cannot_carry_names_its_variable() {
        let err = ApiKey::from_value(Some("sk-one\nsk-two".into()), "KEYS", "cmpl").err();
        assert!(
            matches!(err, Some(SecretError::NotAHeader { .. })),
            "{err:?}"
        );
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.starts_with("endpoint `cmpl`: the API key in KEYS"),
            "{text}"
        );
        assert!(!text.contains("sk-"), "{text}");
        assert!(ApiKey::from_value(Some("sk-a\tb".into()), "K", "e").is_ok());
    }

    #[test]
    fn from_env_reports_unset_variables() {
        let err = ApiKey::from_env("LLMRACE_TEST_SURELY_UNSET_VARIABLE", "x").err();
        assert!(matches!(err, Some(SecretError::Unset { .. })));
    }

    #[test]
    fn urls_lose_keys_and_passwords() {
        assert_eq!(
            redact_url("https://h/v1?api_key=sk-1&model=m&Token=t"),
            "https://h/v1?api_key=REDACTED&model=m&Token=REDACTED"
        );
        assert_eq!(
            redact_url("https://user:hunter2@h:8443/v1"),
            "https://user:REDACTED@h:8443/v1"
        );
        assert_eq!(
            redact_url("https://h/x#access_token=abc"),
            "https://h/x#access_token=REDACTED"
        );
        assert_eq!(
            redact_url("http://localhost:8000/v1"),
            "http://localhost:8000/v1"
        );
        assert_eq!(
            redact_url("mock://steady,ttft=200ms"),
            "mock://steady,ttft=200ms"
        );
        assert_eq!(
            redact_url("https://h/?sig=a%3D&x=1"),
            "https://h/?sig=REDACTED&x=1"
        );
        assert_eq!(redact_url("https://h/?KEY=abc"), "https://h/?KEY=REDACTED");
        assert_eq!(
            redact_url("e=openai:http://u:p@h/v1?key=k#model"),
            "e=openai:http://u:REDACTED@h/v1?key=REDACTED#model"
        );
    }

    #[test]
    fn secrets_quoted_back_by_a_server_are_blanked() {
        let mut secrets = Secrets::default();
        secrets.add("Bearer sk-live-0123456789");
        secrets
            .add_url("https://u:hunter2-long@h/v1?api-key=q-secret-99&model=gpt#key=frag-secret");
        secrets.add("perf");
        let message = "Incorrect API key provided: sk-live-0123456789 (q-secret-99, \
                       hunter2-long, frag-secret); model gpt; perf team";
        let scrubbed = secrets.scrub(message).unwrap();
        for secret in ["sk-live", "q-secret", "hunter2", "frag-secret"] {
            assert!(!scrubbed.contains(secret), "{scrubbed}");
        }
        assert!(scrubbed.contains("model gpt; perf team"), "{scrubbed}");
        assert_eq!(secrets.scrub("nothing to hide"), None);
        assert!(!format!("{secrets:?}").contains("sk-live"));
    }

    #[test]
    fn sensitive_header_names() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "X-API-Key",
            "api-key",
            "Cookie",
            "x-goog-api-key",
            "X-Auth-Token",
            "x-client-secret",
        ] {
            assert!(is_sensitive_header(name), "{name}");
        }
        for name in ["content-type", "x-team", "accept", "user-agent"] {
            assert!(!is_sensitive_header(name), "{name}");
        }
    }

    #[test]
    fn headers_keep_env_references_only() {
        let headers = [
            ("Authorization", "Bearer sk-123"),
            ("X-Api-Key", "${MY_KEY}"),
            ("Authorization2-Token", "Bearer ${TOKEN}"),
            ("X-Secret", "abc${X}"),
            ("X-Team", "perf"),
        ];
        let redacted: Vec<(String, String)> = redact_headers(headers);
        let values: Vec<&str> = redacted.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(
            values,
            [
                "REDACTED",
                "${MY_KEY}",
                "Bearer ${TOKEN}",
                "REDACTED",
                "perf"
            ]
        );
    }
}
