//! Which candidates of a step can matter in some world: a search over a grid in (y, φ) with each
//! object's geometric nearest neighbour kept up to date, so a step costs about the number of
//! live candidates plus a cheap pass over the objects instead of all n(n+1)/2 pairs.
//!
//! # What may be skipped
//! Candidate k is negligible in world w when D̃_k > T_w = D̃min,w·(1 + ln(1/ε)/α_w). The search
//! keeps every candidate whose distance is below an upper bound U of T_w over all worlds:
//! U = (1 + ln(1/ε)/α_min)·D̃⁺ with D̃⁺ the distance of a candidate that is active, and the same,
//! in every world (so D̃⁺ ≥ D̃min,w in each). Candidates beyond U are negligible everywhere.
//!
//! # Slots
//! A slot whose kinematics are the same in every world (a *point*) and that is active is a grid
//! *member*. A slot that differs between worlds is *varying*: it keeps one [`View`] per world and
//! its candidates are checked world by world. Pruning leaves varying slots few (a handful of
//! objects differ between the primal and an alternative history).
//!
//! # Pairs among members
//! Pair (i, j) is live iff min(s_i, s_j)·ΔR²_ij < U, i.e. ΔR²_ij < ρ²_h = U/s_h with h the harder
//! member (smaller s). So only an object whose nearest neighbour lies within its own ρ can be the
//! harder member of a live pair (the *gate*), and its partners lie within ρ of it. Most soft
//! objects fail the gate; hard ones (ρ large) scan widely, but they are few.

use smallvec::SmallVec;

use crate::scalar::World;

use super::candidates::Candidate;

const NONE: u32 = u32::MAX;

/// Grid cells are at least this wide.
const MIN_CELL: f64 = 0.1;
/// At most this many cells along each axis.
const MAX_CELLS: usize = 128;

/// A slot as one world sees it: `world` is `None` for the primal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct View {
    pub world: Option<World>,
    pub y: f64,
    pub phi: f64,
    pub s: f64,
    pub on: bool,
}

/// The views of one slot, primal first.
pub(super) type Views = SmallVec<[View; 3]>;

/// ΔR² with the operations of FastJet's `_bj_dist`.
#[inline(always)]
fn dist(ya: f64, pa: f64, yb: f64, pb: f64) -> f64 {
    let mut dphi = (pa - pb).abs();
    let dy = ya - yb;
    if dphi > std::f64::consts::PI {
        dphi = std::f64::consts::TAU - dphi;
    }
    dphi * dphi + dy * dy
}

/// The search structure of one clustering run.
#[derive(Clone, Debug)]
pub(super) struct Search {
    cell: f64,
    ylo: f64,
    wy: f64,
    ny: usize,
    wphi: f64,
    nphi: usize,
    /// Members per grid cell.
    cells: Vec<Vec<u32>>,
    /// Per slot: its grid cell (NONE if not a member) and position in that cell's list.
    cell_of: Vec<u32>,
    at: Vec<u32>,
    /// Per slot (meaningful for members): geometry, nearest member within the 3×3 cells around
    /// it and its ΔR² (∞ if none there).
    y: Vec<f64>,
    phi: Vec<f64>,
    s: Vec<f64>,
    nn: Vec<u32>,
    nn2: Vec<f64>,
    /// The members, each member's position in that list, and the members' geometry in the
    /// same order (contiguous, for the scans that look at every member).
    members: Vec<u32>,
    member_at: Vec<u32>,
    my: Vec<f64>,
    mphi: Vec<f64>,
    ms: Vec<f64>,
    /// Varying slots (increasing) and their views.
    varying: Vec<u32>,
    views: Vec<Views>,
    /// Scratch: the live candidates' keys, sorted into layout order.
    keys: Vec<u64>,
}

