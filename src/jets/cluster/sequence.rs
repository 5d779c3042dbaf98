//! A clustering run: the history, and the jets it answers.

use super::definition::{JetDefinition, Strategy};
use super::nn::{Geometry, Recorder};
use super::{heap, plain, tiled};
use crate::error::Result;
use crate::jets::error::invalid_input;
use crate::jets::momentum::FourMomentum;
use crate::jets::JetError;
use crate::scalar::Scalar;

/// One step of the clustering history.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// Two objects were merged (E-scheme) into a new one.
    Merge {
        /// Index (into [`ClusterSequence::objects`]) of one merged object (the one at the
        /// higher position of the search's array, FastJet's `jetA`).
        first: usize,
        /// Index of the other merged object.
        second: usize,
        /// Index of the new object.
        result: usize,
        /// The distance d_ij at which they merged.
        distance: f64,
    },
    /// An object became a final (inclusive) jet.
    Beam {
        /// Index of the object.
        jet: usize,
        /// Its beam distance d_iB.
        distance: f64,
    },
}

/// An inclusive jet: its four-momentum and its constituents.
#[derive(Clone, Debug, PartialEq, crate::Scalars)]
pub struct Jet<S = f64> {
    /// The jet's four-momentum (sum of its constituents', in merge order).
    pub momentum: FourMomentum<S>,
    /// Indices of its constituents in the clustered input, increasing.
    pub constituents: Vec<usize>,
}

/// The result of clustering one event: every object ever formed and the history of steps.
///
/// Objects `0..n_particles()` are the input particles, later ones the merged objects in the
/// order they were made (as in FastJet's `jets()`).
#[derive(Clone, Debug)]
pub struct ClusterSequence<S = f64> {
    definition: JetDefinition,
    objects: Vec<FourMomentum<S>>,
    parents: Vec<Option<(usize, usize)>>,
    steps: Vec<Step>,
    n_particles: usize,
}

impl JetDefinition {
    /// Clusters `particles` with this definition.
    ///
    /// Errors with [`JetError::InvalidParameter`](crate::jets::JetError::InvalidParameter) (as
    /// [`Error::Jets`](crate::Error::Jets)) if a component of a particle is not finite.
    pub fn cluster<S: Scalar>(&self, particles: &[FourMomentum<S>]) -> Result<ClusterSequence<S>> {
        ClusterSequence::new(*self, particles)
    }
}

impl<S: Scalar> ClusterSequence<S> {
    /// Clusters `particles` with `definition` (see [`JetDefinition::cluster`]).
    pub fn new(definition: JetDefinition, particles: &[FourMomentum<S>]) -> Result<Self> {
        let n = particles.len();
        if n >= (u32::MAX / 2) as usize {
            return Err(invalid_input(format!(
                "cannot cluster {n} particles (too many)"
            )));
        }
        if let Some(bad) = particles.iter().find(|p| !p.is_finite()) {
            let p = bad.primal();
            let value = [p.px, p.py, p.pz, p.e].into_iter().find(|v| !v.is_finite());
            return Err(JetError::InvalidParameter {
                what: "cluster: particle four-momentum component",
                value: value.unwrap_or(f64::NAN),
                expected: "finite",
            }
            .into());
        }
        let mut seq = ClusterSequence {
            definition,
            objects: Vec::with_capacity(2 * n),
            parents: Vec::with_capacity(2 * n),
            steps: Vec::with_capacity(2 * n),
            n_particles: n,
        };
        seq.objects.extend_from_slice(particles);
        seq.parents.resize(n, None);
        let geometry: Vec<Geometry> = particles.iter().map(|p| seq.geometry(p)).collect();
        let r = definition.radius();
        let strategy = match definition.strategy() {
            Strategy::Best => Strategy::best_for(n, definition.algorithm(), r),
            s => s,
        };
        match strategy {
            Strategy::N2Plain | Strategy::Best => plain::cluster(&geometry, r * r, &mut seq),
            Strategy::N2Tiled => tiled::cluster(&geometry, r, &mut seq),
            Strategy::N2MinHeapTiled | Strategy::N2MHTLazy9 | Strategy::N2MHTLazy25 => {
                // FastJet leaves particles with E = |pz| out of its rapidity range.
                let skip: Vec<bool> = particles
                    .iter()
                    .map(|p| {
                        let q = p.primal();
                        q.e == q.pz.abs()
                    })
                    .collect();
                match strategy {
                    Strategy::N2MHTLazy9 => {
                        heap::cluster_lazy(&geometry, &skip, r, heap::Kind::Lazy9, &mut seq)
                    }
                    Strategy::N2MHTLazy25 => {
                        heap::cluster_lazy(&geometry, &skip, r, heap::Kind::Lazy25, &mut seq)
                    }
                    _ => heap::cluster_minheap(&geometry, &skip, r, &mut seq),
                }
            }
        }
        Ok(seq)
    }

