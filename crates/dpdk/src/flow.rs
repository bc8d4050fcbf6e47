//! rte_flow steering: probing whether a port can steer by destination address and L4 port
//! bits ([`probe_steering`]), and installing such rules ([`create_rule`] -> [`FlowRule`]).
//!
//! Owns the rule handles and the translation of `rte_flow_error` into text. The rule shape is
//! the one FULLNAT/SNAT reply steering needs: `ETH / IPV4 dst is A / TCP|UDP dst port & mask is
//! value -> QUEUE q`. Virtual devices mostly lack rte_flow: callers fall back to software
//! hand-off and log which steering is in force.

use std::ffi::CStr;
use std::net::Ipv4Addr;
use std::ptr::NonNull;
use std::sync::Arc;

use dpdk_sys::{
    rte_flow_action, rte_flow_action_queue, rte_flow_action_type, rte_flow_attr, rte_flow_error,
    rte_flow_item, rte_flow_item_ipv4, rte_flow_item_tcp, rte_flow_item_type, rte_flow_item_udp,
};

use super::error::{DpdkError, Errno};
use super::port::{ConfiguredPort, PortShared};

/// The L4 protocol a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L4Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// Whether the device accepts a rule shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowSupport {
    /// `rte_flow_validate` accepted it.
    Supported,
    /// Refused, with the driver's reason.
    Unsupported(String),
}

impl FlowSupport {
    /// `next()` if supported, else this refusal.
    fn and_then(self, next: impl FnOnce() -> FlowSupport) -> FlowSupport {
        match self {
            FlowSupport::Supported => next(),
            refused => refused,
        }
    }

    /// Whether the shape is supported.
    pub fn is_supported(&self) -> bool {
        matches!(self, FlowSupport::Supported)
    }
}

/// Steering capabilities of a port, per L4 protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSteering {
    /// `IPV4 dst + TCP dst port mask -> QUEUE`.
    pub tcp: FlowSupport,
    /// `IPV4 dst + UDP dst port mask -> QUEUE`.
    pub udp: FlowSupport,
}

/// What one rule matches and where it sends the packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SteeringRule {
    /// Destination IPv4 address (exact match).
    pub dst: Ipv4Addr,
    /// L4 protocol.
    pub proto: L4Proto,
    /// Destination port bits to match (after masking).
    pub port_value: u16,
    /// Destination port mask.
    pub port_mask: u16,
    /// Rx queue to steer to.
    pub queue: u16,
}

/// The C structures of a rule, kept together so the pointers between them stay valid.
struct RuleParts {
    attr: rte_flow_attr,
    ip_spec: rte_flow_item_ipv4,
    ip_mask: rte_flow_item_ipv4,
    tcp_spec: rte_flow_item_tcp,
    tcp_mask: rte_flow_item_tcp,
    udp_spec: rte_flow_item_udp,
    udp_mask: rte_flow_item_udp,
    queue: rte_flow_action_queue,
}

impl RuleParts {
    fn new(rule: &SteeringRule) -> Box<RuleParts> {
        let mut attr = rte_flow_attr::default();
        attr.set_ingress(1);
        // SAFETY: rte_flow_item_ipv4 is plain integers (a packed IPv4 header); all-zero is a
        // valid value.
        let (mut ip_spec, mut ip_mask): (rte_flow_item_ipv4, rte_flow_item_ipv4) =
            unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
        ip_spec.hdr.dst_addr = u32::from(rule.dst).to_be();
        ip_mask.hdr.dst_addr = u32::MAX;
        let mut tcp_spec = rte_flow_item_tcp::default();
        let mut tcp_mask = rte_flow_item_tcp::default();
        tcp_spec.hdr.dst_port = (rule.port_value & rule.port_mask).to_be();
        tcp_mask.hdr.dst_port = rule.port_mask.to_be();
        let mut udp_spec = rte_flow_item_udp::default();
        let mut udp_mask = rte_flow_item_udp::default();
        udp_spec.hdr.dst_port = (rule.port_value & rule.port_mask).to_be();
        udp_mask.hdr.dst_port = rule.port_mask.to_be();
        Box::new(RuleParts {
            attr,
            ip_spec,
            ip_mask,
            tcp_spec,
            tcp_mask,
            udp_spec,
            udp_mask,
            queue: rte_flow_action_queue { index: rule.queue },
        })
    }

