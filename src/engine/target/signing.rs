//! Signing a target's requests (Bedrock with AWS credentials): each one as it is built, just
//! before its write, so the signature carries the time it was sent and the race's timing,
//! which starts at the write, does not include it.

use std::sync::Arc;
use std::time::SystemTime;

use super::{Target, TargetError};
use crate::aws_auth::Signer;

impl Target {
    /// The same target, its requests signed by `signer`; a first request is signed now, so a
    /// URL or header the signer cannot take is a setup error, not a failure of every request.
    pub fn signed_by(mut self, signer: Arc<Signer>) -> Result<Target, TargetError> {
        let mut probe = http::Request::new(());
        *probe.method_mut() = http::Method::POST;
        *probe.headers_mut() = self.headers.clone();
        signer
            .sign(
                &mut probe,
                &self.signing_url(&self.path),
                b"{}",
                SystemTime::now(),
            )
            .map_err(|source| TargetError::Sign {
                endpoint: self.name.clone(),
                source,
            })?;
        self.signer = Some(signer);
        Ok(self)
    }

    /// The full URL a request for `path` goes to, as the signature covers it.
    fn signing_url(&self, path: &str) -> String {
        let scheme = if self.origin.https { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.origin.authority)
    }

    /// Signs `request` when the target has a signer. Its time is the wall clock's, which AWS
    /// checks (a signature more than 5 minutes off is refused), not a race time. Signing
    /// cannot fail here (`signed_by` signed one already); if it did, the request goes
    /// unsigned and the server's refusal says why.
    pub(super) fn sign<B>(&self, request: &mut http::Request<B>, body: &[u8]) {
        let Some(signer) = &self.signer else { return };
        let url = self.signing_url(
            request
                .uri()
                .path_and_query()
                .map_or("/", http::uri::PathAndQuery::as_str),
        );
        let _ = signer.sign(request, &url, body, SystemTime::now());
    }
}
