//! A hierarchical timer wheel over entry indices, with lazy re-arming.
//!
//! Owns the wheel's slot heads and its notion of the current tick. It does not own the
//! per-entry timer state: each entry embeds a [`TimerNode`] (links and deadline) that the wheel
//! reaches through [`TimerNodes`], so arming a timer touches the entry the caller already has
//! in cache and the wheel needs no memory per entry. Time comes from the caller as a [`Tick`].
//!
//! # Shape
//! - Tick: 100 ms. The shortest IPVS timeout is 2 s (TCP NONE), so a tick is 5 % of it, and
//!   `ipvsadm -L -c` shows whole seconds; an idle worker turns 10 slots a second.
//! - Three levels: 256 slots of one tick (25.6 s), 64 slots of 256 ticks (27 min), 64 slots of
//!   16 384 ticks (29 h). A deadline further away is parked in the farthest slot and re-armed
//!   when that slot comes due, so any delay up to [`MAX_DELAY_TICKS`] works.
//! - Slots are intrusive doubly linked lists threaded through the nodes: arm, cancel and move
//!   are O(1) and the only memory is 385 slot heads.
//! - Lazy deletion: when a deadline moves later (the common case: a packet refreshes a
//!   connection) only the node's deadline changes. When its old slot comes due the entry is
//!   found not due and re-armed in the right slot. A deadline moving earlier is re-linked at
//!   once so it is never late.
//! - Bounded work: when a higher-level slot comes due its list is moved aside in O(1) and
//!   re-placed a node at a time by the following calls ([`TimerWheel::pop_expired_within`]
//!   takes a step budget), so one call never walks a slot of a million entries; no tick is
//!   taken while a cascade is pending, so nothing comes due late except by the budget.
//! - Ticks are `u32` and wrap (13.6 years at 100 ms); deadlines are compared with wrapping
//!   arithmetic, which is exact while every deadline is within 2^31 ticks of now, guaranteed by
//!   clamping delays to [`MAX_DELAY_TICKS`].

use crate::time::Instant;

/// A point in wheel time: 100 ms units since the clock's origin, wrapping.
pub type Tick = u32;

/// Length of one tick in microseconds.
pub const TICK_MICROS: u64 = 100_000;
/// Ticks per second.
pub const TICKS_PER_SEC: u32 = 10;
/// The largest delay [`TimerWheel::arm`] is asked for; longer ones must be clamped by the
/// caller ([`delay_ticks`] does). 2^30 ticks, about 3.4 years.
pub const MAX_DELAY_TICKS: u32 = 1 << 30;

/// The tick `now` falls in.
pub fn tick_of(now: Instant) -> Tick {
    // Truncation is the intended wrap.
    (now.as_micros() / TICK_MICROS) as u32
}

/// A delay of `secs` seconds in ticks, clamped to 1..=[`MAX_DELAY_TICKS`] (a zero delay
/// would let an entry that re-arms itself on expiry come due again in the same call).
pub fn delay_ticks(secs: u32) -> u32 {
    secs.saturating_mul(TICKS_PER_SEC).clamp(1, MAX_DELAY_TICKS)
}

/// Whether `deadline` has been reached at `now`.
pub fn is_due(deadline: Tick, now: Tick) -> bool {
    (now.wrapping_sub(deadline) as i32) >= 0
}

/// Ticks left from `now` until `deadline`, zero if it has passed.
pub fn remaining(deadline: Tick, now: Tick) -> u32 {
    if is_due(deadline, now) {
        0
    } else {
        deadline.wrapping_sub(now)
    }
}

