//! The dress rehearsal for the jet clusterer: four objects; at each step a categorical over
//! "merge objects i and j" (pairs) and "retire object i" (singles), with weights depending on θ
//! and on the current objects, until none is active; the output is the sum of the two largest
//! retired objects (non-smooth). Written once, generic; every estimator that claims no bias must
//! match the exact oracle, and all number types must take the same primal path.

mod common;

use common::assert_close;
use stochad::sample::{categorical_with, Coupling};
use stochad::{
    derivative, derivative_with, exact, propagate, Dual, ExactTriple, Result, Scalar, Scalars,
    Score,
};

const M: usize = 4;

/// The state, fixed-shape so every world has the same layout: object values, and flags (as
/// numbers, so alternative worlds can differ) for "still active" and "retired as a final object".
#[derive(Clone, Copy, Debug, Scalars)]
struct Toy<S> {
    x: [S; M],
    active: [S; M],
    retired: [S; M],
}

/// Candidate `c` as (i, j) for a merge or (i, i) for a retirement: pairs first, then singles.
fn candidate(c: usize) -> (usize, usize) {
    let mut n = 0;
    for i in 0..M {
        for j in i + 1..M {
            if n == c {
                return (i, j);
            }
            n += 1;
        }
    }
    (c - n, c - n)
}

impl<S: Scalar> Toy<S> {
    fn new(x: [f64; M]) -> Self {
        Toy {
            x: x.map(S::from),
            active: [S::one(); M],
            retired: [S::zero(); M],
        }
    }

    /// Weights of every candidate: merges of close objects and retirements of large ones are
    /// likely; inactive candidates weigh 0 (they may be active in another world).
    fn weights(&self, theta: S) -> Vec<S> {
        let mut w = Vec::new();
        for i in 0..M {
            for j in i + 1..M {
                let d = self.x[i] - self.x[j];
                w.push(self.active[i] * self.active[j] * (-(d * d) * theta).exp());
            }
        }
        for i in 0..M {
            w.push(self.active[i] * (self.x[i] * theta * 0.5).exp() * 0.3);
        }
        w
    }

    /// The state after candidate `c` (a plain, branchy function of a plain index).
    fn apply(mut self, c: usize) -> Self {
        let (i, j) = candidate(c);
        if i == j {
            self.active[i] = S::zero();
            self.retired[i] = S::one();
        } else {
            self.x[i] = self.x[i] + self.x[j];
            self.active[j] = S::zero();
        }
        self
    }

    /// Sum of the two largest retired objects (non-smooth in the objects).
    fn top2(&self) -> S {
        let mut r: Vec<S> = (0..M)
            .filter(|&i| self.retired[i].value() == 1.0)
            .map(|i| self.x[i])
            .collect();
        r.sort_by(|a, b| b.value().total_cmp(&a.value()));
        r.into_iter().take(2).fold(S::zero(), |a, b| a + b)
    }
}

fn toy<S: Scalar>(theta: S, coupling: Coupling) -> Result<S> {
    let mut st = Toy::<S>::new([0.3, 0.9, 1.4, 2.6]);
    // Every step removes exactly one active object, in every world.
    for _ in 0..M {
        let k = categorical_with(&st.weights(theta), coupling)?;
        st = propagate(|k: S| st.apply(k.value() as usize), k)?;
    }
    propagate(|s: Toy<S>| s.top2(), st)
}

#[test]
fn stochastic_ad_and_score_match_the_exact_oracle() {
    for theta in [0.7, 1.3] {
        let ex = exact::derivative(|t: Dual| toy(t, Coupling::Proportional), theta).unwrap();
        for coupling in [Coupling::Inversion, Coupling::Proportional] {
            let n = 40_000;
            let t = derivative(|t| toy(t, coupling))
                .at(theta)
                .samples(n)
                .seed(1)
                .estimate()
                .unwrap();
            assert_close(
                &format!("E[f] θ={theta}"),
                t.value,
                t.value_stderr,
                ex.value,
            );
            assert_close(
                &format!("pruned {coupling:?} θ={theta}"),
                t.mean,
                t.stderr,
                ex.derivative,
            );
            let e = derivative_with(|t: ExactTriple| toy(t, coupling))
                .at(theta)
                .samples(n / 4)
                .seed(2);
            let e = e.estimate().unwrap();
            assert_close(
                &format!("exact {coupling:?} θ={theta}"),
                e.mean,
                e.stderr,
                ex.derivative,
            );
        }
        let s = derivative_with(|t: Score| toy(t, Coupling::Proportional))
            .at(theta)
            .samples(40_000);
        let s = s.seed(3).estimate().unwrap();
        assert_close(&format!("score θ={theta}"), s.mean, s.stderr, ex.derivative);
    }
}

#[test]
fn all_number_types_share_the_primal_path() {
    let c = Coupling::Proportional;
    let t = derivative(|t| toy(t, c))
        .at(0.9)
        .samples(300)
        .seed(5)
        .runs()
        .unwrap();
    let s = derivative_with(|t: Score| toy(t, c))
        .at(0.9)
        .samples(300)
        .seed(5)
        .runs()
        .unwrap();
    let d = derivative_with(|t: Dual| toy(t, c))
        .at(0.9)
        .samples(300)
        .seed(5)
        .runs()
        .unwrap();
    for i in 0..300 {
        let plain = stochad::with_run(5, i as u64, || toy(0.9, c)).unwrap();
        assert_eq!((t[i].value, s[i].value, d[i].value), (plain, plain, plain));
    }
}
