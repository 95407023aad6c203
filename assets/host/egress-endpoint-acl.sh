#!/bin/bash
# Squid external ACL helper: the VPC endpoint ID from PROXY protocol v2, and whether it is listed in $1.
set -u
declare -A allowed=()
if [ $# -gt 0 ]; then
  while IFS= read -r id || [ -n "$id" ]; do
    [ -n "$id" ] && allowed["$id"]=1
  done < "$1"
fi
while IFS= read -r line; do
  value=${line%% *}
  value=${value#%01}
  [[ "$value" =~ ^vpce-[0-9a-f]+$ ]] || value=-
  if [ $# -eq 0 ] || { [ "$value" != - ] && [ -n "${allowed[$value]:-}" ]; }; then
    echo "OK endpoint=$value"
  else
    echo "ERR endpoint=$value"
  fi
done
