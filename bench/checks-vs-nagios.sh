#!/usr/bin/env bash
# Plugin executions per second: `ward check serve` versus Nagios 4 (Debian nagios4-core) running
# the same N check_dummy services at a 1 s interval, one after the other on this machine; then
# passive results ingested per second by ward (spool files -> engine).
#
#   bash bench/checks-vs-nagios.sh                      # N=1000 DURATION=20
#   N=2000 DURATION=60 WARD=target/release/ward bash bench/checks-vs-nagios.sh
#   HTTP_N=4000 ... also times built-in HTTP checks against the check_http plugin
#
# Needs: monitoring-plugins and nagios4-core (apt), python3, a built ward.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000}
DURATION=${DURATION:-20}
PASSIVE=${PASSIVE:-20000}
WARD=${WARD:-target/debug/ward}
CONCURRENCY=${CONCURRENCY:-16}
PLUGIN=/usr/lib/nagios/plugins/check_dummy
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -x "$WARD" ] || { echo "build ward first (cargo build), or set WARD" >&2; exit 2; }
[ -x "$PLUGIN" ] || { echo "install monitoring-plugins" >&2; exit 2; }
[ -x /usr/sbin/nagios4 ] || { echo "install nagios4-core" >&2; exit 2; }
echo "machine: $(nproc) cores; N=$N services at 1 s; $DURATION s each; ward=$WARD"

# --- the machine's ceiling ------------------------------------------------------------------
# One bare spawn-and-wait loop per core (bench/spawn-ceiling.c): what starting the plugin
# alone costs here. No engine can exceed it; it bounds what "2x Nagios" can mean here.
cc -O2 -o "$work/spawn-ceiling" bench/spawn-ceiling.c
ceiling=$(for _ in $(seq 1 "$(nproc)"); do "$work/spawn-ceiling" 2000 "$PLUGIN" 0 ok & done | python3 -c 'import sys; print(round(sum(float(l) for l in sys.stdin)))')
echo "ceiling:  $ceiling plugin runs/s ($(nproc) bare posix_spawn loops at once, nothing else)"

# --- ward ---------------------------------------------------------------------------------
mkdir -p "$work/ward"
{
    printf '[serve]\nstate_dir = "state"\nconcurrency = %s\n' "$CONCURRENCY"
    for i in $(seq 1 "$N"); do
        printf '[[check]]\nname = "svc%s"\ncommand = ["%s", "0", "ok"]\ninterval = "1s"\n' "$i" "$PLUGIN"
    done
} > "$work/ward/checks.toml"
"$WARD" check serve --config "$work/ward/checks.toml" --duration "$DURATION" > /dev/null
ward_runs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["scheduler"]["runs"])' "$work/ward/state/status.json")
ward_latency=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["scheduler"]; print("%.0f/%.0f" % (s["queue_latency_mean_ms"], s["queue_latency_max_ms"]))' "$work/ward/state/status.json")
ward_rate=$(python3 -c "print(round($ward_runs / $DURATION))")
echo "ward:     $ward_runs plugin runs in $DURATION s = $ward_rate/s (queue latency mean/max ms: $ward_latency)"

