//! Which candidates of a step can matter in some world: a cache of the close pairs, kept up to
//! date as objects change and fed from pairs filed by distance as the bound grows, so a step
//! costs about a pass over the cache plus one over the members instead of all n(n+1)/2 pairs.
//!
//! # What may be skipped
//! Candidate k is negligible in world w when D̃_k > T_w = D̃min,w·(1 + ln(1/ε)/α_w). The search
//! keeps every candidate whose distance is below an upper bound U of T_w over all worlds:
//! U = (1 + ln(1/ε)/α_min)·D̃⁺ with D̃⁺ the distance of a candidate that is active, and the same,
//! in every world (so D̃⁺ ≥ D̃min,w in each). Candidates beyond U are negligible everywhere.
//! Where slots differ between worlds, each world w also gets its own bound U_w ≤ U, from the
//! smallest distance among its candidates that the search computes anyway (those of the varying
//! slots): a candidate is kept where it is active with a distance below U_w in some world w
//! (on the bench events the pruned triple looks at ~40 % fewer candidates than with U alone).
//!
//! # Slots
//! A slot whose kinematics are the same in every world (a *point*) and that is active is a
//! *member*. A slot that differs between worlds is *varying*: it keeps one [`View`] per world and
//! its candidates are checked world by world. Pruning leaves varying slots few (a handful of
//! objects differ between the primal and an alternative history).
//!
//! # Pairs among members
//! Pair (i, j) is live iff min(s_i, s_j)·ΔR²_ij < U. A pair of members is computed when the
//! later of its slots joined the members (a merge changes its slot), and again at a *rescan*.
//! Below a threshold t (a power of two) it goes into the cache, which holds those pairs in
//! layout order with their distances; from t up to the horizon H = 16·t (at the last rescan)
//! it is *filed* in the bucket of its distance's binary exponent; above H it is forgotten. A
//! step drops the cached pairs of slots that changed, adds the pairs of those that joined (one
//! pass over the members each, in layout order) and keeps the cached pairs below U. U moves
//! every step (it follows the smallest distance, which grows by orders of magnitude over an
//! event): when it outgrows t, the buckets below the new t move into the cache, less the pairs
//! of slots that changed after they were filed (each filed pair records when it was filed, each
//! slot when it last changed); when the new t passes H, every pair of members is computed again
//! instead (a rescan, also the first fill), and H moves up; when U falls far below t, the cached
//! pairs above the new t go back to their buckets. Filing only up to H spares the filing of
//! pairs that would be stale before their bucket is reached (on the bench events ~94 % of the
//! pairs filed up to any distance were; the first fill alone filed every pair): a rescan every
//! fourth growth of t costs less (~15 % less time for a primal run). Pairs with
//! ΔR² ≥ (1 + ln(1/ε)/α_min)·R²max are never filed: their distance is above the harder member's
//! beam entry times that factor, so above U at every step. D̃⁺ is the smallest cached pair or
//! beam entry.

use std::cell::RefCell;

use smallvec::SmallVec;

use crate::scalar::World;

use super::candidates::Candidate;

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

/// ΔR² with the operations of FastJet's `_bj_dist`, the fold taken without a branch (it goes
/// either way at random, a quarter of the time folding): |Δφ| > π exactly where 2π − |Δφ| < |Δφ|,
/// so the same numbers.
#[inline(always)]
fn dist(ya: f64, pa: f64, yb: f64, pb: f64) -> f64 {
    let dphi = (pa - pb).abs();
    let folded = std::f64::consts::TAU - dphi;
    let dphi = if folded < dphi { folded } else { dphi };
    let dy = ya - yb;
    dphi * dphi + dy * dy
}

/// The pair distance min(s_a, s_b)·ΔR² of two objects, as the step computes it (`f64::min` of
/// two scales, never NaN, is the plain comparison, which the loops over members vectorise).
#[inline(always)]
fn pair_distance(sa: f64, ya: f64, pa: f64, sb: f64, yb: f64, pb: f64) -> f64 {
    let s = if sb < sa { sb } else { sa };
    s * dist(ya, pa, yb, pb)
}

/// A pair filed above the cache threshold: its slots (a < b) and the clock of the refresh that
/// filed it. Its distance is computed again (the same bits: neither slot changed) when it moves
/// into the cache.
#[derive(Clone, Copy, Debug)]
struct Filed {
    a: u32,
    b: u32,
    born: u32,
}

/// One bucket per binary exponent of an `f64` (its bits >> 52): bucket e holds distances in
/// [2^(e−1023), 2^(e−1022)).
const BUCKETS: usize = 2048;

/// The bucket of a distance x ≥ 0.
#[inline(always)]
fn bucket(x: f64) -> usize {
    (x.to_bits() >> 52) as usize
}

/// The buckets wholly below the threshold t (a power of two or ∞): those below `edge(t)`.
fn edge(t: f64) -> usize {
    if t.is_finite() {
        bucket(t)
    } else {
        BUCKETS
    }
}

thread_local! {
    /// Bucket arrays of finished runs, kept per thread for the next run's search: a run files
    /// ~10⁴ pairs, and allocating their room afresh every run cost ~25 page faults per run (a
    /// tenth of a primal run's time on the bench events).
    static SPARE_BUCKETS: RefCell<Vec<Vec<Vec<Filed>>>> = const { RefCell::new(Vec::new()) };
}

/// Empty buckets, with the room of an earlier run's where this thread has them.
fn take_buckets() -> Vec<Vec<Filed>> {
    SPARE_BUCKETS
        .try_with(|s| s.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_else(|| vec![Vec::new(); BUCKETS])
}

impl Drop for Search {
    fn drop(&mut self) {
        let mut filed = std::mem::take(&mut self.filed);
        if filed.len() != BUCKETS {
            return;
        }
        filed.iter_mut().for_each(Vec::clear);
        // At most two spare arrays per thread (one serves a thread clustering one event at a
        // time; two, a program that keeps two clusterings alive); none when the thread is
        // being torn down.
        let _ = SPARE_BUCKETS.try_with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < 2 {
                s.push(filed);
            }
        });
    }
}

/// Files pair `c` (distance `x`, at or above the cache threshold) in its bucket.
#[inline]
fn file(filed: &mut [Vec<Filed>], c: Candidate, x: f64, born: u32) {
    filed[bucket(x)].push(Filed {
        a: c.a,
        b: c.b,
        born,
    });
}

/// The smallest of `xs` (∞ for none; never NaN here), over four chains (a single one waits on
/// every comparison's latency).
fn smallest(xs: &[f64]) -> f64 {
    let mut acc = [f64::INFINITY; 4];
    let chunks = xs.chunks_exact(4);
    let rest = chunks
        .remainder()
        .iter()
        .fold(f64::INFINITY, |m, &x| if x < m { x } else { m });
    for c in chunks {
        for (m, &x) in acc.iter_mut().zip(c) {
            *m = if x < *m { x } else { *m };
        }
    }
    acc.into_iter().fold(rest, |m, x| if x < m { x } else { m })
}