    fn geometry(&self, p: &FourMomentum<S>) -> Geometry {
        let q = p.primal();
        Geometry {
            rap: q.rapidity(),
            phi: q.phi(),
            scale: self.definition.algorithm().scale(q.pt2()),
        }
    }

    /// The jet definition used.
    pub fn definition(&self) -> &JetDefinition {
        &self.definition
    }

    /// Number of input particles.
    pub fn n_particles(&self) -> usize {
        self.n_particles
    }

    /// Every object: the input particles, then the merged objects in order of creation.
    pub fn objects(&self) -> &[FourMomentum<S>] {
        &self.objects
    }

    /// The history, in order.
    pub fn history(&self) -> &[Step] {
        &self.steps
    }

    /// The parents of object `k` (`None` for an input particle or an index out of range).
    pub fn parents(&self, k: usize) -> Option<(usize, usize)> {
        self.parents.get(k).copied().flatten()
    }

    /// Input indices of the particles that make up object `k`, increasing (empty if `k` is out
    /// of range).
    pub fn constituents(&self, k: usize) -> Vec<usize> {
        let mut out = Vec::new();
        if k >= self.objects.len() {
            return out;
        }
        let mut stack = vec![k];
        while let Some(j) = stack.pop() {
            match self.parents[j] {
                Some((a, b)) => stack.extend([a, b]),
                None => out.push(j),
            }
        }
        out.sort_unstable();
        out
    }

    /// The inclusive jets with pt² ≥ ptmin², sorted by decreasing pt, each with its
    /// constituents.
    pub fn inclusive_jets(&self, ptmin: f64) -> Vec<Jet<S>> {
        let ptmin2 = ptmin * ptmin;
        let mut jets: Vec<(f64, Jet<S>)> = self
            .steps
            .iter()
            .filter_map(|s| match *s {
                Step::Beam { jet, .. } => {
                    let pt2 = self.objects[jet].pt2().value();
                    (pt2 >= ptmin2).then(|| {
                        let j = Jet {
                            momentum: self.objects[jet],
                            constituents: self.constituents(jet),
                        };
                        (pt2, j)
                    })
                }
                Step::Merge { .. } => None,
            })
            .collect();
        jets.sort_by(|a, b| b.0.total_cmp(&a.0));
        jets.into_iter().map(|(_, j)| j).collect()
    }
}

impl<S: Scalar> Recorder for ClusterSequence<S> {
    fn merge(&mut self, a: usize, b: usize, distance: f64) -> (usize, Geometry) {
        let p = self.objects[a] + self.objects[b];
        let k = self.objects.len();
        self.objects.push(p);
        self.parents.push(Some((a, b)));
        self.steps.push(Step::Merge {
            first: a,
            second: b,
            result: k,
            distance,
        });
        (k, self.geometry(&p))
    }

