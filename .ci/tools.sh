# Sourced by the other scripts: installs what Herald's build needs when it is missing (the
# wasm target, wasm-opt ≥ 116, Herald's bundler from .ci/bundle) and exports a build cache
# shared by every clone. Nothing here downloads from GitHub.

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/herald/target}"
HERALD_TOOLS="$HOME/.cache/herald/tools"
# Leptos bakes this name into the server at compile time (otherwise it asks for `herald_bg.wasm`):
# every build (the release, tests, clippy) must set the same, or each would rebuild half the
# dependency tree for the other.
export LEPTOS_OUTPUT_NAME=herald
export PATH="$HERALD_TOOLS/node_modules/.bin:$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# Debian's Chromium and lighthouse@12 (which brings puppeteer-core), for .ci/lighthouse and
# .ci/trace-page; sets lh_dir to where lighthouse is installed.
ensure_lighthouse() {
  if ! command -v chromium >/dev/null; then
    local sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update && $sudo_cmd apt-get install -y chromium
  fi
  lh_dir="$HOME/.cache/herald/lighthouse"
  if [ ! -x "$lh_dir/node_modules/.bin/lighthouse" ]; then
    say "Installing lighthouse 12"
    npm install --loglevel=error --no-progress --prefix "$lh_dir" lighthouse@12
  fi
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "Adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! wasm-opt --version 2>/dev/null | grep -qE 'version (1[2-9][0-9]|11[6-9])'; then
  # Debian's binaryen 108 builds a bundle that silently fails to hydrate: need >= 116.
  if command -v npm >/dev/null; then
    say "Installing wasm-opt (binaryen 132) from npm"
    npm install --loglevel=error --no-progress --prefix "$HERALD_TOOLS" binaryen@132
  else
    say "Installing wasm-opt with cargo (about 6 minutes, once)"
    cargo install wasm-opt --locked --root "$HERALD_TOOLS/node_modules/.bin/.."
  fi
fi

# axe-core: the browser tests inject it into every page to check accessibility.
if [ ! -f "$HERALD_TOOLS/node_modules/axe-core/axe.min.js" ] && command -v npm >/dev/null; then
  say "Installing axe-core (accessibility checks in the browser tests)"
  npm install --loglevel=error --no-progress --prefix "$HERALD_TOOLS" axe-core@4.10
fi

# Cargo names build units without the checkout's path and decides freshness by file times, so
# a checkout built after another one in this shared cache can take the other's artifacts of
# Herald's own crates as up to date. When the checkout changes, forget those (the dependencies
# stay cached).
mkdir -p "$CARGO_TARGET_DIR"
checkout_marker="$CARGO_TARGET_DIR/.herald-checkout"
if [ -f "$checkout_marker" ] && [ "$(cat "$checkout_marker")" != "$PWD" ]; then
  say "Another checkout built here last: rebuilding Herald's own crates"
  cargo clean --quiet -p app -p server -p migrations || true
  cargo clean --quiet -p app -p server -p migrations --target-dir "$CARGO_TARGET_DIR/front" \
    --target wasm32-unknown-unknown --profile wasm-release || true
  cargo clean --quiet -p herald-bundle --manifest-path .ci/bundle/Cargo.toml \
    --target-dir "$CARGO_TARGET_DIR/bundle" --release || true
fi
echo "$PWD" > "$checkout_marker"

