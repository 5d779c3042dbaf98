//! FastJet's heap-based tiled strategies for large events: `N2MinHeapTiled`, `N2MHTLazy9` and
//! `N2MHTLazy25`.
//!
//! Both cut the rapidity–azimuth plane into tiles at least R wide (so a neighbour within R lies in
//! one of the 3 × 3 tiles around an object's), keep each active object's d_iJ in a
//! [`MinHeap`] (the smallest is found in O(1), updated in O(log N)) and, after each step, update
//! only the objects near the two old positions and the new one. `N2MHTLazy9` also keeps, per
//! tile, the largest neighbour distance of its objects, and skips the tiles that cannot hold an
//! object whose neighbour changed; `N2MHTLazy25` does the same with tiles half as wide and 5 × 5
//! neighbourhoods, which fit the circle ΔR < R more tightly (fewer objects looked at per step,
//! more tiles). Memory is linear in N (plus the tiles, at most ~100 000 for R ≤ 0.2).
//!
//! The steps follow FastJet 3.5.2's (`ClusterSequence::_minheap_faster_tiled_N2_cluster`,
//! `LazyTiling9::run`, `LazyTiling25::run`) operation for operation: the same tiling (its `TilingExtent` rapidity
//! range, tile sizes and neighbour order), the same order of the objects in each tile's list, the
//! same order of heap updates and the heap's own tie rule. So exact ties between distances
//! resolve as there, and the jets and their four-momenta are FastJet's bit for bit.

use std::f64::consts::{PI, TAU};

use super::nn::{Geometry, Recorder, NONE};

/// Slack on the lazy tile test (FastJet's `tile_edge_security_margin`): a tile whose objects may
/// have lost their neighbour must never be skipped because of rounding.
const SECURITY_MARGIN: f64 = 1.0e-7;
/// Heap value of a removed entry: above every active value (active ones are capped at
/// `f64::MAX`, see [`cap`]), so the heap's minimum is always an active object.
const REMOVED: f64 = f64::INFINITY;

/// An active value as the heap stores it. Real events give finite d_iJ, unchanged here; an
/// infinite or NaN one (an object at pt = 0 with a huge R, a NaN rapidity) becomes `f64::MAX`, so
/// it still sorts below the removed entries and the loop always picks an active object.
#[inline]
fn cap(d: f64) -> f64 {
    if d < f64::MAX {
        d
    } else {
        f64::MAX
    }
}

/// One heap entry: its value, the position of the smallest value in its subtree (itself
/// included) and that smallest value, kept beside it so the walk up the tree compares without a
/// second lookup.
#[derive(Clone, Copy, Debug)]
struct ValueLoc {
    value: f64,
    min: f64,
    minloc: u32,
}

/// FastJet's `MinHeap`: a binary tree over positions 0..n where entry i's children are 2i + 1 and
/// 2i + 2 and each entry points at the smallest value below it (itself included). Which of equal
/// values the root points at depends on the history of updates, which is why the strategies
/// update it in FastJet's order.
#[derive(Clone, Debug)]
pub(super) struct MinHeap {
    heap: Vec<ValueLoc>,
}

impl MinHeap {
    /// The heap over `values` (non-empty), built bottom-up as FastJet's `initialise`.
    pub(super) fn new(values: &[f64]) -> Self {
        let mut heap: Vec<ValueLoc> = values
            .iter()
            .enumerate()
            .map(|(i, &value)| ValueLoc {
                value,
                min: value,
                minloc: i as u32,
            })
            .collect();
        for i in (1..heap.len()).rev() {
            let parent = (i - 1) / 2;
            if heap[i].min < heap[parent].min {
                heap[parent].minloc = heap[i].minloc;
                heap[parent].min = heap[i].min;
            }
        }
        MinHeap { heap }
    }

    /// Position of the smallest value.
    #[inline]
    pub(super) fn minloc(&self) -> usize {
        self.heap[0].minloc as usize
    }

    /// The smallest value.
    #[inline]
    pub(super) fn minval(&self) -> f64 {
        self.heap[0].min
    }

    /// Takes position `loc` out (its value becomes [`REMOVED`]).
    #[inline]
    pub(super) fn remove(&mut self, loc: usize) {
        self.update(loc, REMOVED);
    }

