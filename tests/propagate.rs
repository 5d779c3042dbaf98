//! `propagate`, `select` and `index`: branches on discrete values, replayed in every world.
// Programs are passed as `|x| program(x)`, the form the docs teach.
#![allow(clippy::redundant_closure)]

mod common;

use common::{assert_close, check_powered, ms, sin_cos_exact};
use stochad::sample::{bernoulli, categorical_with, Coupling};
use stochad::triple::{AllWorlds, Backend, Keep, Pruned};
use stochad::{
    derivative, derivative_with, exact, index, propagate, propagate_plain, select, AllWorldsTriple,
    Dual, Error, KeepTriple, PlainFn, Result, Scalar, Scalars, Score, StochasticTriple, World,
};

const N: usize = 40_000;

/// The seed's Sin&Cos program with a real branch instead of arithmetic in k.
fn sin_cos_branch<S: Scalar>(t: S) -> Result<S> {
    let k = bernoulli(t.sigmoid())?;
    propagate(|k: S| if k.value() == 1.0 { t.sin() } else { t.cos() }, k)
}

#[test]
fn a_branch_through_propagate_is_unbiased() {
    for t in [-0.6, 0.5] {
        let exact = sin_cos_exact(t);
        check_powered(&format!("pruned θ = {t}"), exact, N, |n| {
            let d = derivative(|t| sin_cos_branch(t)).at(t).samples(n);
            ms(d.seed(1).estimate().unwrap())
        });
        check_powered(&format!("exact θ = {t}"), exact, N, |n| {
            let e = derivative_with(|t: AllWorldsTriple| sin_cos_branch(t)).at(t);
            ms(e.samples(n).seed(2).estimate().unwrap())
        });
        check_powered(&format!("score θ = {t}"), exact, N, |n| {
            let s = derivative_with(|t: Score| sin_cos_branch(t)).at(t);
            ms(s.samples(n).seed(3).estimate().unwrap())
        });
    }
}

/// `[3.5, 5.2, 8.4][Cat(p/2, p/2, 1 − p)]` from the reference tests, through `index`.
fn table<S: Scalar>(p: S, c: Coupling) -> Result<S> {
    let k = categorical_with(&[p * 0.5, p * 0.5, -p + 1.0], c)?;
    index(&[3.5, 5.2, 8.4], k)
}

#[test]
fn indexing_a_table_with_a_categorical() {
    for c in [Coupling::Inversion, Coupling::Proportional] {
        for p in [0.3, 0.8] {
            // E = p/2 (3.5 + 5.2) + (1 − p) 8.4: derivative 4.35 − 8.4.
            check_powered(&format!("{c:?} p={p}"), 4.35 - 8.4, N, |n| {
                let d = derivative(|p| table(p, c)).at(p).samples(n).seed(4);
                ms(d.estimate().unwrap())
            });
            let ex = exact::derivative(|p: Dual| table(p, c), p).unwrap();
            assert!((ex.gradient[0] - (4.35 - 8.4)).abs() < 1e-12);
        }
    }
}

/// Items that themselves carry perturbations: `select` keeps them, and replays the choice.
#[test]
fn select_elements_carrying_their_own_perturbations() {
    // a, b ~ Bernoulli(θ) each; pick a or b by a third coin: E = θ, derivative 1.
    let prog = |t: stochad::Triple| -> Result<stochad::Triple> {
        let items = [bernoulli(t)?, bernoulli(t)? * 2.0];
        let k = bernoulli(t)?;
        select(&items, k)
    };
    // E = (1 − θ) θ + θ · 2θ = θ + θ²: derivative 1 + 2θ.
    let d = derivative(prog)
        .at(0.4)
        .samples(N)
        .seed(5)
        .estimate()
        .unwrap();
    assert_close("select", d.mean, d.stderr, 1.0 + 0.8);
    let ex = exact::derivative(
        |t: Dual| {
            let items = [bernoulli(t)?, bernoulli(t)? * 2.0];
            let k = bernoulli(t)?;
            select(&items, k)
        },
        0.4,
    )
    .unwrap();
    assert!((ex.gradient[0] - 1.8).abs() < 1e-12);
}

#[derive(Clone, Debug, Scalars)]
struct Bag<S> {
    items: Vec<S>,
}

