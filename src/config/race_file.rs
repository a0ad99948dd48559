//! Reading a race file: TOML text → raw structs → a [`RaceConfig`] with defaults filled in,
//! refusing anything invalid with the file, line, column and key path of the offending value.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::error::{ConfigError, Location};
use super::raw::{
    RawEndpoint, RawExport, RawImages, RawPrice, RawRace, RawSlo, RawSynthetic, RawThresholds,
    RawTimeouts, RawWorkload,
};
use super::sessions;
use super::toml_error;
use super::validate::{self, Problem};
use super::{
    CacheMode, DEFAULT_BUILTIN, EndpointConfig, ImageSpec, Price, PromptSource, RaceConfig, Slo,
    SyntheticSpec, Timeouts, WorkloadConfig,
};
use crate::threshold;

mod load;
mod shared_prefix;

/// Resolves race-file text; `path` is only used in messages and for the default race name.
#[cfg(any(test, feature = "test-support"))]
pub fn from_toml_str(text: &str, path: &Path) -> Result<RaceConfig, ConfigError> {
    complete(parse_layer(text, path)?)
}

/// A file's layer raced as it is, with nothing on the command line to complete it.
#[cfg(any(test, feature = "test-support"))]
fn complete(layer: FileLayer) -> Result<RaceConfig, ConfigError> {
    if let Some(problem) = layer.open_loop_only {
        return Err(problem);
    }
    let mut race = layer.race;
    super::defaults::fill_defaults(&mut race);
    Ok(race)
}

/// A race file's settings, before the command line is layered over them.
pub(crate) struct FileLayer {
    pub race: RaceConfig,
    /// The file sets something only an open loop uses (`arrivals`, `max_in_flight`) but no
    /// `rate` or `ramp`: refused unless the command line gives one.
    pub open_loop_only: Option<ConfigError>,
}

/// The file's layer: like [`load_file`], but `load.requests` stays unset when the file sets
/// neither `requests` nor `duration`, so a `--duration` flag alone is not capped by the
/// default request count.
pub(crate) fn load_file_layer(path: &Path) -> Result<FileLayer, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|io| ConfigError::Read {
        path: path.to_path_buf(),
        io,
    })?;
    parse_layer(&text, path)
}

fn parse_layer(text: &str, path: &Path) -> Result<FileLayer, ConfigError> {
    if is_blank_toml(text) {
        return Err(ConfigError::Empty {
            path: path.to_path_buf(),
        });
    }
    let raw: RawRace = toml::from_str(text).map_err(|e| toml_error::from_toml(&e, text, path))?;
    let resolver = Resolver { path, text };
    // A trace is a schedule too: its own check says what cannot go with it.
    let traced = raw.workload.as_ref().is_some_and(|w| w.trace.is_some());
    let open_loop_only = raw
        .load
        .as_ref()
        .filter(|_| !traced)
        .and_then(|l| resolver.open_loop_only(l));
    Ok(FileLayer {
        race: resolver.race(raw)?,
        open_loop_only,
    })
}

/// Nothing but whitespace and comments.
fn is_blank_toml(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .all(|line| line.is_empty() || line.starts_with('#'))
}