/// The smallest power of two above x > 0 (∞ for ∞).
fn pow2_above(x: f64) -> f64 {
    if x.is_finite() {
        f64::from_bits(((x.to_bits() >> 52) + 1) << 52)
    } else {
        f64::INFINITY
    }
}

/// The search structure of one clustering run.
#[derive(Clone, Debug)]
pub(super) struct Search {
    /// Per slot (meaningful for members): geometry.
    y: Vec<f64>,
    phi: Vec<f64>,
    s: Vec<f64>,
    is_member: Vec<bool>,
    /// The members in slot order, and their geometry in the same order (contiguous, for the
    /// passes over every member, whose pairs then come out in layout order).
    members: Vec<u32>,
    my: Vec<f64>,
    mphi: Vec<f64>,
    ms: Vec<f64>,
    /// Varying slots (increasing) and their views.
    varying: Vec<u32>,
    views: Vec<Views>,
    /// The cache: every pair of members whose distance is below `cache_t`, in layout order,
    /// with its distance. `cache_t` = 0 until it is first filled (then every pair is filed).
    cache: Vec<(u64, f64)>,
    cache_t: f64,
    /// The smallest distance in the cache (∞ when it is empty).
    cache_min: f64,
    /// The smallest scale s among members (∞ when there are none), NaN when it must be found
    /// again (the member that had it changed or left).
    s_min: f64,
    /// The pairs of members at or above `cache_t`, by bucket (stale ones among them: a pair
    /// whose slot changed after it was filed is dropped when its bucket is read).
    filed: Vec<Vec<Filed>>,
    /// Pairs of members at least this far apart in ΔR² are never live (see [`Search::live`]):
    /// they are not filed. ∞ until the first step sets it.
    far: f64,
    /// Refreshes so far, and per slot the clock of the first refresh after its last change.
    clock: u32,
    changed: Vec<u32>,
    /// Slots that joined, changed or left the members since the cache was last brought up to
    /// date.
    dirty: Vec<u32>,
    is_dirty: Vec<bool>,
    /// Scratch: fresh cache entries, the varying slots' live keys, the members' live candidates.
    fresh: Vec<(u64, f64)>,
    keys: Vec<u64>,
    scratch: Vec<(Candidate, f64)>,
    /// Scratch for [`Search::refresh_cache`]: the joining slots, the members' places to skip,
    /// one joining slot's ΔR² and distance to every member.
    joining: Vec<u32>,
    skip: Vec<usize>,
    rows: Rows,
    /// Pairs of members at or above this distance are neither cached nor filed (0 until the
    /// first fill): when the cache's threshold passes it, every pair is computed again.
    horizon: f64,
    /// Scratch: which members pair live with the varying slot at hand.
    hit: Vec<u8>,
    /// Scratch where slots differ between worlds (see [`Search::world_cutoffs`]): the worlds,
    /// primal first, and their cutoffs; per view of each varying slot, its distances to every
    /// member and its cutoff.
    worlds: SmallVec<[Option<World>; 4]>,
    world_cut: SmallVec<[f64; 4]>,
    view_d: Vec<f64>,
    view_cut: Vec<f64>,
    /// Scratch: the views of the varying slots, one per row of `view_d`; per varying slot and
    /// world, the row of the view that world sees.
    row_view: Vec<View>,
    view_at: Vec<u32>,
    /// Scratch for the pairs of varying slots (see [`Search::world_cutoffs`]): per varying
    /// slot, the row of its first (primal) view; per pair, its two slots, its distances (in
    /// each world, world-major, ∞ where a slot is off: [`Search::pair_lo_each_world`]; or
    /// between primal views: [`Search::pair_lo_own_slots`]) and whether it is below some
    /// world's cutoff; the pairs by that distance; per world, the pairs with a slot it sees
    /// otherwise (from `own_at[k]`) and their distance there.
    row_start: Vec<u32>,
    pair_d: Vec<f64>,
    pair_ij: Vec<(u32, u32)>,
    pair_kept: Vec<bool>,
    pair_order: Vec<u32>,
    own_pairs: Vec<(u32, f64)>,
    own_at: Vec<u32>,
    /// Scratch for [`Search::pair_lo_each_world`]: one world's view of each varying slot.
    world_view: Vec<(f64, f64, f64, bool)>,
    /// How pairs of varying slots are found.
    pub pairs: PairStrategy,
}

/// The cache's threshold is raised to the power of two above `GROW` times the step's bound when
/// the bound outgrows it, and lowered so when the bound falls below 1/`SHRINK` of it (a large
/// cache costs every step a longer pass; a raise costs only the filed pairs it moves, so the
/// threshold follows the bound closely: on the bench events GROW = 1 took 5 % fewer
/// instructions than 1.5 and 2; SHRINK from 8 to 64 alike).
const GROW: f64 = 1.0;
const SHRINK: f64 = 32.0;

/// How the search finds each world's pairs of varying slots below its cutoff (the same pairs
/// either way; tests force each).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum PairStrategy {
    /// [`PairStrategy::OwnSlots`] where it costs less, by counting.
    Auto,
    /// Every pair in every world ([`Search::pair_lo_each_world`]).
    #[cfg_attr(not(test), allow(dead_code))]
    EachWorld,
    /// The primal distances once, each world's pairs with a slot it sees otherwise
    /// ([`Search::pair_lo_own_slots`]).
    #[cfg_attr(not(test), allow(dead_code))]
    OwnSlots,
}

/// How far above the cache's threshold pairs are filed (a power of two, see [`Search::raise`]):
/// on the bench events 4 to 16 ran alike, 256 ~5 % slower, with fewer rescans but more filing.
const HORIZON: f64 = 16.0;

/// Where [`Search::sort_row`] puts a pair of distance x: nowhere below `lo` (cached already),
/// in the cache below `t`, filed (clock `born`) below `horizon` if its ΔR² is below `far`.
#[derive(Clone, Copy)]
struct Sorter {
    lo: f64,
    t: f64,
    horizon: f64,
    far: f64,
    born: u32,
}

/// Scratch for [`Search::sort_row`]: one row's ΔR² and distances, and the places of its pairs
/// bound for the cache and for the buckets.
#[derive(Clone, Debug, Default)]
struct Rows {
    dr2: Vec<f64>,
    xs: Vec<f64>,
    to_cache: Vec<u32>,
    to_file: Vec<u32>,
}

impl Search {
    /// An empty structure for `n` slots.
    pub fn new(n: usize) -> Self {
        Self::with_buckets(n, take_buckets())
    }

