//! Discontinuous functions of perturbed values: run a deterministic function on the primal and
//! again in every alternative world the inputs carry, and reassemble one output.
//!
//! Comparisons inside a program act on primal values, so a branch on a value that differs in an
//! alternative world would silently follow the primal branch there; the drivers report it as
//! [`Error::PerturbedComparison`]. [`propagate`] is the way to write such a branch: the function
//! sees plain values in each world, may branch freely, may return any [`Scalars`] structure
//! (including numbers that carry perturbations of their own, e.g. values it captured), and the
//! output carries, for every world, the difference of the world's output from the primal's.

use crate::context::draws_so_far;
use crate::error::{Error, Result};
use crate::scalar::{Scalar, World};
use crate::scalars::{check_same_shape, rebuild_from, IntoResult, Layout, Scalars};

/// Runs the deterministic, possibly discontinuous `f` on `input` in the primal world (with
/// tangents, so the output's δ is the pathwise derivative) and once more in each alternative world
/// the input carries (the pruned triple: at most one per direction), and returns the primal output
/// carrying, per world, the alternative output's difference.
///
/// For `f64`, `Dual` and `Score` inputs it is just `f(input)` (and a draw inside `f` is then
/// not reported: only numbers with alternative worlds need `f` to be deterministic).
///
/// Each alternative world runs `f` on a copy of `input`; for a large input whose numbers carry
/// many worlds (keep-K triples) [`propagate_plain`] runs the worlds in `f64` instead.
///
/// # Errors
/// - [`Error::ShapeMismatch`] when an alternative world's output has another shape (a `Vec` of
///   another length, another `Option` variant): make the output's shape independent of the
///   discrete choice, e.g. fixed-size with explicit weights.
/// - [`Error::RandomnessInPropagate`] when `f` drew random numbers (checked for stochastic
///   triples, whose worlds `f` must replay exactly): draw before `propagate` instead (see
///   [A draw inside a branch](#a-draw-inside-a-branch)).
/// - Whatever `f` returns.
///
/// ```
/// use stochad::{propagate, sample::bernoulli, Scalar, Triple};
///
/// // Branch on a coin: E\[f\] = p·sin θ + (1 − p)·cos θ with p = θ.
/// fn program<S: Scalar>(t: S) -> stochad::Result<S> {
///     let k = bernoulli(t)?;
///     propagate(|k: S| if k.value() == 1.0 { t.sin() } else { t.cos() }, k)
/// }
/// let t = 0.4f64;
/// let exact = t.sin() - t.cos() + t * t.cos() - (1.0 - t) * t.sin();
/// let d = stochad::derivative(|t| program(t)).at(t).samples(20_000).estimate()?;
/// assert!((d.mean - exact).abs() < 5.0 * d.stderr);
/// # Ok::<(), stochad::Error>(())
/// ```
///
/// # Why `k.value()` is right here, and only here
/// Inside `f`, `k` is a plain number: `propagate` calls `f` once with the primal value and once
/// per alternative world with that world's value, so the branch on `k.value()` is taken
/// separately in every world. The same `if k.value() == 1.0` *outside* `propagate` reads the
/// primal only: every world follows the primal's branch and the estimate is silently biased (no
/// comparison operator sees it; the drivers' [`strict`](crate::estimate::Gradient::strict) mode
/// reports it). Values `f` captures from outside (like `t` above) keep their own perturbations;
/// do not branch on their `.value()` inside `f` either — pass them in as part of `input`.
///
/// # A draw inside a branch
/// `f` must not draw (its worlds are replayed), and a branch on a perturbed draw outside
/// `propagate` is reported as [`Error::PerturbedComparison`]. What works: draw what every branch
/// needs *before* the branch, unconditionally, then pick with [`select`] (or inside
/// `propagate`). The draws are independent of the coin, so the program's distribution is
/// unchanged.
///
/// ```
/// use stochad::{exact, sample::bernoulli, select, Dual, Error, Scalar};
///
/// // Wanted: if B(θ) { 2·B(0.3θ) } else { B(0.5θ) }. Branching on the coin is an error:
/// let branched = stochad::derivative(|t| {
///     let k = bernoulli(t)?;
///     if k == 1.0 { Ok(bernoulli(t * 0.3)? * 2.0) } else { bernoulli(t * 0.5) }
/// });
/// let e = branched.at(0.4).samples(200).estimate();
/// assert!(matches!(e, Err(Error::PerturbedComparison { .. })));
///
/// // Draw both branches' coins first, then select by the coin.
/// fn program<S: Scalar>(t: S) -> stochad::Result<S> {
///     let k = bernoulli(t)?;
///     let (heads, tails) = (bernoulli(t * 0.3)? * 2.0, bernoulli(t * 0.5)?);
///     select(&[tails, heads], k)
/// }
/// // E = θ·0.6θ + (1 − θ)·0.5θ: derivative 0.2θ + 0.5.
/// let want = exact::derivative(|t: Dual| program(t), 0.4)?.gradient[0];
/// assert!((want - 0.58).abs() < 1e-12);
/// let d = stochad::derivative(|t| program(t)).at(0.4).samples(20_000).estimate()?;
/// assert!((d.mean - want).abs() < 5.0 * d.stderr);
/// # Ok::<(), stochad::Error>(())
/// ```
pub fn propagate<I, O, F, R>(f: F, input: I) -> Result<O>
where
    I: Scalars + Clone,
    O: Scalars<Scalar = I::Scalar>,
    F: Fn(I) -> R,
    R: IntoResult<O>,
{
    // Numbers without alternative worlds (f64, Dual, Score): nothing to replay.
    if !I::Scalar::CARRIES_WORLDS {
        return f(input).into_result();
    }
    let (xs, worlds) = coupled(&input);
    let before = draws_so_far();
    let mut stripped = input.clone();
    stripped.for_each_scalar_mut(&mut |s| *s = s.without_worlds());
    let mut out = f(stripped).into_result()?;
    let table = world_table(&xs, &worlds);
    let nw = worlds.len();
    let mut alts: Values = Values::new();
    for (j, &w) in worlds.iter().enumerate() {
        let mut alt_in = input.clone();
        let mut i = 0;
        alt_in.for_each_scalar_mut(&mut |s| {
            *s = I::Scalar::from(table[i * nw + j]);
            i += 1;
        });
        let alt_out = f(alt_in).into_result()?;
        check_same_shape(&out, &alt_out)?;
        // Values `f` captured may themselves differ in this world: read each in the world.
        alt_out.for_each_scalar(&mut |s| alts.push(s.value_in(w)));
    }
    attach::<false, _>(&mut out, &worlds, &alts);
    if draws_so_far() != before {
        return Err(Error::RandomnessInPropagate);
    }
    Ok(out)
}

