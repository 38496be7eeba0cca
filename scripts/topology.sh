#!/usr/bin/env bash
# Runs the shop on this machine with modules extracted into their own
# binaries, against local Postgres and RabbitMQ (scripts/services.sh starts
# them). Ctrl-C stops every process.
#
#   scripts/topology.sh payments            # payments alone, the rest in the monolith
#   scripts/topology.sh payments,inventory  # several modules extracted
#   scripts/topology.sh all                 # every module extracted, cmd/app as the gateway
#
# The entry point (monolith or gateway) listens on MONOLITH_PORT (8080); the
# extracted modules on the ports after it in start-up order, 8081 (identity)
# to 8086 (notifications), or on <MODULE>_PORT. Each extracted module gets its
# own database shop_<module>; the monolith uses shop. Every process serves
# /internal only on its internal listener, 127.0.0.1 at its port + 100
# (APP_INTERNAL_ADDR), where the others reach it. Environment:
#   MONOLITH_PORT, <MODULE>_PORT  the ports (e.g. PAYMENTS_PORT=9004)
#   PG_URL    server URL without a database (default postgres://postgres:postgres@127.0.0.1:5432)
#   AMQP_URL  broker (default amqp://guest:guest@127.0.0.1:5672/)
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
	sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
	exit $(( $# == 1 ? 0 : 2 ))
fi

# The modules in start-up order, as the code declares them.
mapfile -t all < <(go run ./cmd/extract list | awk 'NR > 1 { print $1 }')
if [[ $1 == all ]]; then extract=("${all[@]}"); else IFS=, read -r -a extract <<<"$1"; fi
for m in "${extract[@]}"; do
	[[ " ${all[*]} " == *" $m "* ]] || { echo "unknown module $m (known: ${all[*]}, or all)" >&2; exit 2; }
done
is_extracted() { [[ " ${extract[*]} " == *" $1 "* ]]; }

PG_URL=${PG_URL:-postgres://postgres:postgres@127.0.0.1:5432}
state=.data/topology
mkdir -p "$state/bin"

echo "building the binaries…"
go build -o "$state/bin/app" ./cmd/app
for m in "${extract[@]}"; do go run ./cmd/extract build "$m" -o "$state/bin/$m" >/dev/null; done

database() { # creates database $1 when missing; prints its URL
	if ! psql "$PG_URL/postgres" -Atc "select 1 from pg_database where datname = '$1'" | grep -q 1; then
		psql "$PG_URL/postgres" -qc "create database $1" >&2
	fi
	echo "$PG_URL/$1"
}

# One secret and one admin password for the whole deployment, kept between runs.
[[ -s $state/jwt-secret ]] || head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$state/jwt-secret"
[[ -s $state/admin-password ]] || head -c 18 /dev/urandom | base64 | tr -d '\n/+=' >"$state/admin-password"
export APP_BUS=amqp AMQP_URL=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}
export APP_JWT_SECRET=$(<"$state/jwt-secret") APP_ADMIN_PASSWORD=$(<"$state/admin-password")
export APP_SEED_DEMO=${APP_SEED_DEMO:-true} APP_DATA_DIR=$state

MONOLITH_PORT=${MONOLITH_PORT:-8080}
port() { # the port of module $1 when extracted, else the entry point's
	if is_extracted "$1"; then
		local own="${1^^}_PORT"
		for i in "${!all[@]}"; do [[ ${all[$i]} == "$1" ]] && echo "${!own:-$((MONOLITH_PORT + 1 + i))}"; done
	else echo "$MONOLITH_PORT"; fi
}
internal_port() { echo $(( $(port "$1") + 100 )); } # where the others reach module $1's process
remotes_except() { # APP_REMOTE_* for every module but $1 that does not run in the same process
	for m in "${all[@]}"; do
		[[ $m == "$1" ]] && continue
		if is_extracted "$m" || [[ $1 != main ]]; then echo "APP_REMOTE_${m^^}=http://127.0.0.1:$(internal_port "$m")"; fi
	done
}

pids=()
stop() { trap - INT TERM; kill "${pids[@]}" 2>/dev/null || true; wait; }
trap stop INT TERM EXIT
launch() { # name, binary, env...
	local name=$1 bin=$2; shift 2
	env "$@" "$bin" > >(sed -u "s/^/[$name] /") 2>&1 &
	pids+=($!)
}

local_modules=()
for m in "${all[@]}"; do is_extracted "$m" || local_modules+=("$m"); done
modules=$(IFS=,; echo "${local_modules[*]:-none}")
entry=monolith; [[ $modules == none ]] && entry=gateway
launch "$entry" "$state/bin/app" APP_HTTP_ADDR=":$MONOLITH_PORT" APP_INTERNAL_ADDR="127.0.0.1:$((MONOLITH_PORT + 100))" APP_MODULES="$modules" \
	DATABASE_URL="$(database shop)" $(remotes_except main)
for m in "${extract[@]}"; do
	launch "$m" "$state/bin/$m" APP_HTTP_ADDR=":$(port "$m")" APP_INTERNAL_ADDR="127.0.0.1:$(internal_port "$m")" APP_MODULES="$m" DATABASE_URL= \
		"${m^^}_DATABASE_URL=$(database "shop_$m")" $(remotes_except "$m")
done

echo "the shop is starting: http://127.0.0.1:$MONOLITH_PORT ($entry: ${modules}; extracted: ${extract[*]})"
echo "admin: admin@example.com / $APP_ADMIN_PASSWORD"
wait -n "${pids[@]}" || true
echo "a process stopped; stopping the others" >&2
