//! The built-in mock LLM server.
