//! One response planned before its first byte: how many reasoning and answer tokens, how they
//! are chunked, why it finishes, which mid-stream fault strikes, and the clock that schedules
//! each chunk at an absolute deadline from the response's origin.

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::time::Instant;

use super::corpus::Answer;
use super::faults::Fault;
use super::profile::{Profile, Sampler};
use super::request::Ask;
use super::shape::Shape;
use super::stats::Busy;
use super::text::mix;
use super::wire::{Finish, Tally, Timings, Words};
use crate::protocol::Protocol;

/// Tokens of a `huge` answer.
const HUGE_TOKENS: u32 = 100_000;
/// Mid-stream faults strike after this many tokens (or at the end of a shorter answer).
const FAULT_AFTER_TOKENS: u32 = 3;
/// Time to first token added per input token of an image (a 512×512 image is 350 tokens,
/// 35 ms): encoding images is work a server does before its first token.
const IMAGE_PREFILL_PER_TOKEN: Duration = Duration::from_micros(100);

/// The shape of one response.
pub(crate) struct Plan {
    pub tally: Tally,
    pub text_seed: u64,
    /// The built-in prompt's written answer, if the request carries one.
    answer: Option<u16>,
    pub chunk: u32,
    /// A fault that strikes inside the body, still to happen.
    pub fault: Option<Fault>,
    pub fault_at: u32,
    pub clock: Clock,
    /// Text, a JSON answer or a tool call, as the request asked.
    pub shape: Shape,
    /// Keeps this generation counted as in progress while the plan lives.
    busy: Option<Busy>,
    /// Of the prompt's tokens, those its images count for: their time is already in the TTFT
    /// (`IMAGE_PREFILL_PER_TOKEN`), so the prefill leaves them out.
    image_tokens: u32,
}

impl Plan {
    pub(crate) fn new(
        profile: &Profile,
        protocol: Protocol,
        ask: &Ask,
        seq: u64,
        fault: Option<Fault>,
        origin: Instant,
    ) -> Plan {
        let text_seed = mix(profile.seed ^ ask.body_hash);
        let huge = fault == Some(Fault::Huge);
        let (reasoning, answer, finish) = if protocol.is_embeddings() {
            // Vectors, not tokens: the whole answer is due when a first token would be.
            (0, 0, Finish::Stop)
        } else if huge {
            (0, HUGE_TOKENS, Finish::Stop)
        } else {
            // Legacy completions have no place for reasoning text.
            let wanted_reasoning = if protocol == Protocol::OpenAiCompletions {
                0
            } else {
                profile.reasoning
            };
            let wanted_answer = profile.answer_tokens(text_seed);
            let cap = ask.max_tokens.unwrap_or(u32::MAX);
            let reasoning = wanted_reasoning.min(cap);
            let answer = wanted_answer.min(cap - reasoning);
            let capped = u64::from(wanted_reasoning) + u64::from(wanted_answer) > u64::from(cap);
            (
                reasoning,
                answer,
                if capped { Finish::Length } else { Finish::Stop },
            )
        };
        let output = reasoning + answer;
        let (ttft, itl) = if huge {
            (
                Sampler::Fixed(Duration::ZERO),
                Sampler::Fixed(Duration::ZERO),
            )
        } else {
            (Sampler::new(profile.ttft), Sampler::new(profile.itl))
        };
        let cache_read = profile.cache_read.min(ask.input_tokens);
        Plan {
            tally: Tally {
                input: ask.input_tokens,
                reasoning,
                output,
                usage_output: if fault == Some(Fault::ZeroUsage) {
                    0
                } else {
                    output
                },
                cache_read,
                cache_write: profile.cache_write.min(ask.input_tokens - cache_read),
                caches: profile.cache > 0 || profile.cache_read > 0,
                finish,
                include_usage: ask.include_usage,
                timings: Timings::default(),
            },
            text_seed,
            answer: ask.answer,
            chunk: profile.chunk.max(1),
            fault: fault.filter(|f| f.is_mid_stream()),
            fault_at: FAULT_AFTER_TOKENS.min(output),
            clock: Clock {
                origin,
                offset: Duration::ZERO,
                first: None,
                rng: SmallRng::seed_from_u64(mix(profile.seed ^ mix(seq))),
                ttft,
                itl,
                extra_ttft: IMAGE_PREFILL_PER_TOKEN.saturating_mul(ask.image_tokens),
                prefill: Duration::ZERO,
                itl_factor: 1.0,
            },
            shape: if fault == Some(Fault::BadJson) && ask.shape == Shape::Json {
                Shape::BrokenJson
            } else {
                ask.shape.clone()
            },
            busy: None,
            image_tokens: ask.image_tokens,
        }
    }