    /// An empty structure for `n` slots with `filed` as its buckets.
    fn with_buckets(n: usize, filed: Vec<Vec<Filed>>) -> Self {
        Search {
            y: vec![0.0; n],
            phi: vec![0.0; n],
            s: vec![0.0; n],
            is_member: vec![false; n],
            members: Vec::with_capacity(n),
            my: Vec::with_capacity(n),
            mphi: Vec::with_capacity(n),
            ms: Vec::with_capacity(n),
            varying: Vec::new(),
            views: vec![Views::new(); n],
            cache: Vec::new(),
            cache_t: 0.0,
            cache_min: f64::INFINITY,
            s_min: f64::INFINITY,
            filed,
            far: f64::INFINITY,
            clock: 0,
            changed: vec![0; n],
            dirty: Vec::new(),
            is_dirty: vec![false; n],
            fresh: Vec::new(),
            keys: Vec::new(),
            scratch: Vec::new(),
            joining: Vec::new(),
            skip: Vec::new(),
            rows: Rows::default(),
            horizon: 0.0,
            hit: Vec::new(),
            worlds: SmallVec::new(),
            world_cut: SmallVec::new(),
            view_d: Vec::new(),
            view_cut: Vec::new(),
            row_view: Vec::new(),
            view_at: Vec::new(),
            row_start: Vec::new(),
            pair_d: Vec::new(),
            world_view: Vec::new(),
            pair_ij: Vec::new(),
            pair_kept: Vec::new(),
            pair_order: Vec::new(),
            own_pairs: Vec::new(),
            own_at: Vec::new(),
            pairs: PairStrategy::Auto,
        }
    }

    /// A copy for a paused run ([`State::paused`](super::state::State::paused)), cheaper than a
    /// clone: the same members, views and cache, no filed pairs and the horizon at the cache's
    /// threshold (so the next raise computes every pair again, and finds the same pairs the filed
    /// ones would have given), empty scratch, and no room for filed pairs until
    /// [`Search::go_on`].
    pub fn snapshot(&self) -> Self {
        // Most snapshots are never resumed: their room for filed pairs waits for `go_on`.
        let mut copy = Search::with_buckets(0, Vec::new());
        copy.y.clone_from(&self.y);
        copy.phi.clone_from(&self.phi);
        copy.s.clone_from(&self.s);
        copy.is_member.clone_from(&self.is_member);
        copy.members.clone_from(&self.members);
        copy.my.clone_from(&self.my);
        copy.mphi.clone_from(&self.mphi);
        copy.ms.clone_from(&self.ms);
        copy.varying.clone_from(&self.varying);
        copy.views.clone_from(&self.views);
        copy.cache.clone_from(&self.cache);
        copy.changed.clone_from(&self.changed);
        copy.dirty.clone_from(&self.dirty);
        copy.is_dirty.clone_from(&self.is_dirty);
        copy.cache_t = self.cache_t;
        copy.cache_min = self.cache_min;
        copy.s_min = self.s_min;
        copy.far = self.far;
        copy.clock = self.clock;
        // Before the first fill (threshold 0) the horizon is 0 and nothing is filed.
        copy.horizon = self.horizon.min(self.cache_t);
        copy.pairs = self.pairs;
        copy
    }

    /// Gives a [`Search::snapshot`] its room for filed pairs, to go on.
    pub fn go_on(&mut self) {
        if self.filed.len() != BUCKETS {
            self.filed = take_buckets();
        }
    }