    /// Sets the value at `loc` and repairs the minima on the path to the root.
    #[inline]
    pub(super) fn update(&mut self, loc: usize, value: f64) {
        let heap = &mut self.heap;
        let start = loc as u32;
        // The minimum of the subtree is elsewhere and stays no larger: nothing above changes
        // (no entry above points here). FastJet's test is !(value < min), which differs from
        // `>=` only for NaN, never stored.
        if heap[loc].minloc != start && value >= heap[loc].min {
            heap[loc].value = value;
            return;
        }
        heap[loc].value = value;
        heap[loc].minloc = start;
        heap[loc].min = value;
        let mut loc = loc;
        // Up the tree while something changed: a node that pointed at `start` is recomputed
        // from itself and its children (the first child first, strict <, as FastJet). Entries
        // off the path do not point at `start`, so their cached minima are current.
        loop {
            let mut changed = false;
            let (mut m, mut mv) = (heap[loc].minloc, heap[loc].min);
            if m == start {
                (m, mv) = (loc as u32, heap[loc].value);
                changed = true;
            }
            for &ValueLoc {
                minloc: cm,
                min: cv,
                ..
            } in heap.iter().skip(2 * loc + 1).take(2)
            {
                if cv < mv {
                    (m, mv) = (cm, cv);
                    changed = true;
                }
            }
            (heap[loc].minloc, heap[loc].min) = (m, mv);
            if !changed || loc == 0 {
                break;
            }
            loc = (loc - 1) / 2;
        }
    }
}

/// The rapidity range FastJet tiles (its `TilingExtent`): from the particles' rapidities, cut
/// where the outermost unit bins hold fewer than a quarter of the busiest bin (at least 4), so a
/// few stray forward particles do not stretch the tiling. `skip[i]` marks particles with
/// E = |pz|, which FastJet leaves out. Returns (min, max); (0, 0) when no particle counts.
pub(super) fn tiling_extent(objects: &[Geometry], skip: &[bool]) -> (f64, f64) {
    const NRAP: i32 = 20;
    const NBINS: usize = 2 * NRAP as usize;
    let mut counts = [0.0f64; NBINS];
    let (mut minrap, mut maxrap) = (f64::MAX, -f64::MAX);
    for (g, &s) in objects.iter().zip(skip) {
        if s {
            continue;
        }
        let rap = g.rap;
        if rap < minrap {
            minrap = rap;
        }
        if rap > maxrap {
            maxrap = rap;
        }
        // `as` truncates toward zero like C's int() and saturates (NaN gives 0).
        let ibin = ((rap + NRAP as f64) as i32).clamp(0, NBINS as i32 - 1);
        counts[ibin as usize] += 1.0;
    }
    let max_in_bin = counts
        .iter()
        .fold(0.0f64, |m, &c| if m < c { c } else { m });
    let mut allowed = (max_in_bin * 0.25).max(4.0).floor();
    if allowed > max_in_bin {
        allowed = max_in_bin;
    }
    let mut cumul = 0.0;
    for (ibin, &c) in counts.iter().enumerate() {
        cumul += c;
        if cumul >= allowed {
            let y = ibin as f64 - NRAP as f64;
            if y > minrap {
                minrap = y;
            }
            break;
        }
    }
    cumul = 0.0;
    for (ibin, &c) in counts.iter().enumerate().rev() {
        cumul += c;
        if cumul >= allowed {
            let y = ibin as f64 - NRAP as f64 + 1.0;
            if y < maxrap {
                maxrap = y;
            }
            break;
        }
    }
    // No particle counted (all along the beam): FastJet's tiling would be undefined; any
    // finite range gives correct clustering.
    if !(minrap.is_finite() && maxrap.is_finite()) || minrap > maxrap {
        return (0.0, 0.0);
    }
    (minrap, maxrap)
}

/// One tile: the head of its list of objects, its neighbouring tiles in FastJet's order (see
/// [`Tiling::new`]), and, for the lazy strategies, its centre and the largest neighbour distance
/// of its objects.
#[derive(Clone, Copy, Debug)]
struct Tile {
    head: u32,
    n_near: u8,
    /// Index in `near` of the first right-hand tile.
    rh: u8,
    tagged: bool,
    periodic: bool,
    /// No pair of an object here and one in a neighbouring tile is near Δφ = π (the columns
    /// span well under half the circle, away from φ = 0), so ΔR² needs no fold: the unfolded
    /// value is the same number.
    wrap_free: bool,
    max_nn_dist: f64,
    eta_centre: f64,
    phi_centre: f64,
}

/// The tiling: `n_eta` rows from `eta_min` (outer rows extend to ±∞), `n_phi` columns.
struct Tiling {
    tiles: Vec<Tile>,
    /// Each tile's neighbours (the first `n_near` entries), apart from the tiles so that the
    /// hot loops read tiles without copying the lists.
    near: Vec<[u32; 25]>,
    eta_min: f64,
    eta_max: f64,
    size_eta: f64,
    size_phi: f64,
    half_eta: f64,
    half_phi: f64,
    n_eta: i32,
    n_phi: i32,
}

/// Which of FastJet's tilings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// `N2MinHeapTiled`: tiles ≥ R, 3 × 3 neighbourhoods.
    MinHeap,
    /// `N2MHTLazy9`: the same tiles, at least two rows.
    Lazy9,
    /// `N2MHTLazy25`: tiles ≥ R/2, 5 × 5 neighbourhoods, at least three rows.
    Lazy25,
}

