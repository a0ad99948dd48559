//! The AWS region a Bedrock host names: `bedrock-runtime.us-west-2.amazonaws.com`, its FIPS
//! twin, or a VPC endpoint (`vpce-….bedrock-runtime.eu-central-1.vpce.amazonaws.com`).

/// The region in `host`: the label after `bedrock-runtime` (or `bedrock-runtime-fips`) when it
/// has a region's shape (`us-east-1`, `ap-southeast-2`, `us-gov-west-1`); `None` for other
/// hosts (a gateway, 127.0.0.1).
pub fn region_of_host(host: &str) -> Option<&str> {
    let mut labels = host.split('.');
    while let Some(label) = labels.next() {
        if matches!(label, "bedrock-runtime" | "bedrock-runtime-fips") {
            return labels.next().filter(|r| is_region(r));
        }
    }
    None
}

/// `xx-name-N`: lowercase letter groups and a final number, joined by dashes.
fn is_region(label: &str) -> bool {
    let parts: Vec<&str> = label.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_come_from_bedrock_hosts_only() {
        for (host, region) in [
            ("bedrock-runtime.us-east-1.amazonaws.com", Some("us-east-1")),
            (
                "bedrock-runtime-fips.us-west-2.amazonaws.com",
                Some("us-west-2"),
            ),
            (
                "vpce-0a1b.bedrock-runtime.eu-central-1.vpce.amazonaws.com",
                Some("eu-central-1"),
            ),
            (
                "bedrock-runtime.us-gov-west-1.amazonaws.com",
                Some("us-gov-west-1"),
            ),
            ("bedrock-runtime.amazonaws.com", None),
            ("127.0.0.1", None),
            ("gateway.example.com", None),
            ("bedrock.us-east-1.amazonaws.com", None),
        ] {
            assert_eq!(region_of_host(host), region, "{host}");
        }
    }
}