    /// Sets slot `i` from its views (primal first): a member, a varying slot, or nothing (inactive
    /// in every world).
    pub fn set(&mut self, i: usize, views: Views) {
        let point = views.iter().all(|v| {
            v.on == views[0].on && v.y == views[0].y && v.phi == views[0].phi && v.s == views[0].s
        });
        let v = views[0];
        if self.is_member[i] {
            if point && v.on {
                if (v.y, v.phi, v.s) != (self.y[i], self.phi[i], self.s[i]) {
                    // Still a member, elsewhere: its place in slot order stays.
                    let m = self.place(i);
                    self.rescale(self.ms[m], v.s);
                    (self.my[m], self.mphi[m], self.ms[m]) = (v.y, v.phi, v.s);
                    (self.y[i], self.phi[i], self.s[i]) = (v.y, v.phi, v.s);
                    self.mark(i);
                }
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
            if v.on {
                self.insert(i, v);
            }
        } else {
            self.views[i] = views;
            if !was_varying {
                let at = self.varying.partition_point(|&v| (v as usize) < i);
                self.varying.insert(at, i as u32);
            }
        }
    }

    /// The views of slot `v` where it is varying (empty otherwise).
    pub fn views(&self, v: usize) -> &Views {
        &self.views[v]
    }

    /// The varying slots, increasing.
    pub fn varying(&self) -> &[u32] {
        &self.varying
    }

    /// Where member `i` is in the members' order.
    fn place(&self, i: usize) -> usize {
        self.members.partition_point(|&m| (m as usize) < i)
    }

    fn insert(&mut self, i: usize, v: View) {
        let m = self.place(i);
        self.members.insert(m, i as u32);
        self.my.insert(m, v.y);
        self.mphi.insert(m, v.phi);
        self.ms.insert(m, v.s);
        self.rescale(f64::NAN, v.s);
        self.is_member[i] = true;
        (self.y[i], self.phi[i], self.s[i]) = (v.y, v.phi, v.s);
        self.mark(i);
    }

    fn remove(&mut self, i: usize) {
        let m = self.place(i);
        self.members.remove(m);
        self.my.remove(m);
        self.mphi.remove(m);
        let s = self.ms.remove(m);
        self.rescale(s, f64::NAN);
        self.is_member[i] = false;
        self.mark(i);
    }

    /// Notes that slot `i` joined, changed or left the members: its cached and filed pairs are
    /// stale.
    fn mark(&mut self, i: usize) {
        self.changed[i] = self.clock + 1;
        if !self.is_dirty[i] {
            self.is_dirty[i] = true;
            self.dirty.push(i as u32);
        }
    }

    /// Brings the cache up to date with the members: pairs of slots that left or changed go,
    /// those of slots that joined are computed (each against every member in slot order: one
    /// contiguous pass whose pairs come out in layout order) and cached or filed.
    fn refresh_cache(&mut self) {
        self.clock += 1;
        if self.dirty.is_empty() {
            return;
        }
        let (t, born) = (self.cache_t, self.clock);
        let mut fresh = std::mem::take(&mut self.fresh);
        fresh.clear();
        // The joining slots, increasing: a pair of two of them is computed once, from the
        // lower, so the i-th skips the members at the places of the first i + 1.
        let mut joining = std::mem::take(&mut self.joining);
        joining.clear();
        joining.extend(self.dirty.iter().filter(|&&d| self.is_member[d as usize]));
        joining.sort_unstable();
        let mut skip = std::mem::take(&mut self.skip);
        skip.clear();
        let mut rows = std::mem::take(&mut self.rows);
        let n = self.members.len();
        // Until the first fill every pair is beyond the horizon (0): the fill's rescan
        // computes them.
        let sorter = Sorter {
            lo: f64::NEG_INFINITY,
            t,
            horizon: self.horizon,
            far: self.far,
            born,
        };
        let tracked = if self.horizon > 0.0 {
            &joining[..]
        } else {
            &[]
        };
        for &d in tracked {
            let d = d as usize;
            skip.push(self.place(d));
            let mut from = 0;
            for &to in skip.iter().chain(std::iter::once(&n)) {
                self.sort_row(d, from..to, &sorter, &mut rows, &mut fresh);
                from = to + 1;
            }
        }
        if joining.len() > 1 {
            fresh.sort_unstable_by_key(|e| e.0);
        }
        self.merge(&fresh);
        (self.fresh, self.joining, self.skip, self.rows) = (fresh, joining, skip, rows);
        self.clear_dirty();
    }

    /// Drops the cached pairs of dirty slots and merges `fresh` (in layout order) into the
    /// cache, in place: dirty pairs are few (a branch on them predicts well), and the fresh ones
    /// are merged in from the back, moving only the pairs after the first of them.
    fn merge(&mut self, fresh: &[(u64, f64)]) {
        let is_dirty = &self.is_dirty;
        // The smallest distance kept (distances are never NaN: plain comparisons do).
        let mut lo = fresh
            .iter()
            .fold(f64::INFINITY, |m, e| if e.1 < m { e.1 } else { m });
        self.cache.retain(|&(k, x)| {
            let keep = !is_dirty[(k >> 32) as usize] && !is_dirty[k as u32 as usize];
            lo = if keep && x < lo { x } else { lo };
            keep
        });
        self.cache_min = lo;
        let n = self.cache.len();
        self.cache.extend_from_slice(fresh);
        let (mut i, mut w) = (n, n + fresh.len());
        for &e in fresh.iter().rev() {
            while i > 0 && self.cache[i - 1].0 > e.0 {
                w -= 1;
                i -= 1;
                self.cache[w] = self.cache[i];
            }
            w -= 1;
            self.cache[w] = e;
        }
    }

    /// Forgets which slots changed: the cache is up to date with them.
    fn clear_dirty(&mut self) {
        for &d in &self.dirty {
            self.is_dirty[d as usize] = false;
        }
        self.dirty.clear();
    }

    /// Raises the cache's threshold to `t`: the filed pairs below it move into the cache (those
    /// of slots that changed since they were filed are dropped). Beyond the horizon, every pair
    /// of members is computed again instead, and the horizon moves to `HORIZON` times `t`.
    fn raise(&mut self, t: f64) {
        let mut fresh = std::mem::take(&mut self.fresh);
        fresh.clear();
        if t <= self.horizon {
            for b in edge(self.cache_t)..edge(t) {
                for f in self.filed[b].drain(..) {
                    let (a, c) = (f.a as usize, f.b as usize);
                    if self.changed[a] <= f.born && self.changed[c] <= f.born {
                        let x = pair_distance(
                            self.s[a],
                            self.y[a],
                            self.phi[a],
                            self.s[c],
                            self.y[c],
                            self.phi[c],
                        );
                        fresh.push((Candidate::pair(a, c).key(), x));
                    }
                }
            }
            fresh.sort_unstable_by_key(|e| e.0);
        } else {
            // Every filed pair is below the old horizon, so below t: the rescan finds them.
            for b in edge(self.cache_t)..edge(self.horizon) {
                self.filed[b].clear();
            }
            self.horizon = t * HORIZON;
            let sorter = Sorter {
                lo: self.cache_t,
                t,
                horizon: self.horizon,
                far: self.far,
                born: self.clock,
            };
            let mut rows = std::mem::take(&mut self.rows);
            // Each slot against the members after it: the pairs come out in layout order.
            for k in 0..self.members.len() {
                let d = self.members[k] as usize;
                self.sort_row(d, k + 1..self.members.len(), &sorter, &mut rows, &mut fresh);
            }
            self.rows = rows;
        }
        self.cache_t = t;
        self.merge(&fresh);
        self.fresh = fresh;
    }

    /// Computes the pairs of slot `d` with the members at places `ks` (in layout order if `d`
    /// is below them all or above them all) and sorts them as `sorter` says: into `fresh`
    /// (cache), the buckets (filed) or nowhere.
    fn sort_row(
        &mut self,
        d: usize,
        ks: std::ops::Range<usize>,
        sorter: &Sorter,
        rows: &mut Rows,
        fresh: &mut Vec<(u64, f64)>,
    ) {
        if ks.is_empty() {
            return;
        }
        let (yd, pd, sd) = (self.y[d], self.phi[d], self.s[d]);
        let (my, mphi, ms) = (
            &self.my[ks.clone()],
            &self.mphi[ks.clone()],
            &self.ms[ks.clone()],
        );
        let n = ks.len();
        let Rows {
            dr2,
            xs,
            to_cache,
            to_file,
        } = rows;
        dr2.resize(n, 0.0);
        xs.resize(n, 0.0);
        to_cache.resize(n + 1, 0);
        to_file.resize(n + 1, 0);
        let (dr2, xs) = (&mut dr2[..n], &mut xs[..n]);
        // ΔR² and distance first, in a loop without branches (it vectorises).
        for k in 0..n {
            let r = dist(yd, pd, my[k], mphi[k]);
            dr2[k] = r;
            xs[k] = if ms[k] < sd { ms[k] } else { sd } * r;
        }
        let Sorter {
            lo,
            t,
            horizon,
            far,
            born,
        } = *sorter;
        // Where each pair goes, without branches: every place is written to both lists and
        // kept where its pair belongs (which way a pair goes is close to random: branching on
        // it cost more than the distances).
        let (mut nc, mut nf) = (0, 0);
        for (k, (&x, &r)) in xs.iter().zip(&*dr2).enumerate() {
            to_cache[nc] = k as u32;
            to_file[nf] = k as u32;
            nc += usize::from((x < t) & (x >= lo));
            nf += usize::from((x >= t) & (x < horizon) & (r < far));
        }
        let members = &self.members[ks];
        fresh.extend(to_cache[..nc].iter().map(|&k| {
            (
                Candidate::pair(d, members[k as usize] as usize).key(),
                xs[k as usize],
            )
        }));
        for &k in &to_file[..nf] {
            let k = k as usize;
            file(
                &mut self.filed,
                Candidate::pair(d, members[k] as usize),
                xs[k],
                born,
            );
        }
    }

    /// Lowers the cache's threshold to `t`: the cached pairs at or above it are filed.
    fn lower(&mut self, t: f64) {
        let (filed, born) = (&mut self.filed, self.clock);
        self.cache.retain(|&(k, x)| {
            if x >= t {
                file(filed, Candidate::from_key(k), x, born);
            }
            x < t
        });
        self.cache_t = t;
    }

    /// An upper bound on the smallest distance of every world: the smallest over candidates
    /// among members (active and equal in all worlds), beam entries at the largest R².
    fn upper(&mut self, r2hi: f64) -> f64 {
        if self.s_min.is_nan() {
            self.s_min = self.ms.iter().fold(f64::INFINITY, |m, &s| m.min(s));
        }
        (self.s_min * r2hi).min(self.cache_min)
    }

    /// Notes that a member's scale went from `old` (NaN: it joined) to `new` (NaN: it left).
    fn rescale(&mut self, old: f64, new: f64) {
        if old == self.s_min {
            self.s_min = f64::NAN;
        } else if new < self.s_min {
            self.s_min = new;
        }
    }

    /// The candidates not negligible in any world, in layout order, as the first entries of
    /// `out` (its length is left at least that: entries past them are scratch), and in `known`
    /// beside each the distance D̃ of a pair of members as the search computed it (NaN for the
    /// others): `r2` bounds R² over worlds, `factor` = (1 + ln(1/ε)/α_min)(1 + slack). Returns
    /// the bound U they are kept below (∞ when no candidate is the same in every world, and then
    /// all are kept) and how many they are.
    pub fn live(
        &mut self,
        r2: (f64, f64),
        factor: f64,
        out: &mut Vec<Candidate>,
        known: &mut Vec<f64>,
    ) -> (f64, usize) {
        // A pair of members with ΔR² ≥ factor·R²max has D̃ = s_h·ΔR² ≥ factor·s_h·R²max (s_h the
        // harder member's scale, whose beam entry s_h·R²max bounds D̃⁺) ≥ U at every step: it
        // is never live and never the smallest, so it is not filed. (factor and the R² range are
        // the same at every step of a run.)
        self.far = factor * r2.1;
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
            // First fill: up to the smallest beam distance, which bounds the smallest distance
            // (filling straight to the bound ln(1/ε)/α times above it would cache ~100× more
            // pairs than the steps ahead look at).
            let beams = self.upper(r2.1);
            if beams > 0.0 && beams.is_finite() {
                self.raise(pow2_above(beams));
            }
        }
        let mut bound = bound_of(self.upper(r2.1));
        if bound > self.cache_t {
            self.raise(pow2_above(bound * GROW));
            // The raised cache may hold a smaller distance than the old one knew of.
            bound = bound.min(bound_of(self.upper(r2.1)));
        } else if bound * SHRINK < self.cache_t {
            self.lower(pow2_above(bound * GROW));
        }
        // Where slots differ between worlds, each world w has its own cutoff U_w = factor·(an
        // upper bound on its smallest distance), at most U: a candidate is kept where it is below
        // the cutoff of a world in which it is active (members' candidates, the same in every
        // world, where they are below the largest). One U for all worlds would keep ~40 % more
        // candidates on the bench events, negligible in every world.
        let cut = if self.varying.is_empty() {
            bound
        } else {
            self.world_cutoffs(r2, bound, &bound_of)
        };
        // Beam entries (checked for every member) and cached pairs, in layout order: a slot's
        // beam entry comes before its pairs. Every offered entry is written and the count moves
        // by the verdict (no branch on it: the filter keeps entries close to half the time at
        // random, where a branch would mispredict at every other one); the buffers only grow,
        // their entries past the count are scratch.
        let room = self.cache.len() + self.members.len();
        if out.len() < room {
            out.resize(room, Candidate::beam(0));
        }
        if known.len() < room {
            known.resize(room, f64::NAN);
        }
        let mut n = 0;
        // Slices, not the vectors: their pointers then stay in registers across the writes.
        let (outs, knowns, cache) = (&mut out[..room], &mut known[..room], &self.cache[..]);
        let mut offer = |c: Candidate, x: f64, keep: bool| {
            outs[n] = c;
            knowns[n] = x;
            n += keep as usize;
        };
        let mut next = 0;
        for (&a, &s) in self.members.iter().zip(&self.ms) {
            if s * r2.0 < cut {
                let beam = Candidate::beam(a as usize).key();
                while next < cache.len() && cache[next].0 < beam {
                    let (k, x) = cache[next];
                    offer(Candidate::from_key(k), x, x < cut);
                    next += 1;
                }
                offer(Candidate::beam(a as usize), f64::NAN, true);
            }
        }
        for &(k, x) in &cache[next..] {
            offer(Candidate::from_key(k), x, x < cut);
        }
        if self.varying.is_empty() {
            return (cut, n);
        }
        let mut keys = std::mem::take(&mut self.keys);
        keys.clear();
        let mut hit = std::mem::take(&mut self.hit);
        let m = self.members.len();
        let mut row = 0;
        for (i, &v) in self.varying.iter().enumerate() {
            let v = v as usize;
            let views = &self.views[v];
            let rows = row..row + views.len();
            row = rows.end;
            if views
                .iter()
                .zip(&self.view_cut[rows.clone()])
                .any(|(w, &u)| w.on && w.s * r2.0 < u)
            {
                keys.push(Candidate::beam(v).key());
            }
            // Pairs with members: the distances of each view (computed by `world_cutoffs`)
            // against that view's cutoff.
            hit.clear();
            hit.resize(m, 0);
            for (w, r) in views.iter().zip(rows) {
                if w.on {
                    let u = self.view_cut[r];
                    let row = &self.view_d[r * m..(r + 1) * m];
                    // Bytes, not bools: the loop then vectorises.
                    for (h, &x) in hit.iter_mut().zip(row) {
                        *h |= (x < u) as u8;
                    }
                }
            }
            // A branch on the verdict: few members pair live with a varying slot (~1 in 12 on
            // the bench events), so it is well predicted.
            for (&j, _) in self.members.iter().zip(&hit).filter(|(_, &h)| h != 0) {
                keys.push(Candidate::pair(v, j as usize).key());
            }
            // Pairs of varying slots: below some world's cutoff (`world_cutoffs` again).
            for (j, &u) in self.varying.iter().enumerate().skip(i + 1) {
                if self.pair_kept[pair_index(i, j, self.varying.len())] {
                    keys.push(Candidate::pair(v, u as usize).key());
                }
            }
        }
        self.hit = hit;
        keys.sort_unstable();
        // Merge the varying slots' candidates into the members' (both in layout order).
        let mut from_members = std::mem::take(&mut self.scratch);
        from_members.clear();
        from_members.extend(out[..n].iter().copied().zip(known[..n].iter().copied()));
        out.clear();
        known.clear();
        let (mut i, mut f) = (0, 0);
        while i < from_members.len() || f < keys.len() {
            if f == keys.len() || (i < from_members.len() && from_members[i].0.key() < keys[f]) {
                out.push(from_members[i].0);
                known.push(from_members[i].1);
                i += 1;
            } else {
                out.push(Candidate::from_key(keys[f]));
                known.push(f64::NAN);
                f += 1;
            }
        }
        self.scratch = from_members;
        self.keys = keys;
        (cut, out.len())
    }

