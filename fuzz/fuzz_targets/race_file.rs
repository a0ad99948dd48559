#![no_main]
//! Fuzz target: see `llmrace::fuzzing::race_file` for what it checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmrace::fuzzing::race_file(data));