impl Tiling {
    /// FastJet's `_initialise_tiles` for `kind`. Each tile's neighbours are listed as FastJet
    /// does: itself; the rows below (nearest first, each from φ − reach to φ + reach); the tiles
    /// at φ − 1 (… φ − reach) of its own row; then the "right-hand" half: φ + 1 (… φ + reach) and
    /// the rows above. Rows stop at the tiling's edges; columns wrap.
    fn new(extent: (f64, f64), r: f64, kind: Kind) -> Self {
        let reach: i32 = if kind == Kind::Lazy25 { 2 } else { 1 };
        let default_size = r.max(0.1) / reach as f64;
        let mut size_eta = default_size;
        let n_phi = ((TAU / default_size).floor() as i32).max(2 * reach + 1);
        let size_phi = TAU / n_phi as f64;
        let (mut eta_min, mut eta_max) = extent;
        let (ieta_min, ieta_max);
        // The lazy tilings use at least 2 (Lazy9) or 3 (Lazy25) rows over a narrow range.
        let min_rows = match kind {
            Kind::MinHeap => 0,
            Kind::Lazy9 => 2,
            Kind::Lazy25 => 3,
        };
        if min_rows > 0 && eta_max - eta_min < min_rows as f64 * size_eta {
            size_eta = (eta_max - eta_min) / min_rows as f64;
            ieta_min = 0;
            ieta_max = min_rows - 1;
            eta_max -= size_eta;
        } else {
            ieta_min = (eta_min / size_eta).floor() as i32;
            ieta_max = (eta_max / size_eta).floor() as i32;
            eta_min = ieta_min as f64 * size_eta;
            eta_max = ieta_max as f64 * size_eta;
        }
        let n_eta = ieta_max - ieta_min + 1;
        let index = |ieta: i32, iphi: i32| -> u32 {
            ((ieta - ieta_min) * n_phi + (iphi + n_phi) % n_phi) as u32
        };
        let mut tiles = Vec::with_capacity((n_eta * n_phi) as usize);
        let mut near_lists = Vec::with_capacity((n_eta * n_phi) as usize);
        for ieta in ieta_min..=ieta_max {
            for iphi in 0..n_phi {
                let mut near = [0u32; 25];
                let mut k = 0;
                let mut push = |near: &mut [u32; 25], t: u32| {
                    near[k] = t;
                    k += 1;
                    k
                };
                push(&mut near, index(ieta, iphi));
                for dy in 1..=reach {
                    if ieta - dy >= ieta_min {
                        for d in -reach..=reach {
                            push(&mut near, index(ieta - dy, iphi + d));
                        }
                    }
                }
                let mut rh = 0;
                for d in 1..=reach {
                    rh = push(&mut near, index(ieta, iphi - d));
                }
                let mut len = rh;
                for d in 1..=reach {
                    len = push(&mut near, index(ieta, iphi + d));
                }
                for dy in 1..=reach {
                    if ieta + dy <= ieta_max {
                        for d in -reach..=reach {
                            len = push(&mut near, index(ieta + dy, iphi + d));
                        }
                    }
                }
                // Columns whose neighbourhood crosses φ = 0 need the wrapped ΔR².
                let periodic = n_phi <= 2 * reach + 1 || iphi < reach || iphi >= n_phi - reach;
                // Objects of neighbouring columns differ by less than (reach + 1) columns in φ;
                // one column more than `periodic` needs keeps that far from π despite rounding
                // at column edges.
                let wrap_free = !periodic && n_phi >= 2 * reach + 3;
                near_lists.push(near);
                tiles.push(Tile {
                    head: NONE,
                    n_near: len as u8,
                    rh: rh as u8,
                    tagged: false,
                    periodic,
                    wrap_free,
                    max_nn_dist: 0.0,
                    eta_centre: ((ieta - ieta_min) as f64 + 0.5) * size_eta + eta_min,
                    phi_centre: (iphi as f64 + 0.5) * size_phi,
                });
            }
        }
        Tiling {
            tiles,
            near: near_lists,
            eta_min,
            eta_max,
            size_eta,
            size_phi,
            half_eta: size_eta * 0.5,
            half_phi: size_phi * 0.5,
            n_eta,
            n_phi,
        }
    }

    /// The tile of a point (FastJet's `_tile_index(eta, phi)`).
    #[inline]
    fn tile_of(&self, eta: f64, phi: f64) -> u32 {
        let ieta = if eta <= self.eta_min {
            0
        } else if eta >= self.eta_max {
            self.n_eta - 1
        } else {
            // Truncation as C's int(); saturating, so NaN lands in row 0.
            (((eta - self.eta_min) / self.size_eta) as i32).min(self.n_eta - 1)
        };
        let iphi = ((phi + TAU) / self.size_phi) as i32 % self.n_phi;
        (iphi + ieta * self.n_phi) as u32
    }
}