    /// Every candidate active in some world (no skipping: the dense reference), in layout order.
    /// Returns how many (`out` holds exactly them).
    pub fn dense(&self, out: &mut Vec<Candidate>) -> usize {
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
        out.len()
    }

    /// Each world's cutoff where slots differ between worlds: `bound_of` an upper bound on its
    /// smallest distance — the members' (`bound` is theirs) or one of a varying slot's
    /// candidates in that world, if smaller. Fills `worlds` and `world_cut` (the primal first),
    /// `view_d` (per view of each varying slot, in order, its distances to every member),
    /// `view_cut` (per such view, the largest cutoff of the worlds that see the slot so) and
    /// `pair_kept` (per pair of varying slots, whether it is below the cutoff of a world in
    /// which both are active). Returns the largest cutoff.
    fn world_cutoffs(&mut self, r2: (f64, f64), bound: f64, bound_of: &impl Fn(f64) -> f64) -> f64 {
        self.worlds.clear();
        self.worlds.push(None);
        for &v in &self.varying {
            for x in &self.views[v as usize][1..] {
                if !self.worlds.contains(&x.world) {
                    self.worlds.push(x.world);
                }
            }
        }
        let (nv, nw, m) = (self.varying.len(), self.worlds.len(), self.members.len());
        // Per varying slot and world: which of the slot's views (its row) the world sees; a slot
        // without a view of a world is its primal there.
        self.view_at.clear();
        self.row_view.clear();
        self.row_start.clear();
        // How many (slot, world) see the slot otherwise than the primal.
        let mut owned = 0;
        for &v in &self.varying {
            let views = &self.views[v as usize];
            self.row_start.push(self.row_view.len() as u32);
            for w in &self.worlds {
                let at = views.iter().position(|x| x.world == *w).unwrap_or(0);
                owned += (at != 0) as usize;
                self.view_at.push((self.row_view.len() + at) as u32);
            }
            self.row_view.extend_from_slice(views);
        }
        let rows = self.row_view.len();
        // Per view: its distances to the members, and the smallest of them and its beam entry
        // (at the largest R²).
        // Rows of views that are off are never read: the buffer only grows, unfilled.
        if self.view_d.len() < rows * m {
            self.view_d.resize(rows * m, f64::INFINITY);
        }
        let mut view_lo = std::mem::take(&mut self.view_cut);
        view_lo.clear();
        for (row, w) in self.row_view.iter().enumerate() {
            let mut lo = f64::INFINITY;
            if w.on {
                let out = &mut self.view_d[row * m..(row + 1) * m];
                let (ms, my, mphi) = (&self.ms[..m], &self.my[..m], &self.mphi[..m]);
                for j in 0..m {
                    out[j] = pair_distance(w.s, w.y, w.phi, ms[j], my[j], mphi[j]);
                }
                lo = smallest(out).min(w.s * r2.1);
            }
            view_lo.push(lo);
        }
        // Pairs of varying slots: each world's smallest distance among them. Computing only
        // the pairs with a slot a world sees otherwise (~owned·nv distances, then a sort of
        // the pairs) pays where that is below half of every pair in every world, and that is
        // many (measured: keep-16 −10 % time, its steps ~54 000 pair-worlds at a ratio ~0.4;
        // keep-4's ~6 000 at 0.25–0.5 ran 4 % slower so).
        let npairs = nv * nv.saturating_sub(1) / 2;
        let each_world = match self.pairs {
            PairStrategy::Auto => 2 * owned * nv >= npairs * nw || npairs * nw < 16_384,
            PairStrategy::EachWorld => true,
            PairStrategy::OwnSlots => false,
        };
        let lo = if each_world {
            self.pair_lo_each_world(nv, nw)
        } else {
            self.pair_lo_own_slots(nv, nw)
        };
        // Per world: the members' bound, each varying slot's view of it, the varying pairs.
        self.world_cut.clear();
        for (k, &lo) in lo.iter().enumerate() {
            let lo = (0..nv).fold(lo, |lo: f64, i| {
                let x = view_lo[self.view_at[i * nw + k] as usize];
                if x < lo {
                    x
                } else {
                    lo
                }
            });
            self.world_cut.push(bound.min(bound_of(lo)));
        }
        // Which pairs of varying slots are below the cutoff of some world.
        self.pair_kept.clear();
        self.pair_kept.resize(npairs, false);
        if each_world {
            for (d, &c) in self.pair_d.chunks_exact(npairs.max(1)).zip(&self.world_cut) {
                for (kept, &x) in self.pair_kept.iter_mut().zip(d) {
                    *kept |= x < c;
                }
            }
        } else {
            self.pair_kept_own_slots(nv, nw);
        }
        // Per view: the largest cutoff among the worlds that see its slot so.
        let mut cut = view_lo;
        cut.clear();
        cut.resize(rows, 0.0);
        for i in 0..nv {
            for k in 0..nw {
                let r = self.view_at[i * nw + k] as usize;
                cut[r] = cut[r].max(self.world_cut[k]);
            }
        }
        self.view_cut = cut;
        self.world_cut.iter().fold(0.0, |a: f64, &c| a.max(c))
    }

