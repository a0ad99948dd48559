//! The end-to-end tests, one binary: a module per subject (`cargo test --test e2e replay::`),
//! shared helpers in `common/`. One binary links the crate once instead of thirty times, and
//! the tests of every subject share the two test threads instead of queuing file by file.
//!
//! Sharing a process is safe because no test changes the process's own global state: the
//! environment, rlimits (`ulimit` in `bash -c`), signal dispositions (`trap`) and working
//! directories are set on child processes only, and signals go to a child's pid, never to this
//! process or its group. What does outlive a test is harmless to the others: a race run in this
//! process (`common::race`) installs handlers for SIGINT, SIGTERM and SIGHUP, which exec resets
//! to the default in every child; the rustls provider is installed once, whoever asks first;
//! tmux sessions are named by one counter for the whole process (`common::tmux`).
//!
//! Apart, in a binary of its own: `tests/llamacpp.rs`, ignored by default, which `.ci/run` runs
//! alone after the others against a real llama.cpp server. proptest keeps the regressions of
//! `protocol_props` in `tests/proptest-regressions/protocol_props.txt` (beside the folder that
//! holds this `main.rs`, where proptest looks for them).

mod common;

mod arena_tmux;
mod bedrock;
mod cache;
mod cli;
mod config_files;
mod crash;
mod dashboard_tmux;
mod deploy;
mod disk;
mod embeddings;
mod every_protocol;
mod fuzz_corpus;
mod gating;
mod http1_framing;
mod http2;
mod images;
mod merge;
mod metrics_export;
mod mock_faults;
mod mock_metrics;
mod mock_profile;
mod mock_server;
mod protocol_bounded;
mod protocol_fixtures;
mod protocol_props;
mod protocol_request;
mod proxy;
mod race_concurrency_ramp;
mod race_connections;
mod race_faults;
mod race_gemini;
mod race_laps;
mod race_late_reads;
mod race_many_bodies;
mod race_open_loop;
mod race_pause;
mod race_protocols;
mod race_responses;
mod race_retries;
mod race_trace;
mod reasoning;
mod reconnect;
mod replay;
mod report_html;
mod secrets;
mod server_scrape;
mod sessions;
mod shards;
mod share;
mod shared_prefix;
mod signals;
mod start_up;
mod sweep;
mod tls;
mod tools;
mod workload_files;