/// An object as the tiled searches see it (FastJet's `TiledJet`, its list link kept apart in
/// [`State::next`]). One cache line each: index → address is a shift, and an object never
/// straddles two lines (~2.5 % faster than the packed 56 bytes at 2 500 particles).
#[derive(Clone, Copy, Debug)]
#[repr(align(64))]
struct TJ {
    eta: f64,
    phi: f64,
    kt2: f64,
    nn_dist: f64,
    nn: u32,
    prev: u32,
    tile: u32,
    /// The recorder's index of the object.
    index: u32,
    update_needed: bool,
}

/// ΔR² as FastJet's `_bj_dist`.
#[inline(always)]
fn dist(a: &TJ, b: &TJ) -> f64 {
    let mut dphi = (a.phi - b.phi).abs();
    let deta = a.eta - b.eta;
    if dphi > PI {
        dphi = TAU - dphi;
    }
    dphi * dphi + deta * deta
}

/// ΔR² without the wrap in φ (FastJet's `_bj_dist_not_periodic`), for tiles away from φ = 0.
#[inline(always)]
fn dist_np(a: &TJ, b: &TJ) -> f64 {
    let dphi = a.phi - b.phi;
    let deta = a.eta - b.eta;
    dphi * dphi + deta * deta
}

/// The state both strategies share: tiling, objects by slot, heap bookkeeping.
struct State {
    t: Tiling,
    jets: Vec<TJ>,
    /// Each slot's successor in its tile's list (FastJet's `TiledJet::next`), apart from the
    /// objects: a list walk is a chain of dependent loads, and here each link is one load with a
    /// scaled index, no address arithmetic in between.
    next: Vec<u32>,
    r2: f64,
    /// Slots whose heap entry must be refreshed at the end of the step (a stack, as FastJet's
    /// `jets_for_minheap`).
    for_heap: Vec<u32>,
    /// Tiles to visit in a step (FastJet's `tile_union`).
    union: Vec<u32>,
}

impl State {
    fn new(initial: &[Geometry], skip: &[bool], r: f64, kind: Kind) -> Self {
        let t = Tiling::new(tiling_extent(initial, skip), r, kind);
        let r2 = r * r;
        let mut st = State {
            t,
            jets: Vec::with_capacity(initial.len()),
            next: vec![NONE; initial.len()],
            r2,
            for_heap: Vec::with_capacity(initial.len()),
            union: Vec::with_capacity(75),
        };
        for (i, &g) in initial.iter().enumerate() {
            st.jets.push(TJ {
                eta: 0.0,
                phi: 0.0,
                kt2: 0.0,
                nn_dist: r2,
                nn: NONE,
                prev: NONE,
                tile: 0,
                index: 0,
                update_needed: false,
            });
            st.set_jetinfo(i, g, i);
        }
        st
    }

    /// Gives slot `s` the object `index` with geometry `g`, without neighbour, at the head of its
    /// tile's list (FastJet's `_tj_set_jetinfo`).
    #[inline]
    fn set_jetinfo(&mut self, s: usize, g: Geometry, index: usize) {
        let tile = self.t.tile_of(g.rap, g.phi);
        let head = self.t.tiles[tile as usize].head;
        let j = &mut self.jets[s];
        j.eta = g.rap;
        j.phi = g.phi;
        j.kt2 = g.scale;
        j.nn_dist = self.r2;
        j.nn = NONE;
        j.index = index as u32;
        j.tile = tile;
        j.prev = NONE;
        self.next[s] = head;
        if head != NONE {
            self.jets[head as usize].prev = s as u32;
        }
        self.t.tiles[tile as usize].head = s as u32;
    }

    fn remove_from_tiles(&mut self, s: usize) {
        let TJ { prev, tile, .. } = self.jets[s];
        let next = self.next[s];
        if prev == NONE {
            self.t.tiles[tile as usize].head = next;
        } else {
            self.next[prev as usize] = next;
        }
        if next != NONE {
            self.jets[next as usize].prev = prev;
        }
    }

    /// d_iJ·R² of slot `s` (FastJet's `_bj_diJ`).
    #[inline]
    fn dij(&self, s: usize) -> f64 {
        let j = &self.jets[s];
        let mut kt2 = j.kt2;
        if j.nn != NONE {
            let o = self.jets[j.nn as usize].kt2;
            if o < kt2 {
                kt2 = o;
            }
        }
        j.nn_dist * kt2
    }

    /// Queues slot `s` for a heap update, once per step.
    #[inline]
    fn mark(&mut self, s: usize) {
        if !self.jets[s].update_needed {
            self.jets[s].update_needed = true;
            self.for_heap.push(s as u32);
        }
    }

