#!/usr/bin/env bash
# A two-shard ClickHouse cluster on loopback, to try HEATMAPS_CLICKHOUSE_URL locally and for the tests
# (CONTRACT 16). Needs Debian's clickhouse-server package (apt-get install -y clickhouse-server).
#
#   scripts/clickhouse_cluster.sh start [DIR]   # idempotent: shards already answering are left alone
#   scripts/clickhouse_cluster.sh stop [DIR]
#   scripts/clickhouse_cluster.sh stop-shard DIR N   # shard N (0 or 1) only: a shard down
#   scripts/clickhouse_cluster.sh url           # the URL to give HEATMAPS_CLICKHOUSE_URL
#
# DIR (default /tmp/heatmaps-clickhouse) holds each shard's data, logs and rendered config. The cluster
# is called `heatmaps_local`; the shards listen on tcp 19000 and 19001, loopback only.
set -euo pipefail

ACTION="${1:-start}"
BASE="${2:-${HEATMAPS_CLICKHOUSE_DIR:-/tmp/heatmaps-clickhouse}}"
HERE="$(cd "$(dirname "$0")" && pwd)"
TCP_PORTS=(19000 19001)
HTTP_PORTS=(18123 18124)
INTERSERVER_PORTS=(19009 19010)
SERVER="${CLICKHOUSE_SERVER:-/usr/sbin/clickhouse-server}"

ping_shard() { curl -fsS --max-time 1 "http://127.0.0.1:$1/ping" >/dev/null 2>&1; }

start_shard() {
    local n="$1" dir="$BASE/shard$1" tcp="${TCP_PORTS[$1]}" http="${HTTP_PORTS[$1]}"
    if ping_shard "$http"; then
        echo "shard $n: already running on 127.0.0.1:$tcp"
        return
    fi
    mkdir -p "$dir"/{data,tmp,user_files,format_schemas}
    sed -e "s#@DIR@#$dir#g" -e "s#@TCP_PORT@#$tcp#g" -e "s#@HTTP_PORT@#$http#g" \
        -e "s#@INTERSERVER_PORT@#${INTERSERVER_PORTS[$n]}#g" -e "s#@USERS@#$dir/users.xml#g" \
        -e "s#@TCP_PORT_1@#${TCP_PORTS[0]}#g" -e "s#@TCP_PORT_2@#${TCP_PORTS[1]}#g" \
        "$HERE/clickhouse/config.xml" >"$dir/config.xml"
    cp "$HERE/clickhouse/users.xml" "$dir/users.xml"
    nohup "$SERVER" --config-file="$dir/config.xml" >"$dir/stdout.log" 2>&1 </dev/null &
    echo "$!" >"$dir/server.pid"
    for _ in $(seq 1 60); do
        ping_shard "$http" && { echo "shard $n: started on 127.0.0.1:$tcp"; return; }
        sleep 0.5
    done
    echo "shard $n did not start; see $dir/server.err.log and $dir/stdout.log" >&2
    tail -n 20 "$dir/server.err.log" "$dir/stdout.log" >&2 || true
    exit 1
}

stop_shard() {
    local n="$1" dir="$BASE/shard$1"
    if [ -f "$dir/server.pid" ]; then
        local pid
        pid="$(cat "$dir/server.pid")"
        if kill "$pid" 2>/dev/null; then
            for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        fi
        rm -f "$dir/server.pid"
        echo "shard $n: stopped"
    fi
}

case "$ACTION" in
start)
    command -v "$SERVER" >/dev/null || { echo "clickhouse-server is not installed: apt-get install -y clickhouse-server" >&2; exit 2; }
    for n in 0 1; do start_shard "$n"; done
    ;;
stop)
    for n in 0 1; do stop_shard "$n"; done
    ;;
stop-shard)  # the fault tests: one shard down, `start` brings it back
    stop_shard "${3:-1}"
    ;;
url)
    echo "clickhouse://heatmaps:heatmaps-local@127.0.0.1:${TCP_PORTS[0]}/heatmaps?cluster=heatmaps_local"
    ;;
*)
    echo "usage: $0 start|stop|url [DIR] | stop-shard DIR N" >&2
    exit 2
    ;;
esac
