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
//! its candidates are checked world by world. Pruning leaves varying slots few on the bench
//! events (a handful of objects differ between the primal and an alternative history), but not
//! on large events (with 1 500 particles ~100, with 5 800 ~700): each view keeps, from step to
//! step, the members near it and its pairs with the other views (see `NearRow`), so a step
//! costs about a pass over what is near the views instead of each view against every member
//! and every other view.
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

/// One view of a varying slot and what is near it, kept from step to step (a *row*): the
/// views' distances to every member and to each other were computed again at every step, which
/// dominated a triple's steps at thousands of particles (there an alternative world differs
/// from the primal in hundreds of slots: every member and every pair of them, at every step).
///
/// A row holds exactly the members whose distance to the view is below `t` (with those
/// distances), `t` being the cache's threshold when the row was last computed in full: members
/// that change or leave drop out and members that join are added at each refresh of the cache,
/// and the row is computed again when the threshold has risen above `t`. The pairs of rows
/// (`Search::vpairs`) are kept alike. Below the threshold lies all a step needs: the live pairs
/// (below a world's cutoff, at most the bound U, at most the threshold) and the smallest
/// distances where they can tighten a world's cutoff (below U).
#[derive(Clone, Debug)]
struct NearRow {
    /// The varying slot whose view this is, and the view's geometry.
    slot: u32,
    y: f64,
    phi: f64,
    s: f64,
    /// Whether the row serves a view of its slot (a dead one waits in `Search::dying` until
    /// its pairs are dropped, then its room is reused).
    alive: bool,
    /// Whether the row's pairs with the other rows are still to be found.
    fresh: bool,
    t: f64,
    members: Vec<(u32, f64)>,
}

impl NearRow {
    /// Whether the row is view `v`'s (the same geometry, bit for bit).
    fn is(&self, v: &View) -> bool {
        (self.y.to_bits(), self.phi.to_bits(), self.s.to_bits())
            == (v.y.to_bits(), v.phi.to_bits(), v.s.to_bits())
    }

    fn distance_to(&self, o: &NearRow) -> f64 {
        pair_distance(self.s, self.y, self.phi, o.s, o.y, o.phi)
    }
}

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
    /// The rows ([`NearRow`]) of the varying slots' views that are on, by id: per slot (empty
    /// unless it is varying) the ids of its rows; ids of dead rows whose pairs are still in
    /// `vpairs`, and ids free for new rows.
    near_rows: Vec<NearRow>,
    near: Vec<SmallVec<[u32; 2]>>,
    dying: Vec<u32>,
    free: Vec<u32>,
    /// Every pair of rows of two slots whose distance is below `vpairs_t` (the cache's
    /// threshold when they were last found in full): ids and distance.
    vpairs: Vec<(u32, u32, f64)>,
    vpairs_t: f64,
    /// Scratch: per view of the step's varying slots (one per entry of `row_view`), its row's
    /// id (`u32::MAX` for views that are off); per slot, its place among the varying slots;
    /// per world and varying slot (world-major), the id of the row the world sees; the pairs
    /// of varying slots below some world's cutoff, as candidate keys.
    row_near: Vec<u32>,
    var_index: Vec<u32>,
    seen: Vec<u32>,
    vkeys: Vec<u64>,
    /// Scratch: per slot, the last varying slot (by `stamp_clock`) it was found near.
    stamp: Vec<u32>,
    stamp_clock: u32,
    /// Scratch where slots differ between worlds (see [`Search::world_cutoffs`]): the worlds,
    /// primal first, and their cutoffs; per view of each varying slot, its cutoff.
    worlds: SmallVec<[Option<World>; 4]>,
    world_cut: SmallVec<[f64; 4]>,
    view_cut: Vec<f64>,
    /// Scratch: the views of the varying slots (the step's *rows*); per varying slot and
    /// world, the row of the view that world sees.
    row_view: Vec<View>,
    view_at: Vec<u32>,
    /// Scratch: per varying slot, the first of its entries in `row_view`.
    row_start: Vec<u32>,
}

