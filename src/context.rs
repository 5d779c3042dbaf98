//! The per-run context: random streams, the perturbation bookkeeping of the stochastic triple,
//! the score of the run, and the enumeration state of the exact oracle.
//!
//! Estimator drivers set a fresh context up on the running thread for every sample and tear it
//! down afterwards, so nothing outlives a run and parallel samples never share state. The context
//! lives in a thread-local slot because user programs are written as plain closures
//! (`|x| program(x)`) that do not pass it around; [`with_run`] is the explicit form.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

use rand::Rng as _;
use rand_pcg::Pcg64;
use smallvec::SmallVec;

use crate::error::{Error, Result};
use crate::sample::Coupling;

/// A stream of uniform random numbers (PCG-XSL-RR 128/64, a named, version-stable algorithm).
#[derive(Clone, Debug)]
pub struct Stream(Pcg64);

impl Stream {
    /// A stream determined by `key` alone.
    pub fn from_key(key: u64) -> Self {
        let hi = splitmix64(key ^ 0x9e37_79b9_7f4a_7c15);
        let lo = splitmix64(hi ^ key);
        Stream(Pcg64::new(
            ((hi as u128) << 64) | lo as u128,
            0xa02b_dbf7_bb3c_0a7a_c28f_a16a_64ab_f96b,
        ))
    }

    /// A uniform number in [0, 1) with 53 random bits.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A raw 64-bit random number.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Skips the next `n` numbers, as `n` calls of [`Stream::next_u64`] (or
    /// [`Stream::uniform`]) would, in O(log n).
    pub fn skip(&mut self, n: u64) {
        self.0.advance(u128::from(n));
    }
}

/// SplitMix64 finaliser: a bijective mixer used to derive independent stream keys.
#[inline]
pub(crate) fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Key of the stream `which` (0 = primal, 1 = coupling) of sample `sample` under `seed`.
pub(crate) fn stream_key(seed: u64, sample: u64, which: u64) -> u64 {
    splitmix64(splitmix64(seed).wrapping_add(splitmix64(sample ^ 0x5851_f42d_4c95_7f2d)) ^ which)
}

/// Shared state of one perturbation of the pruned backend: every value carrying the perturbation
/// refers to it by index, so a pruning decision is seen consistently by all of them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PertState {
    /// Weight β (already divided by the probability with which it survived pruning).
    pub weight: f64,
    /// False once it lost a pruning decision: it then counts as "no perturbation" everywhere.
    pub alive: bool,
}

/// One perturbation in the all-worlds backend's lists: (perturbation id, Δ).
pub(crate) type ExactList = SmallVec<[(u32, f64); 4]>;

/// What the draws of a run do.
#[derive(Debug)]
pub(crate) enum Mode {
    /// Draw by inversion from the primal stream.
    Sample,
    /// Exact oracle: outcomes are forced along a path of the enumeration tree.
    Enumerate(EnumState),
    /// A re-run of [`rerun`](crate::rerun::rerun): every draw by inversion from the primal
    /// stream, except draw `at` (counted from 0), which takes `outcome`. The draws before it
    /// must take the recorded `path` (the recording run's outcomes), and draw `at` must have
    /// `params` parameters, as it had there: the re-run is the recorded history until it flips.
    Flip {
        at: u64,
        outcome: f64,
        params: usize,
        path: std::sync::Arc<Vec<f64>>,
    },
}

/// Enumeration state for the exact oracle.
///
/// A run starts with a forced `path` prefix of length `prefix`; at every draw past the prefix it
/// takes the first outcome of the support and records the whole support in `supports`, so the
/// oracle can branch there in later runs (a depth-first enumeration of every leaf, each once).
#[derive(Debug, Default)]
pub(crate) struct EnumState {
    /// Outcomes of the draws of this path (forced prefix, then first outcomes).
    pub path: Vec<f64>,
    /// Length of the forced prefix.
    pub prefix: usize,
    /// Index of the next draw.
    pub pos: usize,
    /// Supports met at the draws past the prefix, in order.
    pub supports: Vec<Vec<f64>>,
    /// Probability of the path so far.
    pub weight: f64,
    /// Tangents of the probability of the path, one per direction.
    pub weight_tangent: SmallVec<[f64; 4]>,
    /// Tail mass below which outcomes of infinite-support distributions are dropped.
    pub tail: f64,
}