#[test]
fn outputs_of_another_shape_in_an_alternative_world_are_an_error() {
    // The output's length depends on the coin: a documented error, not a wrong answer.
    let prog = |t: stochad::Triple| -> Result<stochad::Triple> {
        let k = bernoulli(t)?;
        let bag: Bag<stochad::Triple> = propagate(
            |k: stochad::Triple| Bag {
                items: vec![t; 1 + k.value() as usize],
            },
            k,
        )?;
        Ok(bag.items.iter().copied().sum())
    };
    let e = derivative(prog).at(0.5).samples(200).estimate();
    assert!(matches!(e, Err(Error::ShapeMismatch { .. })), "{e:?}");
    // With f64 (no alternative worlds) the same program runs.
    let v = stochad::with_run(0, 0, || {
        let k = bernoulli(0.5f64)?;
        let bag: Bag<f64> = propagate(
            |k: f64| Bag {
                items: vec![0.5; 1 + k as usize],
            },
            k,
        )?;
        Ok::<_, Error>(bag.items.len())
    });
    assert!(matches!(v, Ok(1) | Ok(2)));
}

#[test]
fn randomness_inside_propagate_is_an_error() {
    let prog = |t: stochad::Triple| -> Result<stochad::Triple> {
        let k = bernoulli(t)?;
        propagate(
            |k: stochad::Triple| -> Result<stochad::Triple> { Ok(k + bernoulli(t)?) },
            k,
        )
    };
    let e = derivative(prog).at(0.5).samples(10).estimate();
    assert!(matches!(e, Err(Error::RandomnessInPropagate)), "{e:?}");
    // The same through `propagate_plain`, with and without worlds to replay.
    struct Draws;
    impl<S: Scalar> PlainFn<S> for Draws {
        type Output<T: Scalar> = T;
        fn call<T: Scalar>(&self, k: T) -> Result<T> {
            Ok(k + bernoulli(T::from(0.5))?)
        }
    }
    for p in [0.5, 0.0] {
        let e = derivative(|t| propagate_plain(&Draws, &bernoulli(t * p)?))
            .at(0.5)
            .samples(10)
            .estimate();
        assert!(
            matches!(e, Err(Error::RandomnessInPropagate)),
            "p = {p}: {e:?}"
        );
    }
}

#[test]
fn out_of_range_index_is_an_error() {
    let e = stochad::with_run(0, 0, || index(&[1.0, 2.0], 2.0_f64));
    assert!(matches!(e, Err(Error::InvalidConfig { .. })), "{e:?}");
}

/// Physics types flow through `propagate`: pick one of two four-momenta by a coin and read its
/// mass, with the momenta lifted from f64 data into the number type.
#[test]
fn four_momenta_through_select() {
    use stochad::jets::FourMomentum;
    use stochad::scalars::lift;
    let a = FourMomentum::new(10.0, 0.0, 5.0, 20.0);
    let b = FourMomentum::new(0.0, 30.0, 0.0, 40.0);
    let prog = |t: stochad::Triple| -> Result<stochad::Triple> {
        let items = [lift(&a), lift(&b)];
        let p: FourMomentum<stochad::Triple> = select(&items, bernoulli(t)?)?;
        Ok(p.mass())
    };
    // E[m] = (1 − θ) m_a + θ m_b: derivative m_b − m_a.
    let (ma, mb) = (a.mass(), b.mass());
    let d = derivative(prog)
        .at(0.3)
        .samples(N)
        .seed(9)
        .estimate()
        .unwrap();
    assert_close("mass of a selected momentum", d.mean, d.stderr, mb - ma);
}

/// Items indexed by `k1 + 2·k2` for two coins.
const ITEMS: [f64; 4] = [1.0, 3.0, 7.0, 15.0];

