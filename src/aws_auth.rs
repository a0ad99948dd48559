//! How a Bedrock endpoint proves who it is: a Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`, sent
//! as `Authorization: Bearer`), or AWS credentials (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) that sign each request with `SigV4` for the
//! endpoint's region. Read from the environment, never from race files, and never shown: the
//! secret key and the session token go to the race's redaction like API keys.

mod credentials;
mod region;
mod signer;

pub use credentials::Credentials;
pub use region::region_of_host;
pub use signer::{SignError, Signer};

use crate::secret::ApiKey;

pub const ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
pub const SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
pub const SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
pub const REGION: &str = "AWS_REGION";
pub const DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
pub const BEARER_TOKEN: &str = "AWS_BEARER_TOKEN_BEDROCK";

/// The region the built-in mock's requests are signed for when nothing names one.
const MOCK_REGION: &str = "us-east-1";

/// How one Bedrock endpoint authenticates.
#[derive(Debug)]
pub enum BedrockAuth {
    /// A Bedrock API key, sent as a bearer token.
    Bearer(ApiKey),
    /// `SigV4` signatures, made as each request is sent.
    SigV4(Signer),
}

/// Why a Bedrock endpoint cannot authenticate. Messages name variables, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsAuthError {
    #[error(
        "endpoint `{endpoint}`: no AWS credentials for Bedrock: neither {BEARER_TOKEN} nor \
         {ACCESS_KEY_ID} and {SECRET_ACCESS_KEY} are set\n  help: export {ACCESS_KEY_ID}=... and \
         {SECRET_ACCESS_KEY}=... (and {SESSION_TOKEN}=... for temporary credentials), or a \
         Bedrock API key as {BEARER_TOKEN}=..., before starting the race"
    )]
    NoCredentials { endpoint: String },
    #[error(
        "endpoint `{endpoint}`: {set} is set but {missing} is not\n  help: export {missing}=... \
         too: SigV4 signing needs both the access key id and the secret access key"
    )]
    HalfCredentials {
        endpoint: String,
        set: &'static str,
        missing: &'static str,
    },
    #[error(
        "endpoint `{endpoint}`: the variable {var} is not valid UTF-8 or holds characters a \
         header cannot carry\n  help: export {var}=... again with the value as plain text"
    )]
    BadValue { endpoint: String, var: &'static str },
    #[error(
        "endpoint `{endpoint}`: no AWS region to sign for: the host {host} names none and \
         {REGION} and {DEFAULT_REGION} are not set\n  help: export {REGION}=us-east-1 (the \
         region the endpoint serves), or use the endpoint \
         https://bedrock-runtime.REGION.amazonaws.com"
    )]
    NoRegion { endpoint: String, host: String },
}

/// The authentication of Bedrock endpoint `endpoint` at `base_url`, from `env` (the process
/// environment, or a test's). A Bedrock API key wins over credentials, as in the AWS SDKs.
/// The region is the one the host names (`bedrock-runtime.us-west-2.amazonaws.com`: a
/// signature for another region is refused there), else `AWS_REGION`, else
/// `AWS_DEFAULT_REGION`; a `simulated` endpoint (the built-in mock) with no credentials at
/// all is signed with placeholder ones, so a mock race needs no AWS account. A variable set to
/// nothing (or to blanks) counts as unset.
pub fn resolve(
    endpoint: &str,
    base_url: &str,
    simulated: bool,
    env: impl Fn(&str) -> Option<Result<String, ()>>,
) -> Result<BedrockAuth, AwsAuthError> {
    let read = |var: &'static str| -> Result<Option<String>, AwsAuthError> {
        match env(var) {
            None => Ok(None),
            Some(Ok(value)) => {
                let value = value.trim().to_owned();
                // An empty variable is an unset one, as in the AWS CLI and SDKs: a stray
                // `AWS_BEARER_TOKEN_BEDROCK=` must not stop a race that has credentials.
                if value.is_empty() {
                    Ok(None)
                } else if !value.bytes().all(|b| b.is_ascii_graphic()) {
                    Err(AwsAuthError::BadValue {
                        endpoint: endpoint.to_owned(),
                        var,
                    })
                } else {
                    Ok(Some(value))
                }
            }
            Some(Err(())) => Err(AwsAuthError::BadValue {
                endpoint: endpoint.to_owned(),
                var,
            }),
        }
    };
    if let Some(token) = read(BEARER_TOKEN)? {
        let key = ApiKey::from_value(Some(token), BEARER_TOKEN, endpoint).map_err(|_| {
            AwsAuthError::BadValue {
                endpoint: endpoint.to_owned(),
                var: BEARER_TOKEN,
            }
        })?;
        return Ok(BedrockAuth::Bearer(key));
    }
    let credentials = match (read(ACCESS_KEY_ID)?, read(SECRET_ACCESS_KEY)?) {
        (Some(access_key_id), Some(secret_access_key)) => Credentials {
            access_key_id,
            secret_access_key,
            session_token: read(SESSION_TOKEN)?,
        },
        (Some(_), None) => {
            return Err(AwsAuthError::HalfCredentials {
                endpoint: endpoint.to_owned(),
                set: ACCESS_KEY_ID,
                missing: SECRET_ACCESS_KEY,
            });
        }
        (None, Some(_)) => {
            return Err(AwsAuthError::HalfCredentials {
                endpoint: endpoint.to_owned(),
                set: SECRET_ACCESS_KEY,
                missing: ACCESS_KEY_ID,
            });
        }
        (None, None) if simulated => Credentials {
            access_key_id: "AKIDLLMRACEMOCK".to_owned(),
            secret_access_key: "llmrace-mock-placeholder-secret".to_owned(),
            session_token: None,
        },
        (None, None) => {
            return Err(AwsAuthError::NoCredentials {
                endpoint: endpoint.to_owned(),
            });
        }
    };
    let host = host_of(base_url);
    let region = match region_of_host(host) {
        Some(region) => region.to_owned(),
        None => match read(REGION)?.or(read(DEFAULT_REGION)?) {
            Some(region) => region,
            None if simulated => MOCK_REGION.to_owned(),
            None => {
                return Err(AwsAuthError::NoRegion {
                    endpoint: endpoint.to_owned(),
                    host: host.to_owned(),
                });
            }
        },
    };
    Ok(BedrockAuth::SigV4(Signer::new(credentials, region)))
}

/// The process environment, as [`resolve`] reads it.
pub fn process_env(var: &str) -> Option<Result<String, ()>> {
    match std::env::var(var) {
        Ok(value) => Some(Ok(value)),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => Some(Err(())),
    }
}

/// The host of a URL (`https://host:port/path` → `host`).
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

#[cfg(test)]
mod tests;
