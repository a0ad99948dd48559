//! `SigV4` signing of one Bedrock request, with `aws-sigv4` (the AWS SDKs' own signer): service
//! `bedrock`, the endpoint's region, the time it is sent. Signed as the request is built, just
//! before its write starts, so the race's timing (from the write) does not include it and the
//! signature is never older than the request.

use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http::header::{HeaderName, HeaderValue};

use super::credentials::Credentials;

const SERVICE: &str = "bedrock";

/// Signs requests for one endpoint. `Debug` shows the region and the access key id only.
pub struct Signer {
    identity: Identity,
    credentials: Credentials,
    pub(super) region: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({:?}, {})", self.credentials, self.region)
    }
}

/// Why a request could not be signed (its URL or a header the signer cannot read).
#[derive(Debug, thiserror::Error)]
#[error("the request could not be signed with SigV4: {0}")]
pub struct SignError(String);

impl Signer {
    pub fn new(credentials: Credentials, region: String) -> Signer {
        let identity = aws_credential_types::Credentials::new(
            credentials.access_key_id.clone(),
            credentials.secret_access_key.clone(),
            credentials.session_token.clone(),
            None,
            "llmrace-environment",
        )
        .into();
        Signer {
            identity,
            credentials,
            region,
        }
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Adds `x-amz-date`, `authorization` (and `x-amz-security-token` with temporary
    /// credentials) to `request`, signed for `url` (the request's full URL, as sent), its
    /// headers and `body`, at `at`.
    pub fn sign<B>(
        &self,
        request: &mut http::Request<B>,
        url: &str,
        body: &[u8],
        at: SystemTime,
    ) -> Result<(), SignError> {
        let err = |e: &dyn std::fmt::Display| SignError(e.to_string());
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name(SERVICE)
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| err(&e))?
            .into();
        let headers: Vec<(&str, &str)> = request
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
            .collect();
        let signable = SignableRequest::new(
            request.method().as_str(),
            url,
            headers.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| err(&e))?;
        let (instructions, _signature) = sign(signable, &params).map_err(|e| err(&e))?.into_parts();
        let (headers, _query) = instructions.into_parts();
        for header in headers {
            let name = HeaderName::from_static(header.name());
            let mut value = HeaderValue::from_str(header.value()).map_err(|e| err(&e))?;
            value.set_sensitive(header.sensitive() || name == http::header::AUTHORIZATION);
            request.headers_mut().insert(name, value);
        }
        Ok(())
    }
}