const L0_SLOTS: u32 = 256;
const L1_SLOTS: u32 = 64;
const L2_SLOTS: u32 = 64;
const L1_SHIFT: u32 = 8;
const L2_SHIFT: u32 = 14;
const L1_SPAN: u32 = 1 << L2_SHIFT; // ticks covered by levels 0 and 1
const L2_SPAN: u32 = 1 << 20; // ticks covered by all levels
const L1_BASE: u32 = L0_SLOTS;
const L2_BASE: u32 = L0_SLOTS + L1_SLOTS;
/// The list of entries taken out of a slot that came due and not yet looked at.
const DUE: u32 = L0_SLOTS + L1_SLOTS + L2_SLOTS;
/// The entries of the level-2 and level-1 slots that came due, not yet re-placed (the
/// cascade, done a node at a time).
const PENDING_L2: u32 = DUE + 1;
const PENDING_L1: u32 = DUE + 2;
const HEADS: usize = PENDING_L1 as usize + 1;

/// "No entry" in a link.
const NIL: u32 = u32::MAX;
/// A `prev` link with this bit set names a slot head (`prev & !HEAD_BIT`), not an entry.
const HEAD_BIT: u32 = 1 << 31;

/// The largest entry index the wheel can hold (indices use 31 bits).
pub const MAX_INDEX: u32 = HEAD_BIT - 1;

/// Per-entry timer state, embedded in each entry. 12 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerNode {
    prev: u32,
    next: u32,
    deadline: Tick,
}

impl Default for TimerNode {
    fn default() -> Self {
        TimerNode::UNARMED
    }
}

impl TimerNode {
    /// A node not in the wheel.
    pub const UNARMED: TimerNode = TimerNode { prev: NIL, next: NIL, deadline: 0 };

    /// Whether the node is in the wheel.
    pub fn is_armed(&self) -> bool {
        self.prev != NIL
    }

    /// The deadline last armed (meaningless when not armed).
    pub fn deadline(&self) -> Tick {
        self.deadline
    }

    /// Links reused by an owner while the node is not armed (e.g. a free list).
    pub(crate) fn spare_link(&self) -> u32 {
        self.next
    }

    /// Sets the link reused while the node is not armed.
    pub(crate) fn set_spare_link(&mut self, v: u32) {
        debug_assert!(!self.is_armed());
        self.next = v;
    }
}

/// Access to the [`TimerNode`] of each entry, by index. Indices handed to the wheel must be
/// valid for the implementation.
pub trait TimerNodes {
    /// The node of entry `idx`.
    fn timer_node(&self, idx: u32) -> &TimerNode;
    /// The node of entry `idx`, writable.
    fn timer_node_mut(&mut self, idx: u32) -> &mut TimerNode;
}

impl TimerNodes for [TimerNode] {
    fn timer_node(&self, idx: u32) -> &TimerNode {
        &self[idx as usize]
    }
    fn timer_node_mut(&mut self, idx: u32) -> &mut TimerNode {
        &mut self[idx as usize]
    }
}

/// The wheel. See the module documentation.
#[derive(Debug, Clone)]
pub struct TimerWheel {
    heads: Box<[u32; HEADS]>,
    /// The next tick whose slots have not been taken yet.
    cur: Tick,
    armed: u32,
}

impl TimerWheel {
    /// A wheel whose time starts at `now`.
    pub fn new(now: Tick) -> Self {
        TimerWheel { heads: Box::new([NIL; HEADS]), cur: now, armed: 0 }
    }

    /// Number of entries in the wheel.
    pub fn armed(&self) -> u32 {
        self.armed
    }

    /// Arms (or re-arms) entry `idx` to come due at `deadline`. A later deadline than the
    /// current one only updates the node (lazy); an earlier one re-links it.
    pub fn arm<N: TimerNodes + ?Sized>(&mut self, nodes: &mut N, idx: u32, deadline: Tick) {
        debug_assert!(idx <= MAX_INDEX);
        let node = nodes.timer_node_mut(idx);
        if node.is_armed() {
            if is_due(node.deadline, deadline) {
                // Written only when it moves: most packets of a connection fall in the tick
                // of the one before and leave the entry's line clean.
                if node.deadline != deadline {
                    node.deadline = deadline;
                }
                return;
            }
            self.unlink(nodes, idx);
        } else {
            self.armed += 1;
        }
        nodes.timer_node_mut(idx).deadline = deadline;
        self.place(nodes, idx);
    }