impl Search {
    /// An empty structure for `n` slots whose rapidities lie (mostly) in [ylo, yhi], with grid
    /// cells about `cell` wide.
    pub fn new(n: usize, ylo: f64, yhi: f64, cell: f64) -> Self {
        let cell = cell.max(MIN_CELL) * (1.0 + 1e-9);
        let (ylo, yhi) = (ylo.clamp(-20.0, 20.0), yhi.clamp(-20.0, 20.0));
        let ny = (((yhi - ylo) / cell).floor() as usize).clamp(1, MAX_CELLS);
        let wy = ((yhi - ylo) / ny as f64).max(cell);
        let nphi = ((std::f64::consts::TAU / cell).floor() as usize).clamp(1, MAX_CELLS);
        let wphi = std::f64::consts::TAU / nphi as f64;
        Search {
            cell,
            ylo,
            wy,
            ny,
            wphi,
            nphi,
            cells: vec![Vec::new(); ny * nphi],
            cell_of: vec![NONE; n],
            at: vec![0; n],
            y: vec![0.0; n],
            phi: vec![0.0; n],
            s: vec![0.0; n],
            nn: vec![NONE; n],
            nn2: vec![f64::INFINITY; n],
            members: Vec::with_capacity(n),
            member_at: vec![NONE; n],
            my: Vec::with_capacity(n),
            mphi: Vec::with_capacity(n),
            ms: Vec::with_capacity(n),
            varying: Vec::new(),
            views: vec![Views::new(); n],
            keys: Vec::new(),
        }
    }

    fn row(&self, y: f64) -> usize {
        (((y - self.ylo) / self.wy).floor().max(0.0) as usize).min(self.ny - 1)
    }

    fn col(&self, phi: f64) -> usize {
        ((phi / self.wphi).floor().max(0.0) as usize).min(self.nphi - 1)
    }

    /// Calls `f` for exactly the members of the cells within `k` rows and columns of (y, φ)'s
    /// cell. The nearest-neighbour bookkeeping relies on this set being symmetric.
    #[inline]
    fn for_cells(&self, y: f64, phi: f64, k: usize, mut f: impl FnMut(u32)) {
        let side = 2 * k + 1;
        if side >= self.ny && side >= self.nphi {
            self.cells.iter().flatten().copied().for_each(f);
            return;
        }
        let (r, c) = (self.row(y), self.col(phi));
        let rows = r.saturating_sub(k)..=(r + k).min(self.ny - 1);
        for row in rows {
            let base = row * self.nphi;
            if 2 * k + 1 >= self.nphi {
                for col in 0..self.nphi {
                    self.cells[base + col].iter().for_each(|&j| f(j));
                }
            } else {
                // Columns c − k ..= c + k, wrapping around φ without a division per cell.
                let mut col = (c + self.nphi - k) % self.nphi;
                for _ in 0..side {
                    self.cells[base + col].iter().for_each(|&j| f(j));
                    col += 1;
                    if col == self.nphi {
                        col = 0;
                    }
                }
            }
        }
    }

    /// Sets slot `i` from its views (primal first): a member, a varying slot, or nothing (inactive
    /// in every world).
    pub fn set(&mut self, i: usize, views: Views) {
        let point = views.iter().all(|v| {
            v.on == views[0].on && v.y == views[0].y && v.phi == views[0].phi && v.s == views[0].s
        });
        if self.cell_of[i] != NONE {
            let v = views[0];
            if point && v.on && v.y == self.y[i] && v.phi == self.phi[i] && v.s == self.s[i] {
                return;
            }
            self.remove(i);
        }
        let was_varying = !self.views[i].is_empty();
        if point {
            self.views[i].clear();
            if was_varying {
                self.varying.retain(|&v| v as usize != i);
            }
            if views[0].on {
                self.insert(i, views[0]);
            }
        } else {
            self.views[i] = views;
            if !was_varying {
                let at = self.varying.partition_point(|&v| (v as usize) < i);
                self.varying.insert(at, i as u32);
            }
        }
    }

    /// The varying slots, increasing.
    pub fn varying(&self) -> &[u32] {
        &self.varying
    }

