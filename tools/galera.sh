#!/bin/bash
# A 3-node MariaDB Galera cluster on 127.0.0.1 for the tests: its own
# datadirs, sockets and ports, never the system server's.
#
#   tools/galera.sh start|stop|status|urls
#
# Idempotent: start leaves a running, synced cluster alone. Nodes run as the
# mysql user (rsync state transfer fails as root). Node 1 bootstraps the
# cluster (--wsrep-new-cluster); nodes 2 and 3 start empty and receive a
# full copy from it (SST). Installs galera-4 and rsync from Debian's
# packages when they are missing.
set -euo pipefail

BASE=${GALERA_DIR:-/var/tmp/nova_schema_galera}
NODES=(1 2 3)
SQL_PORT=(0 4301 4302 4303)       # client ports
GCOMM_PORT=(0 4561 4562 4563)     # group communication
IST_PORT=(0 4571 4572 4573)       # incremental state transfer
SST_PORT=(0 4581 4582 4583)       # full state transfer (rsync)
WAIT_SECONDS=${GALERA_WAIT_SECONDS:-90}
USER_NAME=openstack_citest
USER_PW=openstack_citest

say() { echo "galera.sh: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

provider() {
    local path
    path=$(dpkg -L galera-4 2>/dev/null | grep '/libgalera_smm\.so$' | head -n1)
    [ -n "$path" ] && echo "$path"
}

install_packages() {
    if [ -z "$(provider)" ] || ! command -v rsync >/dev/null; then
        say "installing galera-4 and rsync"
        as_root apt-get update -qq >/dev/null
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            galera-4 rsync >/dev/null
    fi
    [ -n "$(provider)" ] || die "galera-4 did not install libgalera_smm.so"
}

socket() { echo "$BASE/node$1/mysqld.sock"; }
pidfile() { echo "$BASE/node$1/mysqld.pid"; }

client() {  # client <node> <sql>
    mysql --no-defaults -uroot -S "$(socket "$1")" -N -B -e "$2"
}

running() { [ -S "$(socket "$1")" ] && client "$1" 'SELECT 1' >/dev/null 2>&1; }

state() {
    client "$1" "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null \
        | awk '{print $2}'
}

cluster_size() {
    client "$1" "SHOW STATUS LIKE 'wsrep_cluster_size'" 2>/dev/null \
        | awk '{print $2}'
}

write_config() {
    local n=$1 dir=$BASE/node$1 peers="" i
    for i in "${NODES[@]}"; do
        peers+="${peers:+,}127.0.0.1:${GCOMM_PORT[$i]}"
    done
    cat > "$dir/my.cnf" <<CNF
[mariadbd]
user = mysql
datadir = $dir/data
socket = $(socket "$n")
pid-file = $(pidfile "$n")
log-error = $dir/error.log
bind-address = 127.0.0.1
port = ${SQL_PORT[$n]}
skip-name-resolve
innodb_buffer_pool_size = 32M
innodb_log_file_size = 16M
performance_schema = OFF
max_connections = 200
binlog_format = ROW
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2
wsrep_on = ON
wsrep_provider = $(provider)
wsrep_cluster_name = nova_schema_test
wsrep_cluster_address = gcomm://$peers
wsrep_node_address = 127.0.0.1:${GCOMM_PORT[$n]}
wsrep_node_name = node$n
wsrep_node_incoming_address = 127.0.0.1:${SQL_PORT[$n]}
wsrep_provider_options = "gmcast.listen_addr=tcp://127.0.0.1:${GCOMM_PORT[$n]};ist.recv_addr=127.0.0.1:${IST_PORT[$n]};gcache.size=32M;evs.keepalive_period=PT0.5S;evs.suspect_timeout=PT2S;evs.inactive_timeout=PT4S"
wsrep_sst_method = rsync
wsrep_sst_receive_address = 127.0.0.1:${SST_PORT[$n]}
CNF
}

start_node() {  # start_node <n> [extra mariadbd options]
    local n=$1 dir=$BASE/node$1
    shift
    running "$n" && return 0
    mkdir -p "$dir/data"
    write_config "$n"
    chown -R mysql:mysql "$dir"
    if [ "$n" = 1 ] && [ ! -d "$dir/data/mysql" ]; then
        mariadb-install-db --no-defaults --datadir="$dir/data" --user=mysql \
            --auth-root-authentication-method=socket >"$dir/install.log" 2>&1 \
            || die "mariadb-install-db failed (see $dir/install.log)"
    fi
    say "starting node $n on 127.0.0.1:${SQL_PORT[$n]}"
    as_root runuser -u mysql -- setsid mariadbd --defaults-file="$dir/my.cnf" \
        "$@" </dev/null >>"$dir/stdout.log" 2>&1 &
}

wait_synced() {  # wait_synced <n>
    local n=$1 i
    for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
        if running "$n" && [ "$(state "$n")" = Synced ]; then
            return 0
        fi
        sleep 0.5
    done
    die "node $n did not reach Synced within ${WAIT_SECONDS}s (see $BASE/node$n/error.log)"
}

grant_user() {
    client 1 "CREATE USER IF NOT EXISTS '$USER_NAME'@'127.0.0.1' IDENTIFIED BY '$USER_PW';
              CREATE USER IF NOT EXISTS '$USER_NAME'@'localhost' IDENTIFIED BY '$USER_PW';
              GRANT ALL PRIVILEGES ON *.* TO '$USER_NAME'@'127.0.0.1' WITH GRANT OPTION;
              GRANT ALL PRIVILEGES ON *.* TO '$USER_NAME'@'localhost' WITH GRANT OPTION;"
}

start() {
    install_packages
    mkdir -p "$BASE"
    if ! running 1; then
        local bootstrap=(--wsrep-new-cluster)
        # NOTE: a cluster some of whose nodes still run is joined, not
        # bootstrapped anew.
        running 2 || running 3 && bootstrap=()
        if [ -f "$BASE/node1/data/grastate.dat" ]; then
            as_root sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' \
                "$BASE/node1/data/grastate.dat"
        fi
        start_node 1 "${bootstrap[@]}"
    fi
    wait_synced 1
    grant_user
    local n
    for n in 2 3; do
        start_node "$n"
        wait_synced "$n"
    done
    [ "$(cluster_size 1)" = 3 ] || die "cluster size is $(cluster_size 1), not 3"
    say "cluster up: 3 nodes synced"
}

stop() {
    local n pid
    for n in 3 2 1; do
        pid=$(cat "$(pidfile "$n")" 2>/dev/null || true)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            say "stopping node $n"
            as_root kill "$pid"
            for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        fi
    done
}

status() {
    local n rc=0
    for n in "${NODES[@]}"; do
        if running "$n"; then
            echo "node$n 127.0.0.1:${SQL_PORT[$n]} $(state "$n") size=$(cluster_size "$n")"
        else
            echo "node$n 127.0.0.1:${SQL_PORT[$n]} down"; rc=1
        fi
    done
    return $rc
}

urls() {
    local n
    for n in "${NODES[@]}"; do
        echo "mysql+pymysql://$USER_NAME:$USER_PW@127.0.0.1:${SQL_PORT[$n]}/"
    done
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    urls) urls ;;
    *) echo "usage: $0 start|stop|status|urls" >&2; exit 2 ;;
esac
