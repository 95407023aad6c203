# Shared by scripts/test-all.sh and the lanes in scripts/ci/lanes/: timed stages, parallel lanes.
# shellcheck shell=bash

CI_DIR=${CI_DIR:-.tmp/ci}
CI_TIMES=${CI_TIMES:-$CI_DIR/times.tsv}

# stage NAME COMMAND...: run a command under a header and record how long it took.
stage() {
  local name=$1 start rc
  shift
  printf '\n=== %s ===\n' "$name"
  start=$(date +%s)
  rc=0
  "$@" || rc=$?
  printf '%s\t%s\t%d\t%s\n' "${CI_LANE:-setup}" "$name" "$(($(date +%s) - start))" "$rc" >>"$CI_TIMES"
  printf '=== %s: %ss%s ===\n' "$name" "$(($(date +%s) - start))" "$([ "$rc" = 0 ] || echo ", FAILED (exit $rc)")"
  return "$rc"
}

# Install the Debian packages of scripts/ci/system-packages.txt whose program is missing.
install_system_packages() {
  local missing=() path pkg
  while read -r path pkg; do
    case "$path" in '' | '#'*) continue ;; esac
    [ -x "$path" ] || missing+=("$pkg")
  done <scripts/ci/system-packages.txt
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing system packages: ${missing[*]}. Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    [ "${CI:-}" != true ] || return 1
  fi
}

# run_lanes LANE...: run lane scripts side by side, at most $CI_JOBS at a time (default 2, the
# machine's cores). Each lane's output goes to its own log, printed whole when the lane ends.
run_lanes() {
  local jobs=${CI_JOBS:-2} lane name failed=() names=()
  declare -A pid_of=()
  for lane in "$@"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    name=$(basename "$lane" .sh)
    echo ">>> lane $name started at $(date +%T)"
    (CI_LANE=$name bash "$lane" >"$CI_DIR/$name.log" 2>&1) &
    pid_of[$name]=$!
    names+=("$name")
  done
  for name in "${names[@]}"; do
    if wait "${pid_of[$name]}"; then
      echo ">>> lane $name passed at $(date +%T)"
    else
      echo ">>> lane $name FAILED at $(date +%T)"
      failed+=("$name")
    fi
    printf '\n########## lane %s: output ##########\n' "$name"
    cat "$CI_DIR/$name.log"
  done
  [ ${#failed[@]} -eq 0 ] || {
    echo "Failed lanes: ${failed[*]}" >&2
    return 1
  }
}

# The time of every stage, lane by lane.
print_times() {
  printf '\n=== Stage times ===\n'
  awk -F'\t' '{ printf "%-10s %-60s %5ss%s\n", $1, $2, $3, ($4 == 0 ? "" : "  FAILED") }' "$CI_TIMES"
}
