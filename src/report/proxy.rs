//! Which endpoints went through an HTTP proxy, said under the final table and in the
//! dashboard's notices: a proxy's own latency is in every figure of theirs.

use crate::record::EndpointInfo;

/// One line per proxy (redacted) naming the endpoints that went through it, in race order:
/// `via proxy http://u:REDACTED@127.0.0.1:3128 (its latency is in their figures): turbo, steady`.
pub fn notices(endpoints: &[EndpointInfo]) -> Vec<String> {
    let mut proxies: Vec<(&str, Vec<&str>)> = Vec::new();
    for endpoint in endpoints {
        let Some(proxy) = endpoint.proxy.as_deref() else {
            continue;
        };
        match proxies.iter_mut().find(|(p, _)| *p == proxy) {
            Some((_, names)) => names.push(&endpoint.name),
            None => proxies.push((proxy, vec![&endpoint.name])),
        }
    }
    proxies
        .into_iter()
        .map(|(proxy, names)| {
            format!(
                "via proxy {proxy} (its latency is in their figures): {}",
                names.join(", ")
            )
        })
        .collect()
}

/// [`notices`] as lines to print under the final table (nothing without a proxy).
pub fn lines(endpoints: &[EndpointInfo]) -> String {
    notices(endpoints)
        .into_iter()
        .map(|line| line + "\n")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(name: &str, proxy: Option<&str>) -> EndpointInfo {
        EndpointInfo {
            name: name.to_string(),
            protocol: "openai".to_string(),
            model: "m".to_string(),
            base_url: "https://x/v1".to_string(),
            simulated: false,
            concurrency: 1,
            salt: None,
            proxy: proxy.map(str::to_string),
            http_version: None,
        }
    }

    #[test]
    fn endpoints_are_grouped_by_their_proxy() {
        let a = "http://u:REDACTED@127.0.0.1:3128";
        let b = "http://other:8080";
        let endpoints = [
            endpoint("turbo", Some(a)),
            endpoint("direct", None),
            endpoint("far", Some(b)),
            endpoint("steady", Some(a)),
        ];
        assert_eq!(
            lines(&endpoints),
            "via proxy http://u:REDACTED@127.0.0.1:3128 (its latency is in their figures): \
             turbo, steady\nvia proxy http://other:8080 (its latency is in their figures): far\n"
        );
        assert_eq!(lines(&[endpoint("direct", None)]), "");
    }
}