    fn beam(&mut self, a: usize, distance: f64) {
        self.steps.push(Step::Beam { jet: a, distance });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jets::cluster::{Algorithm, MAX_RADIUS, MIN_RADIUS};
    use crate::Dual;
    use std::f64::consts::{PI, TAU};

    const ALL: [Strategy; 5] = [
        Strategy::N2Plain,
        Strategy::N2Tiled,
        Strategy::N2MinHeapTiled,
        Strategy::N2MHTLazy9,
        Strategy::N2MHTLazy25,
    ];

    fn manual_event() -> Vec<FourMomentum> {
        vec![
            FourMomentum::new(99.0, 0.1, 0.0, 100.0),
            FourMomentum::new(4.0, -0.1, 0.0, 5.0),
            FourMomentum::new(-99.0, 0.0, 0.0, 99.0),
        ]
    }

    #[test]
    fn fastjet_manual_example() {
        let def = JetDefinition::new(Algorithm::AntiKt, 0.7).unwrap();
        let seq = def.cluster(&manual_event()).unwrap();
        let jets = seq.inclusive_jets(0.0);
        assert_eq!(jets.len(), 2);
        let (j0, j1) = (&jets[0].momentum, &jets[1].momentum);
        assert!((j0.pt() - 103.0).abs() < 1e-12);
        assert!(j0.rapidity().abs() < 1e-12);
        assert!(j0.phi().abs() < 1e-12);
        assert_eq!(jets[0].constituents, vec![0, 1]);
        assert!((j1.pt() - 99.0).abs() < 1e-12);
        assert!((j1.phi() - PI).abs() < 1e-12);
        assert_eq!(jets[1].constituents, vec![2]);
        // The history: one merge and two beam steps; d_ij = d_iB of the harder one × ΔR²/R².
        assert_eq!(seq.history().len(), 3);
        match seq.history()[0] {
            Step::Merge {
                result, distance, ..
            } => {
                assert_eq!(result, 3);
                let (a, b) = (manual_event()[0], manual_event()[1]);
                let d = a.delta_r2(&b) / a.pt2() / 0.49;
                assert!((distance - d).abs() < 1e-15 * d.abs().max(1e-300));
                assert_eq!(seq.parents(3), Some((1, 0)));
            }
            s => panic!("first step {s:?}"),
        }
        assert!(seq.inclusive_jets(100.0).len() == 1);
    }

    #[test]
    fn every_algorithm_partitions_the_input() {
        // A small deterministic event: constituents of all inclusive jets partition 0..n and
        // momenta add up.
        let mut ps = Vec::new();
        for i in 0..40 {
            let t = i as f64;
            let (px, py, pz) = (
                (t * 1.3).sin() * (1.0 + t),
                (t * 0.7).cos() * 3.0,
                (t * 2.1).sin() * 5.0,
            );
            let e = (px * px + py * py + pz * pz + 0.01).sqrt();
            ps.push(FourMomentum::new(px, py, pz, e));
        }
        for alg in [Algorithm::Kt, Algorithm::CambridgeAachen, Algorithm::AntiKt] {
            for r in [0.05, 0.2, 0.4, 1.0, 2.5, 7.0] {
                let def = JetDefinition::new(alg, r).unwrap();
                let seq = def.with_strategy(Strategy::N2Plain).cluster(&ps).unwrap();
                // The other searches take the same steps (no ties here).
                for strategy in &ALL[1..] {
                    let other = def.with_strategy(*strategy).cluster(&ps).unwrap();
                    assert_eq!(seq.objects(), other.objects(), "{alg} R = {r} {strategy:?}");
                }
                let jets = seq.inclusive_jets(0.0);
                let mut all: Vec<usize> =
                    jets.iter().flat_map(|j| j.constituents.clone()).collect();
                all.sort_unstable();
                assert_eq!(all, (0..ps.len()).collect::<Vec<_>>());
                for j in &jets {
                    let sum: FourMomentum = j.constituents.iter().map(|&k| ps[k]).sum();
                    assert!((sum.e - j.momentum.e).abs() < 1e-12 * sum.e);
                }
                for w in jets.windows(2) {
                    assert!(w[0].momentum.pt2() >= w[1].momentum.pt2());
                }
                // One step removes one object: n − jets merges, then one beam step per jet.
                assert_eq!(seq.history().len(), ps.len());
                assert_eq!(seq.objects().len(), 2 * ps.len() - jets.len());
            }
        }
    }

    #[test]
    fn pairs_beyond_r_never_merge() {
        // Two particles ΔR = 1 apart: merged for R = 1.01, separate for R = 1.0 (strict <).
        let a = FourMomentum::new(10.0, 0.0, 0.0, 10.0);
        let phi = 1.0f64;
        let b = FourMomentum::new(5.0 * phi.cos(), 5.0 * phi.sin(), 0.0, 5.0);
        let dr2 = a.delta_r2(&b);
        let r_eq = dr2.sqrt();
        for alg in [Algorithm::Kt, Algorithm::CambridgeAachen, Algorithm::AntiKt] {
            let n = |r: f64| {
                JetDefinition::new(alg, r)
                    .unwrap()
                    .cluster(&[a, b])
                    .unwrap()
                    .inclusive_jets(0.0)
                    .len()
            };
            assert_eq!(n(r_eq * 1.01), 1);
            assert_eq!(n(r_eq * 0.99), 2);
        }
    }

    #[test]
    fn kt_and_antikt_order_differs() {
        // Soft pair near a hard particle: kT merges the soft pair first, anti-kT the hard one
        // with the nearer soft particle.
        let hard = FourMomentum::new(100.0, 0.0, 0.0, 100.0);
        let s1 = FourMomentum::new(1.0 * 0.3f64.cos(), 1.0 * 0.3f64.sin(), 0.0, 1.0);
        let s2 = FourMomentum::new(1.0 * 0.45f64.cos(), 1.0 * 0.45f64.sin(), 0.0, 1.0);
        let first_merge = |alg| match JetDefinition::new(alg, 1.0)
            .unwrap()
            .cluster(&[hard, s1, s2])
            .unwrap()
            .history()[0]
        {
            Step::Merge { first, second, .. } => (first.min(second), first.max(second)),
            s => panic!("{s:?}"),
        };
        assert_eq!(first_merge(Algorithm::Kt), (1, 2));
        assert_eq!(first_merge(Algorithm::CambridgeAachen), (1, 2));
        assert_eq!(first_merge(Algorithm::AntiKt), (0, 1));
    }

    #[test]
    fn edge_inputs() {
        let def = JetDefinition::new(Algorithm::AntiKt, 0.4).unwrap();
        assert!(def
            .cluster::<f64>(&[])
            .unwrap()
            .inclusive_jets(0.0)
            .is_empty());
        let bad = [FourMomentum::new(1.0, f64::NAN, 0.0, 2.0)];
        assert!(matches!(
            def.cluster(&bad),
            Err(crate::Error::Jets(JetError::InvalidParameter { .. }))
        ));
        // Zero-pt particles along the beam and an exact duplicate cluster without trouble.
        let ps = [
            FourMomentum::new(0.0, 0.0, 5.0, 5.0),
            FourMomentum::new(0.0, 0.0, -5.0, 5.0),
            FourMomentum::new(1.0, 1.0, 0.0, 2.0),
            FourMomentum::new(1.0, 1.0, 0.0, 2.0),
        ];
        let jets = def.cluster(&ps).unwrap().inclusive_jets(0.0);
        assert_eq!(jets.len(), 3);
        assert_eq!(jets[0].constituents, vec![2, 3]);
        assert_eq!(
            def.cluster(&ps).unwrap().constituents(99),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn unphysical_inputs_do_not_break_clustering() {
        // Negative energy along the beam (rapidity NaN), zero energy with pt (rapidity ∞), a
        // zero vector, extreme radii: every particle still ends up in exactly one jet.
        let ps = [
            FourMomentum::new(0.0, 0.0, 3.0, -3.0),
            FourMomentum::new(1.0, 1.0, 0.0, 0.0),
            FourMomentum::new(0.0, 0.0, 0.0, 0.0),
            FourMomentum::new(2.0, 0.5, 1.0, 3.0),
            FourMomentum::new(2.0, 0.6, 1.1, 3.0),
        ];
        let many: Vec<FourMomentum> = ps.iter().cycle().take(200).copied().collect();
        for alg in [Algorithm::Kt, Algorithm::CambridgeAachen, Algorithm::AntiKt] {
            for r in [MIN_RADIUS, 0.4, MAX_RADIUS] {
                for strategy in ALL {
                    for input in [&ps[..], &many[..]] {
                        let def = JetDefinition::new(alg, r).unwrap().with_strategy(strategy);
                        let jets = def.cluster(input).unwrap().inclusive_jets(0.0);
                        let n: usize = jets.iter().map(|j| j.constituents.len()).sum();
                        assert_eq!(n, input.len(), "{alg} R = {r} {strategy:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn dual_follows_f64_decisions() {
        let ps = manual_event();
        let def = JetDefinition::new(Algorithm::AntiKt, 0.7).unwrap();
        // Seed a tangent on particle 1's px: it flows into jet 0 only.
        let mut pd: Vec<FourMomentum<Dual<1>>> =
            ps.iter().map(|&p| FourMomentum::from_f64(p)).collect();
        pd[1].px = Dual::variable(ps[1].px, 0);
        let jd = def.cluster(&pd).unwrap().inclusive_jets(0.0);
        let jf = def.cluster(&ps).unwrap().inclusive_jets(0.0);
        assert_eq!(jd.len(), jf.len());
        for (a, b) in jd.iter().zip(&jf) {
            assert_eq!(a.momentum.primal(), b.momentum);
            assert_eq!(a.constituents, b.constituents);
        }
        assert_eq!(jd[0].momentum.px.tangent[0], 1.0);
        assert_eq!(jd[1].momentum.px.tangent[0], 0.0);
    }

    /// `f()` on another thread, failing if it takes longer than `secs`: a search that loops
    /// forever (a bug in the tiles' bookkeeping) fails the test instead of hanging it. The
    /// stuck thread is left behind and ends with the test process.
    fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
            Ok(t) => t,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("no result after {secs} s: an endless loop?")
            }
            Err(e) => panic!("the clustering thread failed: {e}"),
        }
    }

    proptest::proptest! {
        // Bounded: 48 cases, at most 32 shrinking steps and 20 s of shrinking, each case under
        // a 10 s watchdog (a case takes milliseconds). A bug fails within about a minute.
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 48,
            max_shrink_iters: 32,
            max_shrink_time: 20_000,
            ..proptest::prelude::ProptestConfig::default()
        })]
        /// Random events (no exact ties): the tiled and heap-based searches take exactly the
        /// plain search's steps, across φ = 0/2π, large rapidities and every radius.
        #[test]
        fn tiled_equals_plain_on_random_events(
            seed in 0u64..u64::MAX,
            n in 1usize..260,
            r in 0.05f64..3.5,
            alg in 0usize..3,
        ) {
            let mut x = seed | 1;
            let mut uniform = move || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 11) as f64 / (1u64 << 53) as f64
            };
            let ps: Vec<FourMomentum> = (0..n)
                .map(|i| {
                    let pt = 0.1 * 5000f64.powf(uniform());
                    let y = (uniform() - 0.5) * 10.0;
                    // Every fifth particle hugs φ = 0 from either side.
                    let phi = if i % 5 == 0 { (uniform() - 0.5) * 0.02 } else { uniform() * TAU };
                    let m = uniform();
                    let mt = (pt * pt + m * m).sqrt();
                    FourMomentum::new(pt * phi.cos(), pt * phi.sin(), mt * y.sinh(), mt * y.cosh())
                })
                .collect();
            let alg = [Algorithm::Kt, Algorithm::CambridgeAachen, Algorithm::AntiKt][alg];
            let def = JetDefinition::new(alg, r).unwrap();
            let results = within(10, move || {
                ALL.map(|strategy| {
                    let seq = def.with_strategy(strategy).cluster(&ps).unwrap();
                    (seq.objects().to_vec(), seq.inclusive_jets(0.0))
                })
            });
            for (k, other) in results.iter().enumerate().skip(1) {
                proptest::prop_assert_eq!(&results[0].0, &other.0, "{:?}", ALL[k]);
                proptest::prop_assert_eq!(&results[0].1, &other.1, "{:?}", ALL[k]);
            }
        }
    }
}
