#!/bin/bash
# Squid url_rewrite helper: redirect every request it gets (only refused CONNECTs are sent here).
while IFS= read -r _; do
  echo 'OK status=302 url=http://egress-denied.invalid/'
done
