//! Sharp edges a new user hit (issue 8): strict mode for `.value()` outside `propagate`, the
//! run's default coupling, error messages that say what works for a draw inside a branch, and
//! the generic-helper and `min`/`max` conveniences.
// Programs are passed as `|x| program(x)`, the form the docs teach.
#![allow(clippy::redundant_closure)]

mod common;

use common::{assert_close, check_powered, ms};
use stochad::sample::{
    bernoulli, categorical, categorical_logits, categorical_logits_by, categorical_logits_with,
    categorical_with, Categorical, Coupling,
};
use stochad::{
    derivative, derivative_with, exact, propagate, select, AllWorldsTriple, Dual, Error, Estimate,
    Estimator, Result, Scalar, Score, SmoothedTriple, Triple,
};

const N: usize = 20_000;

/// Strict mode names the line of a `.value()` read that steers a branch outside `propagate`;
/// the same program runs (silently biased) without it, and the branch through `propagate` passes
/// strict mode with the very same estimate as without it.
#[test]
fn strict_mode_names_the_value_read() {
    let read_line = line!() + 3;
    let biased = |p: Triple| -> Result<Triple> {
        let k = bernoulli(p)?;
        Ok(if k.value() == 1.0 { p * 3.0 } else { p })
    };
    let e = derivative(biased)
        .at(0.3)
        .samples(200)
        .strict(true)
        .estimate();
    match e {
        Err(Error::PerturbedValueRead { file, line, .. }) => {
            assert!(file.ends_with("sharp_edges.rs"), "{file}");
            assert_eq!(line, read_line);
        }
        other => panic!("strict mode missed the read: {other:?}"),
    }
    let msg = derivative(biased)
        .at(0.3)
        .samples(200)
        .strict(true)
        .estimate()
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(&format!("sharp_edges.rs:{read_line}")),
        "{msg}"
    );
    assert!(msg.contains("propagate"), "{msg}");
    // Off (the default), the biased program runs: E = p·3p + (1 − p)·p, d = 4p + 1 = 2.2, but
    // the estimate is only the pathwise 3·P(k = 1) + P(k = 0) = 1.6.
    let off = derivative(biased)
        .at(0.3)
        .samples(N)
        .seed(1)
        .estimate()
        .unwrap();
    assert!((off.mean - 1.6).abs() < 5.0 * off.stderr + 1e-12, "{off}");
    // One sample alone is checked too.
    let one = (0..50).map(|i| derivative(biased).at(0.3).strict(true).run(i));
    assert!(one
        .into_iter()
        .any(|r| matches!(r, Err(Error::PerturbedValueRead { .. }))));
    // Right: the branch inside propagate, strict or not, same numbers.
    let right = |p: Triple| -> Result<Triple> {
        let k = bernoulli(p)?;
        propagate(|k: Triple| if k.value() == 1.0 { p * 3.0 } else { p }, k)
    };
    let strict = derivative(right).at(0.3).samples(N).seed(2).strict(true);
    let strict = strict.estimate().unwrap();
    let plain = derivative(right)
        .at(0.3)
        .samples(N)
        .seed(2)
        .estimate()
        .unwrap();
    assert_eq!(strict, plain);
    assert_close("branch through propagate", strict.mean, strict.stderr, 2.2);
    // Reads for logging go through `scalars::primal`, which strict mode lets pass.
    let logged = |p: Triple| -> Result<Triple> {
        let k = bernoulli(p)?;
        let _shown = stochad::scalars::primal(&k);
        Ok(k * 3.0)
    };
    assert!(derivative(logged)
        .at(0.3)
        .samples(200)
        .strict(true)
        .estimate()
        .is_ok());
}

