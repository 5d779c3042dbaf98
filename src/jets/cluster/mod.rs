//! Deterministic generalised-kT clustering (kT, Cambridge/Aachen, anti-kT), reproducing FastJet's
//! jets exactly.
//!
//! [`JetDefinition`] holds the configuration, [`JetDefinition::cluster`] runs a nearest-neighbour
//! algorithm (FastJet's `N2Plain`, a tiled variant for larger events, or FastJet's heap-based
//! `N2MinHeapTiled` and `N2MHTLazy9` for thousands of particles; see [`Strategy`]) and returns a
//! [`ClusterSequence`] with the full history, which
//! answers [`ClusterSequence::inclusive_jets`]. The four-momenta may be any
//! [`Scalar`](crate::Scalar): decisions are taken on primal values, merged momenta carry the
//! number type's tangents.
//!
//! ```
//! use stochad::jets::cluster::{Algorithm, JetDefinition};
//! use stochad::jets::FourMomentum;
//! // The FastJet manual's example.
//! let particles = [
//!     FourMomentum::new(99.0, 0.1, 0.0, 100.0),
//!     FourMomentum::new(4.0, -0.1, 0.0, 5.0),
//!     FourMomentum::new(-99.0, 0.0, 0.0, 99.0),
//! ];
//! let def = JetDefinition::new(Algorithm::AntiKt, 0.7)?;
//! let jets = def.cluster(&particles)?.inclusive_jets(0.0);
//! assert_eq!(jets.len(), 2);
//! assert_eq!(jets[0].constituents, vec![0, 1]);
//! assert!((jets[0].momentum.pt() - 103.0).abs() < 1e-12);
//! # Ok::<(), stochad::Error>(())
//! ```

mod definition;
mod heap;
mod nn;
mod plain;
mod sequence;
mod tiled;

pub use definition::{Algorithm, JetDefinition, Strategy, MAX_RADIUS, MIN_RADIUS};
pub use sequence::{ClusterSequence, Jet, Step};
