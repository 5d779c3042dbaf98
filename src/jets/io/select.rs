//! Choosing which particles to cluster: an explicit step after reading, never inside a reader.

use super::{Event, Particle};
use crate::jets::error::Result;
use crate::jets::JetError;

/// PDG ids of the neutrinos (νe, νμ, ντ; antineutrinos are the negatives).
const NEUTRINOS: [i32; 3] = [12, 14, 16];

/// Which particles of an event to keep: cuts on pseudorapidity and transverse momentum and lists
/// of particle species to drop. Build it with the chained methods; [`Selection::all`] keeps
/// everything.
///
/// The readers hand out every final-state particle; apply a selection yourself where you want
/// one, e.g. to a HepMC3 file so that it matches the default sample:
///
/// ```
/// use stochad::jets::io::{Particle, Selection};
/// use stochad::jets::FourMomentum;
///
/// let cuts = Selection::all().drop_neutrinos().max_abs_eta(4.0)?.min_pt(0.5)?;
/// let pion = Particle { momentum: FourMomentum::new(3.0, 4.0, 1.0, 5.2), pid: 211 };
/// let neutrino = Particle { momentum: FourMomentum::new(3.0, 4.0, 1.0, 5.1), pid: -14 };
/// let forward = Particle { momentum: FourMomentum::new(0.1, 0.0, 90.0, 90.0), pid: 22 };
/// assert!(cuts.accepts(&pion));
/// assert!(!cuts.accepts(&neutrino));
/// assert!(!cuts.accepts(&forward));
/// # Ok::<(), stochad::Error>(())
/// ```
///
/// The default sample was made with [`Selection::default_sample`] *and* the removal of the Z
/// boson's decay products. That needs the event's history: the generator script did it, and for
/// HepMC3 input [`EventReader::drop_descendants_of`](super::EventReader::drop_descendants_of)
/// does it (a cut on species would also lose the leptons of hadron decays).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    drop_abs_pids: Vec<i32>,
    max_abs_eta: Option<f64>,
    min_pt: Option<f64>,
}

impl Selection {
    /// Keeps every particle.
    pub fn all() -> Selection {
        Selection::default()
    }

    /// The default sample's acceptance: no neutrinos, |η| < 4, pT > 0.5 GeV.
    pub fn default_sample() -> Selection {
        Selection {
            drop_abs_pids: NEUTRINOS.to_vec(),
            max_abs_eta: Some(4.0),
            min_pt: Some(0.5),
        }
    }

    /// Also drops neutrinos and antineutrinos (|pid| 12, 14, 16).
    pub fn drop_neutrinos(self) -> Selection {
        self.drop_abs_pids(&NEUTRINOS)
    }

    /// Also drops the species with these |PDG id|s, particles and antiparticles alike (e.g.
    /// `&[11, 13]` for electrons and muons).
    pub fn drop_abs_pids(mut self, abs_pids: &[i32]) -> Selection {
        for pid in abs_pids {
            let pid = pid.saturating_abs();
            if !self.drop_abs_pids.contains(&pid) {
                self.drop_abs_pids.push(pid);
            }
        }
        self
    }

    /// Keeps only particles with pseudorapidity |η| < `eta` (strictly). Fails unless `eta` is a
    /// positive number (`f64::INFINITY` means no cut).
    pub fn max_abs_eta(mut self, eta: f64) -> Result<Selection> {
        if eta.is_nan() || eta <= 0.0 {
            return Err(JetError::InvalidParameter {
                what: "selection: max |eta|",
                value: eta,
                expected: "(0, inf]",
            });
        }
        self.max_abs_eta = Some(eta);
        Ok(self)
    }

    /// Keeps only particles with transverse momentum pT > `pt` GeV (strictly). Fails unless `pt`
    /// is a finite non-negative number.
    pub fn min_pt(mut self, pt: f64) -> Result<Selection> {
        if !(pt.is_finite() && pt >= 0.0) {
            return Err(JetError::InvalidParameter {
                what: "selection: min pT",
                value: pt,
                expected: "[0, inf)",
            });
        }
        self.min_pt = Some(pt);
        Ok(self)
    }