    /// The distance of two views of varying slots (∞ where one is off).
    #[inline]
    fn view_pair_d(a: &View, b: &View) -> f64 {
        if a.on && b.on {
            pair_distance(a.s, a.y, a.phi, b.s, b.y, b.phi)
        } else {
            f64::INFINITY
        }
    }

    /// Each pair of varying slots in each world (`pair_d`, world-major: every pair in world 0,
    /// then in world 1, …), and per world the smallest: where the worlds see many of the varying
    /// slots otherwise (the pruned triple's one alternative world sees nearly all of them so).
    /// Each world's views of the slots are first copied side by side (`world_view`), so a world's
    /// pairs are a loop over contiguous values without branches (looking each view up per pair
    /// and world cost the pruned triple ~8 % of its instructions).
    fn pair_lo_each_world(&mut self, nv: usize, nw: usize) -> SmallVec<[f64; 4]> {
        let npairs = nv * nv.saturating_sub(1) / 2;
        self.pair_d.clear();
        self.pair_d.resize(nw * npairs, f64::INFINITY);
        let mut lo: SmallVec<[f64; 4]> = SmallVec::new();
        let wv = &mut self.world_view;
        for k in 0..nw {
            wv.clear();
            wv.extend((0..nv).map(|i| {
                let v = &self.row_view[self.view_at[i * nw + k] as usize];
                (v.y, v.phi, v.s, v.on)
            }));
            let out = &mut self.pair_d[k * npairs..][..npairs];
            let mut p = 0;
            for (i, &(ya, pa, sa, on_a)) in wv.iter().enumerate() {
                let rest = &wv[i + 1..];
                for (o, &(yb, pb, sb, on_b)) in out[p..p + rest.len()].iter_mut().zip(rest) {
                    // ∞ where one view is off (the same numbers as `view_pair_d`).
                    let x = pair_distance(sa, ya, pa, sb, yb, pb);
                    *o = if on_a & on_b { x } else { f64::INFINITY };
                }
                p += rest.len();
            }
            lo.push(smallest(out));
        }
        lo
    }

    /// Whether world `k` sees varying slot `i` otherwise than the primal (not its first view).
    #[inline]
    fn own(&self, i: usize, k: usize, nw: usize) -> bool {
        self.view_at[i * nw + k] != self.row_start[i]
    }