/// A deterministic function written once over the number type, for [`propagate_plain`]: it is
/// run with the input's number type on the primal (for the tangents) and with `f64` in each
/// alternative world (plain arithmetic, no copies of perturbed numbers).
///
/// It must compute the same values whatever the number type (generic code over [`Scalar`]
/// does: every number type's arithmetic computes its values with the `f64` operations; checked
/// at the primal on every call that has worlds to replay), and it can capture no perturbed
/// numbers (it is generic over the number type, so the type system keeps them out).
pub trait PlainFn<I: Scalars> {
    /// The output's type, for each number type.
    type Output<T: Scalar>: Scalars<Scalar = T>;

    /// The function, with number type `T`.
    ///
    /// # Errors
    /// Whatever the function reports; [`propagate_plain`] passes it on.
    fn call<T: Scalar>(&self, input: I::With<T>) -> Result<Self::Output<T>>;
}

/// [`propagate`] for a function written once over the number type ([`PlainFn`]): the same
/// output, with each alternative world computed in `f64` instead of the input's number type.
/// For large inputs of numbers that carry many worlds (a keep-K triple's state) this skips a
/// copy of every perturbed number per world.
///
/// # Errors
/// As [`propagate`], and [`Error::InvalidConfig`] when the function computes other values with
/// `f64` than with the input's number type at the primal (it breaks [`PlainFn`]'s contract).
///
/// ```
/// use stochad::{propagate_plain, sample::bernoulli, PlainFn, Scalar};
///
/// // |x| as a function of every number type.
/// struct Abs;
/// impl<S: Scalar> PlainFn<S> for Abs {
///     type Output<T: Scalar> = T;
///     fn call<T: Scalar>(&self, x: T) -> stochad::Result<T> {
///         Ok(if x.value() < 0.0 { -x } else { x })
///     }
/// }
/// // E|2B(θ) − 1 + θ| = θ(1 + θ) + (1 − θ)², derivative 4θ − 1 (= 1.4 at θ = 0.6).
/// let d = stochad::derivative(|t| {
///     let x = bernoulli(t)? * 2.0 - 1.0 + t;
///     propagate_plain(&Abs, &x)
/// })
/// .at(0.6).samples(20_000).estimate()?;
/// assert!((d.mean - 1.4).abs() < 5.0 * d.stderr);
/// # Ok::<(), stochad::Error>(())
/// ```
pub fn propagate_plain<I, F>(f: &F, input: &I) -> Result<F::Output<I::Scalar>>
where
    I: Scalars,
    F: PlainFn<I>,
{
    if !I::Scalar::CARRIES_WORLDS {
        return f.call(input.map_scalars(&mut |x| x));
    }
    let (xs, worlds) = coupled(input);
    let before = draws_so_far();
    let mut out = f.call(input.map_scalars(&mut |x| x.without_worlds()))?;
    if draws_so_far() != before {
        return Err(Error::RandomnessInPropagate);
    }
    if worlds.is_empty() {
        return Ok(out);
    }
    // The contract, checked at the primal: run in f64 the function must give the number type's
    // values, or every world's difference to the primal would be off (a silently wrong
    // derivative).
    let plain = f.call(rebuild_from(input, xs.len(), |i| xs[i].primal_value())?)?;
    // The output's layout, read once: the f64 output of the primal and of every world must
    // have it (`check_same_shape`, without re-reading the primal's output).
    let mut layout = Layout::of(&out);
    let mut alts: Values = Values::new();
    plain.for_each_scalar(&mut |&v| alts.push(v));
    layout.check(&plain, alts.len())?;
    let (mut i, mut mismatch) = (0, None);
    out.for_each_scalar(&mut |s| {
        let (p, v) = (s.primal_value(), alts[i]);
        if mismatch.is_none() && v.to_bits() != p.to_bits() && !(v.is_nan() && p.is_nan()) {
            mismatch = Some((i, p, v));
        }
        i += 1;
    });
    if let Some((i, p, v)) = mismatch {
        return Err(Error::config(format!(
            "propagate_plain: the function's output number {i} is {p} with the input's number \
             type and {v} with f64 at the same (primal) values; a PlainFn must compute the same \
             values whatever the number type"
        )));
    }
    let nw = worlds.len();
    // One read of each number's payload for all worlds where there are many; a world or two
    // (the pruned triple's one per direction) are read number by number, without the table.
    let table = if nw > 2 {
        world_table(&xs, &worlds)
    } else {
        Values::new()
    };
    alts.clear();
    for (j, &w) in worlds.iter().enumerate() {
        let alt_out = f.call(if nw > 2 {
            rebuild_from(input, xs.len(), |i| table[i * nw + j])?
        } else {
            rebuild_from(input, xs.len(), |i| xs[i].value_in_live(w))?
        })?;
        let before = alts.len();
        alt_out.for_each_scalar(&mut |&v| alts.push(v));
        layout.check(&alt_out, alts.len() - before)?;
    }
    // The output was computed from numbers without worlds (a `PlainFn` captures none): it
    // carries none.
    attach::<true, _>(&mut out, &worlds, &alts);
    if draws_so_far() != before {
        return Err(Error::RandomnessInPropagate);
    }
    Ok(out)
}