/// Resolution of one file, so errors can name it and point into it.
struct Resolver<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Resolver<'_> {
    fn at<T>(&self, value: &Spanned<T>) -> Location {
        Location::at_offset(self.path, self.text, value.span().start)
    }

    fn fail<T>(&self, value: &Spanned<T>, key: &str, problem: Problem) -> ConfigError {
        ConfigError::invalid(self.at(value), key, problem.problem, problem.help)
    }

    /// `[workload] embed_batch`, 1 when it is not set.
    fn embed_batch(&self, n: Option<&Spanned<u32>>) -> Result<u32, ConfigError> {
        n.map_or(Ok(1), |n| {
            self.check(n, "workload.embed_batch", |n| validate::embed_batch(*n))
        })
    }

    fn check<T, V>(
        &self,
        value: &Spanned<T>,
        key: &str,
        check: impl FnOnce(&T) -> Result<V, Problem>,
    ) -> Result<V, ConfigError> {
        check(value.get_ref()).map_err(|p| self.fail(value, key, p))
    }

    fn race(&self, raw: RawRace) -> Result<RaceConfig, ConfigError> {
        let name = match &raw.name {
            Some(name) => self.check(name, "name", |n| {
                if n.trim().is_empty() {
                    Err(Problem::new(
                        "race name is empty",
                        r#"write e.g. `name = "vllm vs ollama"`, or leave the key out"#,
                    ))
                } else {
                    Ok(n.clone())
                }
            })?,
            None => self.default_name(),
        };
        let endpoints = self.endpoints(raw.endpoint)?;
        let fail_if = self.thresholds(raw.thresholds.unwrap_or_default(), &endpoints)?;
        if let Some(ramp) = raw.load.as_ref().and_then(|l| l.concurrency_ramp.as_ref())
            && let Some(index) = endpoints.iter().position(|e| e.concurrency.is_some())
        {
            return Err(self.fail(
                ramp,
                "load.concurrency_ramp",
                Problem::new(
                    format!(
                        "endpoint `{}` sets its own `concurrency`, which the ramp would override",
                        endpoints[index].name
                    ),
                    "a concurrency ramp sets every endpoint's requests in flight: remove \
                     `concurrency` from the [[endpoint]] tables, or the ramp",
                ),
            ));
        }
        let trace = raw.workload.as_ref().and_then(|w| w.trace.clone());
        let speed = raw.load.as_ref().and_then(|l| l.trace_speed.clone());
        let race = RaceConfig {
            name,
            workload: self.workload(raw.workload.unwrap_or_default())?,
            load: self.load(raw.load.unwrap_or_default())?,
            timeouts: self.timeouts(&raw.timeouts.unwrap_or_default())?,
            slo: self.slo(&raw.slo.unwrap_or_default())?,
            endpoints,
            fail_if,
            export: self.export(raw.export.unwrap_or_default())?,
            shard: None,
            proxy: crate::proxy_env::ProxyChoice::Env,
        };
        self.check_trace(&race, trace.as_ref(), speed.as_ref())?;
        Ok(race)
    }

    /// A trace with nothing that contradicts it, and a trace speed only with a trace.
    fn check_trace(
        &self,
        race: &RaceConfig,
        trace: Option<&Spanned<String>>,
        speed: Option<&Spanned<f64>>,
    ) -> Result<(), ConfigError> {
        if let (None, Some(speed)) = (trace, speed) {
            return Err(self.fail(
                speed,
                "load.trace_speed",
                Problem::new(
                    "`trace_speed` is set but the workload replays no trace",
                    r#"add `trace = "trace.jsonl"` to [workload], or remove `trace_speed`"#,
                ),
            ));
        }
        match (trace, super::trace_conflict(race)) {
            (Some(trace), Some((key, _))) => Err(self.fail(
                trace,
                "workload.trace",
                Problem::new(
                    format!("a trace and `{key}` cannot go together"),
                    super::trace::CONFLICT_HELP,
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Every `fail_if` expression parsed, and its endpoint prefix checked against the file's
    /// endpoints (when the file has any: `-e` endpoints may replace them, and are checked then).
    fn thresholds(
        &self,
        raw: RawThresholds,
        endpoints: &[EndpointConfig],
    ) -> Result<Vec<String>, ConfigError> {
        let names: Vec<String> = endpoints.iter().map(|e| e.name.clone()).collect();
        for (index, expr) in raw.fail_if.iter().enumerate() {
            let key = format!("thresholds.fail_if[{index}]");
            let fail = |e: &threshold::ThresholdError| {
                super::fail_if::threshold_error(self.at(expr), key.clone(), e)
            };
            let parsed = threshold::parse(expr.get_ref()).map_err(|e| fail(&e))?;
            if !names.is_empty() {
                threshold::check_endpoints(&[parsed], &names).map_err(|e| fail(&e))?;
            }
        }
        Ok(raw.fail_if.into_iter().map(Spanned::into_inner).collect())
    }

    fn price(&self, raw: &Spanned<RawPrice>, key: &str) -> Result<Price, ConfigError> {
        let raw = raw.get_ref();
        let check = |value: &Spanned<f64>, field: &str| {
            self.check(value, &format!("{key}.{field}"), |v| {
                if v.is_finite() && *v >= 0.0 {
                    Ok(*v)
                } else {
                    Err(Problem::new(
                        format!("a price must be 0 or more, not {v}"),
                        "write US dollars per million tokens, 0 or more, e.g. \
                         `price = { input = 3, cached_input = 0.30, cache_write = 3.75, \
                         output = 15 }`",
                    ))
                }
            })
        };
        let optional =
            |value: Option<&Spanned<f64>>, field: &str| value.map(|v| check(v, field)).transpose();
        Ok(Price {
            input: check(&raw.input, "input")?,
            cached_input: optional(raw.cached_input.as_ref(), "cached_input")?,
            cache_write: optional(raw.cache_write.as_ref(), "cache_write")?,
            output: check(&raw.output, "output")?,
        })
    }

    /// The file's stem: `vllm-vs-ollama.toml` races as "vllm-vs-ollama".
    fn default_name(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "race".to_string())
    }

    fn workload(&self, raw: RawWorkload) -> Result<WorkloadConfig, ConfigError> {
        let mut sources: Vec<(&str, PromptSource, std::ops::Range<usize>)> = Vec::new();
        if let Some(prompt) = &raw.prompt {
            self.check(prompt, "workload.prompt", |p| non_empty_prompt(p))?;
            let source = PromptSource::Inline(vec![prompt.get_ref().clone()]);
            sources.push(("prompt", source, prompt.span()));
        }
        if let Some(prompts) = &raw.prompts {
            self.check(prompts, "workload.prompts", |ps| {
                if ps.is_empty() {
                    return Err(Problem::new(
                        "the prompt list is empty",
                        r#"write e.g. `prompts = ["first prompt", "second prompt"]`"#,
                    ));
                }
                ps.iter().try_for_each(|p| non_empty_prompt(p))
            })?;
            let source = PromptSource::Inline(prompts.get_ref().clone());
            sources.push(("prompts", source, prompts.span()));
        }
        if let Some(file) = &raw.prompts_file {
            self.check(file, "workload.prompts_file", |f| {
                if f.trim().is_empty() {
                    Err(Problem::new(
                        "the file name is empty",
                        r#"write e.g. `prompts_file = "prompts.jsonl"` (relative to this race file)"#,
                    ))
                } else {
                    Ok(())
                }
            })?;
            let source = PromptSource::File(PathBuf::from(file.get_ref()));
            sources.push(("prompts_file", source, file.span()));
        }
        if let Some(builtin) = &raw.builtin {
            self.check(builtin, "workload.builtin", |b| validate::builtin(b))?;
            let source = PromptSource::Builtin(builtin.get_ref().clone());
            sources.push(("builtin", source, builtin.span()));
        }
        if let Some(synthetic) = &raw.synthetic {
            let spec = self.synthetic(synthetic, raw.seed.unwrap_or(0))?;
            sources.push(("synthetic", PromptSource::Synthetic(spec), synthetic.span()));
        }
        if let Some(trace) = &raw.trace {
            self.check(trace, "workload.trace", |f| super::trace::file_name(f))?;
            let source = PromptSource::Trace(PathBuf::from(trace.get_ref()));
            sources.push(("trace", source, trace.span()));
        }
        if let Some(shared) = &raw.shared_prefix {
            let spec = self.shared_prefix(shared, raw.seed.unwrap_or(0))?;
            sources.push((
                "shared_prefix",
                PromptSource::SharedPrefix(spec),
                shared.span(),
            ));
        }
        if let [(first, ..), (second, _, span), ..] = sources.as_slice() {
            return Err(ConfigError::invalid(
                Location::at_offset(self.path, self.text, span.start),
                format!("workload.{second}"),
                format!("both `{first}` and `{second}` are given"),
                "choose one prompt source: `prompt`, `prompts`, `prompts_file`, `builtin`, \
                 `synthetic`, `shared_prefix` or `trace`",
            ));
        }
        let prompts = sources.pop().map_or_else(
            || PromptSource::Builtin(DEFAULT_BUILTIN.to_string()),
            |(_, source, _)| source,
        );
        if let Some(max_tokens) = &raw.max_tokens {
            self.check(max_tokens, "workload.max_tokens", |m| {
                validate::at_least_one(u64::from(*m), "max_tokens = 128")
            })?;
        }
        if let Some(temperature) = &raw.temperature {
            self.check(temperature, "workload.temperature", |t| {
                validate::temperature(*t)
            })?;
        }
        Ok(WorkloadConfig {
            prompts,
            max_tokens: raw.max_tokens.map(Spanned::into_inner),
            temperature: raw.temperature.map(Spanned::into_inner),
            stream: raw.stream.unwrap_or(true),
            shuffle: raw.shuffle.unwrap_or(false),
            seed: raw.seed.unwrap_or(0),
            sharegpt_output_len: raw.sharegpt_output_len.unwrap_or(false),
            turns: raw.turns.as_ref().map_or(Ok(1), |n| {
                self.check(n, "workload.turns", |n| sessions::turns(*n))
            })?,
            embed_batch: self.embed_batch(raw.embed_batch.as_ref())?,
            think_time: raw
                .think_time
                .as_ref()
                .map(|t| self.check(t, "workload.think_time", sessions::think_time))
                .transpose()?,
            images: raw.images.as_ref().map(|i| self.images(i)).transpose()?,
            cache: raw.cache.as_ref().map_or(Ok(CacheMode::Cold), |mode| {
                self.check(mode, "workload.cache", |m| cache_mode(m))
            })?,
        })
    }

    /// `images = { … }`, checked value by value.
    fn images(&self, raw: &Spanned<RawImages>) -> Result<ImageSpec, ConfigError> {
        let table = raw.get_ref();
        let key = |field: &str| format!("workload.images.{field}");
        let count = match &table.count {
            Some(count) => self.check(count, &key("count"), |c| validate::image_count(*c))?,
            None => 1,
        };
        let width = self.check(&table.width, &key("width"), |w| validate::image_side(*w))?;
        let height = self.check(&table.height, &key("height"), |h| validate::image_side(*h))?;
        Ok(ImageSpec {
            count,
            width,
            height,
        })
    }

    /// `synthetic = { … }`, checked value by value; `seed` falls back to `[workload] seed`.
    fn synthetic(
        &self,
        raw: &Spanned<RawSynthetic>,
        workload_seed: u64,
    ) -> Result<SyntheticSpec, ConfigError> {
        let table = raw.get_ref();
        let key = |field: &str| format!("workload.synthetic.{field}");
        let input_tokens = self.check(&table.input_tokens, &key("input_tokens"), |n| {
            validate::synthetic_tokens(*n)
        })?;
        let distribution = match &table.distribution {
            Some(d) => self.check(d, &key("distribution"), |d| validate::distribution(d))?,
            None => super::LengthDistribution::Fixed,
        };
        let spread = match &table.spread {
            Some(spread) => self.check(spread, &key("spread"), |s| {
                validate::spread(*s, input_tokens, distribution)
            })?,
            None => input_tokens / 4,
        };
        let count = match &table.count {
            Some(count) => self.check(count, &key("count"), |c| validate::synthetic_count(*c))?,
            None => super::DEFAULT_SYNTHETIC_COUNT,
        };
        Ok(SyntheticSpec {
            input_tokens,
            distribution,
            spread,
            count,
            seed: table.seed.unwrap_or(workload_seed),
        })
    }

    fn export(&self, raw: RawExport) -> Result<super::ExportConfig, ConfigError> {
        Ok(super::ExportConfig {
            prometheus: raw
                .prometheus
                .map(|v| self.check(&v, "export.prometheus", |t| super::listen_addr(t)))
                .transpose()?,
            linger: self.duration(raw.linger.as_ref(), "export.linger")?,
        })
    }

    fn duration(
        &self,
        value: Option<&Spanned<String>>,
        key: &str,
    ) -> Result<Option<Duration>, ConfigError> {
        value
            .map(|v| self.check(v, key, |text| validate::duration(text)))
            .transpose()
    }

    fn timeouts(&self, raw: &RawTimeouts) -> Result<Timeouts, ConfigError> {
        let defaults = Timeouts::default();
        Ok(Timeouts {
            connect: self
                .duration(raw.connect.as_ref(), "timeouts.connect")?
                .unwrap_or(defaults.connect),
            first_token: self
                .duration(raw.first_token.as_ref(), "timeouts.first_token")?
                .unwrap_or(defaults.first_token),
            idle: self
                .duration(raw.idle.as_ref(), "timeouts.idle")?
                .unwrap_or(defaults.idle),
            total: self
                .duration(raw.total.as_ref(), "timeouts.total")?
                .unwrap_or(defaults.total),
        })
    }

    fn slo(&self, raw: &RawSlo) -> Result<Slo, ConfigError> {
        Ok(Slo {
            ttft: self.duration(raw.ttft.as_ref(), "slo.ttft")?,
            tpot: self.duration(raw.tpot.as_ref(), "slo.tpot")?,
            ttlt: self.duration(raw.ttlt.as_ref(), "slo.ttlt")?,
        })
    }

    fn endpoints(
        &self,
        raw: Vec<Spanned<RawEndpoint>>,
    ) -> Result<Vec<EndpointConfig>, ConfigError> {
        let mut seen = HashSet::new();
        let mut endpoints = Vec::with_capacity(raw.len());
        for (index, table) in raw.into_iter().enumerate() {
            let key = |field: &str| format!("endpoint[{index}].{field}");
            let endpoint = self.endpoint(&table, index)?;
            if !seen.insert(endpoint.name.clone()) {
                let span = table
                    .get_ref()
                    .name
                    .as_ref()
                    .map_or(table.span(), Spanned::span);
                return Err(ConfigError::invalid(
                    Location::at_offset(self.path, self.text, span.start),
                    key("name"),
                    format!("endpoint name `{}` is used twice", endpoint.name),
                    "endpoint names must be unique: they label lanes, result rows and files",
                ));
            }
            endpoints.push(endpoint);
        }
        Ok(endpoints)
    }

    fn endpoint(
        &self,
        table: &Spanned<RawEndpoint>,
        index: usize,
    ) -> Result<EndpointConfig, ConfigError> {
        let raw = table.get_ref();
        let key = |field: &str| format!("endpoint[{index}].{field}");
        let missing = |field: &str, help: &str| {
            ConfigError::invalid(
                self.at(table),
                key(field),
                format!("this [[endpoint]] has no `{field}`"),
                help,
            )
        };

        let name = raw.name.as_ref().ok_or_else(|| {
            missing(
                "name",
                r#"add e.g. `name = "vllm"` (unique among the endpoints)"#,
            )
        })?;
        self.check(name, &key("name"), |n| validate::endpoint_name(n))?;
        let protocol = raw.protocol.as_ref().ok_or_else(|| {
            missing(
                "protocol",
                r#"add e.g. `protocol = "openai"`; allowed protocols: openai, openai-completions, anthropic, ollama, responses, gemini, bedrock, openai-embeddings"#,
            )
        })?;
        let protocol = self.check(protocol, &key("protocol"), |p| validate::protocol(p))?;
        let base_url = raw.base_url.as_ref().ok_or_else(|| {
            missing(
                "base_url",
                r#"add e.g. `base_url = "http://localhost:8000/v1"` (or "mock://steady" for a built-in mock)"#,
            )
        })?;
        self.check(base_url, &key("base_url"), |u| validate::base_url(u))?;
        let is_mock = base_url.get_ref().starts_with("mock://");
        let model = match &raw.model {
            Some(model) => {
                self.check(model, &key("model"), |m| validate::model(m))?;
                model.get_ref().clone()
            }
            // A mock serves any model name; asking for one would only be noise.
            None if is_mock => super::MOCK_MODEL.to_string(),
            None => {
                return Err(missing(
                    "model",
                    r#"add e.g. `model = "llama3.2"`: the model the server should run"#,
                ));
            }
        };
        if let Some(var) = &raw.api_key_env {
            self.check(var, &key("api_key_env"), |v| validate::env_var_name(v))?;
        }
        let mut headers = BTreeMap::new();
        for (header, value) in &raw.headers {
            let header_key = key(&format!("headers.{}", header.get_ref()));
            self.check(header, &header_key, |h| validate::header_name(h))?;
            self.check(value, &header_key, |v| validate::header_value(v))?;
            headers.insert(header.get_ref().clone(), value.get_ref().clone());
        }
        if let Some(concurrency) = &raw.concurrency {
            self.check(concurrency, &key("concurrency"), |c| {
                validate::at_least_one(u64::from(*c), "concurrency = 8")
            })?;
        }
        if let Some(max_tokens) = &raw.max_tokens {
            self.check(max_tokens, &key("max_tokens"), |m| {
                validate::at_least_one(u64::from(*m), "max_tokens = 256")
            })?;
        }
        if let Some(color) = &raw.color {
            self.check(color, &key("color"), |c| validate::color(c))?;
        }
        let server_metrics = match &raw.server_metrics {
            Some(source) => self.check(source, &key("server_metrics"), |s| {
                if let super::ServerMetricsSource::Url(url) = s {
                    super::server_metrics::url(url)?;
                }
                Ok(s.clone())
            })?,
            None => super::ServerMetricsSource::Auto,
        };
        let http = match &raw.http {
            Some(http) => self.check(http, &key("http"), |v| super::http_version::parse(v))?,
            None => super::HttpVersion::Auto,
        };
        Ok(EndpointConfig {
            name: name.get_ref().clone(),
            protocol,
            base_url: base_url.get_ref().clone(),
            model,
            api_key_env: raw.api_key_env.as_ref().map(|v| v.get_ref().clone()),
            headers,
            body: raw.body.clone(),
            concurrency: raw.concurrency.as_ref().map(|c| *c.get_ref()),
            max_tokens: raw.max_tokens.as_ref().map(|m| *m.get_ref()),
            color: raw.color.as_ref().map(|c| c.get_ref().clone()),
            price: raw
                .price
                .as_ref()
                .map(|p| self.price(p, &key("price")))
                .transpose()?,
            server_metrics,
            http,
        })
    }
}

fn non_empty_prompt(prompt: &str) -> Result<(), Problem> {
    if prompt.trim().is_empty() {
        return Err(Problem::new(
            "a prompt is empty",
            "write the text to send, e.g. `prompt = \"Explain TCP slow start.\"`",
        ));
    }
    Ok(())
}

fn cache_mode(text: &str) -> Result<CacheMode, Problem> {
    CacheMode::parse(text).ok_or_else(|| {
        Problem::new(
            format!("'{text}' is not a cache mode"),
            r#"write `cache = "cold"` (a salt per run and endpoint starts every prompt, so no server cache can answer it) or `cache = "reuse"` (prompts as written)"#,
        )
    })
}