/// `propagate` replays *every* world its input carries, and each world's output lands in that
/// world: checked run by run where two worlds meet — worlds of two directions (pruned triple,
/// which keeps one per direction) and two worlds of one direction (exact triple, which keeps all).
#[test]
fn every_world_is_replayed_where_two_worlds_meet() {
    fn check<S: Scalar>(k: S, what: &str) -> Result<()> {
        let out = select(&ITEMS.map(S::from), k)?;
        let worlds = k.worlds();
        assert_eq!(out.value(), ITEMS[k.value() as usize], "{what}");
        for &w in &worlds {
            let want = ITEMS[k.value_in(w) as usize];
            assert_eq!(out.value_in(w), want, "{what}: world {w:?}");
        }
        // The output moves in every world in which the selected item changes (here: all).
        assert_eq!(out.worlds().as_slice(), worlds.as_slice(), "{what}");
        Ok(())
    }
    let mut met = [0usize; 2];
    for i in 0..200 {
        stochad::with_run(30, i, || -> Result<()> {
            // Two directions: coin a opens a world of direction 0, coin b one of direction 1.
            let (a, b) = (
                stochad::Triple::<2>::variable(0.3, 0),
                stochad::Triple::<2>::variable(0.6, 1),
            );
            let k = bernoulli(a)? + bernoulli(b)? * 2.0;
            met[0] += (k.worlds().len() == 2) as usize;
            check(k, "pruned, two directions")?;
            // One direction, two coins, all-worlds backend: both worlds kept and replayed.
            let t = AllWorldsTriple::<1>::variable(0.3, 0);
            let k = bernoulli(t)? + bernoulli(t)? * 2.0;
            met[1] += (k.worlds().len() == 2) as usize;
            check(k, "exact, two worlds of one direction")
        })
        .unwrap();
    }
    assert!(
        met[0] > 20 && met[1] > 20,
        "two worlds met too rarely: {met:?}"
    );
}

/// `couple` reduces the worlds of several values to those one value can carry: the pruned
/// triple keeps one per direction (and the losers are dead everywhere, so the sum carries only the
/// survivor), the exact triple keeps all; numbers without worlds report none.
#[test]
fn couple_reduces_worlds_to_what_one_value_carries() {
    let mut met = [0usize; 2];
    for i in 0..200 {
        stochad::with_run(31, i, || -> Result<()> {
            // One direction, two coins: each may open its own world.
            let t = stochad::Triple::<1>::variable(0.3, 0);
            let (a, b) = (bernoulli(t)?, bernoulli(t)?);
            if !a.worlds().is_empty() && !b.worlds().is_empty() {
                met[0] += 1;
                let kept = stochad::couple(&(a, b));
                assert_eq!(kept.len(), 1, "pruned: one world survives coupling");
                assert_eq!((a + b).worlds().as_slice(), kept.as_slice(), "pruned sum");
            }
            let t = AllWorldsTriple::<1>::variable(0.3, 0);
            let (a, b) = (bernoulli(t)?, bernoulli(t)?);
            if !a.worlds().is_empty() && !b.worlds().is_empty() {
                met[1] += 1;
                assert_eq!(stochad::couple(&(a, b)).len(), 2, "exact: both worlds kept");
            }
            assert!(
                stochad::couple(&(0.3f64, 0.6f64)).is_empty(),
                "f64 has no worlds"
            );
            Ok(())
        })
        .unwrap();
    }
    assert!(
        met[0] > 10 && met[1] > 10,
        "two worlds met too rarely: {met:?}"
    );
}

/// The same selection as estimates: gradients of two directions through `select` (pruned and
/// exact triples, score mix) and the exact triple with two worlds of one direction.
#[test]
fn select_with_several_worlds_is_unbiased() {
    fn two<S: Scalar>([a, b]: [S; 2]) -> Result<S> {
        select(&ITEMS.map(S::from), bernoulli(a)? + bernoulli(b)? * 2.0)
    }
    // P(k) = (1−a)(1−b), a(1−b), (1−a)b, ab:
    //   d/da = (1−b)(3−1) + b(15−7), d/db = (1−a)(7−1) + a(15−3).
    let (a, b) = (0.3, 0.6);
    let want = [(1.0 - b) * 2.0 + b * 8.0, (1.0 - a) * 6.0 + a * 12.0];
    let check = |name: &str, g: stochad::GradientEstimate<2>| {
        for (d, &w) in want.iter().enumerate() {
            assert_close(&format!("{name} d{d}"), g.mean[d], g.stderr[d], w);
        }
    };
    let g = stochad::gradient(|x| two(x)).at([a, b]).samples(N).seed(31);
    check("pruned", g.estimate().unwrap());
    let g = stochad::gradient(|x| two(x)).at([a, b]).samples(N).seed(32);
    check("score mix", g.score_mix(true).estimate().unwrap());
    let g = stochad::gradient_with(|x: [AllWorldsTriple<2>; 2]| two(x));
    check(
        "exact",
        g.at([a, b]).samples(N).seed(33).estimate().unwrap(),
    );
    // One parameter, both coins: E = Σ_k P(k) items[k] with a = b = θ.
    let t = 0.3;
    let exact =
        -2.0 * (1.0 - t) * ITEMS[0] + (1.0 - 2.0 * t) * (ITEMS[1] + ITEMS[2]) + 2.0 * t * ITEMS[3];
    let e = derivative_with(|t: AllWorldsTriple| two([t, t]))
        .at(t)
        .samples(N)
        .seed(34)
        .estimate()
        .unwrap();
    assert_close("exact, one direction", e.mean, e.stderr, exact);
    let p = derivative(|t| two([t, t])).at(t).samples(N).seed(35);
    let p = p.estimate().unwrap();
    assert_close("pruned, one direction", p.mean, p.stderr, exact);
}