/// Values of numbers in worlds (on the stack for small functions with few worlds).
pub(crate) type Values = smallvec::SmallVec<[f64; 32]>;

/// The numbers of `input` and the worlds they carry, coupled.
fn coupled<I: Scalars>(
    input: &I,
) -> (
    smallvec::SmallVec<[I::Scalar; 32]>,
    smallvec::SmallVec<[World; 4]>,
) {
    let mut xs: smallvec::SmallVec<[I::Scalar; 32]> = smallvec::SmallVec::new();
    input.for_each_scalar(&mut |s| xs.push(*s));
    let worlds = I::Scalar::couple_worlds(&xs);
    (xs, worlds)
}

/// The values of `xs` in each of `worlds` (just coupled: alive), input-major: one read of each
/// number's payload.
pub(crate) fn world_table<S: Scalar>(xs: &[S], worlds: &[World]) -> Values {
    let nw = worlds.len();
    let mut table: Values = smallvec::smallvec![0.0; xs.len() * nw];
    if nw > 0 {
        for (x, row) in xs.iter().zip(table.chunks_exact_mut(nw)) {
            x.values_in_live(worlds, row);
        }
    }
    table
}

/// Gives each number of `out` its value in every world, from `alts` (world-major: every world's
/// output in turn). All worlds of a number at once: attaching them one at a time rebuilt a
/// payload per (world, number), O(worlds²) per number for the backends that keep many worlds.
///
/// Where `out` carries no worlds (`WORLD_FREE`), by [`add_world_values`]: a world where a
/// number has its primal value is left out. A number that carries worlds (a value `propagate`'s
/// function captured) needs them all: Δ = 0 there replaces the world's value it had.
fn attach<const WORLD_FREE: bool, O: Scalars>(out: &mut O, worlds: &[World], alts: &[f64]) {
    let nw = worlds.len();
    if nw == 0 {
        return;
    }
    let n_out = alts.len() / nw;
    let mut i = 0;
    if WORLD_FREE {
        out.for_each_scalar_mut(&mut |s| {
            add_world_values(s, worlds, |j| alts[j * n_out + i]);
            i += 1;
        });
        return;
    }
    let mut entries: smallvec::SmallVec<[(World, f64); 8]> = smallvec::SmallVec::new();
    out.for_each_scalar_mut(&mut |s| {
        entries.clear();
        entries.extend(
            worlds
                .iter()
                .enumerate()
                .map(|(j, &w)| (w, alts[j * n_out + i])),
        );
        *s = s.with_worlds(&entries);
        i += 1;
    });
}

