#!/usr/bin/env bash
# Aggregator load benchmark: N concurrent agent sessions over mutual TLS on
# loopback (one aggregator_loadgen process, one certificate per session) to
# one nf-aggregator. Prints, as JSON:
#   - memory per connected agent: (RSS with N idle sessions - RSS before any) / N
#   - the time of an N-client FedAvg round (rounds 1 and 2, from the metrics lines)
# Usage: bench/aggregator_load.sh [build dir] [sessions]   (defaults: build/release 1000)
set -euo pipefail
build=${1:-build/release}
n=${2:-1000}
agg=$build/aggregator/nf-aggregator
gen=$build/bench/aggregator_loadgen
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((30000 + RANDOM % 20000))
ulimit -n "$(ulimit -Hn)"

"$gen" --make-certs "$work" --sessions "$n" --id-prefix load-
tls=(--tls-ca "$work/ca.crt" --tls-cert "$work/server.crt" --tls-key "$work/server.key")
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
connected() { curl -s "http://127.0.0.1:$1/metrics" | awk '/^nf_aggregator_connected_devices/ {print $2}'; }

# Phase 1: N idle sessions (min-clients above N, so no round starts).
"$agg" -q --listen 127.0.0.1:$port --http-listen 127.0.0.1:$((port + 1)) "${tls[@]}" \
  --rounds 1 --clients-per-round "$n" --min-clients $((n + 1)) --every 0 --dir "$work/idle" &
apid=$!
sleep 2
rss0=$(rss $apid)
"$gen" --connect 127.0.0.1:$port --ca "$work/ca.crt" --cert-dir "$work" --id-prefix load- \
  --sessions "$n" --connect-rate 500 >"$work/gen1.json" &
gpid=$!
t0=$(date +%s.%N)
while [[ "$(connected $((port + 1)))" != "$n" ]]; do
  sleep 0.2
  if (( $(echo "$(date +%s.%N) - $t0 > 300" | bc) )); then echo "timeout: $(connected $((port + 1))) of $n connected" >&2; exit 1; fi
done
t1=$(date +%s.%N)
sleep 1
rss1=$(rss $apid)
kill $gpid; wait $gpid 2>/dev/null || true
kill -TERM $apid; wait $apid 2>/dev/null || true

# Phase 2: two N-client FedAvg rounds.
port=$((port + 2))
"$agg" -q --listen 127.0.0.1:$port --http-listen "" "${tls[@]}" --rounds 2 \
  --clients-per-round "$n" --min-clients "$n" --deadline-seconds 120 --every 0 \
  --dir "$work/rounds" --json >"$work/agg2.json" &
apid=$!
sleep 2
"$gen" --connect 127.0.0.1:$port --ca "$work/ca.crt" --cert-dir "$work" --id-prefix load- \
  --sessions "$n" --connect-rate 500 >"$work/gen2.json" &
gpid=$!
wait $apid
wait $gpid || true
r1=$(grep -o '"round_seconds":[0-9.]*' "$work/rounds/metrics.jsonl" | sed -n 1p | cut -d: -f2)
r2=$(grep -o '"round_seconds":[0-9.]*' "$work/rounds/metrics.jsonl" | sed -n 2p | cut -d: -f2)
p1=$(grep -o '"participants":[0-9]*' "$work/rounds/metrics.jsonl" | sed -n 1p | cut -d: -f2)
echo "{\"sessions\":$n,\"transport\":\"mutual TLS\",\"rss_before_kib\":$rss0,\"rss_connected_kib\":$rss1,\
\"kib_per_agent\":$(echo "scale=1; ($rss1 - $rss0) / $n" | bc),\
\"connect_seconds\":$(echo "$t1 - $t0" | bc),\"round1_seconds\":$r1,\"round2_seconds\":$r2,\
\"round1_participants\":$p1,\"loadgen\":$(cat "$work/gen2.json")}"
