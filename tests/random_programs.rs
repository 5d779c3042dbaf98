//! Random programs against the exact oracle: small stack programs mixing arithmetic and draws
//! whose parameters depend on θ and on earlier draws, generated from a fixed seed so the suite is
//! deterministic. Each must give unbiased pruned-triple, exact-triple, score and score-mix
//! estimates (5σ̂).

mod common;

use common::{assert_value_close, check_powered, ms};
use stochad::context::Stream;
use stochad::exact::{self, Options};
use stochad::sample::{bernoulli, categorical_logits, poisson};
use stochad::{derivative, derivative_with, AllWorldsTriple, Dual, Result, Scalar, Score};

#[derive(Clone, Copy, Debug)]
enum Op {
    /// Push θ.
    Theta,
    /// Push a constant.
    Const(f64),
    /// Pop two, push their sum.
    Add,
    /// Pop two, push their product.
    Mul,
    /// Replace the top x by sin(x).
    Sin,
    /// Replace the top x by a draw from Bernoulli(σ(x)).
    Bernoulli,
    /// Replace the top x by a draw from Poisson(0.5 + σ(x)).
    Poisson,
    /// Pop two (x, y), push a draw from softmax(x, y, x·y).
    Categorical,
}

/// A program: ops applied to a stack that starts as [θ]; the output is the sum of the stack.
fn run<S: Scalar>(ops: &[Op], theta: S) -> Result<S> {
    let mut st = vec![theta];
    for op in ops {
        match *op {
            Op::Theta => st.push(theta),
            Op::Const(c) => st.push(S::from(c)),
            Op::Add | Op::Mul | Op::Categorical if st.len() < 2 => st.push(theta),
            Op::Add => {
                let (b, a) = (st.pop().unwrap(), st.pop().unwrap());
                st.push(a + b);
            }
            Op::Mul => {
                let (b, a) = (st.pop().unwrap(), st.pop().unwrap());
                st.push(a * b);
            }
            Op::Sin => {
                let x = st.pop().unwrap();
                st.push(x.sin());
            }
            Op::Bernoulli => {
                let x = st.pop().unwrap();
                st.push(bernoulli(x.sigmoid())?);
            }
            Op::Poisson => {
                let x = st.pop().unwrap();
                st.push(poisson(x.sigmoid() + 0.5)?);
            }
            Op::Categorical => {
                let (b, a) = (st.pop().unwrap(), st.pop().unwrap());
                st.push(categorical_logits(&[a, b, a * b])?);
            }
        }
    }
    Ok(st.into_iter().fold(S::zero(), |a, b| a + b))
}

/// A random program of `len` ops with at least one draw.
fn random_program(stream: &mut Stream, len: usize) -> Vec<Op> {
    let mut ops: Vec<Op> = (0..len)
        .map(|_| match (stream.uniform() * 8.0) as usize {
            0 => Op::Theta,
            1 => Op::Const((stream.uniform() * 4.0 - 2.0).round() / 2.0),
            2 => Op::Add,
            3 => Op::Mul,
            4 => Op::Sin,
            5 => Op::Bernoulli,
            6 => Op::Poisson,
            _ => Op::Categorical,
        })
        .collect();
    ops.push(Op::Bernoulli);
    ops
}

/// Points θ each program is tried at besides its random one: the check runs where |dE/dθ| is
/// largest, so that 5σ̂ ≤ 5 % of |d| stays within a feasible number of samples (a random θ can
/// sit where the derivative nearly vanishes, and then no sample size can see a sign error). No
/// special points such as 0, where sin θ = θ·c = 0 and a probability σ(0) = ½ can make the score
/// function's terms nearly constant, so that its σ̂ (which treats the leave-one-out baselines as
/// independent) undercounts the O(1/n) fluctuation of the batch mean.
const GRID: [f64; 6] = [-0.85, -0.45, -0.15, 0.25, 0.55, 0.95];

/// Programs whose |dE/dθ| stays below this at every point are skipped as flat: their outputs are
/// O(1), so such a derivative is a weak dependence on θ that would need millions of samples per
/// estimator for power (the score function up to 10⁸). How many are skipped is bounded below.
const MIN_SLOPE: f64 = 0.1;

/// Programs checked (the generator runs until this many were small enough to enumerate and not
/// flat).
const PROGRAMS: usize = 32;

#[test]
fn random_programs_match_the_oracle() {
    let mut stream = Stream::from_key(2026);
    let opts = Options {
        tail: 1e-13,
        max_paths: 200_000,
    };
    let (mut checked, mut skipped) = (0, 0);
    'cases: for case in 0..64 {
        if checked == PROGRAMS {
            break;
        }
        let ops = random_program(&mut stream, 3 + case % 4);
        let random_theta = stream.uniform() * 2.0 - 1.0;
        let mut best: Option<(f64, exact::Expectation<1>)> = None;
        for theta in std::iter::once(random_theta).chain(GRID) {
            let ex = match exact::expectation_with(|[t]: [Dual; 1]| run(&ops, t), [theta], opts) {
                Ok(e) => e,
                // Programs too large to enumerate are skipped (counted below).
                Err(stochad::Error::SupportTooLarge { .. }) => {
                    skipped += 1;
                    continue 'cases;
                }
                Err(e) => panic!("{ops:?}: {e}"),
            };
            if best.is_none_or(|(_, b)| ex.gradient[0].abs() > b.gradient[0].abs()) {
                best = Some((theta, ex));
            }
        }
        let (theta, ex) = best.expect("at least one point");
        let d = ex.gradient[0];
        let what = |est: &str| format!("case {case} {ops:?} at θ = {theta:.3}: {est}");
        let n = 20_000;
        let seed = case as u64;
        let t = derivative(|t| run(&ops, t))
            .at(theta)
            .samples(n)
            .seed(seed)
            .estimate()
            .unwrap();
        assert_value_close(&what("E[f]"), t.value, t.value_stderr, ex.value);
        if d.abs() < MIN_SLOPE {
            if d == 0.0 {
                // E[f] does not depend on θ at all (e.g. θ·0 feeds every draw): the estimators
                // must say exactly that.
                assert!(t.mean == 0.0 && t.stderr == 0.0, "{}: {t:?}", what("flat"));
            }
            skipped += 1;
            continue;
        }
        check_powered(&what("pruned triple"), d, n, |n| {
            let t = derivative(|t| run(&ops, t)).at(theta).samples(n).seed(seed);
            ms(t.estimate().unwrap())
        });
        check_powered(&what("exact triple"), d, n, |n| {
            let e = derivative_with(|t: AllWorldsTriple| run(&ops, t)).at(theta);
            ms(e.samples(n).seed(seed).estimate().unwrap())
        });
        check_powered(&what("score + baseline"), d, n, |n| {
            let s = derivative_with(|t: Score| run(&ops, t)).at(theta);
            ms(s.samples(n).seed(seed).estimate().unwrap())
        });
        check_powered(&what("score mix"), d, n, |n| {
            let m = derivative(|t| run(&ops, t)).at(theta).score_mix(true);
            ms(m.samples(n).seed(seed).estimate().unwrap())
        });
        checked += 1;
    }
    println!("{checked} programs checked, {skipped} skipped");
    assert!(
        checked == PROGRAMS && skipped <= 16,
        "only {checked} programs checked, {skipped} skipped as too large to enumerate or flat"
    );
}
