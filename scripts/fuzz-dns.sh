#!/usr/bin/env bash
# Fuzzes the DNS wire-format decoder with libFuzzer (and AddressSanitizer) for SECONDS seconds.
# Usage: scripts/fuzz-dns.sh [SECONDS]   — crashes are written to Fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
if ! command -v swiftc >/dev/null 2>&1; then export PATH=/opt/swift/usr/bin:$PATH; fi
mkdir -p .build/fuzz Fuzz/corpus
# The wire format has no dependencies, so the fuzzer compiles it directly.
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name DNSKit \
  Sources/DNSKit/DNSName.swift Sources/DNSKit/DNSMessage.swift Sources/DNSKit/DNSWire.swift Fuzz/DNSMessageFuzzer.swift \
  -o .build/fuzz/dns-message-fuzzer
# Seeds: a few well-formed queries and responses.
python3 - <<'PY'
import struct, os
def name(n): return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".") if l) + b"\0"
def query(n, t, edns=False):
    header = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 1 if edns else 0)
    body = name(n) + struct.pack("!HH", t, 1)
    if edns: body += b"\0" + struct.pack("!HHIH", 41, 1232, 0, 12) + struct.pack("!HHHBB", 8, 8, 1, 24, 0) + bytes([1, 0, 0])
    return header + body
seeds = {"a": query("www.example.com", 1), "mx": query("example.com", 15), "ecs": query("example.com", 1, True), "axfr": query("example.com", 252)}
for key, data in seeds.items():
    open(f"Fuzz/corpus/{key}", "wb").write(data)
PY
.build/fuzz/dns-message-fuzzer -max_total_time="$seconds" -max_len=4096 -artifact_prefix=Fuzz/crash- Fuzz/corpus