    /// Initial neighbours without the lazy tile tests: pairs within a tile, then each tile with
    /// its right-hand neighbours (FastJet's order, so equal distances keep the same winner).
    fn initial_nn_all(&mut self) {
        for t in 0..self.t.tiles.len() {
            let head = self.t.tiles[t].head;
            self.pairs_within::<true>(head);
            let tile = self.t.tiles[t];
            for k in tile.rh as usize..tile.n_near as usize {
                let other = self.t.tiles[self.t.near[t][k] as usize].head;
                let mut a = head;
                while a != NONE {
                    self.pairs_with::<true>(a, other);
                    a = self.next[a as usize];
                }
            }
        }
    }

    /// Compares every pair of the list starting at `head`, each object against those before it
    /// (FastJet's order).
    #[inline(always)]
    fn pairs_within<const PERIODIC: bool>(&mut self, head: u32) {
        let mut a = head;
        while a != NONE {
            let mut b = head;
            while b != a {
                self.pair::<PERIODIC>(a, b);
                b = self.next[b as usize];
            }
            a = self.next[a as usize];
        }
    }

    /// Compares `a` with every object of the list starting at `head`.
    #[inline(always)]
    fn pairs_with<const PERIODIC: bool>(&mut self, a: u32, head: u32) {
        let mut b = head;
        while b != NONE {
            self.pair::<PERIODIC>(a, b);
            b = self.next[b as usize];
        }
    }

    /// Compares slots `a` and `b` and updates both neighbours (strict <), with the wrapped ΔR²
    /// when `PERIODIC` (a const parameter, so each loop gets its own inlined copy).
    #[inline(always)]
    fn pair<const PERIODIC: bool>(&mut self, a: u32, b: u32) {
        let (ja, jb) = (&self.jets[a as usize], &self.jets[b as usize]);
        let d = if PERIODIC {
            dist(ja, jb)
        } else {
            dist_np(ja, jb)
        };
        let ja = &mut self.jets[a as usize];
        if d < ja.nn_dist {
            ja.nn_dist = d;
            ja.nn = b;
        }
        let jb = &mut self.jets[b as usize];
        if d < jb.nn_dist {
            jb.nn_dist = d;
            jb.nn = a;
        }
    }

    /// The heap over every slot's d_iJ.
    fn heap(&mut self) -> MinHeap {
        let values: Vec<f64> = (0..self.jets.len()).map(|s| cap(self.dij(s))).collect();
        for j in &mut self.jets {
            j.update_needed = false;
        }
        MinHeap::new(&values)
    }

    /// Refreshes the queued heap entries, last queued first (FastJet's order); with `lazy`, also
    /// raises each tile's largest neighbour distance.
    fn flush(&mut self, heap: &mut MinHeap, lazy: bool) {
        while let Some(s) = self.for_heap.pop() {
            let s = s as usize;
            heap.update(s, cap(self.dij(s)));
            let j = &mut self.jets[s];
            j.update_needed = false;
            if lazy {
                let tile = &mut self.t.tiles[j.tile as usize];
                if tile.max_nn_dist < j.nn_dist {
                    tile.max_nn_dist = j.nn_dist;
                }
            }
        }
    }

    /// Lower bound on ΔR² from a point (in tile `own`) to tile `tile` (FastJet's
    /// `_distance_to_tile`; rows are compared by centre so the open-ended outer rows work).
    #[inline]
    fn distance_to_tile(&self, eta: f64, phi: f64, own: u32, tile: u32) -> f64 {
        let to = &self.t.tiles[tile as usize];
        let deta = if self.t.tiles[own as usize].eta_centre == to.eta_centre {
            0.0
        } else {
            (eta - to.eta_centre).abs() - self.t.half_eta
        };
        let mut dphi = (phi - to.phi_centre).abs();
        if dphi > PI {
            dphi = TAU - dphi;
        }
        dphi -= self.t.half_phi;
        if dphi < 0.0 {
            dphi = 0.0;
        }
        dphi * dphi + deta * deta
    }
}

/// The recombination of one step: the merged slots (`a` the higher, freed one; `b` the lower,
/// which now holds the new object) or a beam step (`b` = [`NONE`]), and old B's position.
struct StepInfo {
    a: usize,
    b: u32,
    old_b: (f64, f64, u32),
}

/// Takes the heap's minimum and records the merge or beam step (FastJet's common loop head).
fn recombine<R: Recorder>(
    st: &mut State,
    heap: &mut MinHeap,
    inv_r2: f64,
    rec: &mut R,
) -> StepInfo {
    let d = heap.minval() * inv_r2;
    let first = heap.minloc();
    let nn = st.jets[first].nn;
    let mut old_b = (0.0, 0.0, 0);
    let (a, b) = if nn == NONE {
        rec.beam(st.jets[first].index as usize, d);
        st.remove_from_tiles(first);
        (first, NONE)
    } else {
        // The new object takes the lower slot.
        let (a, b) = if first < nn as usize {
            (nn as usize, first)
        } else {
            (first, nn as usize)
        };
        let (k, g) = rec.merge(st.jets[a].index as usize, st.jets[b].index as usize, d);
        st.remove_from_tiles(a);
        let ob = st.jets[b];
        old_b = (ob.eta, ob.phi, ob.tile);
        st.remove_from_tiles(b);
        st.set_jetinfo(b, g, k);
        (a, b as u32)
    };
    heap.remove(a);
    StepInfo { a, b, old_b }
}

