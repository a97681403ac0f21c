#!/usr/bin/env bash
# Installs the system packages a profile needs: `dev` (build and run) or `test` (everything
# `make test` uses). As root it installs them; otherwise it prints the exact command.
set -euo pipefail
profile=${1:-dev}

# Swift: the toolchain is not a Debian package; use the one on PATH or in /opt/swift.
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  export PATH=/opt/swift/usr/bin:$PATH
fi
if ! command -v swift >/dev/null 2>&1; then
  echo "Swift 6 is required: install it from https://www.swift.org/install/linux/ and put it on PATH." >&2
  exit 1
fi

packages=(git curl ca-certificates tor-geoipdb tzdata zlib1g-dev libbrotli-dev libvips-dev pkg-config)
# libnginx-mod-http-modsecurity and modsecurity-crs: nginx + ModSecurity v3 + the OWASP CRS, the
# peer of scripts/bench/waf.sh.
# nghttp2-client: h2load, the HTTP/2 load of edge.sh and tls.sh.
bench=(dnsperf nsd knot dnsutils wrk nginx varnish libvips-tools python3-pil postgresql python3-venv time
  libnginx-mod-http-modsecurity modsecurity-crs nghttp2-client)
if [ "$profile" = test ]; then
  # The benchmarks' peers too: `make test` runs every benchmark in smoke mode.
  packages+=(postgresql chromium chromium-driver python3 python3-venv python3-pip dnsutils bind9-utils knot-dnsutils nsd pebble haproxy "${bench[@]}")
fi
if [ "$profile" = bench ]; then
  packages+=("${bench[@]}")
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "Installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Installing a server (nginx, varnish, knot) must not start it as a system service: the
  # benchmarks and tests start their own on free ports. policy-rc.d is Debian's switch for that.
  added_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && added_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$added_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
else
  echo "Missing system packages. Run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
