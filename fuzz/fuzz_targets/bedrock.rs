#![no_main]
//! Fuzz target: see `llmrace::fuzzing::bedrock` for what it checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmrace::fuzzing::bedrock(data));
