#![no_main]
//! Fuzz target: see `llmrace::fuzzing::server_metrics` for what it checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmrace::fuzzing::server_metrics(data));