/// Inside `propagate` the function sees plain values — the primal's and each world's — so it may
/// branch with the comparison operators on its input, not only on `value()`: no comparison is
/// reported as one a perturbation would flip.
#[test]
fn comparisons_inside_propagate_see_plain_values() {
    fn prog<S: Scalar>(t: S) -> Result<S> {
        let k = bernoulli(t)?;
        propagate(|k: S| if k > 0.5 { t.sin() } else { t.cos() }, k)
    }
    // E = t sin t + (1 − t) cos t.
    let t = 0.4f64;
    let exact = t.sin() + t * t.cos() - t.cos() - (1.0 - t) * t.sin();
    check_powered("pruned", exact, N, |n| {
        let d = derivative(|t| prog(t)).at(t).samples(n).seed(36);
        ms(d.estimate().unwrap())
    });
    check_powered("exact", exact, N, |n| {
        let e = derivative_with(|t: AllWorldsTriple| prog(t))
            .at(t)
            .samples(n);
        ms(e.seed(37).estimate().unwrap())
    });
}

/// The smoothed backend through `index`, `select` and `propagate`: each jump of the draw is
/// replayed, so the output's smoothed tangent gains β·(f(y') − f(y)). (It used to lose the whole
/// discrete contribution there: `index(&[0, 1], bernoulli(p))` estimated 0 ± 0.)
#[test]
fn smoothed_backend_replays_jumps_through_propagate() {
    use stochad::sample::categorical;
    use stochad::SmoothedTriple as St;
    // E[[0, 1][B]] = p: derivative 1.
    let d = derivative_with(|p: St| index(&[0.0, 1.0], bernoulli(p)?))
        .at(0.3)
        .samples(N)
        .seed(40)
        .estimate()
        .unwrap();
    assert_close("smoothed index(bernoulli)", d.mean, d.stderr, 1.0);
    // A table indexed by a categorical, both couplings (inversion jumps left *and* right).
    for c in [Coupling::Inversion, Coupling::Proportional] {
        check_powered(&format!("smoothed table {c:?}"), 4.35 - 8.4, N, |n| {
            let d = derivative_with(|p: St| table(p, c)).at(0.3).samples(n);
            ms(d.seed(41).estimate().unwrap())
        });
    }
    // `select` among items with pathwise tangents, by a categorical of the same parameter.
    fn sel<S: Scalar>(t: S) -> Result<S> {
        let k = categorical(&[t * 0.5, t * 0.5, -t + 1.0])?;
        select(&[t * 3.0, t * t * 4.0, -t + 2.0], k)
    }
    let ex = exact::derivative(|t: Dual| sel(t), 0.7).unwrap().gradient[0];
    assert!((ex - (5.0 * 0.7 + 6.0 * 0.49 - 3.0)).abs() < 1e-12);
    check_powered("smoothed select", ex, N, |n| {
        let d = derivative_with(|t: St| sel(t)).at(0.7).samples(n);
        ms(d.seed(42).estimate().unwrap())
    });
    // A branch through `propagate` (the sin/cos program).
    let t = -0.6;
    check_powered("smoothed branch", sin_cos_exact(t), N, |n| {
        let d = derivative_with(|t: St| sin_cos_branch(t)).at(t).samples(n);
        ms(d.seed(43).estimate().unwrap())
    });
}

