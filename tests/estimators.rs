//! Every estimator that claims no bias, against analytic derivatives at fixed points and seeds,
//! with a tolerance of 5 standard errors of its own estimate.
// Programs are passed as `|x| program(x)`, the form the docs teach.
#![allow(clippy::redundant_closure)]

mod common;

use common::*;
use stochad::sample::bernoulli;
use stochad::{
    derivative, derivative_with, gradient, gradient_with, AllWorldsTriple, Dual, Error, KeepTriple,
    Score, SmoothedTriple, Triple,
};

const N: usize = 40_000;

#[test]
fn bernoulli_sin_all_unbiased_estimators() {
    // Both signs of δ = d sin²(2x)/dx: positive at 0.3, negative at 1.45 (where, unlike at 1.2,
    // d = 1.97 is far from 0: 2x and δ nearly cancel near 1.2).
    for (x, seed) in [(0.3, 1), (1.45, 2)] {
        let exact = bernoulli_sin_exact(x);
        let what = |name: &str| format!("{name} at x = {x}");
        check_powered(&what("pruned triple"), exact, N, |n| {
            let t = derivative(|x| bernoulli_sin(x)).at(x).samples(n).seed(seed);
            ms(t.estimate().unwrap())
        });
        check_powered(&what("exact triple"), exact, N, |n| {
            let e = derivative_with(|x: AllWorldsTriple| bernoulli_sin(x)).at(x);
            ms(e.samples(n).seed(seed).estimate().unwrap())
        });
        // Linear in its one draw: the smoothed backend is unbiased here.
        check_powered(&what("smoothed triple"), exact, N, |n| {
            let s = derivative_with(|x: SmoothedTriple| bernoulli_sin(x)).at(x);
            ms(s.samples(n).seed(seed).estimate().unwrap())
        });
        check_powered(&what("score + baseline"), exact, N, |n| {
            let s = derivative_with(|x: Score| bernoulli_sin(x)).at(x);
            ms(s.samples(n).seed(seed).estimate().unwrap())
        });
        check_powered(&what("score"), exact, N, |n| {
            let s = derivative_with(|x: Score| bernoulli_sin(x))
                .at(x)
                .baseline(false);
            ms(s.samples(n).seed(seed).estimate().unwrap())
        });
    }
}

#[test]
fn dual_numbers_are_biased() {
    let x = 0.3;
    let exact = bernoulli_sin_exact(x);
    let d = derivative_with(|x: Dual| bernoulli_sin(x))
        .at(x)
        .samples(1000)
        .estimate()
        .unwrap();
    // Classical AD sees only the 2x of the smooth part.
    assert!((d.mean - 2.0 * x).abs() < 1e-12);
    assert!(
        (d.mean - exact).abs() > 1.0,
        "dual {} vs exact {exact}",
        d.mean
    );
    let w = derivative_with(|p: Dual| random_walk(p, 20))
        .at(40.0)
        .samples(2000)
        .estimate()
        .unwrap();
    let (_, dw) = random_walk_exact(40.0, 20);
    assert!(
        w.mean == 0.0 && dw.abs() > 0.1,
        "dual {} vs exact {dw}",
        w.mean
    );
}

#[test]
fn sin_cos_with_sigmoid_probability() {
    for (t, seed) in [(-0.7, 3), (0.4, 4)] {
        let exact = sin_cos_exact(t);
        check_powered(&format!("triple at θ = {t}"), exact, N, |n| {
            let d = derivative(|t| sin_cos(t)).at(t).samples(n).seed(seed);
            ms(d.estimate().unwrap())
        });
        check_powered(&format!("score at θ = {t}"), exact, N, |n| {
            let s = derivative_with(|t: Score| sin_cos(t)).at(t).samples(n);
            ms(s.seed(seed).estimate().unwrap())
        });
    }
}