    fn insert(&mut self, i: usize, v: View) {
        let cell = self.row(v.y) * self.nphi + self.col(v.phi);
        self.cell_of[i] = cell as u32;
        self.at[i] = self.cells[cell].len() as u32;
        self.cells[cell].push(i as u32);
        self.member_at[i] = self.members.len() as u32;
        self.members.push(i as u32);
        self.my.push(v.y);
        self.mphi.push(v.phi);
        self.ms.push(v.s);
        (self.y[i], self.phi[i], self.s[i]) = (v.y, v.phi, v.s);
        self.nn[i] = NONE;
        self.nn2[i] = f64::INFINITY;
        // The new member's neighbour, and members that now have it as theirs.
        let (y, phi) = (v.y, v.phi);
        let mut near: SmallVec<[u32; 32]> = SmallVec::new();
        self.for_cells(y, phi, 1, |j| near.push(j));
        for j in near {
            let j = j as usize;
            if j == i {
                continue;
            }
            let d = dist(y, phi, self.y[j], self.phi[j]);
            if d < self.nn2[i] {
                (self.nn[i], self.nn2[i]) = (j as u32, d);
            }
            if d < self.nn2[j] {
                (self.nn[j], self.nn2[j]) = (i as u32, d);
            }
        }
    }

    fn remove(&mut self, i: usize) {
        let cell = self.cell_of[i] as usize;
        let at = self.at[i] as usize;
        self.cells[cell].swap_remove(at);
        if let Some(&moved) = self.cells[cell].get(at) {
            self.at[moved as usize] = at as u32;
        }
        self.cell_of[i] = NONE;
        let m = self.member_at[i] as usize;
        self.members.swap_remove(m);
        self.my.swap_remove(m);
        self.mphi.swap_remove(m);
        self.ms.swap_remove(m);
        if let Some(&moved) = self.members.get(m) {
            self.member_at[moved as usize] = m as u32;
        }
        self.member_at[i] = NONE;
        // Members whose neighbour it was look again (they lie within its 3×3 cells).
        let mut orphans: SmallVec<[u32; 16]> = SmallVec::new();
        self.for_cells(self.y[i], self.phi[i], 1, |j| {
            if self.nn[j as usize] == i as u32 {
                orphans.push(j);
            }
        });
        for j in orphans {
            self.rescan(j as usize);
        }
    }

    /// Recomputes member `i`'s nearest neighbour.
    fn rescan(&mut self, i: usize) {
        let (y, phi) = (self.y[i], self.phi[i]);
        let (mut best, mut best2) = (NONE, f64::INFINITY);
        self.for_cells(y, phi, 1, |j| {
            if j as usize != i {
                let d = dist(y, phi, self.y[j as usize], self.phi[j as usize]);
                if d < best2 {
                    (best, best2) = (j, d);
                }
            }
        });
        (self.nn[i], self.nn2[i]) = (best, best2);
    }