    /// Reports `cached` prompt tokens as read from the prefix cache (unless the profile fixes
    /// `cache_read`), and adds the prefill of the rest to the TTFT. At least the prompt's last
    /// token is computed, as in vLLM.
    pub(crate) fn prefilled(mut self, profile: &Profile, cached: u32) -> Plan {
        let tally = &mut self.tally;
        if profile.cache_read == 0 {
            tally.cache_read = cached.min(tally.input.saturating_sub(1));
            tally.cache_write = profile.cache_write.min(tally.input - tally.cache_read);
        }
        let uncached = tally.input - tally.cache_read;
        self.clock.prefill = profile
            .prefill
            .saturating_mul(uncached.saturating_sub(self.image_tokens));
        self
    }

    /// Slows this response down for the `others` generations in progress at its arrival (a
    /// profile's `load`), and counts it as in progress until the plan is dropped.
    pub(crate) fn loaded(mut self, profile: &Profile, mut busy: Busy, others: u64) -> Plan {
        // Its prompt and every token it will write, held in the KV cache `/metrics` reports.
        busy.hold(u64::from(self.tally.input) + u64::from(self.tally.output));
        let (extra, factor) = profile.slowdown(others);
        self.clock.extra_ttft += extra;
        self.clock.itl_factor = factor;
        self.busy = Some(busy);
        self
    }

    /// Size of the chunk starting at token `sent`: chunks never mix reasoning and answer.
    pub(crate) fn chunk_len(&self, sent: u32) -> u32 {
        let reasoning = self.tally.reasoning;
        let end = if sent < reasoning {
            reasoning
        } else {
            self.tally.output
        };
        self.chunk.min(end.saturating_sub(sent))
    }

    /// The chunk starting at token `sent`, and whether it is reasoning.
    pub(crate) fn words(&self, sent: u32) -> (Words, bool) {
        let words = Words {
            seed: self.text_seed,
            from: sent,
            count: self.chunk_len(sent),
            answer: self.written(),
        };
        (words, sent < self.tally.reasoning)
    }

    /// Where the text comes from: the prompt's written answer, reasoning first.
    fn written(&self) -> Option<Answer> {
        self.answer.map(|entry| Answer {
            entry,
            reasoning: self.tally.reasoning,
        })
    }

    /// Reasoning and answer text of the whole response, for non-streaming bodies.
    pub(crate) fn all_words(&self) -> (Words, Words) {
        let reasoning = Words {
            seed: self.text_seed,
            from: 0,
            count: self.tally.reasoning,
            answer: self.written(),
        };
        let answer = Words {
            seed: self.text_seed,
            from: self.tally.reasoning,
            count: self.tally.output - self.tally.reasoning,
            answer: self.written(),
        };
        (reasoning, answer)
    }

    /// Runs the clock through every chunk: the deadline of the last token. Fills in the
    /// timings, as a non-streaming response needs before it is written.
    pub(crate) fn schedule_all(&mut self) -> Instant {
        let mut sent = 0;
        while sent < self.tally.output {
            let n = self.chunk_len(sent);
            self.clock.advance(n);
            sent += n;
        }
        self.settle_timings();
        self.clock.origin + self.clock.offset
    }

    /// An embeddings answer's deadline: the time to a first token (the profile's TTFT, the
    /// prefill of every uncached input token, the load) and nothing after it.
    pub(crate) fn schedule_embedding(&mut self) -> Instant {
        let due = self.clock.advance(1);
        self.settle_timings();
        due
    }

    /// Server timings as scheduled, once the last token's deadline is known.
    pub(crate) fn settle_timings(&mut self) {
        let first = self.clock.first.unwrap_or(self.clock.offset);
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.tally.timings = Timings {
            prompt_eval_ns: nanos(first),
            eval_ns: nanos(self.clock.offset.saturating_sub(first)),
            total_ns: nanos(self.clock.offset),
        };
    }
}

/// Deadlines as offsets from the response's origin, so a late wake-up never pushes later
/// tokens back: lateness does not accumulate.
pub(crate) struct Clock {
    pub origin: Instant,
    /// Scheduled time of the last token drawn so far.
    pub offset: Duration,
    /// Scheduled time of the first token, once drawn.
    pub first: Option<Duration>,
    rng: SmallRng,
    ttft: Sampler,
    itl: Sampler,
    extra_ttft: Duration,
    /// The prefill of the prompt's uncached tokens, part of the TTFT.
    prefill: Duration,
    itl_factor: f64,
}