    /// Whether the particle passes.
    pub fn accepts(&self, particle: &Particle) -> bool {
        if self.drop_abs_pids.contains(&particle.pid.saturating_abs()) {
            return false;
        }
        let m = &particle.momentum;
        let pt = m.px.hypot(m.py);
        if let Some(min_pt) = self.min_pt {
            if pt.is_nan() || pt <= min_pt {
                return false;
            }
        }
        if let Some(max_eta) = self.max_abs_eta {
            let eta = abs_pseudorapidity(pt, m.pz);
            if eta.is_nan() || eta >= max_eta {
                return false;
            }
        }
        true
    }

    /// Removes the particles that fail, keeping the order of the rest. An event may end up
    /// empty; that is the caller's to handle (a clusterer gives no jets).
    pub fn apply(&self, event: &mut Event) {
        event.particles.retain(|p| self.accepts(p));
    }

    /// [`apply`](Selection::apply) by value, handy in iterator chains:
    /// `reader.map(|e| e.map(|e| cuts.filter(e)))`.
    pub fn filter(&self, mut event: Event) -> Event {
        self.apply(&mut event);
        event
    }
}

/// |η| = ln((|p| + |pz|) / pT): infinite along the beam (pT = 0) and NaN for p = 0; an η cut
/// rejects both.
fn abs_pseudorapidity(pt: f64, pz: f64) -> f64 {
    let p = pt.hypot(pz);
    ((p + pz.abs()) / pt).ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jets::FourMomentum;

    fn particle(px: f64, py: f64, pz: f64, pid: i32) -> Particle {
        let e = (px * px + py * py + pz * pz).sqrt();
        Particle {
            momentum: FourMomentum::new(px, py, pz, e),
            pid,
        }
    }

    #[test]
    fn eta_matches_the_rapidity_of_a_massless_particle() {
        let (pt, pz) = (1.5_f64, -7.0_f64);
        let e = pt.hypot(pz);
        let y = 0.5 * ((e + pz) / (e - pz)).ln();
        assert!((abs_pseudorapidity(pt, pz) - y.abs()).abs() < 1e-12);
        assert_eq!(abs_pseudorapidity(0.0, 3.0), f64::INFINITY);
    }

    #[test]
    fn cuts_are_strict_and_species_cover_antiparticles() {
        let cuts = Selection::all().min_pt(1.0).unwrap().drop_abs_pids(&[-13]);
        assert!(!cuts.accepts(&particle(1.0, 0.0, 0.0, 211)));
        assert!(cuts.accepts(&particle(1.0, 0.1, 0.0, 211)));
        assert!(!cuts.accepts(&particle(5.0, 0.0, 0.0, 13)));
        assert!(!cuts.accepts(&particle(5.0, 0.0, 0.0, -13)));
        let eta = Selection::all().max_abs_eta(1.0).unwrap();
        // η = 1 exactly at pz = pT·sinh(1): just inside and just outside.
        let pz = 1.0_f64.sinh();
        assert!(eta.accepts(&particle(1.0, 0.0, pz * 0.999, 22)));
        assert!(!eta.accepts(&particle(1.0, 0.0, -pz * 1.001, 22)));
        assert!(!eta.accepts(&particle(0.0, 0.0, 3.0, 22)));
    }

    #[test]
    fn bad_cuts_are_errors() {
        assert!(Selection::all().max_abs_eta(f64::NAN).is_err());
        assert!(Selection::all().max_abs_eta(0.0).is_err());
        assert!(Selection::all().max_abs_eta(f64::INFINITY).is_ok());
        assert!(Selection::all().min_pt(-1.0).is_err());
        assert!(Selection::all().min_pt(f64::INFINITY).is_err());
    }

    #[test]
    fn default_sample_selection_is_the_documented_one() {
        let built = Selection::all()
            .drop_neutrinos()
            .max_abs_eta(4.0)
            .unwrap()
            .min_pt(0.5)
            .unwrap();
        assert_eq!(built, Selection::default_sample());
    }
}
