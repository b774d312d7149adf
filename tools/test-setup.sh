#!/bin/bash
# Prepare the MySQL/MariaDB and PostgreSQL servers for the functional tests:
# user openstack_citest (password openstack_citest) and database
# openstack_citest on each. Safe to run any number of times.
set -eu

DB_USER=openstack_citest
DB_PW=openstack_citest
DB_NAME=openstack_citest
WAIT_SECONDS=30

warn() { echo "test-setup.sh: WARNING: $*" >&2; }
die() { echo "test-setup.sh: ERROR: $*" >&2; exit 1; }

# Run a command as root, or through sudo when we are not root.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

wait_until() {  # wait_until <description> <command...>
    local what=$1 i
    shift
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 1
    done
    die "$what did not answer on 127.0.0.1 within ${WAIT_SECONDS}s"
}

# --- MySQL / MariaDB -------------------------------------------------------

# NOTE: ping succeeds as soon as the server answers, even if access is denied.
mysql_up() { mysqladmin --connect-timeout=2 -h127.0.0.1 -uroot ping; }

mysql_start() {
    local daemon
    for daemon in /usr/sbin/mariadbd /usr/sbin/mysqld; do
        if [ -x "$daemon" ]; then
            # /run is a tmpfs: the socket directory may be gone after reboot.
            as_root install -d -o mysql -g mysql /run/mysqld
            as_root start-stop-daemon --start --oknodo --background \
                --exec "$daemon"
            return 0
        fi
    done
    return 1
}

mysql_root() {
    if mysql -uroot -h127.0.0.1 -e 'select 1' >/dev/null 2>&1; then
        mysql -uroot -h127.0.0.1 "$@"
    else
        # Debian's root@localhost authenticates by unix_socket.
        as_root mysql -uroot "$@"
    fi
}

setup_mysql() {
    # NOTE: ALL ON *.* WITH GRANT OPTION because oslo.db's provisioning
    # creates and drops a randomly named database for every test. The
    # localhost user is needed too, or an anonymous ''@'localhost' account
    # would shadow '%' for local connections.
    local host sql=""
    for host in '%' localhost; do
        sql+="CREATE USER IF NOT EXISTS '$DB_USER'@'$host';
              ALTER USER '$DB_USER'@'$host' IDENTIFIED BY '$DB_PW';
              GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'$host'
                  WITH GRANT OPTION;"
    done
    sql+="CREATE DATABASE IF NOT EXISTS $DB_NAME;"
    mysql_root -e "$sql"
    mysql -u"$DB_USER" -p"$DB_PW" -h127.0.0.1 -e 'select 1' >/dev/null \
        || die "cannot log in to MySQL as $DB_USER"
    echo "test-setup.sh: MySQL ready ($DB_USER@127.0.0.1:3306)"
}

if ! command -v mysql >/dev/null; then
    warn "MySQL/MariaDB client not installed; MySQL tests will not run"
elif mysql_up >/dev/null 2>&1 || mysql_start; then
    wait_until "MySQL/MariaDB" mysql_up
    setup_mysql
else
    warn "MySQL/MariaDB server not installed; MySQL tests will not run"
fi

# --- PostgreSQL ------------------------------------------------------------

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }

pg_start() {
    local version
    command -v pg_ctlcluster >/dev/null || return 1
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    [ -n "$version" ] || return 1
    # A failure here is reported by wait_until with a clearer message.
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start \
        || true
}

pg_admin() {
    if psql -w -h127.0.0.1 -U postgres -c 'select 1' >/dev/null 2>&1; then
        psql -w -h127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -q "$@"
    elif [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- psql -v ON_ERROR_STOP=1 -q "$@"
    else
        sudo -n -u postgres psql -v ON_ERROR_STOP=1 -q "$@"
    fi
}

setup_postgresql() {
    # NOTE: CREATEDB is enough, SUPERUSER is not needed: oslo.db's
    # provisioning creates each test database as this role (so the role
    # owns it and may drop it), and before dropping it terminates only
    # sessions of current_user, which PostgreSQL >= 9.2 allows a role to do
    # without superuser. CREATEROLE lets a test make a role that does not
    # own the tables (tests/functional/test_driver_errors.py). Privileges
    # granted to the role elsewhere are kept.
    pg_admin <<EOF
SELECT 'CREATE ROLE $DB_USER'
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER')
\gexec
ALTER ROLE $DB_USER WITH LOGIN CREATEDB CREATEROLE PASSWORD '$DB_PW';
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME')
\gexec
ALTER DATABASE $DB_NAME OWNER TO $DB_USER;
EOF
    PGPASSWORD=$DB_PW psql -w -h127.0.0.1 -U "$DB_USER" "$DB_NAME" \
        -c 'select 1' >/dev/null \
        || die "cannot log in to PostgreSQL as $DB_USER"
    echo "test-setup.sh: PostgreSQL ready ($DB_USER@127.0.0.1:5432)"
}

if ! command -v psql >/dev/null; then
    warn "PostgreSQL client not installed; PostgreSQL tests will not run"
elif pg_up || pg_start; then
    wait_until "PostgreSQL" pg_up
    setup_postgresql
else
    warn "PostgreSQL server not installed; PostgreSQL tests will not run"
fi

# --- MariaDB Galera cluster (3 nodes on 127.0.0.1:4301-4303) ----------------

ci_enabled() {
    case "$(echo "${CI:-}" | tr '[:upper:]' '[:lower:]')" in
        ''|0|false|no|off) return 1 ;;
        *) return 0 ;;
    esac
}

if command -v mariadbd >/dev/null; then
    if ! "$(dirname "$0")/galera.sh" start; then
        if ci_enabled; then
            die "the Galera cluster did not come up; its tests cannot run"
        fi
        warn "the Galera cluster did not come up; Galera tests will not run"
    fi
elif ci_enabled; then
    die "mariadbd is not installed: no Galera cluster for its tests"
else
    warn "mariadbd is not installed; Galera tests will not run"
fi
