//! AWS credentials as read from the environment: the access key id (shown, as AWS shows it in
//! every signature), the secret access key and the session token (never shown).

use std::fmt;

/// AWS credentials. `Debug` never shows the secret key or the token.
#[derive(Clone)]
pub struct Credentials {
    pub(super) access_key_id: String,
    pub(super) secret_access_key: String,
    pub(super) session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credentials({}, {})",
            self.access_key_id,
            crate::secret::REDACTED
        )
    }
}

impl Credentials {
    /// The values that must never be shown: the secret key and the session token.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.secret_access_key.as_str()).chain(self.session_token.as_deref())
    }
}