/// Sin&Cos with the branch written once over the number type, for `propagate_plain`: the
/// parameter is part of the input (the function cannot capture a perturbed number).
struct SinOrCos;

impl<S: Scalar> PlainFn<(S, S)> for SinOrCos {
    type Output<T: Scalar> = T;
    fn call<T: Scalar>(&self, (k, t): (T, T)) -> Result<T> {
        Ok(if k.value() == 1.0 { t.sin() } else { t.cos() })
    }
}

fn sin_cos_plain<S: Scalar>(t: S) -> Result<S> {
    let k = bernoulli(t.sigmoid())?;
    propagate_plain(&SinOrCos, &(k, t))
}

#[test]
fn a_branch_through_propagate_plain_is_unbiased() {
    for t in [-0.6, 0.5] {
        let exact = sin_cos_exact(t);
        check_powered(&format!("pruned θ = {t}"), exact, N, |n| {
            let d = derivative(|t| sin_cos_plain(t)).at(t).samples(n);
            ms(d.seed(1).estimate().unwrap())
        });
        check_powered(&format!("keep-4 θ = {t}"), exact, N, |n| {
            let d = derivative_with(|t: KeepTriple<4>| sin_cos_plain(t)).at(t);
            ms(d.samples(n).seed(6).estimate().unwrap())
        });
        let ex = exact::derivative(|t: Dual| sin_cos_plain(t), t).unwrap();
        assert!((ex.gradient[0] - exact).abs() < 1e-12);
    }
}

/// A walk of `M` counters: each step draws a counter by weights that depend on θ and the
/// counters, and moves it by a branch on the counters' values (wrapping above 3), so alternative
/// histories differ in several counters at once and numbers carry many worlds.
const M: usize = 6;

fn step<T: Scalar>(mut c: Vec<T>, k: T) -> Vec<T> {
    let k = k.value() as usize;
    let next = (k + 1) % M;
    if c[k].value() + c[next].value() > 3.0 {
        c[k] -= 3.0;
    } else {
        c[k] = c[k] + c[next] * 0.5 + 1.0;
        c[next] = T::zero();
    }
    c
}

struct Step;

impl<S: Scalar> PlainFn<(Vec<S>, S)> for Step {
    type Output<T: Scalar> = Vec<T>;
    fn call<T: Scalar>(&self, (c, k): (Vec<T>, T)) -> Result<Vec<T>> {
        Ok(step(c, k))
    }
}

fn walk<S: Scalar>(t: S, plain: bool) -> Result<S> {
    Ok(walk_state(t, plain, 12)?.iter().copied().sum())
}

/// Draws a counter by weights that depend on θ and the counters.
fn draw_counter<S: Scalar>(c: &[S], t: S) -> Result<S> {
    let w: Vec<S> = c
        .iter()
        .enumerate()
        .map(|(i, &x)| (x * -0.3).exp() * (t * i as f64 + 1.0))
        .collect();
    categorical_with(&w, Coupling::Proportional)
}

fn walk_state<S: Scalar>(t: S, plain: bool, steps: usize) -> Result<Vec<S>> {
    let mut c: Vec<S> = (0..M).map(|i| S::from(i as f64 * 0.3)).collect();
    for _ in 0..steps {
        let k = draw_counter(&c, t)?;
        c = if plain {
            propagate_plain(&Step, &(c, k))?
        } else {
            propagate(|(c, k): (Vec<S>, S)| step(c, k), (c, k))?
        };
    }
    Ok(c)
}

/// `propagate_plain` gives the same runs as `propagate`, bit for bit, in every backend: one
/// world per direction (pruned), a few and more than a payload holds inline (keep-4, keep-16),
/// and every world (all-worlds).
#[test]
fn propagate_plain_takes_the_same_runs_as_propagate() {
    fn same<S: Scalar + stochad::Estimator<1>>(what: &str) -> usize {
        let runs = |plain: bool| {
            derivative_with(move |t: S| walk(t, plain))
                .at(0.4)
                .samples(300)
                .seed(9)
                .runs()
                .unwrap()
        };
        let (a, b) = (runs(false), runs(true));
        for (i, (a, b)) in a.iter().zip(&b).enumerate() {
            assert_eq!(
                (a.value.to_bits(), a.derivative[0].to_bits()),
                (b.value.to_bits(), b.derivative[0].to_bits()),
                "{what}, run {i}"
            );
        }
        a.iter().filter(|r| r.derivative[0] != 0.0).count()
    }
    // Most runs must open worlds that reach the output, or the comparison would see little.
    for (what, moved) in [
        ("pruned", same::<stochad::Triple>("pruned")),
        ("keep-4", same::<KeepTriple<4>>("keep-4")),
        ("keep-16", same::<KeepTriple<16>>("keep-16")),
        ("all worlds", same::<AllWorldsTriple>("all worlds")),
    ] {
        assert!(moved > 150, "{what}: only {moved} of 300 runs moved");
    }
}

