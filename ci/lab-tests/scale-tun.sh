#!/usr/bin/env bash
# Lab test of scale-out in TUN: ci/lab-tests/scale-dr.sh's checks (two directors behind an ECMP
# router, kill -9 mid-transfer, return, health-driven withdraw, clean stop) with the directors
# tunnelling to the real servers, dir1 in IPIP and dir2 in GUE (ci/lab-ecmp with ECMP_MODE=tun).
# lab-lane: own
SCALE_MODE=tun exec bash "$(dirname "${BASH_SOURCE[0]}")/scale-dr.sh" "$@"