    /// Per world, the smallest distance among pairs of varying slots, for many worlds: a world
    /// sees most varying slots as the primal does (their first view), and a pair of two such
    /// slots has its primal distance there. So each pair's primal distance is computed once
    /// (`pair_d`), and each world computes only the pairs with a slot it sees otherwise (its
    /// *own* slots; with keep-16, ~7 of ~45 slots in each of ~30 worlds): `own_pairs`.
    fn pair_lo_own_slots(&mut self, nv: usize, nw: usize) -> SmallVec<[f64; 4]> {
        self.pair_d.clear();
        self.pair_ij.clear();
        for i in 0..nv {
            for j in i + 1..nv {
                let (a, b) = (self.row_start[i] as usize, self.row_start[j] as usize);
                let x = Self::view_pair_d(&self.row_view[a], &self.row_view[b]);
                self.pair_d.push(x);
                self.pair_ij.push((i as u32, j as u32));
            }
        }
        // The pairs by primal distance: a world's smallest over the pairs it sees as the primal
        // does is the first of them without an own slot.
        self.pair_order.clear();
        self.pair_order.extend(0..self.pair_d.len() as u32);
        let pair_d = &self.pair_d;
        self.pair_order
            .sort_unstable_by(|&p, &q| pair_d[p as usize].total_cmp(&pair_d[q as usize]));
        self.own_pairs.clear();
        self.own_at.clear();
        let mut lo: SmallVec<[f64; 4]> = SmallVec::new();
        for k in 0..nw {
            self.own_at.push(self.own_pairs.len() as u32);
            let mut m = f64::INFINITY;
            // Each pair with an own slot once: from its lower own slot.
            let mut own_pairs = std::mem::take(&mut self.own_pairs);
            for i in (0..nv).filter(|&i| self.own(i, k, nw)) {
                for j in (0..nv).filter(|&j| j != i && !(j < i && self.own(j, k, nw))) {
                    let (a, b) = (i.min(j), i.max(j));
                    let x = Self::view_pair_d(
                        &self.row_view[self.view_at[a * nw + k] as usize],
                        &self.row_view[self.view_at[b * nw + k] as usize],
                    );
                    m = if x < m { x } else { m };
                    own_pairs.push((pair_index(a, b, nv) as u32, x));
                }
            }
            self.own_pairs = own_pairs;
            if let Some(&p) = self.pair_order.iter().find(|&&p| {
                let (i, j) = self.pair_ij[p as usize];
                !self.own(i as usize, k, nw) && !self.own(j as usize, k, nw)
            }) {
                let x = self.pair_d[p as usize];
                m = if x < m { x } else { m };
            }
            lo.push(m);
        }
        self.own_at.push(self.own_pairs.len() as u32);
        lo
    }

    /// `pair_kept` after [`Search::pair_lo_own_slots`]: a pair is below some world's cutoff
    /// where it has an own slot, at its distance there, or elsewhere at its primal distance,
    /// against the largest cutoff among the worlds that see both its slots as the primal does.
    fn pair_kept_own_slots(&mut self, nv: usize, nw: usize) {
        for k in 0..nw {
            let at = self.own_at[k] as usize..self.own_at[k + 1] as usize;
            for &(p, x) in &self.own_pairs[at] {
                self.pair_kept[p as usize] |= x < self.world_cut[k];
            }
        }
        let mut by_cut: SmallVec<[u32; 32]> = (0..nw as u32).collect();
        let cuts = &self.world_cut;
        by_cut.sort_unstable_by(|&a, &b| cuts[b as usize].total_cmp(&cuts[a as usize]));
        debug_assert_eq!(self.pair_ij.len(), nv * nv.saturating_sub(1) / 2);
        for p in 0..self.pair_kept.len() {
            let (i, j) = self.pair_ij[p];
            let shared = by_cut.iter().find(|&&k| {
                !self.own(i as usize, k as usize, nw) && !self.own(j as usize, k as usize, nw)
            });
            if let Some(&k) = shared {
                self.pair_kept[p] |= self.pair_d[p] < cuts[k as usize];
            }
        }
    }
}

/// The index of the pair (i, j), i < j < n, among the pairs of n items in order
/// (0, 1), (0, 2), …, (1, 2), ….
fn pair_index(i: usize, j: usize, n: usize) -> usize {
    i * (2 * n - i - 1) / 2 + (j - i - 1)
}

#[cfg(test)]
mod tests {
    use super::super::candidates::{distances, smallest, weights, world_weights, WorldScratch};
    use super::super::state::State;
    use super::super::{cutoff_factor, lift, Sampling};
    use super::*;
    use crate::jets::io::default_sample;
    use crate::jets::FourMomentum;
    use crate::sample::categorical_by;
    use crate::scalar::Scalar;
    use crate::KeepTriple;

    /// The leading `n` particles of default event `k`.
    fn leading(k: usize, n: usize) -> Vec<FourMomentum> {
        let ev = default_sample().unwrap().nth(k).unwrap().unwrap();
        let mut ps: Vec<FourMomentum> = ev.particles.iter().map(|q| q.momentum).collect();
        ps.sort_by(|a, b| b.pt2().total_cmp(&a.pt2()));
        ps.truncate(n);
        ps
    }

    /// The search's promise, step by step along sampled primal histories: the live candidates
    /// are, in layout order, every candidate whose distance is below the bound U it returns
    /// (checked against the dense list), U is at least ln(1/ε)/α·D̃min above D̃min, and the
    /// distances it hands over are the ones the step computes. Exact set comparisons, so a
    /// search that keeps its threshold too low (pairs just below U missing: weights of ~10⁻⁹,
    /// which no history comparison sees) fails here.
    #[test]
    fn live_candidates_are_every_candidate_below_the_bound() {
        let events = [leading(0, 200), leading(2, 109), leading(7, 60)];
        for (e, event) in events.iter().enumerate() {
            for (r, alpha) in [(0.4, 1.0), (0.8, 4.0), (1.2, 0.5)] {
                let r2: f64 = r * r;
                let factor = cutoff_factor(1e-17, alpha);
                let mut st = State::<f64>::new(event).unwrap();
                let (mut live, mut known, mut dense) = (Vec::new(), Vec::new(), Vec::new());
                let (mut d, mut on, mut d_live, mut on_live) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                let mut u: u64 = 0x9e37_79b9_7f4a_7c15 ^ (e as u64);
                for step in 0..event.len() {
                    let (bound, n) = st.search.live((r2, r2), factor, &mut live, &mut known);
                    let live = &live[..n];
                    st.search.dense(&mut dense);
                    distances(&st, &dense, &[], r2, false, &mut d, &mut on);
                    let dmin = d.iter().fold(f64::INFINITY, |m, &x| m.min(x));
                    let at = format!("event {e}, (R, α) = ({r}, {alpha}), step {step}");
                    assert!(bound >= factor * dmin, "{at}: U = {bound} below the cutoff");
                    let below: Vec<Candidate> = dense
                        .iter()
                        .zip(&d)
                        .filter(|(_, &x)| x < bound)
                        .map(|(&c, _)| c)
                        .collect();
                    assert_eq!(live, &below[..], "{at}: live set");
                    distances(&st, live, &known[..n], r2, false, &mut d_live, &mut on_live);
                    for (i, c) in live.iter().enumerate() {
                        let j = dense.binary_search(c).unwrap();
                        assert_eq!(d_live[i], d[j], "{at}: distance of {c:?}");
                    }
                    // Draw the next step ∝ the weights, from a fixed stream of uniforms.
                    let w: Vec<f64> = d_live
                        .iter()
                        .map(|&x| (-alpha * (x - dmin) / dmin).exp())
                        .collect();
                    u = u.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    let mut target = (u >> 11) as f64 / (1u64 << 53) as f64 * w.iter().sum::<f64>();
                    let k = w
                        .iter()
                        .position(|&x| {
                            target -= x;
                            target < 0.0
                        })
                        .unwrap_or(w.len() - 1);
                    st.apply(live, k as f64).unwrap();
                }
            }
        }
    }

