//! API keys and other secrets: read from the environment, redacted everywhere.
