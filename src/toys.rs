//! Reference programs with known answers, for tests, benchmarks, examples and users checking an
//! estimator: the seed talk's programs, the StochasticAD.jl random walk, and the structural toy
//! that rehearses the jet clusterer.

use crate::dual::Dual;
use crate::error::Result;
use crate::propagate::propagate;
use crate::sample::{bernoulli, categorical_with, Coupling};
use crate::scalar::Scalar;

/// The seed talk's program: x² + Bernoulli(sin²(2x)).
pub fn bernoulli_sin<S: Scalar>(x: S) -> Result<S> {
    let p = (x * 2.0).sin().powi(2);
    Ok(x * x + bernoulli(p)?)
}

/// d/dx E[x² + Bernoulli(sin²(2x))] = 2x + 4 sin 2x cos 2x.
pub fn bernoulli_sin_derivative(x: f64) -> f64 {
    2.0 * x + 4.0 * (2.0 * x).sin() * (2.0 * x).cos()
}

/// The seed talk's Sin&Cos program made probabilistic: k ~ Bernoulli(σ(θ)), output sin θ if
/// k = 1 else cos θ (the branch written arithmetically in k).
pub fn sin_cos<S: Scalar>(t: S) -> Result<S> {
    let k = bernoulli(t.sigmoid())?;
    Ok(k * t.sin() + (-k + 1.0) * t.cos())
}

/// d/dθ [σ(θ) sin θ + (1 − σ(θ)) cos θ].
pub fn sin_cos_derivative(t: f64) -> f64 {
    let s = 1.0 / (1.0 + (-t).exp());
    s * (1.0 - s) * (t.sin() - t.cos()) + s * t.cos() - (1.0 - s) * t.sin()
}

/// The StochasticAD.jl random walk: X₀ = 0, `n` steps of ±1 with P(+1) = exp(−X/p); output X².
pub fn random_walk<S: Scalar>(p: S, n: usize) -> Result<S> {
    let mut x = S::zero();
    for _ in 0..n {
        let up = bernoulli((-x / p).exp())?;
        x = x + up * 2.0 - 1.0;
    }
    Ok(x * x)
}

/// E\[X²\] of [`random_walk`] and its derivative in `p`, exactly: the distribution of X pushed
/// through the transition matrix in dual arithmetic.
pub fn random_walk_exact(p: f64, n: usize) -> (f64, f64) {
    let p = Dual::<1>::variable(p, 0);
    // X ranges over −n..=n; index x + n.
    let mut dist = vec![Dual::<1>::from(0.0); 2 * n + 1];
    dist[n] = Dual::from(1.0);
    for _ in 0..n {
        let mut next = vec![Dual::<1>::from(0.0); 2 * n + 1];
        for (i, &w) in dist.iter().enumerate() {
            if w.value == 0.0 && w.tangent[0] == 0.0 {
                continue;
            }
            let up = (-Dual::from(i as f64 - n as f64) / p).exp();
            next[i + 1] += w * up;
            next[i - 1] += w * (-up + 1.0);
        }
        dist = next;
    }
    let e: Dual<1> = dist
        .iter()
        .enumerate()
        .map(|(i, &w)| w * (i as f64 - n as f64).powi(2))
        .sum();
    (e.value, e.tangent[0])
}

/// Number of objects of the structural toy.
pub const TOY_OBJECTS: usize = 4;

/// The structural toy's state, fixed-shape so every alternative world has the same layout:
/// object values, and flags (numbers, so worlds can differ) "still active" and "retired".
#[derive(Clone, Copy, Debug, crate::Scalars)]
pub struct Toy<S> {
    /// Object values.
    pub x: [S; TOY_OBJECTS],
    /// 1 while the object takes part, 0 once merged away or retired.
    pub active: [S; TOY_OBJECTS],
    /// 1 once the object was retired as a final object.
    pub retired: [S; TOY_OBJECTS],
}

/// Candidate `c` of the toy as (i, j) for "merge i and j" or (i, i) for "retire i": the pairs
/// first, then the singles — the layout of an anti-kT distance matrix.
pub fn toy_candidate(c: usize) -> (usize, usize) {
    let mut n = 0;
    for i in 0..TOY_OBJECTS {
        for j in i + 1..TOY_OBJECTS {
            if n == c {
                return (i, j);
            }
            n += 1;
        }
    }
    (c - n, c - n)
}

impl<S: Scalar> Toy<S> {
    /// All objects active, none retired.
    pub fn new(x: [f64; TOY_OBJECTS]) -> Self {
        Toy {
            x: x.map(S::from),
            active: [S::one(); TOY_OBJECTS],
            retired: [S::zero(); TOY_OBJECTS],
        }
    }

    /// Candidate weights: merges of close objects and retirements of large ones are likely;
    /// inactive candidates weigh 0 here (they may be active in another world).
    pub fn weights(&self, theta: S) -> Vec<S> {
        let mut w = Vec::new();
        for i in 0..TOY_OBJECTS {
            for j in i + 1..TOY_OBJECTS {
                let d = self.x[i] - self.x[j];
                w.push(self.active[i] * self.active[j] * (-(d * d) * theta).exp());
            }
        }
        for i in 0..TOY_OBJECTS {
            w.push(self.active[i] * (self.x[i] * theta * 0.5).exp() * 0.3);
        }
        w
    }

    /// The state after candidate `c`: a plain, branchy function of a plain index.
    pub fn apply(mut self, c: usize) -> Self {
        let (i, j) = toy_candidate(c);
        if i == j {
            self.active[i] = S::zero();
            self.retired[i] = S::one();
        } else {
            self.x[i] += self.x[j];
            self.active[j] = S::zero();
        }
        self
    }

    /// Sum of the two largest retired objects (non-smooth in the objects).
    pub fn top2(&self) -> S {
        let mut r: Vec<S> = (0..TOY_OBJECTS)
            .filter(|&i| self.retired[i].value() == 1.0)
            .map(|i| self.x[i])
            .collect();
        r.sort_by(|a, b| b.value().total_cmp(&a.value()));
        r.into_iter().take(2).fold(S::zero(), |a, b| a + b)
    }
}

/// The structural toy, the dress rehearsal for the jet clusterer: at each step a categorical over
/// "merge i and j" and "retire i" with weights depending on θ and the current objects, until
/// none is active; output the sum of the two largest retired objects. Each step's discrete choice
/// goes through [`propagate`], which replays it in the alternative world.
///
/// ```
/// use stochad::{exact, sample::Coupling, toys::structural_toy, Dual};
/// let ex = exact::derivative(|t: Dual| structural_toy(t, Coupling::Proportional), 0.7)?;
/// let est = stochad::derivative(|t| structural_toy(t, Coupling::Proportional))
///     .at(0.7).samples(20_000).estimate()?;
/// assert!((est.mean - ex.gradient[0]).abs() < 5.0 * est.stderr);
/// # Ok::<(), stochad::Error>(())
/// ```
pub fn structural_toy<S: Scalar>(theta: S, coupling: Coupling) -> Result<S> {
    let mut st = Toy::<S>::new([0.3, 0.9, 1.4, 2.6]);
    // Every step removes exactly one active object, in every world.
    for _ in 0..TOY_OBJECTS {
        let k = categorical_with(&st.weights(theta), coupling)?;
        st = propagate(|k: S| st.apply(k.value() as usize), k)?;
    }
    propagate(|s: Toy<S>| s.top2(), st)
}
