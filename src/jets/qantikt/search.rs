//! Which candidates of a step can matter in some world: a cache of the close pairs, kept up to
//! date as objects change, over a grid in (y, φ) that rebuilds it, so a step costs about a pass
//! over the cache plus one over the objects instead of all n(n+1)/2 pairs.
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
//! Pair (i, j) is live iff min(s_i, s_j)·ΔR²_ij < U. The cache holds every pair of members below
//! a threshold t ≥ U, in layout order, with its distance: a step drops the pairs of objects that
//! changed, adds those of the new ones (one pass over the slots each) and keeps the cached
//! pairs below U. U moves every step (it follows the smallest distance, which grows by orders of
//! magnitude over an event); when it outgrows t, or falls far below it, the cache is rebuilt at
//! t = 2U on the grid: a pair from its harder member h (smaller s), whose partners lie within
//! ρ_h = √(t/s_h) of it. D̃⁺ is the smallest cached pair or beam entry.

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

/// Appends to a vector without branching on whether each offered entry is kept: the entry is
/// written after the last kept one and the length moves by the verdict. The filters here keep
/// entries close to half the time at random, where a branch would mispredict at every other one.
struct Sink<'a, T> {
    buf: &'a mut Vec<T>,
    len: usize,
    fill: T,
}

impl<'a, T: Copy> Sink<'a, T> {
    /// A sink appending to `buf` (cleared); `fill` is what the room it makes holds.
    fn new(buf: &'a mut Vec<T>, fill: T) -> Self {
        buf.clear();
        Self::after(buf, fill)
    }

    /// A sink appending to `buf` after what it holds.
    fn after(buf: &'a mut Vec<T>, fill: T) -> Self {
        let len = buf.len();
        Sink { buf, len, fill }
    }

    /// Makes room for `n` more offers.
    #[inline]
    fn room(&mut self, n: usize) {
        if self.buf.len() < self.len + n {
            self.buf.resize(self.len + n, self.fill);
        }
    }

    /// Offers `e`, kept when `keep`; needs room.
    #[inline(always)]
    fn offer(&mut self, e: T, keep: bool) {
        self.buf[self.len] = e;
        self.len += keep as usize;
    }

    /// Drops the offers that were not kept.
    fn finish(self) {
        self.buf.truncate(self.len);
    }
}

/// One stable counting-sort pass of (key, distance) pairs by the slot in bits `shift..shift + 32`
/// of the key (slots below `n`), into `keys` and `ds`.
fn counting_pass(
    pairs: impl Iterator<Item = (u64, f64)> + Clone,
    shift: u32,
    n: usize,
    count: &mut Vec<u32>,
    keys: &mut Vec<u64>,
    ds: &mut Vec<f64>,
) {
    let slot = |k: u64| (k >> shift) as u32 as usize;
    count.clear();
    count.resize(n + 1, 0);
    let mut m = 0;
    for (k, _) in pairs.clone() {
        count[slot(k) + 1] += 1;
        m += 1;
    }
    for i in 1..=n {
        count[i] += count[i - 1];
    }
    keys.clear();
    keys.resize(m, 0);
    ds.clear();
    ds.resize(m, 0.0);
    for (k, x) in pairs {
        let at = &mut count[slot(k)];
        keys[*at as usize] = k;
        ds[*at as usize] = x;
        *at += 1;
    }
}

/// A member as its grid cell lists it.
#[derive(Clone, Copy, Debug)]
struct Entry {
    y: f64,
    phi: f64,
    s: f64,
    slot: u32,
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
    /// The members sorted by grid cell (row-major), with their geometry, as a rebuild last saw
    /// them: the cells of one row are contiguous, so a window scan reads one run of entries per
    /// row. Built afresh by each rebuild (between rebuilds only the cache is kept up to date).
    grid: Vec<Entry>,
    /// Where each cell's entries start in `grid` (one more than the cells: the end).
    grid_start: Vec<u32>,
    /// Scratch for sorting members into cells: each member's cell, then each cell's next place.
    grid_cell: Vec<u32>,
    grid_fill: Vec<u32>,
    /// Per slot (meaningful for members): geometry.
    y: Vec<f64>,
    phi: Vec<f64>,
    s: Vec<f64>,
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
    /// The cache: every pair of members whose distance is below `cache_t`, in layout order,
    /// with its distance. `cache_t` = 0 until it is first built.
    cache_keys: Vec<u64>,
    cache_d: Vec<f64>,
    cache_t: f64,
    /// The smallest distance in the cache (∞ when it is empty).
    cache_min: f64,
    /// Scratch: the cache's next contents while a step brings it up to date or a rebuild
    /// sorts it, and the counts of that sort.
    spare_keys: Vec<u64>,
    spare_d: Vec<f64>,
    count: Vec<u32>,
    /// Slots that joined or left the members since the cache was last brought up to date.
    dirty: Vec<u32>,
    is_dirty: Vec<bool>,
    /// Scratch: fresh cache entries, the varying slots' live keys, the members' live candidates.
    fresh: Vec<(u64, f64)>,
    keys: Vec<u64>,
    scratch: Vec<Candidate>,
    /// Scratch: which members pair live with the varying slot at hand.
    hit: Vec<bool>,
}

