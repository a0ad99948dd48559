//! `llmrace mock`: the built-in mock LLM server, served on its own until a signal.

use super::CommandError;
use crate::race::RaceError;
use crate::{cli, mock, print, protocol};

/// The protocols the start-up banner gives a base URL for (legacy completions share chat's).
const SERVED: [(&str, protocol::Protocol); 7] = [
    ("OpenAI chat / completions", protocol::Protocol::OpenAiChat),
    ("Anthropic Messages", protocol::Protocol::Anthropic),
    ("Ollama", protocol::Protocol::Ollama),
    ("OpenAI Responses", protocol::Protocol::Responses),
    ("Gemini", protocol::Protocol::Gemini),
    ("Bedrock Converse", protocol::Protocol::Bedrock),
    ("OpenAI embeddings", protocol::Protocol::OpenAiEmbeddings),
];

/// `llmrace mock`: serves the mock until Ctrl-C, SIGTERM or SIGHUP.
pub async fn mock_command(args: &cli::MockArgs) -> Result<i32, CommandError> {
    let mock_error = |message: String| RaceError::Mock {
        endpoint: "mock".to_string(),
        message,
    };
    let profile = mock::Profile::parse(&args.profile).map_err(|e| mock_error(e.to_string()))?;
    let ip: std::net::IpAddr = args.host.parse().map_err(|_| {
        mock_error(format!(
            "'{}' is not an IP address; use e.g. --host 127.0.0.1",
            args.host
        ))
    })?;
    let server =
        mock::MockServer::start_with((ip, args.port).into(), profile, args.allow_non_loopback)
            .await
            .map_err(|e| mock_error(e.to_string()))?;
    print::out(&format!(
        "llmrace mock (profile '{}') listening on {}\n",
        args.profile,
        server.addr()
    ));
    for (label, protocol) in SERVED {
        print::out(&format!(
            "  {label:<26} base URL {}\n",
            server.base_url(protocol)
        ));
    }
    print::out("Press Ctrl-C to stop.\n");
    crate::signals::shutdown().await;
    let stats = server.stats();
    server.shutdown().await;
    print::out(&format!(
        "Stopped after {} requests on {} connections.\n",
        stats.requests, stats.connections_accepted
    ));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::SERVED;
    use crate::protocol::Protocol;

    #[test]
    fn the_banner_and_the_help_name_every_protocol_the_mock_speaks() {
        let help = crate::cli::Cli::command()
            .find_subcommand("mock")
            .and_then(|mock| mock.get_long_about().map(ToString::to_string))
            .unwrap_or_default();
        for protocol in Protocol::ALL {
            let shown = if protocol == Protocol::OpenAiCompletions {
                Protocol::OpenAiChat
            } else {
                protocol
            };
            assert!(
                SERVED.iter().any(|(_, p)| *p == shown),
                "{protocol:?} is not in the banner"
            );
        }
        for name in ["Responses", "Anthropic", "Ollama", "Gemini", "Bedrock"] {
            assert!(help.contains(name), "{name} not in: {help}");
        }
    }
}
