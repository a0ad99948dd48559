//! Reading the race file's `[workload] shared_prefix` table: groups of generated prompts that
//! share a prefix, each value checked where it stands.

use toml::Spanned;

use super::Resolver;
use crate::config::error::ConfigError;
use crate::config::raw::RawSharedPrefix;
use crate::config::validate;
use crate::config::{DEFAULT_SUFFIX_TOKENS, SharedPrefixSpec, default_prefix_count};

impl Resolver<'_> {
    /// `shared_prefix = { … }`; `seed` falls back to `[workload] seed`.
    pub(super) fn shared_prefix(
        &self,
        raw: &Spanned<RawSharedPrefix>,
        workload_seed: u64,
    ) -> Result<SharedPrefixSpec, ConfigError> {
        let table = raw.get_ref();
        let key = |field: &str| format!("workload.shared_prefix.{field}");
        let groups = self.check(&table.groups, &key("groups"), |g| {
            validate::prefix_groups(*g)
        })?;
        let prefix_tokens = self.check(&table.prefix_tokens, &key("prefix_tokens"), |t| {
            validate::part_tokens(*t, "prefix_tokens")
        })?;
        let suffix_tokens = if let Some(suffix) = &table.suffix_tokens {
            let tokens = self.check(suffix, &key("suffix_tokens"), |t| {
                validate::part_tokens(*t, "suffix_tokens")
            })?;
            self.check(suffix, &key("suffix_tokens"), |t| {
                validate::shared_prompt_tokens(prefix_tokens, *t)
            })?;
            tokens
        } else {
            let suffix = DEFAULT_SUFFIX_TOKENS;
            self.check(&table.prefix_tokens, &key("prefix_tokens"), |t| {
                validate::shared_prompt_tokens(*t, suffix)
            })?;
            suffix
        };
        let count = match &table.count {
            Some(count) => {
                self.check(count, &key("count"), |c| validate::prefix_count(*c, groups))?
            }
            None => default_prefix_count(groups),
        };
        Ok(SharedPrefixSpec {
            groups,
            prefix_tokens,
            suffix_tokens,
            count,
            seed: table.seed.unwrap_or(workload_seed),
        })
    }
}
