//! The exact oracle against analytic expectations and derivatives (reference notes §1's program
//! list).

use stochad::exact::{self, Expectation};
use stochad::sample::{bernoulli, binomial, categorical, geometric, poisson};
use stochad::{Dual, Result, Scalar};

type D = Dual<1>;

/// A named test function.
type TestFn = (&'static str, fn(D) -> D);

/// The test functions applied to every draw.
fn fs() -> [TestFn; 3] {
    [
        ("7x-3", |x| x * 7.0 - 3.0),
        ("(x+1)^2", |x| (x + 1.0) * (x + 1.0)),
        ("sqrt(x+1)", |x| (x + 1.0).sqrt()),
    ]
}

/// `Σ_k pmf(k; θ) f(k)` and its derivative, with `pmf` written out in dual arithmetic.
fn analytic(pmf: impl Fn(D, u64) -> D, support: u64, theta: f64, f: fn(D) -> D) -> (f64, f64) {
    let t = D::variable(theta, 0);
    let e: D = (0..=support)
        .map(|k| pmf(t, k) * f(D::from(k as f64)).value)
        .sum();
    (e.value, e.tangent[0])
}

/// Agreement to `tol` relative to `1 + |want|`.
fn check(name: &str, got: Expectation<1>, want: (f64, f64), tol: f64) {
    let close = |a: f64, b: f64| (a - b).abs() < tol * (1.0 + b.abs());
    assert!(
        close(got.value, want.0) && close(got.gradient[0], want.1),
        "{name}: oracle ({}, {}) vs analytic ({}, {})",
        got.value,
        got.gradient[0],
        want.0,
        want.1
    );
}

/// A tail cut deep enough that the left-out mass moves the derivatives (which weigh outcomes by
/// up to k²) by less than the tolerance.
fn deep_tail() -> exact::Options {
    exact::Options {
        tail: 1e-17,
        ..Default::default()
    }
}

fn choose(n: u64, k: u64) -> f64 {
    (0..k).map(|i| (n - i) as f64 / (i + 1) as f64).product()
}

#[test]
fn single_draws_through_three_functions() {
    for (fname, f) in fs() {
        for p in [0.3, 0.7] {
            let tag = |d: &str| format!("{d} at p = {p} through {fname}");
            let r = exact::derivative(|p| bernoulli(p).map(f), p).unwrap();
            check(
                &tag("bernoulli"),
                r,
                analytic(|p, k| if k == 1 { p } else { -p + 1.0 }, 1, p, f),
                1e-12,
            );

            for n in [3u64, 20] {
                let r = exact::derivative(|p| binomial(n, p).map(f), p).unwrap();
                let pmf = |p: D, k: u64| {
                    p.powi(k as i32) * (-p + 1.0).powi((n - k) as i32) * choose(n, k)
                };
                check(
                    &tag(&format!("binomial({n})")),
                    r,
                    analytic(pmf, n, p, f),
                    1e-12,
                );
            }

            let r = exact::expectation_with(|[p]: [D; 1]| geometric(p).map(f), [p], deep_tail())
                .unwrap();
            assert!(r.truncated < 1e-15);
            let pmf = |p: D, k: u64| p * (-p + 1.0).powi(k as i32);
            check(&tag("geometric"), r, analytic(pmf, 400, p, f), 1e-9);

            let r = exact::derivative(|p| categorical(&[p * p, -(p * p) + 1.0]).map(f), p).unwrap();
            let pmf = |p: D, k: u64| if k == 0 { p * p } else { -(p * p) + 1.0 };
            check(
                &tag("categorical([p², 1−p²])"),
                r,
                analytic(pmf, 1, p, f),
                1e-12,
            );

            let zero = D::from(0.0);
            let r = exact::derivative(
                |p| categorical(&[zero, p * p, zero, zero, -(p * p) + 1.0]).map(f),
                p,
            )
            .unwrap();
            assert_eq!(r.paths, 2);
            let pmf = |p: D, k: u64| match k {
                1 => p * p,
                4 => -(p * p) + 1.0,
                _ => D::from(0.0),
            };
            check(
                &tag("categorical([0, p², 0, 0, 1−p²])"),
                r,
                analytic(pmf, 4, p, f),
                1e-12,
            );
        }
        for lambda in [0.5, 4.0, 30.0] {
            let r = exact::expectation_with(|[l]: [D; 1]| poisson(l).map(f), [lambda], deep_tail())
                .unwrap();
            assert!(r.truncated < 1e-15);
            // pmf by the recurrence P(k) = P(k−1) λ / k, far into the tail.
            let e = {
                let l = D::variable(lambda, 0);
                let mut pk = (-l).exp();
                let mut e = pk * f(D::from(0.0)).value;
                for k in 1..200 {
                    pk = pk * l / k as f64;
                    e += pk * f(D::from(k as f64)).value;
                }
                e
            };
            check(
                &format!("poisson({lambda}) through {fname}"),
                r,
                (e.value, e.tangent[0]),
                1e-9,
            );
        }
    }
}

#[test]
fn nested_binomial_has_mean_10_p_squared() {
    for p in [0.2, 0.65] {
        let r = exact::derivative(
            |p| binomial(10, p).and_then(|n| binomial(n.value() as u64, p)),
            p,
        )
        .unwrap();
        check(
            "binomial(binomial(10, p), p)",
            r,
            (10.0 * p * p, 20.0 * p),
            1e-12,
        );
    }
}

#[test]
fn continuous_and_discrete_parts_add_up() {
    for x in [0.3, 1.1] {
        let r = exact::derivative(
            |x| Ok::<_, stochad::Error>(x * x + bernoulli((x * 2.0).sin().powi(2))?),
            x,
        )
        .unwrap();
        let want = (
            x * x + (2.0 * x).sin().powi(2),
            2.0 * x + 4.0 * (2.0 * x).sin() * (2.0 * x).cos(),
        );
        check("x² + bernoulli(sin²(2x))", r, want, 1e-12);
    }
}

/// The random walk X₀ = 0, X ← X ± 1 with P(+1) = exp(−X/p), `n` steps, output X².
fn walk(p: D, n: usize) -> Result<D> {
    let mut x = D::from(0.0);
    for _ in 0..n {
        let up = bernoulli((-x / p).exp())?;
        x = x + up * 2.0 - 1.0;
    }
    Ok(x * x)
}

/// E[X_n²] and its derivative by propagating the distribution over states 0..=n.
fn walk_by_transition_matrix(p: f64, n: usize) -> (f64, f64) {
    let p = D::variable(p, 0);
    let mut dist = vec![D::from(0.0); n + 2];
    dist[0] = D::from(1.0);
    for _ in 0..n {
        let mut next = vec![D::from(0.0); n + 2];
        for x in 0..=n {
            let up = (-(D::from(x as f64)) / p).exp();
            next[x + 1] += dist[x] * up;
            if x > 0 {
                next[x - 1] += dist[x] * (-up + 1.0);
            }
        }
        dist = next;
    }
    let e: D = dist
        .iter()
        .enumerate()
        .map(|(x, &q)| q * (x * x) as f64)
        .sum();
    (e.value, e.tangent[0])
}

#[test]
fn random_walk_matches_transition_matrix() {
    let n = 10;
    for p in [2.0 * n as f64, 5.0] {
        let r = exact::derivative(|p| walk(p, n), p).unwrap();
        check(
            &format!("random walk at p = {p}"),
            r,
            walk_by_transition_matrix(p, n),
            1e-9,
        );
        assert!(r.paths > 100);
    }
}

#[test]
fn several_inputs_give_a_gradient() {
    // E[B·y + K] with B ~ Bernoulli(p), K ~ Poisson(λ): p·y + λ.
    let r = exact::expectation(
        |[p, y, l]: [Dual<3>; 3]| -> Result<Dual<3>> { Ok(bernoulli(p)? * y + poisson(l)?) },
        [0.4, 2.0, 1.5],
    )
    .unwrap();
    assert!((r.value - (0.8 + 1.5)).abs() < 1e-10);
    let want = [2.0, 0.4, 1.0];
    for (g, w) in r.gradient.iter().zip(want) {
        assert!((g - w).abs() < 1e-10, "{:?}", r.gradient);
    }
}

#[test]
fn truncation_and_limits_are_reported() {
    let opts = exact::Options {
        tail: 1e-3,
        ..Default::default()
    };
    let r = exact::expectation_with(|[p]: [D; 1]| geometric(p), [0.5], opts).unwrap();
    assert!(
        r.truncated > 0.0 && r.truncated < 1e-3,
        "truncated {}",
        r.truncated
    );

    let opts = exact::Options {
        max_paths: 100,
        ..Default::default()
    };
    let err = exact::expectation_with(
        |[p]: [D; 1]| -> Result<D> { (0..8).map(|_| bernoulli(p)).sum() },
        [0.5],
        opts,
    )
    .unwrap_err();
    assert!(
        matches!(err, stochad::Error::SupportTooLarge { limit: 100, .. }),
        "{err}"
    );

    let err = exact::derivative(|p| bernoulli(p * 3.0), 0.5).unwrap_err();
    assert!(matches!(err, stochad::Error::InvalidParameter { .. }));
}

/// At a boundary of a parameter's range (p = 0 or 1, λ = 0, a category of weight 0), outcomes of
/// probability zero still move to first order; the oracle keeps their terms, so its derivative is
/// the (one-sided) derivative of the analytic expectation there, not a silently truncated one.
#[test]
fn derivatives_at_the_boundaries_keep_zero_probability_outcomes() {
    /// (what, at, analytic derivative, program)
    type Case = (&'static str, f64, f64, fn(D) -> Result<D>);
    let cases: [Case; 9] = [
        // E[3k + 1] = 3p + 1
        ("bernoulli at p = 0", 0.0, 3.0, |p| {
            Ok(bernoulli(p)? * 3.0 + 1.0)
        }),
        ("bernoulli at p = 1", 1.0, 3.0, |p| {
            Ok(bernoulli(p)? * 3.0 + 1.0)
        }),
        // E[k²] = 3p(1 − p) + 9p² = 3p + 6p²
        ("binomial(3) at p = 0", 0.0, 3.0, |p| {
            binomial(3, p).map(|k| k * k)
        }),
        ("binomial(3) at p = 1", 1.0, 15.0, |p| {
            binomial(3, p).map(|k| k * k)
        }),
        // failures before the first success: E[k] = (1 − p)/p, derivative −1/p²
        ("geometric at p = 1", 1.0, -1.0, geometric),
        // E[k² + k] = 2λ + λ²
        ("poisson at λ = 0", 0.0, 2.0, |l| {
            poisson(l).map(|k| k * k + k)
        }),
        // weights (1, θ): E[5k] = 5θ/(1 + θ)
        ("categorical weight 0 at θ = 0", 0.0, 5.0, |t| {
            Ok(categorical(&[D::from(1.0), t])? * 5.0)
        }),
        // weights (1 − θ, θ, 0): the third category never moves and stays out
        ("categorical, a fixed zero weight", 0.0, 5.0, |t| {
            Ok(categorical(&[-t + 1.0, t, D::from(0.0)])? * 5.0)
        }),
        // interior point for comparison: 3 + 12p at p = 0.5
        ("binomial(3) at p = 0.5", 0.5, 9.0, |p| {
            binomial(3, p).map(|k| k * k)
        }),
    ];
    for (what, at, want, f) in cases {
        let r = exact::derivative(f, at).unwrap();
        assert!(
            (r.gradient[0] - want).abs() < 1e-9,
            "{what}: oracle {} vs analytic {want}",
            r.gradient[0]
        );
    }
    // The fixed zero weight adds no path: (1 − θ, θ, 0) at θ = 0 enumerates two outcomes.
    let r = exact::derivative(
        |t: D| Ok::<_, stochad::Error>(categorical(&[-t + 1.0, t, D::from(0.0)])? * 5.0),
        0.0,
    )
    .unwrap();
    assert_eq!(
        r.paths, 2,
        "only the moving zero-probability category joins"
    );
}