impl Clock {
    /// Draws the delays of the next `tokens` tokens; returns the deadline of the last of them.
    pub(crate) fn advance(&mut self, tokens: u32) -> Instant {
        for _ in 0..tokens {
            if self.first.is_none() {
                self.offset += self.ttft.draw(&mut self.rng) + self.extra_ttft + self.prefill;
                self.first = Some(self.offset);
            } else {
                self.offset += self.itl.draw(&mut self.rng).mul_f64(self.itl_factor);
            }
        }
        self.origin + self.offset
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn ask(max_tokens: Option<u32>) -> Ask {
        Ask {
            model_json: "\"m\"".into(),
            stream: true,
            include_usage: true,
            max_tokens,
            input_tokens: 3,
            images: 0,
            image_tokens: 0,
            body_hash: 9,
            shape: Shape::Text,
            answer: None,
        }
    }

    #[tokio::test]
    async fn cap_takes_reasoning_first_and_says_length() {
        let mut profile = Profile::named("thinker").unwrap();
        profile.tokens = crate::mock::TokenCount::Fixed(100);
        let plan = Plan::new(
            &profile,
            Protocol::OpenAiChat,
            &ask(Some(50)),
            1,
            None,
            Instant::now(),
        );
        assert_eq!(
            (plan.tally.reasoning, plan.tally.output, plan.tally.finish),
            (40, 50, Finish::Length)
        );
        let plan = Plan::new(
            &profile,
            Protocol::OpenAiCompletions,
            &ask(None),
            1,
            None,
            Instant::now(),
        );
        assert_eq!(
            (plan.tally.reasoning, plan.tally.output, plan.tally.finish),
            (0, 100, Finish::Stop)
        );
    }

    #[tokio::test]
    async fn uncached_prompt_tokens_add_their_prefill_to_the_ttft() {
        let profile = Profile::parse("ttft=100ms,prefill=1ms,itl=10ms,tokens=1").unwrap();
        let mut big = ask(None);
        big.input_tokens = 40;
        let origin = Instant::now();
        let first = |cached| {
            let mut plan = Plan::new(&profile, Protocol::OpenAiChat, &big, 1, None, origin)
                .prefilled(&profile, cached);
            (plan.clock.advance(1) - origin, plan.tally.cache_read)
        };
        assert_eq!(first(0), (Duration::from_millis(140), 0));
        assert_eq!(first(32), (Duration::from_millis(108), 32));
        // The last prompt token is always computed.
        assert_eq!(first(48), (Duration::from_millis(101), 39));
        // A fixed `cache_read` is reported whatever the cache hit.
        let fixed = Profile::parse("ttft=100ms,prefill=1ms,cache_read=8").unwrap();
        let plan =
            Plan::new(&fixed, Protocol::OpenAiChat, &big, 1, None, origin).prefilled(&fixed, 32);
        assert_eq!(plan.tally.cache_read, 8);
    }

    #[tokio::test]
    async fn chunks_stop_at_the_reasoning_boundary() {
        let mut profile = Profile::named("thinker").unwrap();
        profile.chunk = 3;
        profile.reasoning = 4;
        let plan = Plan::new(
            &profile,
            Protocol::Anthropic,
            &ask(Some(10)),
            1,
            None,
            Instant::now(),
        );
        assert_eq!([0, 3, 4, 7, 9].map(|s| plan.chunk_len(s)), [3, 1, 3, 3, 1]);
    }

    #[tokio::test]
    async fn fixed_delays_schedule_exactly() {
        let profile = Profile::parse("ttft=100ms,itl=10ms,tokens=5,chunk=2").unwrap();
        let origin = Instant::now();
        let mut plan = Plan::new(&profile, Protocol::Ollama, &ask(None), 1, None, origin);
        assert_eq!(plan.schedule_all() - origin, Duration::from_millis(140));
        assert_eq!(plan.tally.timings.prompt_eval_ns, 100_000_000);
        assert_eq!(plan.tally.timings.eval_ns, 40_000_000);
    }

    #[tokio::test]
    async fn load_delays_by_the_others_in_flight() {
        let profile = Profile::parse("ttft=100ms,itl=10ms,tokens=5,chunk=2,load=50ms").unwrap();
        let counters = std::sync::Arc::new(super::super::stats::Counters::new());
        let (first, none) = counters.generation_started();
        let (second, one) = counters.generation_started();
        assert_eq!((none, one), (0, 1));
        let origin = Instant::now();
        let mut plan = Plan::new(&profile, Protocol::Ollama, &ask(None), 2, None, origin)
            .loaded(&profile, second, one);
        // TTFT 100 + 50 ms; four ITLs of 10 ms grown by the same 50 %.
        assert_eq!(plan.schedule_all() - origin, Duration::from_millis(210));
        drop((plan, first));
        assert_eq!(counters.generation_started().1, 0);
    }
}
