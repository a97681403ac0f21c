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
if [ "$profile" = test ]; then
  packages+=(postgresql chromium chromium-driver python3 python3-venv python3-pip dnsutils knot-dnsutils nsd pebble)
fi
if [ "$profile" = bench ]; then
  packages+=(dnsperf nsd knot dnsutils wrk nginx varnish libvips-tools python3-pil)
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
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing system packages. Run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