    fn pattern(&self, proto: L4Proto) -> [rte_flow_item; 4] {
        let item = |type_, spec: *const std::ffi::c_void, mask: *const std::ffi::c_void| {
            rte_flow_item { type_, spec, last: std::ptr::null(), mask }
        };
        let (l4_type, l4_spec, l4_mask) = match proto {
            L4Proto::Tcp => (
                rte_flow_item_type::RTE_FLOW_ITEM_TYPE_TCP,
                (&self.tcp_spec as *const rte_flow_item_tcp).cast(),
                (&self.tcp_mask as *const rte_flow_item_tcp).cast(),
            ),
            L4Proto::Udp => (
                rte_flow_item_type::RTE_FLOW_ITEM_TYPE_UDP,
                (&self.udp_spec as *const rte_flow_item_udp).cast(),
                (&self.udp_mask as *const rte_flow_item_udp).cast(),
            ),
        };
        [
            item(rte_flow_item_type::RTE_FLOW_ITEM_TYPE_ETH, std::ptr::null(), std::ptr::null()),
            item(
                rte_flow_item_type::RTE_FLOW_ITEM_TYPE_IPV4,
                (&self.ip_spec as *const rte_flow_item_ipv4).cast(),
                (&self.ip_mask as *const rte_flow_item_ipv4).cast(),
            ),
            item(l4_type, l4_spec, l4_mask),
            item(rte_flow_item_type::RTE_FLOW_ITEM_TYPE_END, std::ptr::null(), std::ptr::null()),
        ]
    }

    fn actions(&self) -> [rte_flow_action; 2] {
        [
            rte_flow_action {
                type_: rte_flow_action_type::RTE_FLOW_ACTION_TYPE_QUEUE,
                conf: (&self.queue as *const rte_flow_action_queue).cast(),
            },
            rte_flow_action {
                type_: rte_flow_action_type::RTE_FLOW_ACTION_TYPE_END,
                conf: std::ptr::null(),
            },
        ]
    }
}

fn empty_error() -> rte_flow_error {
    rte_flow_error {
        type_: dpdk_sys::rte_flow_error_type::RTE_FLOW_ERROR_TYPE_NONE,
        cause: std::ptr::null(),
        message: std::ptr::null(),
    }
}

/// The driver's message from an `rte_flow_error`, or the errno text when it gave none.
fn error_message(err: &rte_flow_error, ret: i32) -> String {
    if err.message.is_null() {
        return Errno::new(ret).text;
    }
    // SAFETY: a non-null message is a NUL-terminated string with static storage in the driver.
    unsafe { CStr::from_ptr(err.message) }.to_string_lossy().into_owned()
}

fn validate(port_id: u16, rule: &SteeringRule) -> FlowSupport {
    let parts = RuleParts::new(rule);
    let pattern = parts.pattern(rule.proto);
    let actions = parts.actions();
    let mut err = empty_error();
    // SAFETY: attr, pattern and actions (and the specs/masks they point to in `parts`) live
    // across the call; err is a valid out-struct. An invalid port id is reported, not UB.
    let ret = unsafe {
        dpdk_sys::rte_flow_validate(
            port_id,
            &parts.attr,
            pattern.as_ptr(),
            actions.as_ptr(),
            &mut err,
        )
    };
    if ret == 0 {
        FlowSupport::Supported
    } else {
        FlowSupport::Unsupported(format!("{} ({})", error_message(&err, ret), Errno::new(ret)))
    }
}

/// Asks the port whether it can steer `IPV4 dst + TCP/UDP dst port mask` to rx queue `queue`:
/// `rte_flow_validate`, then, if the driver validates the shape, a trial rule created and
/// destroyed at once (for the TEST-NET address 192.0.2.1). Some drivers validate only the
/// pattern's syntax and refuse at creation what the device cannot do (`net_tap` on a kernel
/// without TC flower validates, then fails to create with "item not supported"), so a probe
/// that stopped at validation would report steering it cannot install. Nothing stays installed.
pub fn probe_steering(port_id: u16, queue: u16) -> FlowSteering {
    let rule = |proto| SteeringRule {
        dst: Ipv4Addr::new(192, 0, 2, 1),
        proto,
        port_value: 0,
        port_mask: 0x000f,
        queue,
    };
    FlowSteering {
        tcp: validate(port_id, &rule(L4Proto::Tcp))
            .and_then(|| trial(port_id, &rule(L4Proto::Tcp))),
        udp: validate(port_id, &rule(L4Proto::Udp))
            .and_then(|| trial(port_id, &rule(L4Proto::Udp))),
    }
}

