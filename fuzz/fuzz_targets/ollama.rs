#![no_main]
//! Fuzz target: see `llmrace::fuzzing::ollama` for what it checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmrace::fuzzing::ollama(data));
