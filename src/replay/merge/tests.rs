//! Merging on synthetic shards.