/// Creates `rule` and destroys it again: whether the driver really installs it.
fn trial(port_id: u16, rule: &SteeringRule) -> FlowSupport {
    let flow = match raw_create(port_id, rule) {
        Ok(flow) => flow,
        Err((message, errno)) => {
            return FlowSupport::Unsupported(format!(
                "validated, but the driver refused to create the rule: {message} ({errno})"
            ))
        }
    };
    let mut err = empty_error();
    // SAFETY: flow was just returned by rte_flow_create on this port and is destroyed once.
    let ret = unsafe { dpdk_sys::rte_flow_destroy(port_id, flow.as_ptr(), &mut err) };
    if ret != 0 {
        return FlowSupport::Unsupported(format!(
            "a trial rule could not be destroyed: {} ({})",
            error_message(&err, ret),
            Errno::new(ret)
        ));
    }
    FlowSupport::Supported
}

/// `rte_flow_create` of `rule` on `port_id`: the handle, or the driver's message and errno.
fn raw_create(
    port_id: u16,
    rule: &SteeringRule,
) -> Result<NonNull<dpdk_sys::rte_flow>, (String, Errno)> {
    let parts = RuleParts::new(rule);
    let pattern = parts.pattern(rule.proto);
    let actions = parts.actions();
    let mut err = empty_error();
    // SAFETY: attr, pattern and actions (and the specs/masks they point to in `parts`) live
    // across the call; err is a valid out-struct; the driver copies what it keeps. An invalid
    // port id is reported, not UB.
    let flow = unsafe {
        dpdk_sys::rte_flow_create(
            port_id,
            &parts.attr,
            pattern.as_ptr(),
            actions.as_ptr(),
            &mut err,
        )
    };
    NonNull::new(flow).ok_or_else(|| {
        let errno = Errno::last();
        (error_message(&err, errno.code), errno)
    })
}

/// An installed rte_flow rule; destroyed by [`FlowRule::destroy`] or on drop. Keeps its port
/// open.
pub struct FlowRule {
    port_id: u16,
    flow: NonNull<dpdk_sys::rte_flow>,
    rule: SteeringRule,
    /// Whether the rule is still installed (cleared by `destroy`, so drop does not repeat it).
    installed: bool,
    _port: Arc<PortShared>,
}

// SAFETY: the rule handle is only passed back to rte_flow_destroy, which ethdev serialises.
unsafe impl Send for FlowRule {}

impl std::fmt::Debug for FlowRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowRule").field("port", &self.port_id).field("rule", &self.rule).finish()
    }
}

/// Installs `rule` on `port`.
pub fn create_rule(port: &ConfiguredPort, rule: SteeringRule) -> Result<FlowRule, DpdkError> {
    let port_id = port.id();
    match raw_create(port_id, &rule) {
        Ok(flow) => Ok(FlowRule { port_id, flow, rule, installed: true, _port: port.keep_open() }),
        Err((message, errno)) => {
            Err(DpdkError::Flow { port: port_id, op: "create", message, errno })
        }
    }
}

impl FlowRule {
    /// What the rule matches.
    pub fn rule(&self) -> &SteeringRule {
        &self.rule
    }

    /// Removes the rule from the port.
    pub fn destroy(mut self) -> Result<(), DpdkError> {
        self.installed = false;
        self.destroy_inner()
    }

    fn destroy_inner(&self) -> Result<(), DpdkError> {
        let mut err = empty_error();
        // SAFETY: flow was returned by rte_flow_create on this port, which is still open
        // (self keeps it), and is destroyed only once (destroy clears `installed` first, so
        // drop skips it).
        let ret = unsafe { dpdk_sys::rte_flow_destroy(self.port_id, self.flow.as_ptr(), &mut err) };
        if ret != 0 {
            return Err(DpdkError::Flow {
                port: self.port_id,
                op: "destroy",
                message: error_message(&err, ret),
                errno: Errno::new(ret),
            });
        }
        Ok(())
    }
}

impl Drop for FlowRule {
    fn drop(&mut self) {
        if !self.installed {
            return;
        }
        if let Err(e) = self.destroy_inner() {
            tracing::warn!(error = %e, "flow rule not destroyed");
        }
    }
}