    /// Takes entry `idx` out of the wheel. Returns whether it was armed.
    pub fn cancel<N: TimerNodes + ?Sized>(&mut self, nodes: &mut N, idx: u32) -> bool {
        if !nodes.timer_node(idx).is_armed() {
            return false;
        }
        self.unlink(nodes, idx);
        self.armed -= 1;
        true
    }

    /// Returns one entry whose deadline is at or before `now`, taking it out of the wheel, or
    /// `None` when there is none left. Entries found in a due slot with a deadline that moved
    /// on are re-armed on the way. Call repeatedly to drain; `now` going backwards is treated
    /// as the latest `now` seen.
    pub fn pop_expired<N: TimerNodes + ?Sized>(&mut self, nodes: &mut N, now: Tick) -> Option<u32> {
        let mut unbounded = u32::MAX;
        self.pop_expired_within(nodes, now, &mut unbounded)
    }

    /// [`TimerWheel::pop_expired`] doing at most `budget` steps (each step moves one node
    /// or one tick; the budget is decreased by the steps taken). Returns `None` when the
    /// budget runs out before an entry is found (then the budget is 0; it is left above 0
    /// exactly when nothing more is due): the wheel keeps its place, and a later call goes on
    /// from there. This is what bounds a worker's poll: a cascade of a slot holding
    /// many thousands of entries is spread over as many calls as the budget asks.
    pub fn pop_expired_within<N: TimerNodes + ?Sized>(
        &mut self,
        nodes: &mut N,
        now: Tick,
        budget: &mut u32,
    ) -> Option<u32> {
        let last = self.cur.wrapping_sub(1);
        let now = if is_due(now, last) { last } else { now };
        while *budget > 0 {
            *budget -= 1;
            // Finish the cascade first: no tick is taken while one is pending.
            if let Some(slot) =
                [PENDING_L2, PENDING_L1].into_iter().find(|&h| self.heads[h as usize] != NIL)
            {
                let idx = self.heads[slot as usize];
                self.unlink(nodes, idx);
                self.place(nodes, idx);
                continue;
            }
            let head = self.heads[DUE as usize];
            if head != NIL {
                self.unlink(nodes, head);
                if is_due(nodes.timer_node(head).deadline, now) {
                    self.armed -= 1;
                    return Some(head);
                }
                self.place(nodes, head);
                continue;
            }
            if self.armed == 0 {
                // Nothing to find: jump straight to now. Finding nothing is not a step, so
                // a caller sees budget left exactly when the wheel has nothing due.
                self.cur = now.wrapping_add(1);
                *budget += 1;
                return None;
            }
            let t = self.cur;
            if !is_due(t, now) {
                *budget += 1;
                return None;
            }
            if t % L0_SLOTS == 0 {
                if (t >> L1_SHIFT) % L1_SLOTS == 0 {
                    self.move_list(nodes, L2_BASE + (t >> L2_SHIFT) % L2_SLOTS, PENDING_L2);
                }
                self.move_list(nodes, L1_BASE + (t >> L1_SHIFT) % L1_SLOTS, PENDING_L1);
            }
            // The pending cascade goes on from the next tick: its nodes due at `t` or
            // earlier land on the due list then, the others in their slots.
            self.splice_to_due(nodes, t % L0_SLOTS);
            self.cur = t.wrapping_add(1);
        }
        None
    }

    /// Moves the whole list of slot `from` to the empty head `to`.
    fn move_list<N: TimerNodes + ?Sized>(&mut self, nodes: &mut N, from: u32, to: u32) {
        debug_assert_eq!(self.heads[to as usize], NIL);
        let head = self.heads[from as usize];
        self.heads[from as usize] = NIL;
        if head != NIL {
            nodes.timer_node_mut(head).prev = HEAD_BIT | to;
            self.heads[to as usize] = head;
        }
    }

