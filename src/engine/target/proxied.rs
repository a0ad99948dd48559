//! An endpoint reached through an HTTP proxy: its origin carries the proxy its connections go
//! through (`connection/proxy.rs`), chosen once before the start as curl would choose it.

use std::sync::Arc;

use super::Target;
use crate::engine::connection::Origin;
use crate::proxy_env::{Proxies, ProxyError, ProxyUrl};

impl Target {
    /// This target, its connections going through the proxy `proxies` name for its origin (or
    /// none, when `NO_PROXY` exempts it or no variable applies).
    pub fn through(mut self, proxies: Arc<Proxies>) -> Result<Target, ProxyError> {
        let mut origin = (*self.origin).clone();
        origin.proxy = proxies.for_host(origin.https, &origin.host)?;
        // A forward proxy is spoken to in HTTP/1.1; h2c cannot go through it.
        if let Some(proxy) = origin.proxy.as_deref()
            && !origin.https
            && self.http == crate::config::HttpVersion::Http2
        {
            return Err(ProxyError::PriorKnowledge {
                endpoint: self.name.clone(),
                shown: proxy.shown().to_string(),
            });
        }
        self.origin = Arc::new(origin);
        self.proxies = Some(proxies);
        Ok(self)
    }

    /// The proxy this target's connections go through.
    pub fn proxy(&self) -> Option<&ProxyUrl> {
        self.origin.proxy.as_deref()
    }

    /// The proxy a connection for this endpoint to `origin` (its metrics page) goes through:
    /// chosen as the target's own was. A proxy variable that cannot be used means none here:
    /// the endpoint's own origin did not need it, and a scrape is no reason to stop a race.
    pub fn proxy_for(&self, origin: &Origin) -> Option<Arc<ProxyUrl>> {
        self.proxies
            .as_ref()
            .and_then(|p| p.for_host(origin.https, &origin.host).ok().flatten())
    }
}
