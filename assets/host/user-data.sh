#!/bin/bash
# First boot of an egress proxy instance: its EC2 user data (cdk-private-egress-proxy).
#
# The synthesizer puts the stack's values right after the first line, as shell variables:
#   EGRESS_PROXY_STACK, EGRESS_PROXY_REGION  the stack and its Region
#   EGRESS_PROXY_RESOURCE                    the Auto Scaling group, which carries the metadata
#   EGRESS_PROXY_CONFIG_SETS                 the config sets cfn-init runs at first boot
#   EGRESS_PROXY_LAST_ERROR                  where the control script leaves the reason of a failure
#   EGRESS_PROXY_HOST_SETUP                  a fingerprint of the instance set-up: a change to it
#                                            changes the user data, which replaces the instances
#
# It installs aws-cfn-bootstrap when the image lacks it (the minimal Amazon Linux 2023 images do),
# runs cfn-init, and signals the Auto Scaling group with cfn-init's result; a failure signal
# carries its reason, which CloudFormation shows in the stack's events.
set -uo pipefail
: "${EGRESS_PROXY_STACK:?}" "${EGRESS_PROXY_REGION:?}" "${EGRESS_PROXY_RESOURCE:?}"
: "${EGRESS_PROXY_CONFIG_SETS:?}" "${EGRESS_PROXY_LAST_ERROR:?}"

CFN_BIN=/opt/aws/bin
locator=(--region "$EGRESS_PROXY_REGION" --stack "$EGRESS_PROXY_STACK" --resource "$EGRESS_PROXY_RESOURCE")

if [ ! -x "$CFN_BIN/cfn-init" ]; then
  echo "egress-proxy: installing aws-cfn-bootstrap (the image does not have it)" >&2
  dnf install -y aws-cfn-bootstrap >&2 || echo "egress-proxy: could not install aws-cfn-bootstrap" >&2
fi

"$CFN_BIN/cfn-init" -v "${locator[@]}" --configsets "$EGRESS_PROXY_CONFIG_SETS"
status=$?

reason=()
if [ "$status" -ne 0 ]; then
  detail="cfn-init exited with $status"
  if [ -s "$EGRESS_PROXY_LAST_ERROR" ]; then
    detail="$detail: $(head -c 900 "$EGRESS_PROXY_LAST_ERROR")"
  fi
  reason=(--reason "$detail")
fi
"$CFN_BIN/cfn-signal" -e "$status" "${reason[@]+"${reason[@]}"}" "${locator[@]}"
cat /var/log/cfn-init.log >&2
