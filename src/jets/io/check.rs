//! Field parsing and the physical sanity checks every reader (and the writer) applies.

use crate::jets::FourMomentum;

/// Relative tolerance of the mass-shell check: a four-momentum is rejected when
/// `E < |p| · (1 − MASS_SHELL_TOLERANCE)`, i.e. when it is space-like by more than one part in a
/// million. Massless particles written with ten significant digits (the default sample) miss the
/// light cone by up to ~10⁻⁹ relative, single-precision sources by ~10⁻⁷; a genuinely unphysical
/// momentum misses it by far more.
pub const MASS_SHELL_TOLERANCE: f64 = 1e-6;

/// Parses one floating-point field; `what` names the column for the message.
pub(crate) fn float(field: &str, what: &str) -> Result<f64, String> {
    field
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("bad number {field:?} in column {what}"))
}

/// Parses an event number (a non-negative integer).
pub(crate) fn event_number(field: &str) -> Result<u64, String> {
    field
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("bad event number {field:?}"))
}

/// Parses a PDG particle id.
pub(crate) fn pid(field: &str) -> Result<i32, String> {
    field
        .trim()
        .parse::<i32>()
        .map_err(|_| format!("bad PDG particle id {field:?}"))
}

/// Checks that a four-momentum is finite and not space-like beyond [`MASS_SHELL_TOLERANCE`].
pub(crate) fn momentum(p: &FourMomentum<f64>) -> Result<(), String> {
    let FourMomentum { px, py, pz, e } = *p;
    if !(px.is_finite() && py.is_finite() && pz.is_finite() && e.is_finite()) {
        return Err(format!(
            "non-finite four-momentum (px, py, pz, E) = ({px}, {py}, {pz}, {e})"
        ));
    }
    // hypot cannot overflow where the squares would.
    let abs_p = px.hypot(py).hypot(pz);
    if !abs_p.is_finite() {
        return Err(format!(
            "momentum magnitude overflows: (px, py, pz) = ({px}, {py}, {pz})"
        ));
    }
    if e < abs_p - abs_p * MASS_SHELL_TOLERANCE || e < 0.0 {
        return Err(format!(
            "energy E = {e} is below |p| = {abs_p} (space-like four-momentum, tolerance \
             {MASS_SHELL_TOLERANCE} relative)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn light_cone_rounding_passes_and_spacelike_fails() {
        let photon = FourMomentum::new(3.0, 4.0, 0.0, 5.0 * (1.0 - 1e-9));
        assert!(momentum(&photon).is_ok());
        let spacelike = FourMomentum::new(3.0, 4.0, 0.0, 5.0 * (1.0 - 1e-5));
        assert!(momentum(&spacelike).is_err());
        assert!(momentum(&FourMomentum::new(0.0, 0.0, 0.0, -1.0)).is_err());
        assert!(momentum(&FourMomentum::new(0.0, 0.0, 0.0, 0.0)).is_ok());
        assert!(momentum(&FourMomentum::new(f64::NAN, 0.0, 0.0, 1.0)).is_err());
        assert!(momentum(&FourMomentum::new(0.0, 0.0, 1.0, f64::INFINITY)).is_err());
        assert!(momentum(&FourMomentum::new(1e308, 1e308, 0.0, 1e308)).is_err());
    }

    #[test]
    fn fields_report_what_was_wrong() {
        assert_eq!(float(" 1.5", "px"), Ok(1.5));
        assert!(float("1.5x", "px").unwrap_err().contains("column px"));
        assert!(event_number("-3").is_err());
        assert_eq!(pid("-211"), Ok(-211));
        assert!(pid("3000000000").is_err());
    }
}
