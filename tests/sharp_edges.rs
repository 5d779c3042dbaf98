//! Sharp edges a new user hit (issue 8): strict mode for `.value()` outside `propagate`, the
//! run's default coupling, error messages that say what works for a draw inside a branch, and
//! the generic-helper and `min`/`max` conveniences.
// Programs are passed as `|x| program(x)`, the form the docs teach.
#![allow(clippy::redundant_closure)]

mod common;

use common::assert_close;
use stochad::sample::bernoulli;
use stochad::{
    derivative_with, Dual, Error, Estimate, Estimator, ExactTriple, Scalar, Score, SmoothedTriple,
    Triple,
};

const N: usize = 20_000;

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
        ("exact", coin::<ExactTriple>(9)),
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
        check::<ExactTriple>();
        check::<SmoothedTriple>();
    });
    assert_eq!(Scalar::max(2.0_f64, 3.0), 3.0);
    assert_eq!(Scalar::min(2.0_f64, 3.0), 2.0);
}
