//! Four-momenta (px, py, pz, E) generic over the scalar type.

use crate::scalar::Scalar;

/// A four-momentum (px, py, pz, E) in GeV, generic over the scalar type.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FourMomentum<S = f64> {
    /// x component of the momentum.
    pub px: S,
    /// y component of the momentum.
    pub py: S,
    /// z component (beam axis).
    pub pz: S,
    /// Energy.
    pub e: S,
}

impl<S: Scalar> FourMomentum<S> {
    /// A four-momentum from its components.
    pub fn new(px: S, py: S, pz: S, e: S) -> Self {
        FourMomentum { px, py, pz, e }
    }
}
