//! The race's field: each endpoint of the race file resolved for racing (its key read, its
//! headers filled in, a built-in mock started for `mock://`), and what must never be shown of it.

use std::sync::Arc;

use crate::config::{CacheMode, RaceConfig};
use crate::engine::{Target, TargetSpec};
use crate::event::EndpointId;
use crate::record::EndpointInfo;
use crate::{mock, secret, workload};

use super::error::RaceError;

/// Endpoints resolved for racing: targets ready to send, with the mock servers they need
/// kept alive for the race.
pub(crate) struct Field {
    pub targets: Vec<Arc<Target>>,
    pub info: Vec<EndpointInfo>,
    /// What the race sends that must never come back into a file or onto the screen.
    pub secrets: secret::Secrets,
    _mocks: Vec<mock::MockServer>,
}

pub(crate) async fn resolve_endpoints(
    config: &RaceConfig,
    prompts: &[workload::Prompt],
    start_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Field, RaceError> {
    let mut targets = Vec::new();
    let mut info = Vec::new();
    let mut mocks = Vec::new();
    let mut secrets = secret::Secrets::default();
    let proxies = Arc::new(crate::proxy_env::Proxies::resolve(&config.proxy, |var| {
        std::env::var(var)
    })?);
    for (i, endpoint) in config.endpoints.iter().enumerate() {
        let api_key = endpoint
            .api_key_env
            .as_deref()
            .map(|var| secret::ApiKey::from_env(var, &endpoint.name))
            .transpose()?;
        let (api_key, signer) = super::bedrock_auth::resolve(endpoint, api_key, &mut secrets)?;
        let headers = endpoint.resolve_headers()?;
        if let Some(key) = &api_key {
            secrets.add(key.expose());
        }
        for (name, value) in &headers {
            if secret::is_sensitive_header(name) {
                secrets.add(value);
            }
        }
        secrets.add_url(&endpoint.base_url);
        let (base_url, simulated) = served_at(endpoint, &mut mocks).await?;
        let concurrency = endpoint
            .concurrency
            .unwrap_or(config.load.concurrency)
            .max(1);
        // A new salt per endpoint and run: a sweep's levels are runs of their own. A shard's is
        // its race's, the same in every shard (`race/sharding.rs`).
        let salt = (config.workload.cache == CacheMode::Cold).then(|| match config.shard {
            Some(_) => super::sharding::salt(config, start_at, i, &endpoint.name),
            None => workload::salt::fresh(),
        });
        let spec = TargetSpec {
            id: EndpointId(u16::try_from(i).unwrap_or(u16::MAX)),
            name: &endpoint.name,
            protocol: endpoint.protocol,
            base_url: &base_url,
            model: &endpoint.model,
            api_key: api_key.as_ref(),
            headers: &headers,
            body: &endpoint.body,
            max_tokens: endpoint.max_tokens.or(config.workload.max_tokens),
            temperature: config.workload.temperature,
            stream: config.workload.stream,
            // More workers than requests would only open idle connections.
            // A shard's workers: its share of the race's (`config/shard_split.rs`).
            concurrency: crate::capacity::workers(
                &config.load,
                config.shard.map_or(concurrency, |s| s.slots(concurrency)),
            ),
            salt: salt.as_deref(),
            http: endpoint.http,
            embed_batch: config.workload.embed_batch,
        };
        let target = Target::new(&spec, prompts)?;
        let target = match signer {
            Some(signer) => target.signed_by(signer)?,
            None => target,
        };
        // The built-in mock is this process's own server on 127.0.0.1: never through a proxy.
        let target = if simulated {
            target
        } else {
            target.through(Arc::clone(&proxies))?
        };
        for secret in target
            .proxy()
            .into_iter()
            .flat_map(crate::proxy_env::ProxyUrl::secrets)
        {
            secrets.add(secret);
        }
        info.push(EndpointInfo {
            name: endpoint.name.clone(),
            protocol: endpoint.protocol.name().to_string(),
            model: endpoint.model.clone(),
            base_url: secret::redact_url(&endpoint.base_url),
            simulated,
            concurrency,
            salt,
            proxy: target.proxy().map(|p| p.shown().to_string()),
            // Only what a warmed connection negotiated (`race/start_up.rs`): a setting says
            // what was asked for, not what the server speaks.
            http_version: None,
        });
        targets.push(Arc::new(target));
    }
    Ok(Field {
        targets,
        info,
        secrets,
        _mocks: mocks,
    })
}

/// Where an endpoint is served: its own URL, or a built-in mock started for it (`mock://`),
/// kept in `mocks` for the race; and whether it is the mock.
async fn served_at(
    endpoint: &crate::config::EndpointConfig,
    mocks: &mut Vec<mock::MockServer>,
) -> Result<(String, bool), RaceError> {
    let Some(spec) = endpoint.base_url.strip_prefix("mock://") else {
        return Ok((endpoint.base_url.clone(), false));
    };
    let failed = |message: String| RaceError::Mock {
        endpoint: endpoint.name.clone(),
        message,
    };
    let profile = mock::Profile::parse(spec).map_err(|e| failed(e.to_string()))?;
    let server = mock::MockServer::start(([127, 0, 0, 1], 0).into(), profile)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let url = server.base_url(endpoint.protocol);
    mocks.push(server);
    Ok((url, true))
}