# --- Nagios 4 -------------------------------------------------------------------------------
n="$work/nagios"
mkdir -p "$n/spool" "$n/rw"
cat > "$n/nagios.cfg" <<CFG
log_file=$n/nagios.log
cfg_file=$n/objects.cfg
object_cache_file=$n/objects.cache
precached_object_file=$n/objects.precache
status_file=$n/status.dat
temp_file=$n/nagios.tmp
temp_path=$n
lock_file=$n/nagios.lock
check_result_path=$n/spool
command_file=$n/rw/nagios.cmd
state_retention_file=$n/retention.dat
retain_state_information=0
nagios_user=$(id -un)
nagios_group=$(id -gn)
interval_length=1
max_concurrent_checks=0
check_result_reaper_frequency=1
max_check_result_reaper_time=30
service_inter_check_delay_method=s
max_service_check_spread=1
enable_notifications=0
enable_event_handlers=0
enable_flap_detection=0
check_external_commands=0
use_syslog=0
log_service_retries=0
process_performance_data=1
service_perfdata_file=$n/perf.log
service_perfdata_file_template=\$TIMET\$
service_perfdata_file_mode=a
service_perfdata_file_processing_interval=0
illegal_macro_output_chars=\`~\$&|'"<>
CFG
{
    cat <<OBJ
define timeperiod {
    timeperiod_name always
    alias always
    sunday 00:00-24:00
    monday 00:00-24:00
    tuesday 00:00-24:00
    wednesday 00:00-24:00
    thursday 00:00-24:00
    friday 00:00-24:00
    saturday 00:00-24:00
}
define command {
    command_name dummy
    command_line $PLUGIN 0 ok
}
define contact {
    contact_name nobody
    host_notifications_enabled 0
    service_notifications_enabled 0
    host_notification_period always
    service_notification_period always
    host_notification_options n
    service_notification_options n
    host_notification_commands dummy
    service_notification_commands dummy
}
define host {
    host_name bench
    address 127.0.0.1
    max_check_attempts 1
    check_period always
    active_checks_enabled 0
    notification_period always
    contacts nobody
}
OBJ
    for i in $(seq 1 "$N"); do
        cat <<OBJ
define service {
    host_name bench
    service_description svc$i
    check_command dummy
    max_check_attempts 1
    check_interval 1
    retry_interval 1
    check_period always
    notification_period always
    contacts nobody
    process_perf_data 1
}
OBJ
    done
} > "$n/objects.cfg"
/usr/sbin/nagios4 -v "$n/nagios.cfg" > "$n/verify.log" 2>&1 || { cat "$n/verify.log" >&2; exit 1; }
start=$(date +%s)
timeout --signal=TERM "$DURATION" /usr/sbin/nagios4 "$n/nagios.cfg" > /dev/null 2>&1 || true
sleep 1
nagios_runs=$(wc -l < "$n/perf.log" 2>/dev/null || echo 0)
nagios_rate=$(python3 -c "print(round($nagios_runs / $DURATION))")
echo "nagios 4: $nagios_runs plugin runs in $DURATION s = $nagios_rate/s"
python3 -c "r=$nagios_rate; print('ratio ward/nagios: %.2f' % ($ward_rate / r) if r else 'ratio: n/a (nagios ran no check)')"

# --- passive results ------------------------------------------------------------------------
# Two ways in: one spool file per result (`ward check submit CHECK STATE OUTPUT`), and batches
# of 1,000 (`ward check submit --batch`). Timed: `ward check serve --once` taking them all.
passive() {
    local mode=$1 p="$work/passive-$1"
    mkdir -p "$p/state/spool"
    {
        printf '[serve]\nstate_dir = "state"\n'
        for i in $(seq 1 100); do printf '[[check]]\nname = "p%s"\npassive = true\n' "$i"; done
    } > "$p/checks.toml"
    python3 - "$p/state/spool" "$PASSIVE" "$mode" <<'PY'
import json, os, sys
d, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def result(i):
    return {"check": "p%d" % (i % 100 + 1), "state": ["OK", "WARNING"][i % 2],
            "output": "result %d | value=%d;10;20;0" % (i, i), "at_ms": 1_700_000_000_000 + i}
if mode == "single":
    for i in range(n):
        with open(os.path.join(d, "%015d-1-%d.json" % (i, i)), "w") as f:
            json.dump(dict(kind="result", **result(i)), f)
else:
    for b in range(0, n, 1000):
        with open(os.path.join(d, "%015d-1-%d.json" % (b, b)), "w") as f:
            json.dump({"kind": "results", "results": [result(i) for i in range(b, min(n, b + 1000))]}, f)
PY
    local t0 t1 accepted
    t0=$(python3 -c 'import time; print(time.time())')
    "$WARD" check serve --config "$p/checks.toml" --once > /dev/null || true
    t1=$(python3 -c 'import time; print(time.time())')
    accepted=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["scheduler"]["passive_results"])' "$p/state/status.json")
    python3 -c "print('ward passive ($mode): %d results in %.2f s = %d/s' % ($accepted, $t1 - $t0, $accepted / ($t1 - $t0)))"
}
passive single
passive batch

# --- built-in HTTP checks -------------------------------------------------------------------
# HTTP_N built-in `http` checks at a 1 s interval against a local threaded HTTP server, versus
# the same number of checks running the check_http plugin (the Nagios way) in the same
# scheduler: both served by the same server, one after the other.
HTTP_N=${HTTP_N:-500}
http_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$http_port" <<'PY' &
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        body = b"<html>Welcome</html>"
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
sleep 0.5
http_bench() {
    local mode=$1 h="$work/http-$1"
    mkdir -p "$h"
    {
        printf '[serve]\nstate_dir = "state"\nconcurrency = %s\n' "$CONCURRENCY"
        for i in $(seq 1 "$HTTP_N"); do
            if [ "$mode" = builtin ]; then
                printf '[[check]]\nname = "web%s"\nbuiltin = "http"\nparams = { url = "http://127.0.0.1:%s/", contains = "Welcome" }\ninterval = "1s"\n' "$i" "$http_port"
            else
                printf '[[check]]\nname = "web%s"\ncommand = ["/usr/lib/nagios/plugins/check_http", "-H", "127.0.0.1", "-p", "%s", "-s", "Welcome"]\ninterval = "1s"\n' "$i" "$http_port"
            fi
        done
    } > "$h/checks.toml"
    "$WARD" check serve --config "$h/checks.toml" --duration "$DURATION" > /dev/null
    python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["scheduler"]; d=float(sys.argv[3]); print("ward http (%s): %d checks in %d s = %d/s" % (sys.argv[2], s["runs"], d, s["runs"] / d))' "$h/state/status.json" "$mode" "$DURATION"
}
http_bench builtin
http_bench check_http