/// The run's default coupling reaches every categorical draw that names none — `categorical`
/// and `categorical_logits` — and no other; the default stays bit-identical to an explicit
/// `Coupling::Proportional`.
#[test]
fn the_drivers_default_coupling_reaches_unnamed_draws_only() {
    fn w<S: Scalar>(t: S) -> [S; 4] {
        [-t + 1.0, t * 0.5, t * 0.25, t * 0.25]
    }
    fn f<S: Scalar>(k: S) -> S {
        k * k
    }
    let run = |c: Option<Coupling>, prog: fn(Triple) -> Result<Triple>| -> Estimate {
        let d = derivative(prog).at(0.4).samples(2_000).seed(3);
        let d = match c {
            Some(c) => d.coupling(c),
            None => d,
        };
        d.estimate().unwrap()
    };
    let unnamed: fn(Triple) -> Result<Triple> = |t| Ok(f(categorical(&w(t))?));
    let logits: fn(Triple) -> Result<Triple> =
        |t| Ok(f(categorical_logits(&w(t).map(|x| x.ln()))?));
    let inversion: fn(Triple) -> Result<Triple> =
        |t| Ok(f(categorical_with(&w(t), Coupling::Inversion)?));
    let proportional: fn(Triple) -> Result<Triple> =
        |t| Ok(f(categorical_with(&w(t), Coupling::Proportional)?));
    let logits_inv: fn(Triple) -> Result<Triple> = |t| {
        let l = w(t).map(|x| x.ln());
        Ok(f(categorical_logits_with(&l, Coupling::Inversion)?))
    };
    let logits_prop: fn(Triple) -> Result<Triple> = |t| {
        let l = w(t).map(|x| x.ln());
        let fam = Categorical::with_coupling(Coupling::Proportional);
        Ok(f(categorical_logits_by(&l, &fam)?))
    };
    // Default: proportional, bit for bit.
    assert_eq!(run(None, unnamed), run(None, proportional));
    assert_eq!(run(None, logits), run(None, logits_prop));
    // Set on the driver: inversion for the unnamed draws…
    assert_eq!(
        run(Some(Coupling::Inversion), unnamed),
        run(None, inversion)
    );
    assert_eq!(
        run(Some(Coupling::Inversion), logits),
        run(None, logits_inv)
    );
    assert_ne!(run(Some(Coupling::Inversion), unnamed), run(None, unnamed));
    // …but a draw that names its coupling keeps it.
    assert_eq!(
        run(Some(Coupling::Inversion), proportional),
        run(None, proportional)
    );
    assert_eq!(
        run(Some(Coupling::Inversion), logits_prop),
        run(None, logits_prop)
    );
    // And both are unbiased through the logits: E[K²] = θ/2 + θ + 9θ/4, derivative 3.75.
    let ex = exact::derivative(|t: Dual| Ok::<_, Error>(f(categorical(&w(t))?)), 0.4).unwrap();
    assert!((ex.gradient[0] - 3.75).abs() < 1e-12);
    for c in [Coupling::Inversion, Coupling::Proportional] {
        check_powered(&format!("logits {c:?}"), 3.75, N, |n| {
            let d = derivative(logits).at(0.4).samples(n).seed(4).coupling(c);
            ms(d.estimate().unwrap())
        });
    }
}

/// The per-sample standard deviation of d/dθ E[f(K)], K ~ Categorical(softmax(θ·s)), under both
/// couplings, for outcomes `f` laid out along the categories. Returns (inversion, proportional).
fn coupling_std(s: &'static [f64], f: &'static [f64], theta: f64) -> (f64, f64) {
    let prog = move |t: Triple| -> Result<Triple> {
        let logits: Vec<Triple> = s.iter().map(|&si| t * si).collect();
        stochad::index(f, categorical_logits(&logits)?)
    };
    let ex = exact::derivative(
        |t: Dual| {
            let logits: Vec<Dual> = s.iter().map(|&si| t * si).collect();
            stochad::index(f, categorical_logits(&logits)?)
        },
        theta,
    )
    .unwrap()
    .gradient[0];
    let sd = |c: Coupling| {
        let e = derivative(prog)
            .at(theta)
            .samples(5 * N)
            .seed(5)
            .coupling(c);
        let e = e.estimate().unwrap();
        assert_close(&format!("{c:?}"), e.mean, e.stderr, ex);
        e.std_dev()
    };
    (sd(Coupling::Inversion), sd(Coupling::Proportional))
}

/// When each coupling wins (the numbers in `Coupling`'s docs): eight categories whose
/// probabilities tilt with θ (logits θ·s_k). Outcomes that change smoothly along the layout
/// (f = s: neighbours alike) favour inversion, whose jumps go to layout neighbours; the same
/// outcomes scattered over the layout (neighbours unlike) favour proportional, whose jump
/// targets ignore the layout and whose total jump rate is the smallest possible.
#[test]
fn inversion_wins_on_smooth_layouts_proportional_on_scattered_ones() {
    const S: [f64; 8] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
    const SCATTERED: [f64; 8] = [0.0, 7.0, 2.0, 5.0, 4.0, 3.0, 6.0, 1.0];
    let (inv, prop) = coupling_std(&S, &S, 0.2);
    println!("smooth layout: std inversion {inv:.3}, proportional {prop:.3}");
    assert!(
        inv < 0.9 * prop,
        "smooth: inversion {inv} vs proportional {prop}"
    );
    let (inv, prop) = coupling_std(&SCATTERED, &SCATTERED, 0.2);
    println!("scattered layout: std inversion {inv:.3}, proportional {prop:.3}");
    assert!(
        prop < 0.9 * inv,
        "scattered: inversion {inv} vs proportional {prop}"
    );
}