/// Each world's output lands in that world, number by number: after some steps of the walk
/// (numbers carrying several worlds), one more step through `propagate` and `propagate_plain`
/// against the step computed in `f64` on each world's values.
#[test]
fn every_output_number_gets_its_own_value_in_every_world() {
    let mut most = 0;
    for i in 0..100 {
        stochad::with_run(13, i, || -> Result<()> {
            let t = AllWorldsTriple::<1>::variable(0.4, 0);
            let c = walk_state(t, true, 8)?;
            let k = draw_counter(&c, t)?;
            let worlds = stochad::couple(&(c.clone(), k));
            most = most.max(worlds.len());
            let outs = [
                propagate(|(c, k): (Vec<_>, _)| step(c, k), (c.clone(), k))?,
                propagate_plain(&Step, &(c.clone(), k))?,
            ];
            for w in worlds {
                let want = step(c.iter().map(|x| x.value_in(w)).collect(), k.value_in(w));
                for out in &outs {
                    // A world's value is stored as a difference to the primal: equal to rounding.
                    for (x, want) in out.iter().zip(&want) {
                        let got = x.value_in(w);
                        assert!(
                            (got - want).abs() <= 1e-12 * (1.0 + want.abs()),
                            "run {i}, world {w:?}: {got} vs {want}"
                        );
                    }
                }
            }
            Ok(())
        })
        .unwrap();
    }
    assert!(most >= 4, "too few worlds met: {most}");
}