/// Gives `x`, a number without worlds, value `alt(j)` in each world `worlds[j]` (live,
/// distinct): [`Scalar::with_worlds`] of the worlds where its value is not the primal's. A world
/// where it is (Δ = 0, as the backends compute it) adds nothing to a number without worlds in
/// any backend, and most outputs are the primal's in most worlds. One or two worlds (the pruned
/// triple's one per direction) are added by [`Scalar::with_world`] in turn (what `with_worlds`
/// is), in place (a copy of the number per world cost more than the world).
#[inline]
pub(crate) fn add_world_values<S: Scalar>(x: &mut S, worlds: &[World], alt: impl Fn(usize) -> f64) {
    let v = x.primal_value();
    if worlds.len() <= 2 {
        for (j, &w) in worlds.iter().enumerate() {
            let a = alt(j);
            if a - v != 0.0 {
                *x = x.with_world(w, a);
            }
        }
        return;
    }
    add_many_world_values(x, worlds, &alt);
}

/// [`add_world_values`] of more than two worlds: one [`Scalar::with_worlds`] (out of line, so
/// that its buffer stays off the frame of the common case).
#[inline(never)]
fn add_many_world_values<S: Scalar>(x: &mut S, worlds: &[World], alt: &dyn Fn(usize) -> f64) {
    let v = x.primal_value();
    let entries: smallvec::SmallVec<[(World, f64); 8]> = worlds
        .iter()
        .enumerate()
        .map(|(j, &w)| (w, alt(j)))
        .filter(|&(_, a)| a - v != 0.0)
        .collect();
    if !entries.is_empty() {
        *x = x.with_worlds(&entries);
    }
}

