//! Physics: four-momenta, event files, the generalised-kT family of jet algorithms, and the
//! observables built on them. Written over [`Scalar`](crate::Scalar) so the probabilistic clusterer
//! reuses it; the engine never depends on this module.

pub mod cluster;
mod error;
pub mod io;
pub mod momentum;
pub mod observables;
pub mod qantikt;

pub use error::JetError;
pub use momentum::FourMomentum;
