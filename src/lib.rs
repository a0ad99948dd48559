//! llmrace: race LLM endpoints head to head. This file is the only place that wires the engine,
//! the aggregator, the recorder and the views together.

pub mod cli;
pub mod config;
pub mod event;
pub mod mock;
pub mod protocol;
pub mod secret;
pub mod workload;