/// The cache's threshold is raised to the power of two above `GROW` times the step's bound when
/// the bound outgrows it, and lowered so when the bound falls below 1/`SHRINK` of it (a large
/// cache costs every step a longer pass; a raise costs only the filed pairs it moves, so the
/// threshold follows the bound closely: on the bench events GROW = 1 took 5 % fewer
/// instructions than 1.5 and 2; SHRINK from 8 to 64 alike).
const GROW: f64 = 1.0;
const SHRINK: f64 = 32.0;

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
            near_rows: Vec::new(),
            near: Vec::new(),
            dying: Vec::new(),
            free: Vec::new(),
            vpairs: Vec::new(),
            vpairs_t: f64::NEG_INFINITY,
            row_near: Vec::new(),
            var_index: Vec::new(),
            seen: Vec::new(),
            vkeys: Vec::new(),
            stamp: Vec::new(),
            stamp_clock: 0,
            worlds: SmallVec::new(),
            world_cut: SmallVec::new(),
            view_cut: Vec::new(),
            row_view: Vec::new(),
            view_at: Vec::new(),
            row_start: Vec::new(),
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
        // No rows: computed again where a resumed run needs them.
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
            for id in std::mem::take(self.near.get_mut(i).unwrap_or(&mut SmallVec::new())) {
                self.kill(id);
            }
            if was_varying {
                self.varying.retain(|&v| v as usize != i);
            }
            if v.on {
                self.insert(i, v);
            }
        } else {
            // Rows of views the slot still has stay (what is near them is the same).
            self.with_room_for_rows();
            let mut ids = std::mem::take(&mut self.near[i]);
            ids.retain(|id| {
                let keep = views
                    .iter()
                    .any(|v| v.on && self.near_rows[*id as usize].is(v));
                if !keep {
                    self.near_rows[*id as usize].alive = false;
                    self.dying.push(*id);
                }
                keep
            });
            self.near[i] = ids;
            self.views[i] = views;
            if !was_varying {
                let at = self.varying.partition_point(|&v| (v as usize) < i);
                self.varying.insert(at, i as u32);
            }
        }
    }

    /// Room for the varying slots' rows, made when a slot first varies (runs without
    /// alternative worlds never need it).
    fn with_room_for_rows(&mut self) {
        let n = self.views.len();
        if self.near.len() != n {
            self.near.resize(n, SmallVec::new());
            self.var_index.resize(n, 0);
            self.stamp.resize(n, 0);
        }
    }

    /// Row `id` serves no view any more: its pairs go and its room is reused at the next step.
    fn kill(&mut self, id: u32) {
        self.near_rows[id as usize].alive = false;
        self.dying.push(id);
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
        self.refresh_near(&joining);
        self.merge(&fresh);
        (self.fresh, self.joining, self.skip, self.rows) = (fresh, joining, skip, rows);
        self.clear_dirty();
    }

    /// Brings the varying slots' near rows up to date with the members: members that changed
    /// or left (the dirty slots) go, `joining` ones (the dirty slots that are members) come in
    /// where they are near.
    fn refresh_near(&mut self, joining: &[u32]) {
        // (No rows yet: a run without worlds, or a snapshot before its first varying step.)
        if self.near.is_empty() {
            return;
        }
        let is_dirty = &self.is_dirty;
        for &v in &self.varying {
            for &id in &self.near[v as usize] {
                let row = &mut self.near_rows[id as usize];
                row.members.retain(|&(j, _)| !is_dirty[j as usize]);
                let (y, phi, s) = (row.y, row.phi, row.s);
                for &j in joining {
                    let j = j as usize;
                    let x = pair_distance(s, y, phi, self.s[j], self.y[j], self.phi[j]);
                    if x < row.t {
                        row.members.push((j as u32, x));
                    }
                }
            }
        }
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
        let mut row = 0;
        for &v in &self.varying {
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
            // Pairs with members: each view's near members (which hold every member below its
            // cutoff, see `NearRow`) against that view's cutoff, each member once (one stamped
            // by this slot came from an earlier view).
            self.stamp_clock = self.stamp_clock.wrapping_add(1);
            if self.stamp_clock == 0 {
                self.stamp.fill(0);
                self.stamp_clock = 1;
            }
            let clock = self.stamp_clock;
            for (w, r) in views.iter().zip(rows) {
                if w.on {
                    let u = self.view_cut[r];
                    let near = &self.near_rows[self.row_near[r] as usize];
                    for &(j, x) in &near.members {
                        if x < u && self.stamp[j as usize] != clock {
                            self.stamp[j as usize] = clock;
                            keys.push(Candidate::pair(v, j as usize).key());
                        }
                    }
                }
            }
        }
        // Pairs of varying slots: below some world's cutoff (`world_cutoffs` found them; two
        // views of each slot may give the same pair twice).
        keys.extend_from_slice(&self.vkeys);
        keys.sort_unstable();
        keys.dedup();
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
    /// `row_view` and `row_near` (the varying slots' views and their rows, created or brought
    /// up to date here), `view_cut` (per such view, the largest cutoff of the worlds that see
    /// the slot so) and `vkeys` (the pairs of varying slots below the cutoff of a world in which
    /// both are active). Returns the largest cutoff.
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
        // (A snapshot has varying slots but no room for rows yet.)
        self.with_room_for_rows();
        // Per varying slot and world: which of the slot's views (its entry) the world sees; a
        // slot without a view of a world is its primal there.
        self.view_at.clear();
        self.row_view.clear();
        self.row_start.clear();
        for (i, &v) in self.varying.iter().enumerate() {
            let views = &self.views[v as usize];
            self.var_index[v as usize] = i as u32;
            self.row_start.push(self.row_view.len() as u32);
            for w in &self.worlds {
                let at = views.iter().position(|x| x.world == *w).unwrap_or(0);
                self.view_at.push((self.row_view.len() + at) as u32);
            }
            self.row_view.extend_from_slice(views);
        }
        // Rows that died since the last step: their pairs go, their room is reused.
        if !self.dying.is_empty() {
            let rows = &self.near_rows;
            self.vpairs
                .retain(|&(a, b, _)| rows[a as usize].alive && rows[b as usize].alive);
            self.free.append(&mut self.dying);
        }
        // Per view: its row (created where it is new, its members found again where its
        // threshold is below the cache's), and the smallest of its near members' distances and
        // its beam entry (at the largest R²). A view's smallest distance to the members at or
        // above the cache's threshold t is at or above the bound U ≤ t, where it cannot tighten
        // a cutoff (`bound.min(bound_of(lo))`, `bound_of(x) ≥ x`): the near members' smallest
        // serves. The same holds for the pairs of rows.
        debug_assert!(bound <= self.cache_t || self.members.is_empty());
        let t = self.cache_t;
        let mut view_lo = std::mem::take(&mut self.view_cut);
        view_lo.clear();
        self.row_near.clear();
        let mut slot = 0;
        for (row, w) in self.row_view.iter().enumerate() {
            while slot + 1 < nv && self.row_start[slot + 1] as usize <= row {
                slot += 1;
            }
            if !w.on {
                view_lo.push(f64::INFINITY);
                self.row_near.push(u32::MAX);
                continue;
            }
            let v = self.varying[slot] as usize;
            let rows = &mut self.near_rows;
            let id = match self.near[v].iter().find(|&&id| rows[id as usize].is(w)) {
                Some(&id) => id,
                None => {
                    let row = NearRow {
                        slot: v as u32,
                        y: w.y,
                        phi: w.phi,
                        s: w.s,
                        alive: true,
                        fresh: true,
                        t: f64::NEG_INFINITY,
                        members: Vec::new(),
                    };
                    let id = match self.free.pop() {
                        Some(id) => {
                            let old = std::mem::replace(&mut rows[id as usize], row);
                            // Its room for members is reused.
                            rows[id as usize].members = old.members;
                            id
                        }
                        None => {
                            rows.push(row);
                            (rows.len() - 1) as u32
                        }
                    };
                    self.near[v].push(id);
                    id
                }
            };
            let nr = &mut rows[id as usize];
            if nr.t < t {
                nr.t = t;
                // The distances in a loop without branches (it vectorises), then the near ones
                // kept without a branch either (entries past the count are scratch).
                let (ms, my, mphi) = (&self.ms[..m], &self.my[..m], &self.mphi[..m]);
                let xs = &mut self.rows.xs;
                xs.resize(m, 0.0);
                for j in 0..m {
                    xs[j] = pair_distance(w.s, w.y, w.phi, ms[j], my[j], mphi[j]);
                }
                let kept = &mut nr.members;
                kept.resize(m, (0, 0.0));
                let mut n = 0;
                for (&x, &member) in xs.iter().zip(&self.members) {
                    kept[n] = (member, x);
                    n += usize::from(x < t);
                }
                kept.truncate(n);
            }
            let lo = nr
                .members
                .iter()
                .fold(f64::INFINITY, |m, &(_, x)| if x < m { x } else { m });
            view_lo.push(lo.min(w.s * r2.1));
            self.row_near.push(id);
        }
        self.find_vpairs(t);
        // Per world and varying slot, the row the world sees.
        self.seen.clear();
        self.seen.resize(nw * nv, u32::MAX);
        for i in 0..nv {
            for k in 0..nw {
                self.seen[k * nv + i] = self.row_near[self.view_at[i * nw + k] as usize];
            }
        }
        // Whether world k sees rows a and b (of two slots) as the views of their slots.
        let (rows, seen, var) = (&self.near_rows, &self.seen, &self.var_index);
        let sees = |k: usize, a: u32, b: u32| {
            let (i, j) = (
                var[rows[a as usize].slot as usize] as usize,
                var[rows[b as usize].slot as usize] as usize,
            );
            seen[k * nv + i] == a && seen[k * nv + j] == b
        };
        // Per world: the members' bound, each varying slot's view of it, the pairs of them.
        let mut lo: SmallVec<[f64; 4]> = smallvec::smallvec![f64::INFINITY; nw];
        for &(a, b, x) in &self.vpairs {
            for (k, lo) in lo.iter_mut().enumerate() {
                if x < *lo && sees(k, a, b) {
                    *lo = x;
                }
            }
        }
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
        // The pairs of varying slots below the cutoff of a world that sees both their rows.
        self.vkeys.clear();
        for &(a, b, x) in &self.vpairs {
            if (0..nw).any(|k| x < self.world_cut[k] && sees(k, a, b)) {
                let (sa, sb) = (rows[a as usize].slot, rows[b as usize].slot);
                self.vkeys
                    .push(Candidate::pair(sa as usize, sb as usize).key());
            }
        }
        // Per view: the largest cutoff among the worlds that see its slot so.
        let rows = self.row_view.len();
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

    /// Brings `vpairs` up to date with the rows (all alive; the fresh ones new this step): every
    /// pair of rows of two slots below the threshold `t` is found again where it rose above
    /// `vpairs_t`, else the fresh rows' pairs are added.
    fn find_vpairs(&mut self, t: f64) {
        let rows = &mut self.near_rows;
        let ids = self
            .varying
            .iter()
            .flat_map(|&v| self.near[v as usize].iter().copied());
        if self.vpairs_t < t {
            self.vpairs.clear();
            self.vpairs_t = t;
            let all: SmallVec<[u32; 32]> = ids.collect();
            for (n, &a) in all.iter().enumerate() {
                rows[a as usize].fresh = false;
                for &b in &all[n + 1..] {
                    let (ra, rb) = (&rows[a as usize], &rows[b as usize]);
                    let x = ra.distance_to(rb);
                    if ra.slot != rb.slot && x < t {
                        self.vpairs.push((a, b, x));
                    }
                }
            }
            return;
        }
        let fresh: SmallVec<[u32; 8]> = ids.filter(|&id| rows[id as usize].fresh).collect();
        if fresh.is_empty() {
            return;
        }
        let t = self.vpairs_t;
        for &a in &fresh {
            // Pairs with the rows that are not fresh (a fresh one is paired once, when the
            // later of the two is).
            rows[a as usize].fresh = false;
            for &v in &self.varying {
                for &b in &self.near[v as usize] {
                    let (ra, rb) = (&rows[a as usize], &rows[b as usize]);
                    if b == a || rb.fresh || ra.slot == rb.slot {
                        continue;
                    }
                    let x = ra.distance_to(rb);
                    if x < t {
                        self.vpairs.push((a, b, x));
                    }
                }
            }
        }
    }
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

    /// The same promise where slots differ between worlds: with stochastic triples (pruned,
    /// keep-4 and keep-16), every candidate that is active in some world the state carries with
    /// a distance below that world's cutoff (1 + ln(1/ε)/α)·D̃min is live, at every step of
    /// sampled runs (the varying slots' rows and their pairs, kept from step to step, are
    /// checked against every candidate in every world).
    #[test]
    fn live_candidates_cover_every_world() {
        let event = leading(1, 60);
        for (r, alpha) in [(0.4, 1.0), (0.8, 4.0)] {
            let runs = crate::gradient(|[r, a]| checked_run(&event, r, a))
                .at([r, alpha])
                .samples(6)
                .runs()
                .unwrap();
            assert!(runs.iter().all(|o| o.value > 0.0));
            let keep =
                crate::gradient_with(|[r, a]: [KeepTriple<4, 2>; 2]| checked_run(&event, r, a))
                    .at([r, alpha])
                    .samples(4)
                    .runs()
                    .unwrap();
            assert!(keep.iter().all(|o| o.value > 0.0));
        }
        let many = crate::gradient_with(|[r, a]: [KeepTriple<16, 2>; 2]| checked_run(&event, r, a))
            .at([0.6, 2.0])
            .samples(2)
            .runs()
            .unwrap();
        assert!(many.iter().all(|o| o.value > 0.0));
    }

    /// One Qanti-kT run (the clusterer's loop, default sampling) that checks at every step, in
    /// every world the candidates carry, that each candidate active there with a distance below
    /// that world's cutoff is live and that the returned bound U is at least every world's
    /// cutoff; returns the number of live candidates over the run.
    fn checked_run<S: Scalar>(
        event: &[crate::jets::FourMomentum],
        r: S,
        alpha: S,
    ) -> crate::Result<S> {
        let Sampling::Categorical(family) = Sampling::default() else {
            unreachable!("the default sampling draws")
        };
        let mut st = State::<S>::new(event)?;
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
