# shellcheck shell=bash
# The flood labs' shared helpers (modes/floods.sh, modes/synproxy.sh; docs/hardening/floods.md):
# a sampler of the connection table's size during a flood, and a flood that lasts as long as the
# run of requests it is meant to disturb. Sourced after common.bash (uses scrape, metric_sum, TMP,
# BG_PIDS). Owned by the harden helper.

# peak_sampler_start: samples rvs_conn_table_entries and rvs_lb_embryonic_conns (summed over the
# workers) every 0.5 s until peak_sampler_stop, keeping the largest of each in $TMP/peak as
# "entries embryonic samples".
peak_sampler_start() {
	rm -f "$TMP/stop-sampling" "$TMP/peak"
	(
		pe=0 pb=0 n=0
		while [[ ! -e $TMP/stop-sampling ]]; do
			if scrape >"$TMP/sample" 2>/dev/null; then
				e=$(metric_sum "$TMP/sample" rvs_conn_table_entries)
				b=$(metric_sum "$TMP/sample" rvs_lb_embryonic_conns)
				((e > pe)) && pe=$e
				((b > pb)) && pb=$b
				n=$((n + 1))
				echo "$pe $pb $n" >"$TMP/peak"
			fi
			sleep 0.5
		done
	) &
	PEAK_SAMPLER=$!
	BG_PIDS+=("$PEAK_SAMPLER")
}

# peak_sampler_stop: stops the sampler; PEAK_ENTRIES, PEAK_EMBRYONIC and PEAK_SAMPLES hold what it
# saw (0 0 0 when no scrape answered).
peak_sampler_stop() {
	touch "$TMP/stop-sampling"
	wait "$PEAK_SAMPLER" 2>/dev/null
	read -r PEAK_ENTRIES PEAK_EMBRYONIC PEAK_SAMPLES <"$TMP/peak" 2>/dev/null ||
		PEAK_ENTRIES=0 PEAK_EMBRYONIC=0 PEAK_SAMPLES=0
}

# The flood runs until the requests are over: start it with `--until-file "$FLOOD_STOP"` (and
# generous --count/--seconds bounds), call flood_until_start before, flood_until_stop PID once the
# requests and downloads ended. FLOOD_SPANNED is then 1 when the flood was still running at that
# moment (it stopped on the file, not on its own bounds).
flood_until_start() {
	FLOOD_STOP=$TMP/flood-stop
	rm -f "$FLOOD_STOP"
}
flood_until_stop() { # PID OUTPUT_FILE
	touch "$FLOOD_STOP"
	wait "$1" 2>/dev/null
	FLOOD_SPANNED=0
	grep -q 'stopped=file' "$2" && FLOOD_SPANNED=1
	return 0
}