/// Everything one run of a program needs, one part per consumer.
#[derive(Debug)]
pub struct RunContext {
    /// The run's random numbers.
    pub(crate) rng: Randomness,
    /// What the driver asked of the run.
    pub(crate) options: RunOptions,
    /// The alternative worlds of stochastic triples.
    pub(crate) worlds: Worlds,
    /// How draws come about: sampled, or forced by the exact oracle's enumeration.
    pub(crate) mode: Mode,
    /// The score ∂θ log p of the run's draws, per direction (score function; triples under the
    /// score mix).
    pub(crate) score: SmallVec<[f64; 4]>,
    /// The state feature φ last set by [`baseline_feature`](crate::control::baseline_feature)
    /// (0 until set), and Σ over draws of each draw's score times the φ set before it.
    pub(crate) feature: f64,
    pub(crate) feature_score: SmallVec<[f64; 4]>,
    /// What the run found wrong with the program.
    pub(crate) found: Findings,
    /// The flips a recording run of [`rerun`](crate::rerun::rerun) keeps (`None` elsewhere).
    pub(crate) flips: Option<crate::rerun::Flips>,
}

/// The random numbers of one run: the primal stream (every number type draws its outcomes from
/// it), the coupling stream (jumps), and the key of the pruning coins and of the redraws.
#[derive(Clone, Debug)]
pub(crate) struct Randomness {
    pub primal: Stream,
    pub coupling: Stream,
    /// Key of the pruning coins (see [`RunContext::prune_uniform`]) and redraw streams.
    pub key: u64,
    /// Draws so far (it keys the redraw streams of the next one).
    pub draws: u64,
    /// From the draw after this many draws on, the primal stream is this one (see
    /// [`run_from_place`]).
    pub switch: Option<(u64, Stream)>,
}

/// What the driver asked of a run.
#[derive(Debug, Default)]
pub(crate) struct RunOptions {
    /// Whether stochastic triples also record the score of their draws (for the score mix).
    pub record_score: bool,
    /// The coupling of categorical draws that name none (the driver's `.coupling(…)`).
    pub default_coupling: Coupling,
    /// Strict mode: a `.value()` read of a number carrying live worlds is an error.
    pub strict: bool,
    /// Whether [`baseline_feature`](crate::control::baseline_feature) evaluates its feature (a
    /// control variate will use it).
    pub record_feature: bool,
}

/// The alternative worlds of stochastic triples: every world's weight and fate (shared by the
/// backends that prune), and the all-worlds backend's lists of `(world, Δ)`.
#[derive(Debug)]
pub(crate) struct Worlds {
    pub perts: Vec<PertState>,
    /// Handle 0 is the empty list, so a default all-worlds triple needs no arena entry.
    pub lists: Vec<ExactList>,
    /// The keep-K backend's payloads with more worlds than it holds inline: `(world id, Δ)`
    /// runs, each addressed by its offset.
    pub keep: Vec<(u32, f64)>,
}

/// What a run found wrong with the program (reported by the driver after the run).
#[derive(Debug, Default)]
pub(crate) struct Findings {
    /// The first comparison a perturbation would flip.
    pub flip: Option<Error>,
    /// The first `.value()` read of a perturbed number in a strict run.
    pub value_read: Option<Error>,
}

impl RunContext {
    /// A context for sample `sample` of a run seeded with `seed`.
    pub(crate) fn new(seed: u64, sample: u64) -> Self {
        Self::in_domain(seed, sample, 0)
    }

    /// A context for run `sample` of domain `domain` under `seed`: domain 0 holds the drivers'
    /// samples; another domain's runs draw from streams independent of every domain-0 run (the
    /// control variates' independent twin runs).
    pub(crate) fn in_domain(seed: u64, sample: u64, domain: u64) -> Self {
        let which = 3 * domain;
        RunContext {
            rng: Randomness {
                primal: Stream::from_key(stream_key(seed, sample, which)),
                coupling: Stream::from_key(stream_key(seed, sample, which + 1)),
                key: stream_key(seed, sample, which + 2),
                draws: 0,
                switch: None,
            },
            options: RunOptions::default(),
            worlds: Worlds {
                perts: Vec::new(),
                lists: vec![ExactList::new()],
                keep: Vec::new(),
            },
            mode: Mode::Sample,
            score: SmallVec::new(),
            feature: 0.0,
            feature_score: SmallVec::new(),
            found: Findings::default(),
            flips: None,
        }
    }

