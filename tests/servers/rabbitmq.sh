#!/bin/sh
# tests/servers/rabbitmq.sh - a throwaway RabbitMQ broker for the tests.
#
#   rabbitmq.sh available      exit 0 when rabbitmq-server can be run here
#   rabbitmq.sh start DIR      start a broker keeping everything in DIR and
#                              print, for eval, AMQP_URL=amqp://guest:guest@
#                              127.0.0.1:PORT/, RABBITMQ_PORT=PORT and
#                              RABBITMQ_DIR=DIR.  Started again on the same
#                              DIR, it reuses the ports and the data (durable
#                              queues and persistent messages survive).
#   rabbitmq.sh stop DIR       stop that broker (and its own epmd); no error
#                              when it is not running
#   rabbitmq.sh kill DIR       kill -9 it (a crash), then clean up as stop
#   rabbitmq.sh env DIR        print those lines again
#   rabbitmq.sh ctl DIR ARGS   rabbitmqctl ARGS against that broker
#
# The broker listens on 127.0.0.1 only, on free ports: AMQP, Erlang
# distribution and an epmd of its own (ERL_EPMD_PORT), so that brokers of
# tests running in parallel, and any other Erlang node on the machine, never
# see one another, and stopping our epmd stops nothing else.  As root,
# Debian's wrappers run the broker as the rabbitmq user: DIR is created
# owned by it, and its parent directories must let that user through.
# Nothing is read from /etc/rabbitmq: the config file, the advanced config,
# the env file and the enabled-plugins file (none) are ours, in DIR.
# Startup takes about 5 s (readiness: rabbitmqctl wait on the pid file).
set -eu

die() { echo "rabbitmq.sh: $*" >&2; exit 1; }

# As root: Debian's wrappers, which run the broker as the rabbitmq user.
# Anyone else: the scripts behind them (the wrappers accept only root and
# rabbitmq), with HOME in DIR for the Erlang cookie.
SERVER=$(command -v rabbitmq-server 2>/dev/null || true)
[ -n "$SERVER" ] || [ ! -x /usr/sbin/rabbitmq-server ] || SERVER=/usr/sbin/rabbitmq-server
CTL=$(command -v rabbitmqctl 2>/dev/null || true)
[ -n "$CTL" ] || [ ! -x /usr/sbin/rabbitmqctl ] || CTL=/usr/sbin/rabbitmqctl
OWN_HOME=0
if [ "$(id -u)" != 0 ] && [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
	SERVER=/usr/lib/rabbitmq/bin/rabbitmq-server
	CTL=/usr/lib/rabbitmq/bin/rabbitmqctl
	OWN_HOME=1
fi
EPMD=$(command -v epmd 2>/dev/null || true)
[ -n "$EPMD" ] || [ ! -x /usr/lib/erlang/bin/epmd ] || EPMD=/usr/lib/erlang/bin/epmd

available() { [ -n "$SERVER" ] && [ -n "$CTL" ]; }

# A TCP port nothing listens on now, not in "$@", in 10000-32767: below
# Linux's range of ports for outgoing connections (32768-60999), so that
# none can take it while the broker is restarted on it.
free_port() {
	tries=0
	while :; do
		tries=$((tries + 1))
		[ "$tries" -le 200 ] || die "no free port found"
		r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		p=$((10000 + r % 22768))
		case " $* " in *" $p "*) continue ;; esac
		if command -v ss > /dev/null 2>&1; then
			ss -Htan "( sport = :$p )" 2>/dev/null | grep -q . && continue
		fi
		echo "$p"
		return 0
	done
}

# The environment of the broker in DIR and of rabbitmqctl talking to it.
load_env() {
	dir=$1
	[ -f "$dir/ports" ] || die "$dir: no broker was started here"
	. "$dir/ports"
	export RABBITMQ_NODENAME=rabbit@localhost
	export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
	export RABBITMQ_NODE_PORT="$NODE_PORT"
	export RABBITMQ_DIST_PORT="$DIST_PORT"
	export ERL_EPMD_PORT="$EPMD_PORT"
	export ERL_EPMD_ADDRESS=127.0.0.1
	export RABBITMQ_MNESIA_BASE="$dir/mnesia"
	export RABBITMQ_LOG_BASE="$dir/log"
	export RABBITMQ_PID_FILE="$dir/rabbit.pid"
	export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
	export RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
	export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
	export RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
	export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
	# The CLI's own distribution ports: away from the default range, so
	# that many rabbitmqctl calls of parallel tests do not run out.
	export RABBITMQ_CTL_DIST_PORT_MIN="$CTL_PORT"
	export RABBITMQ_CTL_DIST_PORT_MAX=$((CTL_PORT + 10))
	[ "$OWN_HOME" = 0 ] || export HOME="$dir"
}

ctl() {
	"$CTL" -n rabbit@localhost "$@"
}

