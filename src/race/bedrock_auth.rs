//! A Bedrock endpoint's authentication, resolved before the race: its `api_key_env` key (a
//! Bedrock API key), or `AWS_BEARER_TOKEN_BEDROCK`, or AWS credentials that sign each request
//! (`aws_auth`); the secret values join the race's redaction. Other protocols pass through.

use std::sync::Arc;

use crate::aws_auth::{self, BedrockAuth, Signer};
use crate::config::EndpointConfig;
use crate::protocol::Protocol;
use crate::secret::{ApiKey, Secrets};

use super::error::RaceError;

/// The key to send (as before, or a Bedrock API key) and the signer of a `SigV4` endpoint.
pub(super) fn resolve(
    endpoint: &EndpointConfig,
    api_key: Option<ApiKey>,
    secrets: &mut Secrets,
) -> Result<(Option<ApiKey>, Option<Arc<Signer>>), RaceError> {
    if endpoint.protocol != Protocol::Bedrock || api_key.is_some() {
        return Ok((api_key, None));
    }
    let simulated = endpoint.base_url.starts_with("mock://");
    match aws_auth::resolve(
        &endpoint.name,
        &endpoint.base_url,
        simulated,
        aws_auth::process_env,
    )? {
        BedrockAuth::Bearer(key) => {
            secrets.add(key.expose());
            Ok((Some(key), None))
        }
        BedrockAuth::SigV4(signer) => {
            for secret in signer.credentials().secrets() {
                secrets.add(secret);
            }
            Ok((None, Some(Arc::new(signer))))
        }
    }
}
