# Sourced by the measuring scripts (.ci/bench-ssr, .ci/lighthouse): starts the release build on
# a fresh demo database on 127.0.0.1:$port, waits until it is ready, and signs in as the demo
# advertiser. `HERALD_SERVER_BIN` names another build to measure (e.g. a copy of an earlier
# one, to compare two builds on the same machine minutes apart). Sets `dir` (a temporary
# directory, removed on exit), `server_pid`, `base` and `cookie` (the session cookie as a
# `Cookie` header value).
dir=$(mktemp -d)
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
DATABASE_URL="sqlite://$dir/herald.db?mode=rwc" HERALD_LISTEN="127.0.0.1:$port" \
  HERALD_SECURE_COOKIES=false HERALD_DEV_MAIL=true HERALD_LOG=warn \
  LEPTOS_SITE_ROOT="$PWD/target/site" \
  "${HERALD_SERVER_BIN:-$CARGO_TARGET_DIR/release/server}" serve --seed-if-empty > "$dir/log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$port"
# Another process on the port would be measured instead: refuse.
sleep 0.5
kill -0 "$server_pid" 2>/dev/null || { echo "the server did not start (port $port taken?)"; cat "$dir/log"; exit 1; }
ready=""
for _ in $(seq 1 600); do
  curl -sf "$base/readyz" >/dev/null 2>&1 && { ready=1; break; }
  kill -0 "$server_pid" 2>/dev/null || { cat "$dir/log"; exit 1; }
  sleep 0.2
done
[ -n "$ready" ] || { echo "the server did not become ready in 120 s"; cat "$dir/log"; exit 1; }
password=$(awk '$1 == "advertiser@herald.local" { print $2 }' "$dir/log")
curl -sf -o /dev/null -c "$dir/jar" -H "Origin: $base" -H "Accept: application/json" \
  --data-urlencode "input[email]=advertiser@herald.local" \
  --data-urlencode "input[password]=$password" "$base/api/sign_in"
cookie=$(awk '$6 == "herald" { print "herald=" $7 }' "$dir/jar")
[ -n "$cookie" ] || { echo "sign-in failed"; exit 1; }