#[test]
fn random_walk_matches_transition_matrix() {
    let n = 20;
    let p = 2.0 * n as f64;
    let (e, de) = random_walk_exact(p, n);
    let t = derivative(|p| random_walk(p, n))
        .at(p)
        .samples(N)
        .seed(5)
        .estimate()
        .unwrap();
    assert_value_close("E[X²]", t.value, t.value_stderr, e);
    assert_close("pruned triple", t.mean, t.stderr, de);
    let x = derivative_with(|p: AllWorldsTriple| random_walk(p, n))
        .at(p)
        .samples(N / 4)
        .seed(5);
    let x = x.estimate().unwrap();
    assert_close("exact triple", x.mean, x.stderr, de);
    let s = derivative_with(|p: Score| random_walk(p, n))
        .at(p)
        .samples(N)
        .seed(5);
    let s = s.estimate().unwrap();
    assert_close("score + baseline", s.mean, s.stderr, de);
    // The triple's whole point: lower variance than the score function.
    assert!(
        t.std_dev() < s.std_dev(),
        "triple {} vs score {}",
        t.std_dev(),
        s.std_dev()
    );
}

#[test]
fn gradient_shares_the_primal_across_directions() {
    // E[a · Bernoulli(b)² + Bernoulli(a·b)] = a b + a b: gradient (2b, 2a).
    let prog = |[a, b]: [Triple<2>; 2]| -> stochad::Result<Triple<2>> {
        let k = stochad::sample::bernoulli(b)?;
        Ok(a * k * k + stochad::sample::bernoulli(a * b)?)
    };
    let (a, b) = (0.8, 0.6);
    let g = gradient(prog)
        .at([a, b])
        .samples(N)
        .seed(6)
        .estimate()
        .unwrap();
    assert_close("d/da", g.mean[0], g.stderr[0], 2.0 * b);
    assert_close("d/db", g.mean[1], g.stderr[1], 2.0 * a);
    let s = gradient_with(|[a, b]: [Score<2>; 2]| -> stochad::Result<Score<2>> {
        let k = stochad::sample::bernoulli(b)?;
        Ok(a * k * k + stochad::sample::bernoulli(a * b)?)
    });
    let s = s.at([a, b]).samples(N).seed(6).estimate().unwrap();
    assert_close("score d/da", s.mean[0], s.stderr[0], 2.0 * b);
    assert_close("score d/db", s.mean[1], s.stderr[1], 2.0 * a);
}

#[test]
fn all_number_types_take_the_same_primal_path() {
    let n = 30;
    let p = 60.0;
    let t = derivative(|p| random_walk(p, n))
        .at(p)
        .samples(200)
        .seed(9)
        .runs()
        .unwrap();
    let e = derivative_with(|p: AllWorldsTriple| random_walk(p, n))
        .at(p)
        .samples(200)
        .seed(9);
    let s = derivative_with(|p: Score| random_walk(p, n))
        .at(p)
        .samples(200)
        .seed(9);
    let d = derivative_with(|p: Dual| random_walk(p, n))
        .at(p)
        .samples(200)
        .seed(9);
    let (e, s, d) = (e.runs().unwrap(), s.runs().unwrap(), d.runs().unwrap());
    for i in 0..200 {
        let plain = stochad::with_run(9, i as u64, || random_walk(p, n)).unwrap();
        assert_eq!(t[i].value, plain);
        assert_eq!(e[i].value, plain);
        assert_eq!(s[i].value, plain);
        assert_eq!(d[i].value, plain);
    }
}

