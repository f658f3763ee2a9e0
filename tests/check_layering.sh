#!/usr/bin/env bash
# Fails when a source breaks the dependency direction of docs/design.md:
# core includes no Asio, mbedTLS or FlatBuffers (nor transports or programs);
# aggregator and device_agent never include each other.
set -u
root=${1:-.}
fail=0
check() {  # check <folder> <regex> <what>
  local hits
  hits=$(grep -rnE "$2" "$root/$1" --include='*.h' --include='*.cpp' 2>/dev/null)
  if [[ -n "$hits" ]]; then
    echo "layering: $1 must not include $3:"
    echo "$hits"
    fail=1
  fi
}
check core '#\s*include\s*[<"](asio|mbedtls|flatbuffers|schema/)' 'Asio, mbedTLS or FlatBuffers'
check core '#\s*include\s*"(transports|aggregator|device_agent|tools|examples)/' 'transports or programs'
check transports '#\s*include\s*"(aggregator|device_agent|tools|examples)/' 'aggregator, agent or programs'
check aggregator '#\s*include\s*"device_agent/' 'device_agent'
check device_agent '#\s*include\s*"aggregator/' 'aggregator'
if [[ $fail -eq 0 ]]; then echo "layering: ok"; fi
exit $fail
