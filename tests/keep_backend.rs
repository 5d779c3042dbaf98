//! The keep-K backend against exact values: the reference random walk, the structural toy and a
//! small Qanti-kT event (two directions), for several K; and its variance between the pruned
//! and the all-worlds backends.

mod common;

use common::{assert_close, random_walk, random_walk_exact};
use stochad::jets::qantikt::{qanti_kt_mh, QantiKt};
use stochad::jets::FourMomentum;
use stochad::sample::bernoulli;
use stochad::sample::Coupling;
use stochad::toys::structural_toy;
use stochad::triple::Keep;
use stochad::{
    derivative_with, exact, gradient_with, AllWorldsTriple, Dual, KeepTriple, Scalar,
    StochasticTriple,
};

#[track_caller]
fn assert_strong(what: &str, stderr: f64, exact: f64) {
    assert!(
        5.0 * stderr < 0.05 * exact.abs(),
        "{what}: too weak, 5σ̂ = {} vs |d| = {}",
        5.0 * stderr,
        exact.abs()
    );
}

#[test]
fn random_walk_is_unbiased_for_every_k() {
    let (n, p) = (15, 30.0);
    let (_, d) = random_walk_exact(p, n);
    macro_rules! check {
        ($k:literal) => {{
            let e = derivative_with(|p: KeepTriple<$k>| random_walk(p, n))
                .at(p)
                .samples(20_000)
                .seed($k)
                .estimate()
                .unwrap();
            assert_strong(concat!("keep ", $k), e.stderr, d);
            assert_close(concat!("keep ", $k), e.mean, e.stderr, d);
            e.std_dev()
        }};
    }
    let stds = [check!(1), check!(2), check!(4)];
    // Keeping more worlds cannot be much noisier (it prunes less): a loose sanity bound.
    assert!(stds[2] < 1.2 * stds[0], "{stds:?}");
}

#[test]
fn structural_toy_is_unbiased() {
    let theta = 0.7;
    let ex = exact::derivative(|t: Dual| structural_toy(t, Coupling::Proportional), theta).unwrap();
    let d = ex.gradient[0];
    for seed in [1, 2] {
        let e = derivative_with(|t: KeepTriple<2>| structural_toy(t, Coupling::Proportional))
            .at(theta)
            .samples(60_000)
            .seed(seed)
            .estimate()
            .unwrap();
        assert_strong("keep 2, structural toy", e.stderr, d);
        assert_close("keep 2, structural toy", e.mean, e.stderr, d);
    }
}

#[test]
fn qanti_kt_gradient_in_two_directions() {
    let p = |px: f64, py: f64, pz: f64, m: f64| {
        FourMomentum::new(px, py, pz, (px * px + py * py + pz * pz + m * m).sqrt())
    };
    let event = [
        p(50.0, 0.0, 5.0, 1.0),
        p(-30.0, 28.0, -3.0, 2.0),
        p(3.0, 3.5, 1.0, 0.5),
    ];
    let at = [0.6, 2.0];
    let ex = exact::expectation(|[r, a]: [Dual<2>; 2]| qanti_kt_mh(&event, r, a), at).unwrap();
    // Its worlds resumed from their draws (the default of `QantiKt::mh`), and carried.
    let carried = QantiKt::new().carry_worlds(true);
    for (name, q) in [
        ("keep 4, Qanti-kT", QantiKt::new()),
        ("keep 4, Qanti-kT, carried", carried),
    ] {
        let g = gradient_with(|[r, a]: [KeepTriple<4, 2>; 2]| q.mh(&event, r, a))
            .at(at)
            .samples(120_000)
            .seed(9)
            .estimate()
            .unwrap();
        for d in 0..2 {
            assert_strong(name, g.stderr[d], ex.gradient[d]);
            assert_close(name, g.mean[d], g.stderr[d], ex.gradient[d]);
        }
    }
}

#[test]
fn keeping_many_worlds_approaches_the_exact_backend() {
    // With K above the number of worlds the walk ever carries at once, nothing is pruned: the
    // same estimates as the all-worlds backend, run for run.
    let (n, p) = (8, 16.0);
    let k = derivative_with(|p: KeepTriple<16>| random_walk(p, n))
        .at(p)
        .samples(200)
        .seed(4)
        .runs()
        .unwrap();
    let e = derivative_with(|p: AllWorldsTriple| random_walk(p, n))
        .at(p)
        .samples(200)
        .seed(4)
        .runs()
        .unwrap();
    for (a, b) in k.iter().zip(&e) {
        assert_eq!(a.value, b.value);
        assert!(
            (a.derivative[0] - b.derivative[0]).abs() < 1e-9 * (1.0 + b.derivative[0].abs()),
            "{a:?} vs {b:?}"
        );
    }
}

#[test]
fn values_carrying_many_worlds_match_the_all_worlds_backend() {
    // A sum of 12 coins carries a world for each coin that could flip (about 8 here): more than
    // a payload with inline room for 2 holds (and, in some runs, 8, the default), so the rest
    // live in the run's arena. With K = 16 nothing is pruned: the same estimates as the
    // all-worlds backend, run for run, through sums, a product and a nonlinear function of
    // values that carry different sets of worlds.
    fn program<S: Scalar>(t: S) -> stochad::Result<S> {
        let mut s = S::zero();
        let mut odd = S::zero();
        for i in 0..12 {
            let b = bernoulli(t)?;
            s += b;
            if i % 2 == 1 {
                odd += b;
            }
        }
        Ok(s * odd + (s * 0.3).sin())
    }
    let e = derivative_with(|t: AllWorldsTriple| program(t))
        .at(0.3)
        .samples(300)
        .seed(5)
        .runs()
        .unwrap();
    let inline2 = derivative_with(|t: StochasticTriple<Keep<16, 2>>| program(t))
        .at(0.3)
        .samples(300)
        .seed(5)
        .runs()
        .unwrap();
    let default = derivative_with(|t: KeepTriple<16>| program(t))
        .at(0.3)
        .samples(300)
        .seed(5)
        .runs()
        .unwrap();
    for k in [&inline2, &default] {
        let mut nonzero = 0;
        for (a, b) in k.iter().zip(&e) {
            assert_eq!(a.value, b.value);
            assert!(
                (a.derivative[0] - b.derivative[0]).abs() < 1e-9 * (1.0 + b.derivative[0].abs()),
                "{a:?} vs {b:?}"
            );
            nonzero += usize::from(a.derivative[0] != 0.0);
        }
        assert!(
            nonzero > 250,
            "{nonzero} of 300 runs with a nonzero estimate"
        );
    }
}