/// The cache is rebuilt to hold candidates up to `GROW` times the step's bound when the bound
/// outgrows it, and when the bound falls below 1/`SHRINK` of it (a large cache costs every step
/// a longer pass, but a rebuild costs more: on the default events SHRINK = 32 ran the primal
/// 3–4 % faster than 8 at R ∈ {0.4, 0.8, 1.0}, α ∈ {1, 2, 4}; 16 and 64 alike; GROW = 1.5 or 3
/// slower than 2).
const GROW: f64 = 2.0;
const SHRINK: f64 = 32.0;

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
            grid: Vec::new(),
            grid_start: Vec::new(),
            grid_cell: Vec::new(),
            grid_fill: Vec::new(),
            y: vec![0.0; n],
            phi: vec![0.0; n],
            s: vec![0.0; n],
            members: Vec::with_capacity(n),
            member_at: vec![NONE; n],
            my: Vec::with_capacity(n),
            mphi: Vec::with_capacity(n),
            ms: Vec::with_capacity(n),
            varying: Vec::new(),
            views: vec![Views::new(); n],
            cache_keys: Vec::new(),
            cache_d: Vec::new(),
            cache_t: 0.0,
            cache_min: f64::INFINITY,
            spare_keys: Vec::new(),
            spare_d: Vec::new(),
            count: Vec::new(),
            dirty: Vec::new(),
            is_dirty: vec![false; n],
            fresh: Vec::new(),
            keys: Vec::new(),
            scratch: Vec::new(),
            hit: Vec::new(),
        }
    }

    fn row(&self, y: f64) -> usize {
        (((y - self.ylo) / self.wy).floor().max(0.0) as usize).min(self.ny - 1)
    }

    fn col(&self, phi: f64) -> usize {
        ((phi / self.wphi).floor().max(0.0) as usize).min(self.nphi - 1)
    }

    /// Sorts the members into their grid cells (a counting sort: linear in members and cells).
    fn fill_grid(&mut self) {
        let cells = self.ny * self.nphi;
        self.grid_cell.clear();
        self.grid_start.clear();
        self.grid_start.resize(cells + 1, 0);
        for (&y, &phi) in self.my.iter().zip(&self.mphi) {
            let c = self.row(y) * self.nphi + self.col(phi);
            self.grid_cell.push(c as u32);
            self.grid_start[c + 1] += 1;
        }
        for c in 1..=cells {
            self.grid_start[c] += self.grid_start[c - 1];
        }
        self.grid_fill.clear();
        self.grid_fill.extend_from_slice(&self.grid_start[..cells]);
        let empty = Entry {
            y: 0.0,
            phi: 0.0,
            s: 0.0,
            slot: NONE,
        };
        self.grid.clear();
        self.grid.resize(self.members.len(), empty);
        for (m, &c) in self.grid_cell.iter().enumerate() {
            let at = &mut self.grid_fill[c as usize];
            self.grid[*at as usize] = Entry {
                y: self.my[m],
                phi: self.mphi[m],
                s: self.ms[m],
                slot: self.members[m],
            };
            *at += 1;
        }
    }

    /// Calls `f` for exactly the members of the cells within `k` rows and columns of (y, φ)'s
    /// cell, as [`Search::fill_grid`] last sorted them: per row, one or two (where the window
    /// wraps around φ) contiguous runs of entries.
    #[inline]
    fn for_cells(&self, y: f64, phi: f64, k: usize, mut f: impl FnMut(&Entry)) {
        let side = 2 * k + 1;
        let rows = if side >= self.ny {
            0..=self.ny - 1
        } else {
            let r = self.row(y);
            r.saturating_sub(k)..=(r + k).min(self.ny - 1)
        };
        // Column ranges [from, to) of the window, wrapping around φ.
        let mut ranges = [(0, self.nphi), (0, 0)];
        if side < self.nphi {
            let from = (self.col(phi) + self.nphi - k) % self.nphi;
            let to = from + side;
            ranges = if to <= self.nphi {
                [(from, to), (0, 0)]
            } else {
                [(from, self.nphi), (0, to - self.nphi)]
            };
        }
        for row in rows {
            let base = row * self.nphi;
            for &(from, to) in &ranges {
                let (lo, hi) = (self.grid_start[base + from], self.grid_start[base + to]);
                self.grid[lo as usize..hi as usize].iter().for_each(&mut f);
            }
        }
    }

    /// Whether the cells within `k` of a cell cover at least half the grid (then scanning every
    /// member in contiguous memory is cheaper).
    fn window_covers_half(&self, k: usize) -> bool {
        let side = 2 * k + 1;
        2 * side.min(self.ny) * side.min(self.nphi) >= self.ny * self.nphi
    }

    /// Sets slot `i` from its views (primal first): a member, a varying slot, or nothing (inactive
    /// in every world).
    pub fn set(&mut self, i: usize, views: Views) {
        let point = views.iter().all(|v| {
            v.on == views[0].on && v.y == views[0].y && v.phi == views[0].phi && v.s == views[0].s
        });
        if self.member_at[i] != NONE {
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
        self.member_at[i] = self.members.len() as u32;
        self.members.push(i as u32);
        self.my.push(v.y);
        self.mphi.push(v.phi);
        self.ms.push(v.s);
        (self.y[i], self.phi[i], self.s[i]) = (v.y, v.phi, v.s);
        self.mark(i);
    }

    /// Notes that slot `i` joined or left the members: its cache entries are stale.
    fn mark(&mut self, i: usize) {
        if !self.is_dirty[i] {
            self.is_dirty[i] = true;
            self.dirty.push(i as u32);
        }
    }

    fn remove(&mut self, i: usize) {
        let m = self.member_at[i] as usize;
        self.members.swap_remove(m);
        self.my.swap_remove(m);
        self.mphi.swap_remove(m);
        self.ms.swap_remove(m);
        if let Some(&moved) = self.members.get(m) {
            self.member_at[moved as usize] = m as u32;
        }
        self.member_at[i] = NONE;
        self.mark(i);
    }

    /// Brings the cache up to date with the members: pairs of slots that left or changed go,
    /// those of slots that joined come (each against every slot in order: one contiguous pass
    /// whose pairs come out in layout order).
    fn refresh_cache(&mut self) {
        if self.dirty.is_empty() {
            return;
        }
        let t = self.cache_t;
        if t > 0.0 {
            let is_dirty = &self.is_dirty;
            let mut fresh = std::mem::take(&mut self.fresh);
            let mut sink = Sink::new(&mut fresh, (0, 0.0));
            let mut joined = 0;
            for &d in &self.dirty {
                let d = d as usize;
                if self.member_at[d] == NONE {
                    continue;
                }
                joined += 1;
                let (yd, pd, sd) = (self.y[d], self.phi[d], self.s[d]);
                // Every slot in order (non-members are offered and refused), so one joining
                // slot's pairs come out in layout order: (j, d) for j < d, then (d, j).
                sink.room(self.member_at.len());
                for (j, (&at, ((&sj, &yj), &pj))) in self
                    .member_at
                    .iter()
                    .zip(self.s.iter().zip(&self.y).zip(&self.phi))
                    .enumerate()
                {
                    let x = sd.min(sj) * dist(yd, pd, yj, pj);
                    // A pair of two joining slots once, from the lower.
                    let twice = (j == d) | (is_dirty[j] & (j < d));
                    let keep = (at != NONE) & !twice & (x < t);
                    sink.offer((Candidate::pair(d, j).key(), x), keep);
                }
            }
            sink.finish();
            if joined > 1 {
                fresh.sort_unstable_by_key(|e| e.0);
            }
            // One pass from the old cache into the spare one: entries of dirty slots dropped
            // (without a branch on which), the fresh ones merged in at their places.
            let mut keys = std::mem::take(&mut self.spare_keys);
            let mut ds = std::mem::take(&mut self.spare_d);
            let room = self.cache_keys.len() + fresh.len();
            keys.resize(room, 0);
            ds.resize(room, 0.0);
            let (mut w, mut f) = (0, 0);
            // The fresh entries' smallest, and the kept old ones' (kept or not, an entry is
            // written; a dropped one counts as ∞).
            let mut lo = fresh.iter().fold(f64::INFINITY, |m, e| m.min(e.1));
            for (&k, &x) in self.cache_keys.iter().zip(&self.cache_d) {
                while f < fresh.len() && fresh[f].0 < k {
                    (keys[w], ds[w]) = fresh[f];
                    (w, f) = (w + 1, f + 1);
                }
                let c = Candidate::from_key(k);
                (keys[w], ds[w]) = (k, x);
                let keep = !is_dirty[c.a as usize] & !is_dirty[c.b as usize];
                lo = lo.min(if keep { x } else { f64::INFINITY });
                w += keep as usize;
            }
            for &(k, x) in &fresh[f..] {
                (keys[w], ds[w]) = (k, x);
                w += 1;
            }
            self.cache_min = lo;
            keys.truncate(w);
            ds.truncate(w);
            self.spare_keys = std::mem::replace(&mut self.cache_keys, keys);
            self.spare_d = std::mem::replace(&mut self.cache_d, ds);
            self.fresh = fresh;
        }
        self.clear_dirty();
    }

    /// Forgets which slots changed: the cache is up to date with them.
    fn clear_dirty(&mut self) {
        for &d in &self.dirty {
            self.is_dirty[d as usize] = false;
        }
        self.dirty.clear();
    }

    /// Fills the cache with the pairs of `fresh` in layout order: a counting sort by the higher
    /// slot, then (stable) by the lower, each pass linear in the pairs and the slots.
    fn fill_cache(&mut self, fresh: &[(u64, f64)]) {
        self.cache_min = fresh.iter().fold(f64::INFINITY, |m, e| m.min(e.1));
        let n = self.member_at.len();
        let mut by_b = std::mem::take(&mut self.spare_keys);
        let mut by_b_d = std::mem::take(&mut self.spare_d);
        counting_pass(
            fresh.iter().copied(),
            0,
            n,
            &mut self.count,
            &mut by_b,
            &mut by_b_d,
        );
        let pairs = by_b.iter().copied().zip(by_b_d.iter().copied());
        let (keys, ds) = (&mut self.cache_keys, &mut self.cache_d);
        counting_pass(pairs, 32, n, &mut self.count, keys, ds);
        self.spare_keys = by_b;
        self.spare_d = by_b_d;
    }

    /// Rebuilds the cache: every pair of members below `t`, found on the grid (a pair from its
    /// harder member, within ρ = √(t/s) of it).
    fn rebuild(&mut self, t: f64) {
        self.fill_grid();
        let mut fresh = std::mem::take(&mut self.fresh);
        let mut sink = Sink::new(&mut fresh, (0, 0.0));
        for (m, &i) in self.members.iter().enumerate() {
            let i = i as usize;
            let si = self.ms[m];
            let (y, phi) = (self.my[m], self.mphi[m]);
            // Each pair once, from its harder member (ties by slot).
            let leads = |j: usize, sj: f64| (sj > si) | ((sj == si) & (j > i));
            sink.room(self.members.len());
            let rho = (t / si).sqrt();
            let k = if rho < self.cell * (MAX_CELLS as f64) {
                ((rho / self.cell).ceil() as usize).max(1)
            } else {
                MAX_CELLS
            };
            if !self.window_covers_half(k) {
                self.for_cells(y, phi, k, |e| {
                    let j = e.slot as usize;
                    let x = si * dist(y, phi, e.y, e.phi);
                    sink.offer((Candidate::pair(i, j).key(), x), leads(j, e.s) & (x < t));
                });
            } else {
                let others = self.ms.iter().zip(&self.my).zip(&self.mphi);
                for (&j, ((&sj, &yj), &pj)) in self.members.iter().zip(others) {
                    let j = j as usize;
                    let x = si * dist(y, phi, yj, pj);
                    sink.offer((Candidate::pair(i, j).key(), x), leads(j, sj) & (x < t));
                }
            }
        }
        sink.finish();
        self.clear_dirty();
        self.cache_t = t;
        self.fill_cache(&fresh);
        self.fresh = fresh;
    }

    /// An upper bound on the smallest distance of every world: the smallest over candidates
    /// among members (active and equal in all worlds), beam entries at the largest R².
    fn upper(&self, r2hi: f64) -> f64 {
        let beams = self.ms.iter().fold(f64::INFINITY, |m, &s| m.min(s)) * r2hi;
        beams.min(self.cache_min)
    }

    /// The candidates not negligible in any world, in layout order: `r2` bounds R² over worlds,
    /// `factor` = (1 + ln(1/ε)/α_min)(1 + slack). Returns the bound U they are kept below (∞
    /// when no candidate is the same in every world, and then all are kept).
    pub fn live(&mut self, r2: (f64, f64), factor: f64, out: &mut Vec<Candidate>) -> f64 {
        self.refresh_cache();
        // A zero distance (coincident objects) is kept whatever the bound, so the weights can
        // report it.
        let bound_of = |upper: f64| {
            if upper > 0.0 {
                upper * factor
            } else {
                f64::MIN_POSITIVE
            }
        };
        if self.cache_t == 0.0 {
            // First build: up to the smallest beam distance, which bounds the smallest distance
            // (building straight to the bound ln(1/ε)/α times above it would hold ~100× more
            // pairs than the steps ahead look at).
            let beams = self.upper(r2.1);
            if beams > 0.0 && beams.is_finite() {
                self.rebuild(beams);
            }
        }
        let mut bound = bound_of(self.upper(r2.1));
        if bound > self.cache_t || bound * SHRINK < self.cache_t {
            self.rebuild(bound * GROW);
            // The rebuilt cache may hold a smaller distance than the old one knew of.
            bound = bound.min(bound_of(self.upper(r2.1)));
        }
        // Beam entries (checked for every member) and cached pairs, in layout order: a slot's
        // beam entry comes before its pairs.
        let mut sink = Sink::new(out, Candidate::beam(0));
        sink.room(self.cache_keys.len() + self.members.len());
        let mut next = 0;
        for a in 0..self.member_at.len() {
            if self.member_at[a] != NONE && self.s[a] * r2.0 < bound {
                let beam = Candidate::beam(a).key();
                while next < self.cache_keys.len() && self.cache_keys[next] < beam {
                    let k = self.cache_keys[next];
                    sink.offer(Candidate::from_key(k), self.cache_d[next] < bound);
                    next += 1;
                }
                sink.offer(Candidate::beam(a), true);
            }
        }
        for (&k, &x) in self.cache_keys[next..].iter().zip(&self.cache_d[next..]) {
            sink.offer(Candidate::from_key(k), x < bound);
        }
        sink.finish();
        if self.varying.is_empty() {
            return bound;
        }
        let mut keys = std::mem::take(&mut self.keys);
        keys.clear();
        let mut hit = std::mem::take(&mut self.hit);
        for (n, &v) in self.varying.iter().enumerate() {
            let v = v as usize;
            let views = &self.views[v];
            if views.iter().any(|w| w.on && w.s * r2.0 < bound) {
                keys.push(Candidate::beam(v).key());
            }
            // Pairs with members: one pass over the members (contiguous) per view.
            hit.clear();
            hit.resize(self.members.len(), false);
            for w in views.iter().filter(|w| w.on) {
                let members = self.ms.iter().zip(self.my.iter().zip(&self.mphi));
                for (h, (&s, (&y, &p))) in hit.iter_mut().zip(members) {
                    *h |= w.s.min(s) * dist(w.y, w.phi, y, p) < bound;
                }
            }
            let mut sink = Sink::after(&mut keys, 0);
            sink.room(hit.len());
            for (&j, &h) in self.members.iter().zip(&hit) {
                sink.offer(Candidate::pair(v, j as usize).key(), h);
            }
            sink.finish();
            for &u in &self.varying[n + 1..] {
                let u = u as usize;
                if self.varying_pair_lower(v, u) < bound {
                    keys.push(Candidate::pair(v, u).key());
                }
            }
        }
        self.hit = hit;
        keys.sort_unstable();
        // Merge the varying slots' candidates into the members' (both in layout order).
        let mut from_members = std::mem::take(&mut self.scratch);
        from_members.clear();
        from_members.append(out);
        let (mut i, mut f) = (0, 0);
        while i < from_members.len() || f < keys.len() {
            if f == keys.len() || (i < from_members.len() && from_members[i].key() < keys[f]) {
                out.push(from_members[i]);
                i += 1;
            } else {
                out.push(Candidate::from_key(keys[f]));
                f += 1;
            }
        }
        self.scratch = from_members;
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
