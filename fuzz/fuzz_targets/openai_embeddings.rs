#![no_main]
//! Fuzz target: see `llmrace::fuzzing::openai_embeddings` for what it checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmrace::fuzzing::openai_embeddings(data));