    /// The candidates not negligible in any world, in layout order: `r2` bounds R² over worlds,
    /// `factor` = (1 + ln(1/ε)/α_min)(1 + slack). Returns the bound U they are kept below (∞
    /// when no candidate is the same in every world, and then all are kept).
    pub fn live(&mut self, r2: (f64, f64), factor: f64, out: &mut Vec<Candidate>) -> f64 {
        let mut keys = std::mem::take(&mut self.keys);
        keys.clear();
        // An upper bound on the smallest distance of every world: candidates among members are
        // active and equal in all of them.
        let mut upper = f64::INFINITY;
        for &i in &self.members {
            let i = i as usize;
            upper = upper.min(self.s[i] * r2.1);
            let j = self.nn[i];
            if j != NONE {
                upper = upper.min(self.s[i].min(self.s[j as usize]) * self.nn2[i]);
            }
        }
        // A zero distance (coincident objects) is kept whatever the bound, so the weights can
        // report it.
        let bound = if upper > 0.0 {
            upper * factor
        } else {
            f64::MIN_POSITIVE
        };
        let cell2 = self.cell * self.cell;
        for (m, &i) in self.members.iter().enumerate() {
            let i = i as usize;
            let si = self.ms[m];
            if si * r2.0 < bound {
                keys.push(Candidate::beam(i).key());
            }
            // The gate: no member within ρ_i, so i leads no live pair.
            let rho2 = bound / si;
            if self.nn2[i].min(cell2) >= rho2 {
                continue;
            }
            let (y, phi) = (self.my[m], self.mphi[m]);
            // Each pair once, from its harder member (ties by slot).
            let leads = |j: usize, sj: f64| sj > si || (sj == si && j > i);
            let k = ((rho2.sqrt() / self.cell).ceil() as usize).max(1);
            let side = 2 * k + 1;
            if side.min(self.ny) * side.min(self.nphi) <= self.members.len() {
                self.for_cells(y, phi, k, |j| {
                    let j = j as usize;
                    if leads(j, self.s[j]) && si * dist(y, phi, self.y[j], self.phi[j]) < bound {
                        keys.push(Candidate::pair(i, j).key());
                    }
                });
            } else {
                // More cells than members: every member, in contiguous memory.
                for (n, &j) in self.members.iter().enumerate() {
                    let j = j as usize;
                    if leads(j, self.ms[n]) && si * dist(y, phi, self.my[n], self.mphi[n]) < bound {
                        keys.push(Candidate::pair(i, j).key());
                    }
                }
            }
        }
        for (n, &v) in self.varying.iter().enumerate() {
            let v = v as usize;
            let views = &self.views[v];
            if views.iter().any(|w| w.on && w.s * r2.0 < bound) {
                keys.push(Candidate::beam(v).key());
            }
            for (n, &j) in self.members.iter().enumerate() {
                let j = j as usize;
                let (yj, pj, sj) = (self.my[n], self.mphi[n], self.ms[n]);
                if views
                    .iter()
                    .any(|w| w.on && w.s.min(sj) * dist(w.y, w.phi, yj, pj) < bound)
                {
                    keys.push(Candidate::pair(v, j).key());
                }
            }
            for &u in &self.varying[n + 1..] {
                let u = u as usize;
                if self.varying_pair_lower(v, u) < bound {
                    keys.push(Candidate::pair(v, u).key());
                }
            }
        }
        keys.sort_unstable();
        out.clear();
        out.extend(keys.iter().map(|&k| Candidate::from_key(k)));
        self.keys = keys;
        bound
    }

    /// Every candidate active in some world (no skipping: the dense reference), in layout order.
    pub fn dense(&self, out: &mut Vec<Candidate>) {
        out.clear();
        let mut slots: Vec<usize> = self.members.iter().map(|&i| i as usize).collect();
        slots.extend(
            self.varying
                .iter()
                .map(|&v| v as usize)
                .filter(|&v| self.views[v].iter().any(|w| w.on)),
        );
        slots.sort_unstable();
        for (n, &i) in slots.iter().enumerate() {
            out.push(Candidate::beam(i));
            out.extend(slots[n + 1..].iter().map(|&j| Candidate::pair(i, j)));
        }
    }

    /// The smallest distance of the pair of varying slots `v`, `u` over the worlds where both
    /// are active (each world seen by both slots: a slot without a view of a world is its primal
    /// there).
    fn varying_pair_lower(&self, v: usize, u: usize) -> f64 {
        let (a, b) = (&self.views[v], &self.views[u]);
        let in_world = |views: &Views, w: Option<World>| {
            views
                .iter()
                .find(|x| x.world == w)
                .copied()
                .unwrap_or(views[0])
        };
        let mut lo = f64::INFINITY;
        for w in a.iter().chain(b.iter()).map(|x| x.world) {
            let (x, y) = (in_world(a, w), in_world(b, w));
            if x.on && y.on {
                lo = lo.min(x.s.min(y.s) * dist(x.y, x.phi, y.y, y.phi));
            }
        }
        lo
    }
}
