//! Which proxy the merged race names: each endpoint's when every shard went through the same
//! one (or none), else none, with a notice saying which shard went which way. A proxy's latency
//! is in every figure of the shards that used it: a merge mixing them says so instead of
//! claiming one proxy for the race.

use crate::config::Shard;
use crate::record::ReplayHeader;

/// The proxy of endpoint `i` the merged race names: the shards' when they all agree.
pub(crate) fn agreed(headers: &[&ReplayHeader], i: usize) -> Option<String> {
    let mut each = headers.iter().map(|h| proxy_of(h, i));
    let first = each.next()??;
    each.all(|p| p == Some(first)).then(|| first.to_string())
}

/// One notice per way the shards differ, naming its endpoints: `endpoint s: shard 0/2 went
/// through the proxy http://u:REDACTED@10.0.0.5:3128, shard 1/2 direct: …`.
pub(crate) fn notices(shards: &[(Shard, &ReplayHeader)]) -> Vec<String> {
    let Some((_, first)) = shards.first() else {
        return Vec::new();
    };
    let mut ways: Vec<(String, Vec<&str>)> = Vec::new();
    for (i, endpoint) in first.endpoints.iter().enumerate() {
        let proxies: Vec<Option<&str>> = shards.iter().map(|(_, h)| proxy_of(h, i)).collect();
        if proxies.iter().all(|p| *p == proxies[0]) {
            continue;
        }
        let way = shards
            .iter()
            .zip(&proxies)
            .map(|((shard, _), proxy)| match proxy {
                Some(proxy) => format!("shard {shard} went through the proxy {proxy}"),
                None => format!("shard {shard} direct"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        match ways.iter_mut().find(|(w, _)| *w == way) {
            Some((_, names)) => names.push(&endpoint.name),
            None => ways.push((way, vec![&endpoint.name])),
        }
    }
    ways.into_iter()
        .map(|(way, names)| {
            let (endpoint, their) = if names.len() == 1 {
                ("endpoint", "its")
            } else {
                ("endpoints", "their")
            };
            format!(
                "{endpoint} {}: {way}; {their} merged figures mix the shards' routes (a \
                 proxy's latency is in the figures of the shards that used it), so no one \
                 proxy is named for the race: each shard's own report tells its route",
                names.join(", ")
            )
        })
        .collect()
}

fn proxy_of(header: &ReplayHeader, i: usize) -> Option<&str> {
    header.endpoints.get(i).and_then(|e| e.proxy.as_deref())
}