running_pid() {
	[ -s "$RABBITMQ_PID_FILE" ] || return 1
	pid=$(cat "$RABBITMQ_PID_FILE")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

stop_epmd() {
	[ -n "$EPMD" ] || return 0
	"$EPMD" -port "$EPMD_PORT" -kill > /dev/null 2>&1 || true
}

stop() {
	dir=$1
	sig=${2:-TERM}
	[ -f "$dir/ports" ] || return 0
	load_env "$dir"
	if pid=$(running_pid); then
		kill -"$sig" "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null; do
			i=$((i + 1))
			if [ "$i" -eq 300 ]; then # 30 s
				echo "rabbitmq.sh: broker $pid did not stop: killing it" >&2
				kill -KILL "$pid" 2>/dev/null || true
			fi
			sleep 0.1
		done
	fi
	rm -f "$RABBITMQ_PID_FILE"
	stop_epmd
}

start() {
	dir=$1
	available || die "rabbitmq-server is not installed"
	case "$dir" in /*) ;; *) dir="$(pwd)/$dir" ;; esac
	if [ "$(id -u)" = 0 ]; then
		install -d -o rabbitmq -g rabbitmq "$dir"
		# Every directory above DIR must let the rabbitmq user through
		# (mktemp -d makes mode 0700 directories).
		su rabbitmq -s /bin/sh -c 'test -w "$0"' "$dir" ||
			die "$dir: not writable by the rabbitmq user (is a parent directory mode 0700?)"
	else
		install -d "$dir"
	fi
	attempt=1
	while :; do
		if [ ! -f "$dir/ports" ]; then
			n=$(free_port)
			d=$(free_port "$n")
			e=$(free_port "$n" "$d")
			c=$(free_port "$n" "$d" "$e")
			printf 'NODE_PORT=%s\nDIST_PORT=%s\nEPMD_PORT=%s\nCTL_PORT=%s\n' "$n" "$d" "$e" \
				"$c" > "$dir/ports"
			fresh=1
		else
			fresh=0
		fi
		load_env "$dir"
		: > "$RABBITMQ_CONF_ENV_FILE"
		[ -f "$dir/rabbitmq.conf" ] || cat > "$dir/rabbitmq.conf" <<-EOF
			# written by tests/servers/rabbitmq.sh
			loopback_users.guest = true
			disk_free_limit.absolute = 50MB
			vm_memory_high_watermark.relative = 0.6
		EOF
		[ -f "$dir/advanced.config" ] || echo "[]." > "$dir/advanced.config"
		[ -f "$dir/enabled_plugins" ] || echo "[]." > "$dir/enabled_plugins"
		[ "$(id -u)" != 0 ] || chown -R rabbitmq:rabbitmq "$dir"
		if running_pid > /dev/null; then
			die "$dir: a broker is running already (pid $(cat "$RABBITMQ_PID_FILE"))"
		fi
		"$SERVER" -detached > "$dir/start.out" 2>&1 || true
		if ctl wait --timeout 60 "$RABBITMQ_PID_FILE" > "$dir/wait.out" 2>&1; then
			break
		fi
		# A port taken between our look and the broker's bind: try others.
		stop "$dir"
		if [ "$fresh" = 1 ] && [ "$attempt" -lt 3 ]; then
			attempt=$((attempt + 1))
			rm -f "$dir/ports" "$dir/rabbitmq.conf"
			continue
		fi
		cat "$dir/start.out" "$dir/wait.out" >&2 || true
		tail -n 30 "$dir"/log/*.log >&2 2>/dev/null || true
		die "the broker in $dir did not start"
	done
	print_env "$dir"
}

print_env() {
	echo "AMQP_URL=amqp://guest:guest@127.0.0.1:$NODE_PORT/"
	echo "RABBITMQ_PORT=$NODE_PORT"
	echo "RABBITMQ_DIR=$1"
}

cmd=${1:-}
case "$cmd" in
available) available ;;
start)
	[ $# -eq 2 ] || die "usage: rabbitmq.sh start DIR"
	start "$2"
	;;
stop)
	[ $# -eq 2 ] || die "usage: rabbitmq.sh stop DIR"
	stop "$2"
	;;
kill)
	[ $# -eq 2 ] || die "usage: rabbitmq.sh kill DIR"
	stop "$2" KILL
	;;
env)
	[ $# -eq 2 ] || die "usage: rabbitmq.sh env DIR"
	load_env "$2"
	print_env "$2"
	;;
ctl)
	[ $# -ge 2 ] || die "usage: rabbitmq.sh ctl DIR ARGS..."
	load_env "$2"
	shift 2
	ctl "$@"
	;;
*) die "usage: rabbitmq.sh available | start DIR | stop DIR | kill DIR | env DIR | ctl DIR ARGS..." ;;
esac