/// The many-world backends batch their reads and writes of a number's worlds: the batched
/// results against one world at a time, on numbers carrying more worlds than a keep-K payload
/// holds inline, and on payloads with and without worlds of their own.
#[test]
fn batched_world_reads_and_writes_match_one_at_a_time() {
    fn check<B: Backend>(what: &str) -> usize {
        let mut most = 0;
        for i in 0..100 {
            stochad::with_run(12, i, || -> Result<()> {
                // Two directions; twelve coins, each of which may open a world of its
                // parameter's direction.
                let ts = [0, 1].map(|d| StochasticTriple::<B, 2>::variable(0.4, d));
                let t = ts[0] + ts[1];
                let mut x = StochasticTriple::<B, 2>::from(0.0);
                for j in 0..12 {
                    x += bernoulli(ts[j % 2] * (0.5 + 0.03 * j as f64))? * (j as f64 + 1.0);
                }
                let worlds = x.worlds();
                most = most.max(worlds.len());
                let one: Vec<f64> = worlds.iter().map(|&w| x.value_in_live(w)).collect();
                let mut batch = vec![0.0; worlds.len()];
                x.values_in_live(&worlds, &mut batch);
                assert_eq!(one, batch, "{what}: values_in_live");
                // In any order (here: reversed).
                let back: Vec<World> = worlds.iter().rev().copied().collect();
                x.values_in_live(&back, &mut batch);
                batch.reverse();
                assert_eq!(one, batch, "{what}: values_in_live, reversed");
                let mut all = vec![x.value()];
                all.extend(&one);
                assert_eq!(x.world_values().to_vec(), all, "{what}: world_values");
                // The minimum of several numbers against the fold of `min`: the same primal,
                // tangents and worlds, each world's value to rounding.
                let xs = [x * 0.5 + 1.0, t * 3.0, -x + 10.0, x * 0.25 + t];
                let fold = xs.iter().copied().reduce(|a, b| a.min(b)).unwrap();
                let batch = StochasticTriple::<B, 2>::min_of(xs.into_iter()).unwrap();
                assert_eq!(batch.value(), fold.value(), "{what}: min_of");
                assert_eq!(batch.delta, fold.delta, "{what}: min_of's tangents");
                assert_eq!(batch.worlds(), fold.worlds(), "{what}: min_of's worlds");
                for w in fold.worlds() {
                    let (a, b) = (batch.value_in(w), fold.value_in(w));
                    assert!(
                        (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                        "{what}: {a} vs {b}"
                    );
                }
                // New values in every world, for a number without worlds and for one with.
                for y in [(t * 2.0).without_worlds(), x * 2.0 + t] {
                    // In any order (here: reversed), some equal to the primal (no change).
                    let entries: Vec<(World, f64)> = worlds
                        .iter()
                        .enumerate()
                        .rev()
                        .map(|(j, &w)| (w, if j % 3 == 0 { y.value() } else { j as f64 }))
                        .collect();
                    let a = y.with_worlds(&entries);
                    let b = entries.iter().fold(y, |y, &(w, v)| y.with_world(w, v));
                    assert_eq!(a.worlds(), b.worlds(), "{what}: with_worlds' worlds");
                    for w in b.worlds() {
                        assert_eq!(a.value_in(w), b.value_in(w), "{what}: world {w:?}");
                    }
                    for d in 0..2 {
                        assert_eq!(
                            a.derivative_contribution(d),
                            b.derivative_contribution(d),
                            "{what}"
                        );
                    }
                }
                Ok(())
            })
            .unwrap();
        }
        most
    }
    // The most worlds a sum carried: beyond 8 a keep payload spills out of line.
    assert!(check::<Keep<16>>("keep-16") > 8);
    assert_eq!(check::<Keep<4>>("keep-4"), 8);
    assert!(check::<AllWorlds>("all worlds") > 8);
    assert_eq!(check::<Pruned>("pruned"), 2);
}

/// A `PlainFn` that computes other values in `f64` than with the number type would give every
/// world a wrong difference to the primal: a typed error, not a wrong derivative.
#[test]
fn a_plain_function_that_depends_on_the_number_type_is_an_error() {
    struct Sneaky;
    impl<S: Scalar> PlainFn<S> for Sneaky {
        type Output<T: Scalar> = T;
        fn call<T: Scalar>(&self, x: T) -> Result<T> {
            // 8 bytes: f64.
            Ok(if std::mem::size_of::<T>() == 8 {
                x + 1.0
            } else {
                x
            })
        }
    }
    let e = derivative(|t| propagate_plain(&Sneaky, &bernoulli(t)?))
        .at(0.5)
        .samples(50)
        .estimate();
    assert!(
        matches!(&e, Err(Error::InvalidConfig { reason }) if reason.contains("PlainFn")),
        "{e:?}"
    );
    // Without worlds to replay there is nothing to check (and nothing to get wrong).
    let v = stochad::with_run(0, 0, || propagate_plain(&Sneaky, &2.0_f64)).unwrap();
    assert_eq!(v, 3.0);
}

/// A draw whose parameters' worlds are given as values (how Qanti-kT draws with the triples
/// that redraw worlds: weights without worlds, each world's weights in f64) is the draw of
/// parameters carrying those worlds: the same outcome, the same worlds with the same values, the
/// same derivative, bit for bit, for every backend that redraws and each categorical family.
#[test]
fn a_draw_with_worlds_given_as_values_is_the_draw_of_numbers_carrying_them() {
    use stochad::sample::{Categorical, Redraw};
    fn run<B: Backend>(seed: u64, i: u64, family: Categorical, given: bool) -> (Vec<f64>, usize) {
        stochad::with_run(seed, i, || -> Result<(Vec<f64>, usize)> {
            let ts = [0, 1].map(|d| StochasticTriple::<B, 2>::variable(0.45, d));
            let mut x = StochasticTriple::<B, 2>::from(0.0);
            for j in 0..14 {
                x += bernoulli(ts[j % 2] * (0.6 + 0.02 * j as f64))? * (j as f64 + 1.0);
            }
            let worlds: Vec<World> = stochad::couple(&x).into_iter().collect();
            // The most worlds of one direction (beyond 4 a many-world backend replays a draw
            // from a table of every parameter's differences).
            let per_dir = (0..2)
                .map(|d| worlds.iter().filter(|w| w.dir == d).count())
                .max();
            // Weights that move with θ and differ between x's worlds.
            let w: Vec<StochasticTriple<B, 2>> = (0..7)
                .map(|k| (x * (-0.15 * (k as f64 + 1.0))).exp() * (ts[k % 2] + 0.2 * k as f64))
                .collect();
            let k = if given {
                let mut rows = Vec::new();
                for &world in &worlds {
                    rows.extend(w.iter().map(|p| p.value_in_live(world)));
                }
                let free: Vec<_> = w.iter().map(|p| p.without_worlds()).collect();
                StochasticTriple::<B, 2>::draw_in_worlds(&family, &free, &worlds, &rows)?
            } else {
                StochasticTriple::<B, 2>::draw(&family, &w)?
            };
            let y = k * 10.0 + x;
            let mut out = vec![
                y.value(),
                y.derivative_contribution(0),
                y.derivative_contribution(1),
            ];
            for w in y.worlds() {
                out.extend([w.dir as f64, w.id as f64, y.value_in(w)]);
            }
            Ok((out, per_dir.unwrap_or(0)))
        })
        .unwrap()
    }
    fn check<B: Backend>(what: &str) -> usize {
        let families = [
            Categorical {
                coupling: Coupling::Proportional,
                redraw: Redraw::Maximal,
            },
            Categorical {
                coupling: Coupling::Inversion,
                redraw: Redraw::SameUniform,
            },
            Categorical {
                coupling: Coupling::SignedFan(2),
                redraw: Redraw::Maximal,
            },
        ];
        let mut most = 0;
        for family in families {
            for i in 0..150 {
                let (a, nw) = run::<B>(5, i, family, false);
                let (b, _) = run::<B>(5, i, family, true);
                assert_eq!(a, b, "{what}, {family:?}, run {i}");
                most = most.max(nw);
            }
        }
        most
    }
    assert_eq!(check::<Pruned>("pruned"), 1);
    assert!(check::<Keep<4>>("keep-4") > 2);
    assert!(check::<Keep<16>>("keep-16") > 4);
    assert!(check::<AllWorlds>("all worlds") > 4);
}

/// Worlds given as values where they cannot be taken are typed errors, never dropped: for
/// numbers without worlds, for the smoothed backend (which summarises worlds by tangents), for
/// parameters that carry worlds themselves, and for rows that do not match the worlds.
#[test]
fn worlds_given_as_values_that_cannot_be_taken_are_errors() {
    use stochad::sample::Categorical;
    use stochad::triple::Smoothed;
    let family = Categorical::default();
    let world = World { dir: 0, id: 0 };
    let is_config = |r: &Result<f64>| matches!(r, Err(Error::InvalidConfig { .. }));
    let r = stochad::with_run(1, 0, || {
        f64::draw_in_worlds(&family, &[1.0, 2.0], &[world], &[1.0, 3.0])
    });
    assert!(is_config(&r), "{r:?}");
    // Without worlds, every type draws as `draw` does.
    let a = stochad::with_run(1, 0, || f64::draw_in_worlds(&family, &[1.0, 2.0], &[], &[]));
    let b = stochad::with_run(1, 0, || f64::draw(&family, &[1.0, 2.0]));
    assert_eq!(a.unwrap(), b.unwrap());
    fn triple<B: Backend>(rows: usize, carry: bool, family: Categorical) -> Result<f64> {
        stochad::with_run(3, 0, || -> Result<f64> {
            let t = StochasticTriple::<B, 1>::variable(0.5, 0);
            let mut x = StochasticTriple::<B, 1>::from(0.0);
            // Until a coin opens a world.
            while x.worlds().is_empty() {
                x += bernoulli(t)?;
            }
            let worlds: Vec<World> = x.worlds().into_iter().collect();
            let w = [x + 1.0, t + 1.0];
            let params: Vec<_> = if carry {
                w.to_vec()
            } else {
                w.map(|p| p.without_worlds()).to_vec()
            };
            let alt = vec![1.5; rows * 2];
            Ok(StochasticTriple::<B, 1>::draw_in_worlds(&family, &params, &worlds, &alt)?.value())
        })
    }
    assert!(triple::<Pruned>(1, false, family).is_ok());
    assert!(is_config(&triple::<Pruned>(2, false, family)));
    assert!(is_config(&triple::<Pruned>(1, true, family)));
    assert!(is_config(&triple::<Keep<4>>(0, false, family)));
    assert!(is_config(&triple::<Smoothed>(1, false, family)));
}