    /// The same promise where slots differ between worlds: with stochastic triples (pruned and
    /// keep-4), every candidate that is active in some world the state carries with a distance
    /// below that world's cutoff (1 + ln(1/ε)/α)·D̃min is live, at every step of sampled runs.
    #[test]
    fn live_candidates_cover_every_world() {
        let event = leading(1, 60);
        // Both ways of finding the pairs of slots that differ between worlds: each must keep
        // every candidate it must, and they must give the same runs bit for bit.
        let mut outputs = Vec::new();
        for pairs in [PairStrategy::EachWorld, PairStrategy::OwnSlots] {
            let mut out = Vec::new();
            for (r, alpha) in [(0.4, 1.0), (0.8, 4.0)] {
                let runs = crate::gradient(|[r, a]| checked_run(&event, r, a, pairs))
                    .at([r, alpha])
                    .samples(6)
                    .runs()
                    .unwrap();
                assert!(runs.iter().all(|o| o.value > 0.0));
                let keep = crate::gradient_with(|[r, a]: [KeepTriple<4, 2>; 2]| {
                    checked_run(&event, r, a, pairs)
                })
                .at([r, alpha])
                .samples(4)
                .runs()
                .unwrap();
                assert!(keep.iter().all(|o| o.value > 0.0));
                out.extend(runs.iter().chain(&keep).map(|o| (o.value, o.derivative)));
            }
            outputs.push(out);
        }
        assert_eq!(outputs[0], outputs[1]);
    }

    /// One Qanti-kT run (the clusterer's loop, default sampling) that checks at every step, in
    /// every world the candidates carry, that each candidate active there with a distance below
    /// that world's cutoff is live and that the returned bound U is at least every world's
    /// cutoff; returns the number of live candidates over the run.
    fn checked_run<S: Scalar>(
        event: &[crate::jets::FourMomentum],
        r: S,
        alpha: S,
        pairs: PairStrategy,
    ) -> crate::Result<S> {
        let Sampling::Categorical(family) = Sampling::default() else {
            unreachable!("the default sampling draws")
        };
        let mut st = State::<S>::new(event)?;
        st.search.pairs = pairs;
        let r2 = r * r;
        let factor = cutoff_factor(1e-17, alpha.world_range().0);
        let exact = 1.0 - 1e-17f64.ln() / alpha.world_range().0;
        let (mut live, mut known, mut dense) = (Vec::new(), Vec::new(), Vec::new());
        let (mut d, mut on, mut w) = (Vec::new(), Vec::new(), Vec::new());
        let mut total = 0;
        for step in 0..st.len() {
            st.couple();
            let (bound, n) = st
                .search
                .live(r2.world_range(), factor, &mut live, &mut known);
            let live = &live[..n];
            st.search.dense(&mut dense);
            distances(&st, &dense, &[], r2, false, &mut d, &mut on);
            // Every world the candidates carry, the primal (None) first, and each one's cutoff.
            let mut worlds: Vec<Option<crate::scalar::World>> = vec![None];
            for x in d.iter().chain(&on) {
                for w in x.worlds() {
                    if !worlds.contains(&Some(w)) {
                        worlds.push(Some(w));
                    }
                }
            }
            let value = |x: &S, w: Option<crate::scalar::World>| {
                w.map_or(x.primal_value(), |w| x.value_in(w))
            };
            for &w in &worlds {
                let dmin = (0..dense.len())
                    .filter(|&i| value(&on[i], w) == 1.0)
                    .map(|i| value(&d[i], w))
                    .fold(f64::INFINITY, f64::min);
                // The cutoff proper, without the slack `factor` adds for rounding.
                let cutoff = exact * dmin;
                assert!(
                    bound >= cutoff,
                    "step {step}, world {w:?}: U = {bound} below the cutoff {cutoff}"
                );
                for (i, c) in dense.iter().enumerate() {
                    let needed = value(&on[i], w) == 1.0 && value(&d[i], w) < cutoff;
                    assert!(
                        !needed || live.binary_search(c).is_ok(),
                        "step {step}, world {w:?}: {c:?} (distance {} below the cutoff {cutoff}) is \
                         not live",
                        value(&d[i], w)
                    );
                }
            }
            total += n;
            distances(&st, live, &known[..n], r2, false, &mut d, &mut on);
            let dmin = smallest(&d, &on, lift(bound, &d), live)?;
            weights(&d, &on, dmin, alpha, &mut w);
            // The world-wise weights (numbers without worlds, each world in f64) against the
            // number type's: the same primal values and tangents, each world's weights to
            // rounding, and every world the weights carry among those the state lists. (The
            // number type stores a world as its difference to the primal, which costs it
            // precision where they are far apart, e.g. a candidate inactive in the primal,
            // raised by `lift`: up to ~1e-11 relative here; the world-wise values are exact.)
            let (mut d2, mut on2, mut w2, mut rows) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            distances(
                &st,
                live,
                &known[..n],
                r2.without_worlds(),
                true,
                &mut d2,
                &mut on2,
            );
            let dmin2 = smallest(&d2, &on2, lift(bound, &d2), live)?;
            weights(&d2, &on2, dmin2, alpha.without_worlds(), &mut w2);
            let worlds = st.live_worlds();
            world_weights(
                &st,
                live,
                (&d2, &on2, &w2),
                (dmin2, r2.primal_value(), alpha.primal_value(), 1e-17),
                &worlds,
                &mut rows,
                &mut WorldScratch::default(),
            )?;
            for (k, (a, b)) in w.iter().zip(&w2).enumerate() {
                assert_eq!(
                    a.without_worlds(),
                    *b,
                    "step {step}, candidate {k}: world-free weight"
                );
                for x in a.worlds() {
                    assert!(worlds.contains(&x), "step {step}: world {x:?} not listed");
                }
                for (j, &x) in worlds.iter().enumerate() {
                    let (full, row) = (a.value_in(x), rows[j * n + k]);
                    assert!(
                        (full - row).abs() <= 1e-9 * (1.0 + full.abs()),
                        "step {step}, candidate {k}, world {x:?}: {full} vs {row}"
                    );
                }
            }
            let k = categorical_by(&w, &family)?;
            st.apply(live, k)?;
        }
        Ok(S::from(total as f64))
    }
}