    /// The next uniform of the primal stream (shared by every number type).
    #[inline]
    pub(crate) fn primal_uniform(&mut self) -> f64 {
        if let Some((at, _)) = &self.rng.switch {
            if self.rng.draws >= *at {
                let (_, own) = self.rng.switch.take().expect("checked");
                self.rng.primal = own;
            }
        }
        self.rng.draws += 1;
        self.rng.primal.uniform()
    }

    /// The random stream of the redraw of the current draw (the `draws`-th) in world `id`: keyed
    /// by the draw and the world, so a redraw's randomness does not depend on what else the run
    /// drew from its coupling stream (for instance for draws whose weights the program skipped).
    pub(crate) fn redraw_stream(&self, id: u32) -> Stream {
        Stream::from_key(splitmix64(
            self.rng.key ^ 0x6a09_e667_f3bc_c909 ^ splitmix64((self.rng.draws << 32) | id as u64),
        ))
    }

    /// The uniform deciding between perturbations `a` and `b`: a function of the run and the pair
    /// alone, not of where the two meet, so the decision is the same whatever order a program
    /// combines its values in (each pair is decided at most once: the loser is dead after).
    #[inline]
    pub(crate) fn prune_uniform(&self, a: u32, b: u32) -> f64 {
        let (lo, hi) = (a.min(b) as u64, a.max(b) as u64);
        let z = splitmix64(self.rng.key ^ splitmix64((lo << 32) | hi));
        (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// The run's score per direction and its feature-weighted version (0 for directions no
    /// draw added to).
    pub(crate) fn scores<const N: usize>(&self) -> ([f64; N], [f64; N]) {
        let (mut score, mut feature) = ([0.0; N], [0.0; N]);
        for (s, c) in score.iter_mut().zip(&self.score) {
            *s = *c;
        }
        for (s, c) in feature.iter_mut().zip(&self.feature_score) {
            *s = *c;
        }
        (score, feature)
    }

    /// Adds ∂θ log p of a draw to the score of direction `dir`.
    pub(crate) fn add_score(&mut self, dir: usize, s: f64) {
        if self.score.len() <= dir {
            self.score.resize(dir + 1, 0.0);
            self.feature_score.resize(dir + 1, 0.0);
        }
        self.score[dir] += s;
        self.feature_score[dir] += s * self.feature;
    }

    /// Records the first comparison a perturbation would flip.
    pub(crate) fn record_flip(&mut self, op: &'static str, lhs: f64, rhs: f64) {
        if self.found.flip.is_none() {
            self.found.flip = Some(Error::PerturbedComparison { op, lhs, rhs });
        }
    }

    /// Registers a new perturbation of weight `weight` and returns its id.
    pub(crate) fn new_pert(&mut self, weight: f64) -> u32 {
        self.worlds.perts.push(PertState {
            weight,
            alive: true,
        });
        (self.worlds.perts.len() - 1) as u32
    }
}

/// The number of strict runs in progress on any thread. `.value()` of a stochastic triple looks
/// at its run context only while this is non-zero, so strict mode costs the other runs one
/// relaxed load per read.
static STRICT_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Whether any strict run is in progress (then `.value()` checks its own run).
#[inline(always)]
pub(crate) fn strict_anywhere() -> bool {
    STRICT_RUNS.load(Ordering::Relaxed) != 0
}

/// Marks strict runs as in progress while it lives.
pub(crate) struct StrictGuard(bool);

impl StrictGuard {
    /// A guard that counts a strict run if `on`.
    pub(crate) fn new(on: bool) -> Self {
        if on {
            STRICT_RUNS.fetch_add(1, Ordering::Relaxed);
        }
        StrictGuard(on)
    }
}

impl Drop for StrictGuard {
    fn drop(&mut self) {
        if self.0 {
            STRICT_RUNS.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Whether the current thread's run is strict (false outside a run).
pub(crate) fn strict_here() -> bool {
    with_ctx("", |ctx| ctx.options.strict).unwrap_or(false)
}

/// Records a `.value()` read of a number with live worlds at `at` in a strict run (the first).
pub(crate) fn record_value_read(at: &'static std::panic::Location<'static>, value: f64) {
    let _ = with_ctx("", |ctx| {
        if ctx.options.strict && ctx.found.value_read.is_none() {
            ctx.found.value_read = Some(Error::PerturbedValueRead {
                file: at.file(),
                line: at.line(),
                column: at.column(),
                value,
            });
        }
    });
}

thread_local! {
    static CONTEXT: RefCell<Option<Box<RunContext>>> = const { RefCell::new(None) };
}

/// The draws so far in the current run (`None` outside a run).
pub(crate) fn draws_so_far() -> Option<u64> {
    with_ctx("", |ctx| ctx.rng.draws).ok()
}

/// Goes on as if the run's next `n` draws had been made: their uniforms of the primal stream
/// are skipped and they count as draws, so the draws after them take the numbers they would
/// have taken (a resumed run that knows how its remaining draws end, see
/// `jets::qantikt::rejoin`). Outside a run, and where draws are enumerated (the exact oracle,
/// whose draws take no uniforms), nothing.
pub(crate) fn skip_draws(n: u64) {
    let _ = with_ctx("", |ctx| {
        if !matches!(ctx.mode, Mode::Enumerate(_)) {
            let mut n = n;
            // Up to a switch of streams on the stream before it, the rest on the one after.
            if let Some((at, _)) = &ctx.rng.switch {
                let before = at.saturating_sub(ctx.rng.draws).min(n);
                ctx.rng.primal.skip(before);
                ctx.rng.draws += before;
                n -= before;
                if n > 0 {
                    let (_, own) = ctx.rng.switch.take().expect("checked");
                    ctx.rng.primal = own;
                }
            }
            ctx.rng.primal.skip(n);
            ctx.rng.draws += n;
        }
    });
}

/// A place in the current run's primal stream: the stream as it stands after the run's
/// `draws`-th draw, and the run's key (see [`run_from_place`]).
#[derive(Clone, Debug)]
pub(crate) struct PrimalPlace {
    stream: Stream,
    draws: u64,
    key: u64,
}

impl PrimalPlace {
    /// The run's draws before this place.
    pub(crate) fn draws(&self) -> u64 {
        self.draws
    }
}

/// The current run's place in its primal stream (`None` outside a run, and where draws are
/// enumerated: the exact oracle's draws take no uniforms).
pub(crate) fn primal_place() -> Option<PrimalPlace> {
    with_ctx("", |ctx| {
        (!matches!(ctx.mode, Mode::Enumerate(_))).then(|| PrimalPlace {
            stream: ctx.rng.primal.clone(),
            draws: ctx.rng.draws,
            key: ctx.rng.key,
        })
    })
    .ok()
    .flatten()
}

/// Runs `f` in a fresh run context whose draws take the uniforms the run of `place` took (or
/// will take) after that place, up to its `until`-th draw, and from there on uniforms of a
/// stream of their own ([`run_on_own_streams`]'s `which`): a history that goes on from
/// `place` coupled to the run's draws up to `until`, and alone after.
pub(crate) fn run_from_place<R>(
    place: &PrimalPlace,
    until: u64,
    which: u32,
    f: impl FnOnce() -> R,
) -> R {
    let mut ctx = RunContext::in_domain(place.key, which as u64, 1 << 40);
    let own = std::mem::replace(&mut ctx.rng.primal, place.stream.clone());
    ctx.rng.draws = place.draws;
    ctx.rng.switch = Some((until, own));
    run_in(ctx, f).0
}

/// Runs `f` with the current thread's run context; `what` names the operation for the error.
#[inline]
pub(crate) fn with_ctx<R>(what: &'static str, f: impl FnOnce(&mut RunContext) -> R) -> Result<R> {
    CONTEXT.with(|c| match c.borrow_mut().as_deref_mut() {
        Some(ctx) => Ok(f(ctx)),
        None => Err(Error::NoRunContext { what }),
    })
}

/// Like [`with_ctx`] for operations on values that carry perturbations: such values only exist
/// inside a run, so a missing context is a misuse (a triple smuggled out of its run).
#[inline]
pub(crate) fn with_live_ctx<R>(f: impl FnOnce(&mut RunContext) -> R) -> R {
    match with_ctx("an operation on a perturbed value", f) {
        Ok(r) => r,
        Err(e) => panic!("{e} (a value carrying perturbations was used after its run ended)"),
    }
}

/// Sets the run's state feature to `feature()` when the run records it (see
/// [`crate::control::baseline_feature`]); otherwise, and outside a run, does nothing. The
/// closure runs with the context released (it may compute with the run's numbers).
pub(crate) fn set_feature(feature: impl FnOnce() -> f64) {
    let wanted = CONTEXT.with(|c| {
        c.borrow()
            .as_deref()
            .is_some_and(|ctx| ctx.options.record_feature)
    });
    if wanted {
        // Non-finite features count as 0 (still a function of the state: the mean stays 0).
        let x = Some(feature()).filter(|x| x.is_finite()).unwrap_or(0.0);
        CONTEXT.with(|c| {
            if let Some(ctx) = c.borrow_mut().as_deref_mut() {
                ctx.feature = x;
            }
        });
    }
}

/// Installs `ctx` on this thread for the duration of `f`, restoring what was there before (so
/// runs nest), and returns `f`'s result together with the finished context.
pub(crate) fn run_in<R>(ctx: RunContext, f: impl FnOnce() -> R) -> (R, RunContext) {
    struct Restore(Option<Box<RunContext>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            CONTEXT.with(|c| *c.borrow_mut() = prev);
        }
    }
    let prev = CONTEXT.with(|c| c.borrow_mut().replace(Box::new(ctx)));
    let guard = Restore(prev);
    let r = f();
    let ctx = CONTEXT
        .with(|c| c.borrow_mut().take())
        .expect("run context removed during its run");
    drop(guard);
    (r, *ctx)
}

/// Runs `f` in a fresh run context with streams of its own: keyed by the current run's key and
/// `which`, so independent of every stream of the current run and the same whatever thread
/// runs it. The alternative worlds that go on alone, as histories of their own, draw from them
/// (see [`QantiKt::mh`](crate::jets::qantikt::QantiKt::mh)).
///
/// # Errors
/// [`Error::NoRunContext`](crate::Error::NoRunContext) outside a run.
pub(crate) fn run_on_own_streams<R>(which: u32, f: impl FnOnce() -> R) -> Result<R> {
    let key = with_ctx("streams of its own", |ctx| ctx.rng.key)?;
    // The current run's key as seed and a domain of their own (the drivers' runs use 0, the
    // control variates' twins small ones).
    let ctx = RunContext::in_domain(key, which as u64, 1 << 40);
    Ok(run_in(ctx, f).0)
}

/// Runs `f` inside a fresh run context for sample `sample` of seed `seed`: the explicit form of
/// what the estimator drivers do for every sample. Samplers called in `f` draw from this run's
/// streams; the context is torn down when `f` returns (or panics).
///
/// Use it to run a program with `f64` (the primal program) outside a driver:
/// ```
/// use stochad::{sample::bernoulli, with_run};
/// let k = with_run(1, 0, || bernoulli(0.3_f64)).unwrap();
/// assert!(k == 0.0 || k == 1.0);
/// // The same seed and sample index give the same draw.
/// assert_eq!(k, with_run(1, 0, || bernoulli(0.3_f64)).unwrap());
/// ```
pub fn with_run<R>(seed: u64, sample: u64, f: impl FnOnce() -> R) -> R {
    run_in(RunContext::new(seed, sample), f).0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uniforms(n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| with_live_ctx(|ctx| ctx.primal_uniform()))
            .collect()
    }

    /// A history gone on from a place in the primal stream takes the run's uniforms after that
    /// place up to `until` draws, and those of a stream of its own after (the same as
    /// [`run_on_own_streams`]'), also where it skips draws across the switch.
    #[test]
    fn a_history_from_a_place_takes_the_runs_uniforms_then_its_own() {
        let (place, run, own) = with_run(9, 3, || {
            uniforms(2);
            let place = primal_place().unwrap();
            let run = uniforms(6);
            let own = run_on_own_streams(0, || uniforms(4)).unwrap();
            (place, run, own)
        });
        assert_eq!(place.draws(), 2);
        let from = with_run(1, 1, || run_from_place(&place, 5, 0, || uniforms(5)));
        assert_eq!(from[..3], run[..3]);
        assert_eq!(from[3..], own[..2]);
        // Skipping two draws (one on each side of the switch), then drawing.
        let skipped = with_run(1, 1, || {
            run_from_place(&place, 5, 0, || {
                uniforms(2);
                skip_draws(2);
                (uniforms(2), draws_so_far())
            })
        });
        assert_eq!(skipped, (own[1..3].to_vec(), Some(8)));
        // Where draws are enumerated there is no place.
        let mut ctx = RunContext::new(9, 3);
        ctx.mode = Mode::Enumerate(EnumState::default());
        assert!(run_in(ctx, primal_place).0.is_none());
        assert!(primal_place().is_none());
    }
}