#[test]
fn bit_identical_whatever_the_thread_count() {
    let run = |threads| {
        common::with_threads(threads, || {
            derivative(|p| random_walk(p, 30))
                .at(60.0)
                .samples(3000)
                .seed(11)
                .estimate()
                .unwrap()
        })
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(a.mean.to_bits(), b.mean.to_bits());
    assert_eq!(a.stderr.to_bits(), b.stderr.to_bits());
    // And a different seed gives a different estimate.
    let c = derivative(|p| random_walk(p, 30))
        .at(60.0)
        .samples(3000)
        .seed(12)
        .estimate()
        .unwrap();
    assert_ne!(a.mean, c.mean);
}

#[test]
fn a_comparison_a_perturbation_would_flip_is_an_error() {
    let prog = |x: Triple| -> stochad::Result<Triple> {
        let k = stochad::sample::bernoulli(x)?;
        Ok(if k > 0.5 { x * 3.0 } else { x })
    };
    // Some sample carries a flip that changes `k > 0.5`.
    let err = derivative(prog)
        .at(0.5)
        .samples(100)
        .seed(1)
        .estimate()
        .unwrap_err();
    match err {
        Error::PerturbedComparison { op, .. } => assert_eq!(op, ">"),
        e => panic!("unexpected error {e}"),
    }
    // Comparisons no perturbation can flip are fine.
    let ok = |x: Triple| -> stochad::Result<Triple> {
        let k = stochad::sample::bernoulli(x)?;
        Ok(if x > 0.2 { k * 2.0 } else { k })
    };
    let d = derivative(ok)
        .at(0.5)
        .samples(N)
        .seed(2)
        .estimate()
        .unwrap();
    assert_close("branch on θ", d.mean, d.stderr, 2.0);
}

#[test]
fn bad_input_gives_typed_errors() {
    let e = derivative(|x| stochad::sample::bernoulli(x))
        .at(1.5)
        .samples(10)
        .estimate();
    assert!(
        matches!(
            e,
            Err(Error::InvalidParameter {
                what: "bernoulli: p",
                ..
            })
        ),
        "{e:?}"
    );
    let e = derivative(|x| stochad::sample::bernoulli(x))
        .at(f64::NAN)
        .estimate();
    assert!(matches!(e, Err(Error::InvalidConfig { .. })), "{e:?}");
    let e = derivative(|x| stochad::sample::bernoulli(x))
        .at(0.5)
        .samples(0)
        .estimate();
    assert!(matches!(e, Err(Error::InvalidConfig { .. })), "{e:?}");
    // Outside a run there is no random stream.
    let e = stochad::sample::bernoulli(0.5_f64);
    assert!(matches!(e, Err(Error::NoRunContext { .. })), "{e:?}");
}

#[test]
fn score_mix_on_the_random_walk() {
    let (n, p) = (20, 40.0);
    let (_, de) = random_walk_exact(p, n);
    let m = derivative(|p| random_walk(p, n))
        .at(p)
        .samples(N)
        .seed(13)
        .score_mix(true);
    let m = m.estimate().unwrap();
    assert_close("triple + score mix", m.mean, m.stderr, de);
}

/// The smoothed backend moves a draw with its parameters' smoothed tangents, not only their
/// pathwise ones: Poisson(2B + 1) with B ~ Bernoulli(θ) has E = 2θ + 1, and the whole
/// derivative 2 reaches the Poisson draw through B's jumps (B's pathwise tangent is 0).
#[test]
fn smoothed_draw_follows_the_perturbations_of_its_parameters() {
    use stochad::sample::{bernoulli, poisson};
    let s = derivative_with(|t: SmoothedTriple| poisson(bernoulli(t)? * 2.0 + 1.0))
        .at(0.3)
        .samples(N)
        .seed(14)
        .estimate()
        .unwrap();
    assert_close(
        "smoothed poisson(2·bernoulli(θ) + 1)",
        s.mean,
        s.stderr,
        2.0,
    );
    // Two directions: E[Poisson(2·Bernoulli(a) + b)] = 2a + b.
    let g = gradient_with(|[a, b]: [SmoothedTriple<2>; 2]| poisson(bernoulli(a)? * 2.0 + b))
        .at([0.3, 1.5])
        .samples(N)
        .seed(15)
        .estimate()
        .unwrap();
    assert_close("smoothed d/da", g.mean[0], g.stderr[0], 2.0);
    assert_close("smoothed d/db", g.mean[1], g.stderr[1], 1.0);
}

/// The score function without baseline on categoricals whose weights do not sum to a constant:
/// the score of a draw needs its −Σdw/Σw term there (a baseline would hide its absence, since
/// that term's contribution, E[f]·Σdw/Σw, is what a baseline subtracts).
#[test]
fn score_without_baseline_on_unnormalised_categoricals() {
    use stochad::sample::{categorical, categorical_with, Coupling};
    // Weights (1, θ): p₁ = θ/(1 + θ), E[4k] = 4θ/(1 + θ), derivative 4/(1 + θ)².
    let theta = 1.0;
    let s = derivative_with(|t: Score| Ok::<_, Error>(categorical(&[Score::from(1.0), t])? * 4.0))
        .at(theta)
        .samples(16 * N)
        .seed(16)
        .baseline(false)
        .estimate()
        .unwrap();
    assert_close("score, weights (1, θ)", s.mean, s.stderr, 4.0 / 4.0);
    // Weights (1, θ, θ²), output k: E = (θ + 2θ²)/(1 + θ + θ²), derivative
    // (1 + 4θ + θ²)/(1 + θ + θ²)²; without the −Σdw/Σw term the score's mean would be
    // E[k·dw_k/w_k] = (θ + 4θ²)/(θ(1 + θ + θ²)), 1.71 instead of 1.06 at θ = 0.5.
    let theta: f64 = 0.5;
    let want = (1.0 + 4.0 * theta + theta * theta) / (1.0 + theta + theta * theta).powi(2);
    check_powered("score, weights (1, θ, θ²)", want, 4 * N, |n| {
        let s = derivative_with(|t: Score| {
            categorical_with(&[Score::from(1.0), t, t * t], Coupling::Inversion)
        });
        ms(s.at(theta)
            .samples(n)
            .seed(17)
            .baseline(false)
            .estimate()
            .unwrap())
    });
}

/// Gradients of two directions through the all-worlds backend, the smoothed backend (program linear
/// in its draws) and the score mix.
#[test]
fn gradients_of_two_directions_through_every_backend() {
    use stochad::sample::{bernoulli, poisson};
    // E[a · Bernoulli(b) + Poisson(2ab)] = 3ab: gradient (3b, 3a).
    fn prog<S: stochad::Scalar>([a, b]: [S; 2]) -> stochad::Result<S> {
        Ok(a * bernoulli(b)? + poisson(a * b * 2.0)?)
    }
    let (a, b) = (0.8, 0.6);
    let want = [3.0 * b, 3.0 * a];
    let check = |name: &str, g: stochad::GradientEstimate<2>| {
        for (d, &w) in want.iter().enumerate() {
            assert_close(&format!("{name} d{d}"), g.mean[d], g.stderr[d], w);
        }
    };
    let e = gradient_with(|x: [AllWorldsTriple<2>; 2]| prog(x));
    check(
        "exact",
        e.at([a, b]).samples(N).seed(18).estimate().unwrap(),
    );
    let s = gradient_with(|x: [SmoothedTriple<2>; 2]| prog(x));
    check(
        "smoothed",
        s.at([a, b]).samples(N).seed(19).estimate().unwrap(),
    );
    let m = gradient(|x: [Triple<2>; 2]| prog(x)).score_mix(true);
    check(
        "score mix",
        m.at([a, b]).samples(N).seed(20).estimate().unwrap(),
    );
    let p = gradient(|x: [Triple<2>; 2]| prog(x));
    check(
        "pruned",
        p.at([a, b]).samples(N).seed(21).estimate().unwrap(),
    );
}

/// (1 + B₁ + B₂)², B ~ Bernoulli(θ) independent: E = 1 + 6θ + 2θ², derivative 6 + 4θ.
fn squared_count<S: stochad::Scalar>(t: S) -> stochad::Result<S> {
    let n = bernoulli(t)? + bernoulli(t)? + 1.0;
    Ok(n * n)
}

#[test]
fn control_variate_is_unbiased_and_its_stderr_honest() {
    let (theta, exact) = (0.6, 6.0 + 4.0 * 0.6);
    // One big batch: unbiased with power, for the pruned and a keep-K triple.
    let g = gradient(|[t]| squared_count(t))
        .at([theta])
        .samples(N)
        .seed(3)
        .control_variate(|[t]: [f64; 1]| squared_count(t))
        .estimate()
        .unwrap();
    assert_close("pruned triple + output CV", g.mean[0], g.stderr[0], exact);
    let g = gradient_with(|[t]: [KeepTriple<4, 1>; 1]| squared_count(t))
        .at([theta])
        .samples(N)
        .seed(4)
        .control_variate(|[t]: [f64; 1]| squared_count(t))
        .estimate()
        .unwrap();
    assert_close("keep-4 triple + output CV", g.mean[0], g.stderr[0], exact);
    // Many small batches: the standardised errors (mean − exact)/σ̂ must have variance ≈ 1. A
    // σ̂ that ignores the twin means' noise (one twin run per sample here, so it matters) or
    // that centres on the batch's own mean of the output comes out too small.
    let batches = 400;
    let z2: Vec<f64> = (0..batches)
        .map(|b| {
            let g = gradient(|[t]| squared_count(t))
                .at([theta])
                .samples(64)
                .seed(1000 + b)
                .control_variate(|[t]: [f64; 1]| squared_count(t))
                .twin_runs(1)
                .estimate()
                .unwrap();
            ((g.mean[0] - exact) / g.stderr[0]).powi(2)
        })
        .collect();
    let m = z2.iter().sum::<f64>() / batches as f64;
    let se = (z2.iter().map(|z| (z - m).powi(2)).sum::<f64>() / (batches as f64 - 1.0)).sqrt()
        / (batches as f64).sqrt();
    // E[z²] ≈ 1.03 for σ̂ from 64 samples (Student-like tails); 5 standard errors either side.
    assert!(
        (m - 1.03).abs() < 5.0 * se,
        "mean of squared standardised errors {m} ± {se}, want ≈ 1"
    );
}

#[test]
fn control_variate_checks_its_twin_and_configuration() {
    let base = || {
        gradient(|[t]| squared_count(t))
            .at([0.6])
            .samples(32)
            .seed(5)
    };
    // A twin that is not the program: a loud error naming the first run that differs.
    match base()
        .control_variate(|[t]: [f64; 1]| Ok::<_, Error>(squared_count(t)? + 1e-12))
        .estimate()
    {
        Err(Error::TwinMismatch {
            sample: 0,
            program,
            twin,
        }) => assert!(twin > program),
        other => panic!("{other:?}"),
    }
    // A twin drawing in another order takes other histories.
    let swapped = |[t]: [f64; 1]| -> stochad::Result<f64> {
        let a = bernoulli(1.0 - t)?;
        let n = (1.0 - a) + bernoulli(t)? + 1.0;
        Ok(n * n)
    };
    assert!(matches!(
        base().control_variate(swapped).estimate(),
        Err(Error::TwinMismatch { .. })
    ));
    let twin = |[t]: [f64; 1]| squared_count(t);
    assert!(matches!(
        base().samples(15).control_variate(twin).estimate(),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        base().control_variate(twin).twin_runs(0).estimate(),
        Err(Error::InvalidConfig { .. })
    ));
    // Bit-identical whatever the thread count.
    let run = |threads| {
        common::with_threads(threads, || {
            base()
                .samples(500)
                .control_variate(twin)
                .estimate()
                .unwrap()
        })
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(a.mean[0].to_bits(), b.mean[0].to_bits());
    assert_eq!(a.stderr[0].to_bits(), b.stderr[0].to_bits());
}

/// S² for S the sum of 8 Bernoulli(θ) draws: E = 8θ(1 − θ) + 64θ², derivative 8 + 112θ. With
/// `feature`, before each draw the program sets its state feature to what the draws so far
/// predict the output to be, (S_so_far + θ·left)².
fn squared_sum<S: stochad::Scalar>(t: S, feature: bool) -> stochad::Result<S> {
    let mut s = S::zero();
    for left in (1..=8).rev() {
        if feature {
            let so_far = s.value();
            stochad::control::baseline_feature(|| (so_far + t.value() * left as f64).powi(2));
        }
        s += bernoulli(t)?;
    }
    Ok(s * s)
}

#[test]
fn baseline_feature_is_unbiased_and_lowers_the_score_functions_variance() {
    let (theta, exact) = (0.3, 8.0 + 112.0 * 0.3);
    let run = |feature: bool, seed: u64| {
        gradient_with(move |[t]: [Score<1>; 1]| squared_sum(t, feature))
            .at([theta])
            .samples(20_000)
            .seed(seed)
            .control_variate(|[t]: [f64; 1]| squared_sum(t, false))
            .estimate()
            .unwrap()
    };
    let (with, without) = (run(true, 30), run(false, 30));
    assert_close(
        "score + CV + state feature",
        with.mean[0],
        with.stderr[0],
        exact,
    );
    assert_close("score + CV", without.mean[0], without.stderr[0], exact);
    // The state-dependent baseline follows the sum as it grows: measured 0.21 of the constant
    // baseline's standard error (0.053 against 0.246; same runs, one more regressor).
    assert!(
        with.stderr[0] < 0.5 * without.stderr[0],
        "with the feature {} vs without {}",
        with.stderr[0],
        without.stderr[0]
    );
    // Outside a control variate, the feature is not evaluated and changes nothing.
    let plain = |feature: bool| {
        gradient_with(move |[t]: [Score<1>; 1]| squared_sum(t, feature))
            .at([theta])
            .samples(200)
            .seed(31)
            .estimate()
            .unwrap()
    };
    assert_eq!(
        plain(true).mean[0].to_bits(),
        plain(false).mean[0].to_bits()
    );
    let evaluated = std::cell::Cell::new(false);
    stochad::control::baseline_feature(|| {
        evaluated.set(true);
        1.0
    });
    assert!(!evaluated.get(), "evaluated outside a run");
}