    /// Puts an unlinked node into the slot its deadline calls for, relative to `self.cur`.
    /// An overdue node (its tick already taken) goes to the due list.
    fn place<N: TimerNodes + ?Sized>(&mut self, nodes: &mut N, idx: u32) {
        let d = nodes.timer_node(idx).deadline;
        let delta = d.wrapping_sub(self.cur) as i32;
        let slot = if delta < 0 {
            DUE
        } else {
            let delta = delta as u32;
            if delta < L0_SLOTS {
                d % L0_SLOTS
            } else if delta < L1_SPAN {
                L1_BASE + (d >> L1_SHIFT) % L1_SLOTS
            } else if delta < L2_SPAN {
                L2_BASE + (d >> L2_SHIFT) % L2_SLOTS
            } else {
                let far = self.cur.wrapping_add(L2_SPAN - 1);
                L2_BASE + (far >> L2_SHIFT) % L2_SLOTS
            }
        };
        self.push(nodes, slot, idx);
    }

    fn push<N: TimerNodes + ?Sized>(&mut self, nodes: &mut N, slot: u32, idx: u32) {
        let old = self.heads[slot as usize];
        if old != NIL {
            nodes.timer_node_mut(old).prev = idx;
        }
        let node = nodes.timer_node_mut(idx);
        node.prev = HEAD_BIT | slot;
        node.next = old;
        self.heads[slot as usize] = idx;
    }

    fn unlink<N: TimerNodes + ?Sized>(&mut self, nodes: &mut N, idx: u32) {
        let node = *nodes.timer_node(idx);
        if node.next != NIL {
            nodes.timer_node_mut(node.next).prev = node.prev;
        }
        if node.prev & HEAD_BIT != 0 {
            self.heads[(node.prev & !HEAD_BIT) as usize] = node.next;
        } else {
            nodes.timer_node_mut(node.prev).next = node.next;
        }
        let n = nodes.timer_node_mut(idx);
        n.prev = NIL;
        n.next = NIL;
    }

