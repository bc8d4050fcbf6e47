//! Finds the system DPDK with pkg-config, generates bindings for the headers in `src/wrapper.h`
//! and compiles C wrappers for DPDK's `static inline` functions, all with DPDK's own cflags.

use std::env;
use std::path::PathBuf;

const MIN_VERSION: &str = "22.11";

fn main() {
    println!("cargo:rerun-if-changed=src/wrapper.h");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG");

    let lib = pkg_config::Config::new()
        .atleast_version(MIN_VERSION)
        .cargo_metadata(true)
        .probe("libdpdk")
        .unwrap_or_else(|e| {
            panic!(
                "DPDK >= {MIN_VERSION} not found by pkg-config ({e}); install libdpdk-dev \
                 (Debian/Ubuntu) or set PKG_CONFIG_PATH to the directory holding libdpdk.pc"
            )
        });
    println!("cargo:version={}", lib.version);

    // Every token of `pkg-config --cflags`, verbatim: it carries `-include rte_config.h` and
    // `-march=...`, which change struct layouts (rte_mbuf) if left out.
    let cflags = run_pkg_config(&["--cflags", "libdpdk"]);
    let mut clang_args: Vec<String> = cflags.split_whitespace().map(str::to_owned).collect();
    // Wrappers call a few functions DPDK still marks experimental.
    clang_args.push("-DALLOW_EXPERIMENTAL_API".into());

    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let wrap_c = out.join("static_fns");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let header = manifest.join("src/wrapper.h");

    let bindings = bindgen::Builder::default()
        .header(header.to_string_lossy())
        .clang_args(&clang_args)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .allowlist_function("rte_eal_.*")
        .allowlist_function("rte_eth_.*")
        .allowlist_function("rte_flow_.*")
        .allowlist_function("rte_pktmbuf_.*")
        .allowlist_function("rte_mbuf_.*")
        .allowlist_function("rte_mempool_.*")
        .allowlist_function("rte_ring_.*")
        .allowlist_function("rte_lcore_.*")
        .allowlist_function("rte_get_next_lcore")
        .allowlist_function("rte_get_main_lcore")
        .allowlist_function("rte_socket_id")
        .allowlist_function("rte_socket_count")
        .allowlist_function("rte_strerror")
        .allowlist_function("rte_get_tsc_.*")
        .allowlist_function("rte_rdtsc.*")
        .allowlist_function("rte_delay_us_block")
        .allowlist_function("rte_dev_.*")
        .allowlist_function("rte_vdev_.*")
        .allowlist_function("rte_version")
        .allowlist_function("rvs_.*")
        .allowlist_var("RVS_.*")
        .allowlist_var("RTE_MBUF_F_.*")
        .allowlist_var("RTE_PKTMBUF_HEADROOM")
        .allowlist_var("RTE_MBUF_DEFAULT_.*")
        .allowlist_var("RTE_ETHER_.*")
        .allowlist_var("RTE_MAX_LCORE")
        .allowlist_var("RTE_MAX_ETHPORTS")
        .allowlist_var("RTE_ETH_NAME_MAX_LEN")
        .allowlist_var("RTE_ETH_LINK_.*")
        .allowlist_var("RTE_ETH_SPEED_NUM_.*")
        .allowlist_var("RTE_ETH_MQ_.*")
        .allowlist_var("RING_F_.*")
        .allowlist_var("SOCKET_ID_ANY")
        .allowlist_var("LCORE_ID_ANY")
        .allowlist_var("RTE_RING_NAMESIZE")
        .allowlist_var("RTE_MEMPOOL_NAMESIZE")
        .allowlist_type("rte_flow_item_(eth|ipv4|ipv6|tcp|udp|any|type)")
        .allowlist_type("rte_flow_action_(queue|rss|mark|type)")
        .opaque_type("rte_l2tpv2_.*")
        .allowlist_type("rte_ipv4_hdr")
        .allowlist_type("rte_tcp_hdr")
        .allowlist_type("rte_udp_hdr")
        .rustified_enum("rte_flow_item_type")
        .rustified_enum("rte_flow_action_type")
        .rustified_enum("rte_flow_error_type")
        .rustified_enum("rte_lcore_state_t")
        .use_core()
        .derive_default(true)
        .derive_debug(true)
        .layout_tests(true)
        .wrap_static_fns(true)
        .wrap_static_fns_path(&wrap_c)
        .generate()
        .expect("bindgen failed on DPDK's headers; check that clang/libclang-dev is installed");
    bindings.write_to_file(out.join("bindings.rs")).expect("writing bindings.rs");

    // bindgen wrote `static_fns.c`, one extern wrapper per static inline in the allowlist.
    let mut build = cc::Build::new();
    build.file(wrap_c.with_extension("c")).include(&manifest).include(manifest.join("src"));
    for arg in &clang_args {
        build.flag(arg);
    }
    build.flag_if_supported("-Wno-deprecated-declarations");
    build.warnings(false);
    build.opt_level(3);
    build.compile("rvs_dpdk_static_fns");
}

fn run_pkg_config(args: &[&str]) -> String {
    let tool = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into());
    let out = std::process::Command::new(&tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run pkg-config {args:?}: {e}"));
    assert!(out.status.success(), "pkg-config {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