/// FastJet's `N2MinHeapTiled`: after each step, every object in the tiles around the old and
/// new positions is checked.
pub(super) fn cluster_minheap<R: Recorder>(
    initial: &[Geometry],
    skip: &[bool],
    r: f64,
    rec: &mut R,
) {
    let mut n = initial.len();
    if n == 0 {
        return;
    }
    let inv_r2 = 1.0 / (r * r);
    let mut st = State::new(initial, skip, r, Kind::MinHeap);
    st.initial_nn_all();
    let mut heap = st.heap();
    while n > 0 {
        let StepInfo { a, b, old_b } = recombine(&mut st, &mut heap, inv_r2, rec);
        // The tiles around A's, and B's old and new, each once.
        st.union.clear();
        let a_tile = st.jets[a].tile;
        add_untagged(&mut st, a_tile);
        if b != NONE {
            let b_tile = st.jets[b as usize].tile;
            if b_tile != a_tile {
                add_untagged(&mut st, b_tile);
            }
            if old_b.2 != a_tile && old_b.2 != b_tile {
                add_untagged(&mut st, old_b.2);
            }
            st.jets[b as usize].update_needed = true;
            st.for_heap.push(b);
        }
        for u in 0..st.union.len() {
            let t = st.union[u] as usize;
            st.t.tiles[t].tagged = false;
            let mut i = st.t.tiles[t].head;
            while i != NONE {
                let iu = i as usize;
                let nn = st.jets[iu].nn;
                if nn == a as u32 || (nn == b && b != NONE) {
                    // Its new neighbour, among the tiles around its own (= tile t).
                    st.mark(iu);
                    (st.jets[iu].nn_dist, st.jets[iu].nn) = nearest::<false>(&st, iu);
                }
                if b != NONE {
                    let bu = b as usize;
                    let d = dist(&st.jets[iu], &st.jets[bu]);
                    if d < st.jets[iu].nn_dist && i != b {
                        st.jets[iu].nn_dist = d;
                        st.jets[iu].nn = b;
                        st.mark(iu);
                    }
                    if d < st.jets[bu].nn_dist && i != b {
                        st.jets[bu].nn_dist = d;
                        st.jets[bu].nn = i;
                    }
                }
                i = st.next[iu];
            }
        }
        st.flush(&mut heap, false);
        n -= 1;
    }
}

/// Slot `i`'s nearest object within R (ΔR², slot; `NONE` if none) among the objects of the tiles
/// around its own; with `LAZY`, tiles farther than the best so far are skipped (FastJet's
/// `LazyTiling9::_set_NN`), without, every one is scanned (`N2MinHeapTiled`).
fn nearest<const LAZY: bool>(st: &State, i: usize) -> (f64, u32) {
    if st.t.tiles[st.jets[i].tile as usize].wrap_free {
        nearest_with::<false, LAZY>(st, i)
    } else {
        nearest_with::<true, LAZY>(st, i)
    }
}

/// [`nearest`], with the wrapped ΔR² when `PERIODIC`.
#[inline(always)]
fn nearest_with<const PERIODIC: bool, const LAZY: bool>(st: &State, i: usize) -> (f64, u32) {
    let me = st.jets[i];
    let t = me.tile as usize;
    let (mut best, mut best_nn) = (st.r2, NONE);
    for &nt in &st.t.near[t][..st.t.tiles[t].n_near as usize] {
        if LAZY && best < st.distance_to_tile(me.eta, me.phi, me.tile, nt) {
            continue;
        }
        let mut j = st.t.tiles[nt as usize].head;
        while j != NONE {
            let o = &st.jets[j as usize];
            let d = if PERIODIC {
                dist(&me, o)
            } else {
                dist_np(&me, o)
            };
            if d < best && j as usize != i {
                best = d;
                best_nn = j;
            }
            j = st.next[j as usize];
        }
    }
    (best, best_nn)
}

/// Adds the untagged tiles around tile `t` to the union, tagging them.
#[inline]
fn add_untagged(st: &mut State, t: u32) {
    for k in 0..st.t.tiles[t as usize].n_near as usize {
        let nt = st.t.near[t as usize][k];
        let near = &mut st.t.tiles[nt as usize];
        if !near.tagged {
            near.tagged = true;
            st.union.push(nt);
        }
    }
}