    /// Moves a level-0 slot's list to the due list.
    fn splice_to_due<N: TimerNodes + ?Sized>(&mut self, nodes: &mut N, slot: u32) {
        let head = self.heads[slot as usize];
        if head == NIL {
            return;
        }
        if self.heads[DUE as usize] == NIL {
            self.heads[slot as usize] = NIL;
            nodes.timer_node_mut(head).prev = HEAD_BIT | DUE;
            self.heads[DUE as usize] = head;
        } else {
            let mut idx = head;
            self.heads[slot as usize] = NIL;
            while idx != NIL {
                let next = nodes.timer_node(idx).next;
                self.push(nodes, DUE, idx);
                idx = next;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn drain(w: &mut TimerWheel, nodes: &mut [TimerNode], now: Tick) -> Vec<u32> {
        let mut v = vec![];
        while let Some(i) = w.pop_expired(nodes, now) {
            assert!(!nodes[i as usize].is_armed());
            v.push(i);
        }
        v.sort_unstable();
        v
    }

    /// Advances one tick at a time and records the tick each entry came out at.
    fn fire_ticks(
        w: &mut TimerWheel,
        nodes: &mut [TimerNode],
        from: Tick,
        to: Tick,
    ) -> BTreeMap<u32, Tick> {
        let mut m = BTreeMap::new();
        let mut t = from;
        while t != to.wrapping_add(1) {
            for i in drain(w, nodes, t) {
                assert!(m.insert(i, t).is_none(), "entry {i} fired twice");
            }
            t = t.wrapping_add(1);
        }
        m
    }

    #[test]
    fn tick_conversion() {
        assert_eq!(tick_of(Instant::from_millis(1999)), 19);
        assert_eq!(tick_of(Instant::from_secs(2)), 20);
        assert_eq!(delay_ticks(900), 9000);
        assert_eq!(delay_ticks(u32::MAX), MAX_DELAY_TICKS);
        assert_eq!(delay_ticks(0), 1);
        assert!(is_due(5, 5));
        assert!(is_due(5, 6));
        assert!(!is_due(6, 5));
        assert!(is_due(u32::MAX, 2)); // across the wrap
        assert!(!is_due(2, u32::MAX));
        assert_eq!(remaining(10, 4), 6);
        assert_eq!(remaining(4, 10), 0);
    }

    #[test]
    fn entries_fire_at_their_tick_across_level_boundaries() {
        // Delays on both sides of every level boundary, and past the top level.
        let delays: Vec<u32> = vec![
            0, 1, 2, 254, 255, 256, 257, 511, 512, 16_383, 16_384, 16_385, 40_000, 1_048_575,
            1_048_576, 1_048_577, 3_000_000,
        ];
        for start in [0u32, 1, 255, 256, 16_383, 16_384, 1_000_003, u32::MAX - 20_000] {
            let mut nodes = vec![TimerNode::UNARMED; delays.len()];
            let mut w = TimerWheel::new(start);
            for (i, d) in delays.iter().enumerate() {
                w.arm(&mut nodes[..], i as u32, start.wrapping_add(*d));
            }
            assert_eq!(w.armed(), delays.len() as u32);
            let end = start.wrapping_add(3_000_001);
            let fired = fire_ticks(&mut w, &mut nodes, start, end);
            for (i, d) in delays.iter().enumerate() {
                assert_eq!(
                    fired.get(&(i as u32)),
                    Some(&start.wrapping_add(*d)),
                    "start {start} delay {d}"
                );
            }
            assert_eq!(w.armed(), 0);
        }
    }

    #[test]
    fn rearm_later_is_lazy_and_moves_the_deadline() {
        let mut nodes = vec![TimerNode::UNARMED; 2];
        let mut w = TimerWheel::new(100);
        w.arm(&mut nodes[..], 0, 110);
        w.arm(&mut nodes[..], 1, 110);
        let before = nodes[0];
        w.arm(&mut nodes[..], 0, 5000); // later: only the deadline changes
        assert_eq!(nodes[0].prev, before.prev);
        assert_eq!(nodes[0].next, before.next);
        assert_eq!(nodes[0].deadline(), 5000);
        let fired = fire_ticks(&mut w, &mut nodes, 100, 6000);
        assert_eq!(fired.get(&1), Some(&110));
        assert_eq!(fired.get(&0), Some(&5000));
    }

    #[test]
    fn rearm_earlier_relinks() {
        let mut nodes = vec![TimerNode::UNARMED; 1];
        let mut w = TimerWheel::new(0);
        w.arm(&mut nodes[..], 0, 9000); // in level 1
        w.arm(&mut nodes[..], 0, 100);
        let fired = fire_ticks(&mut w, &mut nodes, 0, 10_000);
        assert_eq!(fired.get(&0), Some(&100));
    }

    #[test]
    fn cancel_and_overdue_arm() {
        let mut nodes = vec![TimerNode::UNARMED; 3];
        let mut w = TimerWheel::new(50);
        w.arm(&mut nodes[..], 0, 60);
        w.arm(&mut nodes[..], 1, 60);
        assert!(w.cancel(&mut nodes[..], 0));
        assert!(!w.cancel(&mut nodes[..], 0));
        assert_eq!(w.armed(), 1);
        assert_eq!(drain(&mut w, &mut nodes, 70), vec![1]);
        // Armed in the past: due at once.
        w.arm(&mut nodes[..], 2, 10);
        assert_eq!(drain(&mut w, &mut nodes, 70), vec![2]);
        // Time going backwards does not un-expire or loop.
        w.arm(&mut nodes[..], 0, 71);
        assert_eq!(drain(&mut w, &mut nodes, 20), Vec::<u32>::new());
        assert_eq!(drain(&mut w, &mut nodes, 71), vec![0]);
    }

    #[test]
    fn catch_up_after_a_long_pause() {
        let mut nodes = vec![TimerNode::UNARMED; 3];
        let mut w = TimerWheel::new(0);
        w.arm(&mut nodes[..], 0, 10);
        w.arm(&mut nodes[..], 1, 20_000);
        w.arm(&mut nodes[..], 2, 2_000_000);
        assert_eq!(drain(&mut w, &mut nodes, 1_500_000), vec![0, 1]);
        assert_eq!(drain(&mut w, &mut nodes, 1_999_999), Vec::<u32>::new());
        assert_eq!(drain(&mut w, &mut nodes, 2_000_000), vec![2]);
    }

    /// Drains with calls of `budget` steps each until a call ends with budget left.
    fn drain_within(
        w: &mut TimerWheel,
        nodes: &mut [TimerNode],
        now: Tick,
        budget: u32,
    ) -> Vec<u32> {
        let mut v = vec![];
        loop {
            let mut b = budget;
            while let Some(i) = w.pop_expired_within(nodes, now, &mut b) {
                v.push(i);
            }
            if b > 0 {
                break;
            }
        }
        v.sort_unstable();
        v
    }

    #[test]
    fn a_big_slot_cascades_over_many_bounded_calls() {
        // 100k entries in one level-1 slot (deadlines 300..500, slot 256..512): the cascade at tick 256 is
        // spread over calls of 100 steps, none found early, all found when due.
        let n = 100_000u32;
        let mut nodes = vec![TimerNode::UNARMED; n as usize];
        let mut w = TimerWheel::new(0);
        for i in 0..n {
            w.arm(&mut nodes[..], i, 300 + i % 200);
        }
        let mut calls = 0;
        loop {
            let mut b = 100;
            assert_eq!(w.pop_expired_within(&mut nodes[..], 299, &mut b), None);
            calls += 1;
            if b > 0 {
                break;
            }
        }
        assert!(calls > n / 100, "{calls} calls");
        assert_eq!(w.armed(), n);
        assert_eq!(
            drain_within(&mut w, &mut nodes, 300, 7),
            (0..n).filter(|i| i % 200 == 0).collect::<Vec<_>>()
        );
        assert_eq!(drain_within(&mut w, &mut nodes, 600, 100).len() as u32, n - n.div_ceil(200));
        assert_eq!(w.armed(), 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Arm(u8, u32),
        Cancel(u8),
        Advance(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..32, prop_oneof![0u32..300, 0u32..20_000, 0u32..2_500_000]).prop_map(|(i, d)| Op::Arm(i, d)),
            1 => (0u8..32).prop_map(Op::Cancel),
            3 => prop_oneof![3 => 0u32..4, 3 => 0u32..400, 2 => 0u32..40_000, 1 => 0u32..600_000].prop_map(Op::Advance),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// The wheel against a map of deadlines: at every advance, the set of entries popped
        /// is exactly the set whose deadline has been reached.
        #[test]
        fn matches_naive_model(start in any::<u32>(), budget in prop_oneof![Just(u32::MAX), 1u32..6], ops in proptest::collection::vec(op(), 1..120)) {
            let mut nodes = vec![TimerNode::UNARMED; 32];
            let mut w = TimerWheel::new(start);
            let mut model: BTreeMap<u32, Tick> = BTreeMap::new();
            let mut now = start;
            for op in ops {
                match op {
                    Op::Arm(i, d) => {
                        let dl = now.wrapping_add(d);
                        w.arm(&mut nodes[..], i as u32, dl);
                        model.insert(i as u32, dl);
                    }
                    Op::Cancel(i) => {
                        prop_assert_eq!(w.cancel(&mut nodes[..], i as u32), model.remove(&(i as u32)).is_some());
                    }
                    Op::Advance(by) => {
                        now = now.wrapping_add(by);
                        let got = if budget == u32::MAX { drain(&mut w, &mut nodes, now) } else { drain_within(&mut w, &mut nodes, now, budget) };
                        let want: Vec<u32> = model.iter().filter(|(_, &d)| is_due(d, now)).map(|(&i, _)| i).collect();
                        for i in &want { model.remove(i); }
                        prop_assert_eq!(got, want);
                    }
                }
                prop_assert_eq!(w.armed() as usize, model.len());
                for (i, n) in nodes.iter().enumerate() {
                    prop_assert_eq!(n.is_armed(), model.contains_key(&(i as u32)));
                    if let Some(&d) = model.get(&(i as u32)) {
                        prop_assert_eq!(n.deadline(), d);
                    }
                }
            }
        }
    }
}
