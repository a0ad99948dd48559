#![no_main]
//! Fuzz target: see `llmrace::fuzzing::gemini` for what it checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmrace::fuzzing::gemini(data));