/// Reduces the alternative worlds that the numbers in `x` carry to those one value of their type
/// can carry together, and returns them: the pruned triple keeps one world per direction (the
/// others lose a pruning decision and count as no perturbation everywhere, unbiasedly); the exact
/// triple keeps all; numbers without worlds have none.
///
/// [`propagate`] does this to its input. A program may call it at a fixed point of each
/// iteration, so that later arithmetic never meets two worlds of one direction: pruning then
/// happens at the same places whatever the program computes in between (e.g. whether it skips
/// negligible terms), and ops stay on their fast path.
///
/// ```
/// use stochad::{couple, sample::bernoulli, Scalar, Triple};
/// stochad::derivative(|t: Triple| {
///     let (a, b) = (bernoulli(t)?, bernoulli(t * 0.5)?);
///     // Each coin may carry its own world; coupled, at most one survives.
///     assert!(couple(&(a, b)).len() <= 1);
///     Ok::<_, stochad::Error>(a + b)
/// }).at(0.4).samples(20).estimate()?;
/// # Ok::<(), stochad::Error>(())
/// ```
pub fn couple<X: Scalars>(x: &X) -> smallvec::SmallVec<[World; 4]> {
    if !X::Scalar::CARRIES_WORLDS {
        return smallvec::SmallVec::new();
    }
    coupled(x).1
}

/// `items[k]` for a discrete number `k` (e.g. a categorical draw): the element at the primal
/// index, carrying in each alternative world the difference to the element that world selects.
/// Elements may themselves carry perturbations.
///
/// # Errors
/// [`Error::InvalidConfig`] when `k` is not an index of `items` in the primal or any world.
///
/// ```
/// use stochad::{select, Scalar};
/// let items = [1.0, 10.0, 100.0];
/// let v = stochad::with_run(0, 0, || select(&items, 2.0_f64)).unwrap();
/// assert_eq!(v, 100.0);
/// ```
pub fn select<T, S>(items: &[T], k: S) -> Result<T>
where
    S: Scalar,
    T: Scalars<Scalar = S> + Clone,
{
    propagate(
        |k: S| -> Result<T> { Ok(items[index_of(k.primal_value(), items.len())?].clone()) },
        k,
    )
}

/// `values[k]` as a number of `k`'s type, for constant `values` (like indexing a table of step
/// sizes with a categorical draw).
///
/// # Errors
/// [`Error::InvalidConfig`] when `k` is not an index of `values` in the primal or any world.
///
/// ```
/// use stochad::{index, Scalar};
/// let steps = [-1.0, 1.0];
/// assert_eq!(stochad::with_run(0, 0, || index(&steps, 1.0_f64)).unwrap(), 1.0);
/// ```
pub fn index<S: Scalar>(values: &[f64], k: S) -> Result<S> {
    propagate(
        |k: S| -> Result<S> { Ok(S::from(values[index_of(k.primal_value(), values.len())?])) },
        k,
    )
}

fn index_of(k: f64, len: usize) -> Result<usize> {
    if k >= 0.0 && k.fract() == 0.0 && (k as usize) < len {
        Ok(k as usize)
    } else {
        Err(Error::config(format!(
            "index {k} out of range for {len} items"
        )))
    }
}