/// Both error messages of a draw inside a branch say what works — draw before the branch, then
/// `select` — instead of pointing at each other; and that pattern is unbiased.
#[test]
fn a_draw_inside_a_branch_errors_say_what_works() {
    // The branch on a coin, with a draw in each arm: a comparison a world would flip.
    let branched = |t: Triple| -> Result<Triple> {
        let k = bernoulli(t)?;
        if k == 1.0 {
            Ok(bernoulli(t * 0.3)? * 2.0)
        } else {
            bernoulli(t * 0.5)
        }
    };
    let e = derivative(branched)
        .at(0.4)
        .samples(200)
        .estimate()
        .unwrap_err();
    assert!(matches!(e, Error::PerturbedComparison { .. }), "{e:?}");
    // The same branch moved into propagate: the function draws.
    let inside = |t: Triple| -> Result<Triple> {
        let k = bernoulli(t)?;
        propagate(
            |k: Triple| -> Result<Triple> {
                if k.value() == 1.0 {
                    Ok(bernoulli(t * 0.3)? * 2.0)
                } else {
                    bernoulli(t * 0.5)
                }
            },
            k,
        )
    };
    let e2 = derivative(inside)
        .at(0.4)
        .samples(200)
        .estimate()
        .unwrap_err();
    assert!(matches!(e2, Error::RandomnessInPropagate), "{e2:?}");
    for msg in [e.to_string(), e2.to_string()] {
        assert!(msg.contains("select"), "{msg}");
        assert!(
            msg.contains("draw them before") || msg.contains("Draw before"),
            "{msg}"
        );
    }
    // What works: draw both arms' coins first, then select by the coin.
    fn program<S: Scalar>(t: S) -> Result<S> {
        let k = bernoulli(t)?;
        let (heads, tails) = (bernoulli(t * 0.3)? * 2.0, bernoulli(t * 0.5)?);
        select(&[tails, heads], k)
    }
    let want = exact::derivative(|t: Dual| program(t), 0.4)
        .unwrap()
        .gradient[0];
    assert!((want - 0.58).abs() < 1e-12);
    for seed in [6, 7] {
        check_powered("draw before, then select", want, N, |n| {
            let d = derivative(|t| program(t)).at(0.4).samples(n).seed(seed);
            ms(d.estimate().unwrap())
        });
    }
}

/// `stochad::Estimator` is reachable from the crate root for helpers generic over estimators.
#[test]
fn generic_helpers_over_estimators() {
    fn coin<S: Estimator<1>>(seed: u64) -> Estimate {
        derivative_with(|p: S| Ok::<_, Error>(bernoulli(p)? * 3.0))
            .at(0.3)
            .samples(N)
            .seed(seed)
            .estimate()
            .unwrap()
    }
    for (name, e) in [
        ("pruned", coin::<Triple>(8)),
        ("all-worlds", coin::<AllWorldsTriple>(9)),
        ("smoothed", coin::<SmoothedTriple>(10)),
    ] {
        assert_close(name, e.mean, e.stderr, 3.0);
    }
    let s = coin::<Score>(11);
    assert!((s.mean - 3.0).abs() < 5.0 * s.stderr, "{s}");
}

/// `min` and `max` take an `f64` like the arithmetic operators, on every number type.
#[test]
fn min_and_max_with_f64() {
    fn check<S: Scalar + Estimator<1>>() {
        let x = S::input(2.0, 0);
        let cases = [
            (Scalar::max(x, 1.0), Scalar::max(x, S::from(1.0)), 2.0),
            (Scalar::max(x, 3.0), Scalar::max(x, S::from(3.0)), 3.0),
            (Scalar::min(x, 1.0), Scalar::min(x, S::from(1.0)), 1.0),
            (Scalar::min(x, 3.0), Scalar::min(x, S::from(3.0)), 2.0),
        ];
        for (with_f64, with_s, v) in cases {
            let (a, b) = (S::read(&with_f64).unwrap(), S::read(&with_s).unwrap());
            assert_eq!(a, b);
            assert_eq!(a.value, v);
        }
    }
    stochad::with_run(0, 0, || {
        check::<Dual>();
        check::<Score>();
        check::<Triple>();
        check::<AllWorldsTriple>();
        check::<SmoothedTriple>();
    });
    assert_eq!(Scalar::max(2.0_f64, 3.0), 3.0);
    assert_eq!(Scalar::min(2.0_f64, 3.0), 2.0);
}