/// Adds the untagged tiles around a point (in tile `own`) that may hold an object whose
/// neighbour distance reaches the point (FastJet's `..._using_max_info`), tagging them.
#[inline]
fn add_untagged_max_info(st: &mut State, eta: f64, phi: f64, own: u32) {
    for k in 0..st.t.tiles[own as usize].n_near as usize {
        let nt = st.t.near[own as usize][k];
        if st.t.tiles[nt as usize].tagged {
            continue;
        }
        let d = st.distance_to_tile(eta, phi, own, nt) - SECURITY_MARGIN;
        if d > st.t.tiles[nt as usize].max_nn_dist {
            continue;
        }
        st.t.tiles[nt as usize].tagged = true;
        st.union.push(nt);
    }
}

/// FastJet's `N2MHTLazy9` (`kind` = [`Kind::Lazy9`]) and `N2MHTLazy25` ([`Kind::Lazy25`],
/// which differ only in the tiling): like [`cluster_minheap`], but tiles too far from a point for
/// any of their objects to have it as neighbour (by the tile's largest neighbour distance) are
/// skipped, and so are tiles farther from a searching object than its best neighbour so far.
pub(super) fn cluster_lazy<R: Recorder>(
    initial: &[Geometry],
    skip: &[bool],
    r: f64,
    kind: Kind,
    rec: &mut R,
) {
    let mut n = initial.len();
    if n == 0 {
        return;
    }
    let inv_r2 = 1.0 / (r * r);
    let mut st = State::new(initial, skip, r, kind);
    lazy_initial_nn(&mut st);
    let mut heap = st.heap();
    while n > 0 {
        let StepInfo { a, b, old_b } = recombine(&mut st, &mut heap, inv_r2, rec);
        st.union.clear();
        if b != NONE {
            // The new object's neighbour, and the objects around it: whether they lost theirs
            // (A or old B) or are closer to it than to theirs.
            let bu = b as usize;
            let jb = st.jets[bu];
            // B's neighbour so far, kept here and stored at the end: nothing else reads it
            // meanwhile (searches of other objects only read B's position).
            let (mut b_dist, mut b_nn) = (jb.nn_dist, jb.nn);
            let wrap_free = st.t.tiles[jb.tile as usize].wrap_free;
            for k in 0..st.t.tiles[jb.tile as usize].n_near as usize {
                let nt = st.t.near[jb.tile as usize][k];
                let d_tile = st.distance_to_tile(jb.eta, jb.phi, jb.tile, nt);
                // `<=` so that the own tile (distance 0) is always visited.
                let relevant = d_tile <= b_dist || d_tile <= st.t.tiles[nt as usize].max_nn_dist;
                if !relevant {
                    continue;
                }
                st.union.push(nt);
                st.t.tiles[nt as usize].tagged = true;
                let best = (b_dist, b_nn);
                (b_dist, b_nn) = if wrap_free {
                    update_near_b::<false>(&mut st, nt, a as u32, &jb, b, best)
                } else {
                    update_near_b::<true>(&mut st, nt, a as u32, &jb, b, best)
                };
            }
            st.jets[bu].nn_dist = b_dist;
            st.jets[bu].nn = b_nn;
        }
        let n_done = st.union.len();
        let ja = st.jets[a];
        add_untagged_max_info(&mut st, ja.eta, ja.phi, ja.tile);
        if b != NONE {
            add_untagged_max_info(&mut st, old_b.0, old_b.1, old_b.2);
            st.jets[b as usize].update_needed = true;
            st.for_heap.push(b);
        }
        for u in 0..n_done {
            let t = st.union[u] as usize;
            st.t.tiles[t].tagged = false;
        }
        for u in n_done..st.union.len() {
            let t = st.union[u] as usize;
            st.t.tiles[t].tagged = false;
            let mut i = st.t.tiles[t].head;
            while i != NONE {
                let iu = i as usize;
                let nn = st.jets[iu].nn;
                if nn == a as u32 || (nn == b && b != NONE) {
                    set_nn(&mut st, iu);
                }
                i = st.next[iu];
            }
        }
        st.flush(&mut heap, true);
        n -= 1;
    }
}

/// The objects of tile `nt`, near the new object B (`jb`, in slot `b`), in one pass: those whose
/// neighbour was A or old B search afresh; each takes B as neighbour where it is closer (queued
/// for the heap); B's best so far, `best`, is returned updated (FastJet's
/// `_update_jetX_jetI_NN` with jetX = B). `PERIODIC` as in [`State::pair`].
#[inline(always)]
fn update_near_b<const PERIODIC: bool>(
    st: &mut State,
    nt: u32,
    a: u32,
    jb: &TJ,
    b: u32,
    best: (f64, u32),
) -> (f64, u32) {
    let (mut b_dist, mut b_nn) = best;
    let mut i = st.t.tiles[nt as usize].head;
    while i != NONE {
        let iu = i as usize;
        let nn = st.jets[iu].nn;
        if nn == a || nn == b {
            set_nn(st, iu);
        }
        let ji = &mut st.jets[iu];
        let d = if PERIODIC {
            dist(ji, jb)
        } else {
            dist_np(ji, jb)
        };
        let other = i != b;
        if d < ji.nn_dist && other {
            ji.nn_dist = d;
            ji.nn = b;
            if !ji.update_needed {
                ji.update_needed = true;
                st.for_heap.push(i);
            }
        }
        if d < b_dist && other {
            b_dist = d;
            b_nn = i;
        }
        i = st.next[iu];
    }
    (b_dist, b_nn)
}

