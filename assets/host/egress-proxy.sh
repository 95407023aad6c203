#!/bin/bash
# egress-proxy: the control script of an egress proxy instance, installed as
# /usr/local/sbin/egress-proxy by CloudFormation::Init (cdk-private-egress-proxy).
#
#   egress-proxy bump-cert   make the throw-away certificate of the ssl-bump port
#   egress-proxy apply       install the staged Squid files, check them with 'squid -k parse' and
#                            reload Squid; when the check fails, put the previous files back
#   egress-proxy start       load the connection cap (egress-proxy-firewall.service), start Squid
#                            and wait until it listens on the proxy port
#
# Its settings are shell variables in /etc/egress-proxy/host.env, written beside it by
# CloudFormation::Init. A step that fails also writes its reason to $EGRESS_PROXY_STATE_DIR/last-error,
# which the first boot sends to CloudFormation with the failure signal.
set -euo pipefail
umask 022

# shellcheck source=/dev/null
. /etc/egress-proxy/host.env
: "${SQUID_CONF:?}" "${SQUID_GROUP:?}" "${BUMP_CERT:?}" "${PROXY_PORT:?}"
: "${EGRESS_PROXY_STATE_DIR:?}" "${EGRESS_PROXY_STAGE_DIR:?}" "${EGRESS_PROXY_MANIFEST:?}"
SQUID=/usr/sbin/squid
LAST_ERROR=$EGRESS_PROXY_STATE_DIR/last-error

say() { echo "egress-proxy: $*" >&2; }

# Report a failure on stderr (cfn-init's log) and keep it as the reason of the failure signal.
fail() {
  say "$@"
  mkdir -p "$EGRESS_PROXY_STATE_DIR"
  printf '%s\n' "$*" >"$LAST_ERROR"
  return 1
}

# The ssl-bump port needs a certificate although peek and splice never show it to anyone.
bump_cert() {
  if [ -s "$BUMP_CERT" ]; then return 0; fi
  local dir
  dir=$(mktemp -d)
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=egress-proxy-bump" \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
  cat "$dir/cert.pem" "$dir/key.pem" >"$dir/bump.pem"
  install -D -m 0640 -o root -g "$SQUID_GROUP" "$dir/bump.pem" "$BUMP_CERT"
  rm -rf "$dir"
  say "created the ssl-bump certificate $BUMP_CERT"
}

# Put back the files saved in $1 and remove the files listed after it (they were new).
restore() {
  local backup=$1 f
  shift
  (cd "$backup" && find . -type f -print0 | while IFS= read -r -d '' f; do cp -p "$f" "/${f#./}"; done)
  for f in "$@"; do rm -f "$f"; done
}

# Install the staged files, check them with 'squid -k parse', then reload Squid. When the check
# fails the previous files are put back: Squid never read the new ones and keeps serving.
apply() {
  mkdir -p "$EGRESS_PROXY_STATE_DIR"
  exec 9>"$EGRESS_PROXY_STATE_DIR/apply.lock"
  flock 9
  local backup out mode path
  local created=()
  backup=$(mktemp -d "$EGRESS_PROXY_STATE_DIR/previous.XXXXXX")
  while read -r mode path; do
    if [ -z "$path" ]; then continue; fi
    if [ -e "$path" ]; then
      mkdir -p "$backup$(dirname "$path")"
      cp -p "$path" "$backup$path"
    else
      created+=("$path")
    fi
    install -D -m "${mode: -4}" "$EGRESS_PROXY_STAGE_DIR$path" "$path"
  done <"$EGRESS_PROXY_MANIFEST"
  if ! out=$("$SQUID" -k parse -f "$SQUID_CONF" 2>&1); then
    restore "$backup" "${created[@]+"${created[@]}"}"
    rm -rf "$backup"
    fail "squid -k parse rejected the new configuration; the previous one stays in service: $(grep -E 'FATAL|ERROR|Bungled' <<<"$out" | tr '\n' ' ')"
    return 1
  fi
  rm -rf "$backup" "$LAST_ERROR"
  if "$SQUID" -k check -f "$SQUID_CONF" >/dev/null 2>&1; then
    "$SQUID" -k reconfigure -f "$SQUID_CONF"
    say "configuration applied; Squid reconfigured"
  else
    say "configuration applied; Squid is not running yet"
  fi
}

# Start Squid (first boot) and wait until it accepts connections on the proxy port.
start() {
  local _
  systemctl daemon-reload
  if ! systemctl enable --now egress-proxy-firewall.service; then
    journalctl -u egress-proxy-firewall.service --no-pager -n 20 >&2 || true
    fail "the connection cap (egress-proxy-firewall.service, nftables) did not load"
    return 1
  fi
  systemctl enable squid.service
  systemctl restart squid.service
  for _ in $(seq 1 120); do
    if ss -Hltn "sport = :$PROXY_PORT" | grep -q .; then
      say "Squid listens on port $PROXY_PORT"
      return 0
    fi
    sleep 1
  done
  systemctl status squid.service --no-pager >&2 || true
  fail "Squid is not listening on port $PROXY_PORT after 120 seconds"
}

case "${1:-}" in
  apply) apply ;;
  bump-cert) bump_cert ;;
  start) start ;;
  *)
    echo "usage: egress-proxy apply | bump-cert | start" >&2
    exit 2
    ;;
esac