/// Searches slot `i`'s neighbour afresh among the tiles around its own, skipping tiles farther
/// than the best so far (FastJet's `LazyTiling9::_set_NN`), and queues its heap update.
fn set_nn(st: &mut State, i: usize) {
    st.mark(i);
    (st.jets[i].nn_dist, st.jets[i].nn) = nearest::<true>(st, i);
}

/// LazyTiling9's initial neighbours: pairs within each tile, the tiles' largest neighbour
/// distances, then each tile against its right-hand neighbours where the tile is near enough to
/// matter for either side; finally the largest distances again.
fn lazy_initial_nn(st: &mut State) {
    let n_tiles = st.t.tiles.len();
    for t in 0..n_tiles {
        st.pairs_within::<false>(st.t.tiles[t].head);
        update_max_nn(st, t, false);
    }
    for t in 0..n_tiles {
        let tile = st.t.tiles[t];
        for k in tile.rh as usize..tile.n_near as usize {
            let rt = st.t.near[t][k];
            let mut a = tile.head;
            while a != NONE {
                let ja = st.jets[a as usize];
                let d_tile = st.distance_to_tile(ja.eta, ja.phi, ja.tile, rt);
                let relevant =
                    d_tile <= ja.nn_dist || d_tile <= st.t.tiles[rt as usize].max_nn_dist;
                if relevant {
                    let head = st.t.tiles[rt as usize].head;
                    if tile.periodic {
                        st.pairs_with::<true>(a, head);
                    } else {
                        st.pairs_with::<false>(a, head);
                    }
                }
                a = st.next[a as usize];
            }
        }
    }
    for t in 0..n_tiles {
        update_max_nn(st, t, true);
    }
}

/// Sets tile `t`'s largest neighbour distance from its objects (from 0 when `reset`, else raising
/// the current value).
fn update_max_nn(st: &mut State, t: usize, reset: bool) {
    let mut m = if reset {
        0.0
    } else {
        st.t.tiles[t].max_nn_dist
    };
    let mut a = st.t.tiles[t].head;
    while a != NONE {
        let j = &st.jets[a as usize];
        if j.nn_dist > m {
            m = j.nn_dist;
        }
        a = st.next[a as usize];
    }
    st.t.tiles[t].max_nn_dist = m;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The minimum by a plain scan, first on a tie.
    fn scan(v: &[f64]) -> f64 {
        v.iter().copied().fold(f64::INFINITY, f64::min)
    }

    #[test]
    fn heap_tracks_the_minimum_through_updates_and_removals() {
        let mut x = 99u64;
        let mut next = move || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 33) % 50) as f64
        };
        for n in [1usize, 2, 3, 7, 64, 100] {
            let mut v: Vec<f64> = (0..n).map(|_| next()).collect();
            let mut heap = MinHeap::new(&v);
            let mut live = n;
            for step in 0..4 * n {
                assert_eq!(heap.minval(), scan(&v), "n = {n}, step {step}");
                assert_eq!(v[heap.minloc()], heap.minval());
                let k = (next() as usize * 7 + step) % n;
                if step % 3 == 0 && live > 1 && v[k] != REMOVED {
                    v[k] = REMOVED;
                    heap.remove(k);
                    live -= 1;
                } else if v[k] != REMOVED {
                    v[k] = next();
                    heap.update(k, v[k]);
                }
            }
        }
    }

    #[test]
    fn cap_keeps_active_values_below_removed_ones() {
        assert_eq!(cap(1.5), 1.5);
        assert_eq!(cap(f64::INFINITY), f64::MAX);
        assert_eq!(cap(f64::NAN), f64::MAX);
        assert!(cap(f64::NAN) < REMOVED);
    }

    #[test]
    fn extent_ignores_stray_forward_particles() {
        let g = |rap| Geometry {
            rap,
            phi: 0.0,
            scale: 1.0,
        };
        // 40 particles in |y| < 2, one at y = 9: the range stops short of it.
        let mut objects: Vec<Geometry> = (0..40).map(|i| g(-2.0 + 0.1 * i as f64)).collect();
        objects.push(g(9.0));
        let skip = vec![false; objects.len()];
        let (lo, hi) = tiling_extent(&objects, &skip);
        assert_eq!(lo, -2.0);
        assert!((1.9..9.0).contains(&hi), "{hi}");
        // Nothing counted: a finite default.
        assert_eq!(
            tiling_extent(&objects, &vec![true; objects.len()]),
            (0.0, 0.0)
        );
    }
}
