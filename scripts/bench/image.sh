#!/usr/bin/env bash
# Image benchmark: a 24 MP JPEG made 800 px wide as WebP and as AVIF (quality 80, metadata
# stripped) by DCDN's /cdn-cgi/image endpoint, by `vipsthumbnail` (the same libvips, one process
# per image, as people script it) and by Pillow (draft-mode JPEG decode, in one process).
# Prints the median latency per image, images/s at concurrency 2, peak RSS, and the ratios.
# Usage: scripts/bench/image.sh [IMAGES]    (default 10 per measurement)
#        BENCH_SMOKE=1 scripts/bench/image.sh   (1 image per measurement, a 3 MP source, the debug build)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
count=${1:-$([ "$smoke" = 1 ] && echo 1 || echo 10)}
bench_start image

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check "pillow>=11.3" requests

# The source: 6000×4000, photo-like (smooth gradients with noise), served by a local origin that
# the coordinator reaches through the operator option for named private sources.
"$work/venv/bin/python" - "$work/source.jpg" "$smoke" <<'PY'
import sys
from PIL import Image
width, height = (2100, 1400) if sys.argv[2] == "1" else (6000, 4000)
base = Image.radial_gradient("L").resize((width, height))
noise = Image.effect_noise((width, height), 40)
image = Image.merge("RGB", (base, Image.blend(base, noise, 0.5), noise))
image.save(sys.argv[1], "JPEG", quality=90)
PY
# Port 0: the server binds a free port itself and says which.
(cd "$work" && exec "$work/venv/bin/python" -u -m http.server 0 --bind 127.0.0.1 >"$work/origin.log" 2>&1) &
pids+=($!)
origin_port=
until [ -n "$origin_port" ]; do
  origin_port=$(sed -n 's/^Serving HTTP on [0-9.]* port \([0-9]*\) .*/\1/p' "$work/origin.log")
  [ -n "$origin_port" ] || bench_tick
done
export DCDN_IMAGE_PRIVATE_SOURCES="bench.images=127.0.0.1:$origin_port"
bench_coordinator
coordinator_pid=${pids[-1]}
endpoint="http://127.0.0.1:$api_port/cdn-cgi/image/?url=http://bench.images/source.jpg&w=800&q=80"
until curl -sf -o /dev/null "$endpoint&f=webp"; do bench_tick; done

"$work/venv/bin/python" - "$work" "$endpoint" "$count" "$coordinator_pid" <<'PY'
import concurrent.futures, io, os, resource, statistics, subprocess, sys, time
import requests
from PIL import Image

work, endpoint, count, coordinator_pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
source = os.path.join(work, "source.jpg")

def via_dcdn(fmt, n):
    response = requests.get(f"{endpoint}&f={fmt}&n={n}", timeout=120)  # n: no two requests alike
    assert response.status_code == 200 and response.headers["Content-Type"] == f"image/{fmt}", response.text
    return len(response.content)

def via_vipsthumbnail(fmt, n):
    out = os.path.join(work, f"vips-{n}.{fmt}")
    subprocess.run(["vipsthumbnail", source, "--size", "800", "-o", f"{out}[Q=80,strip]"], check=True, stderr=subprocess.DEVNULL)
    return os.path.getsize(out)

def via_pillow(fmt, n):
    image = Image.open(source)
    image.draft("RGB", (800, 800))  # the JPEG decoder's own shrink-on-load
    image.thumbnail((800, 100_000), Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, "WEBP" if fmt == "webp" else "AVIF", quality=80)
    return out.tell()

def latency(run, fmt):
    run(fmt, -1)  # warm up
    times = []
    for n in range(count):
        started = time.perf_counter()
        run(fmt, n)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000

def throughput(run, fmt, pool):
    started = time.perf_counter()
    with pool(max_workers=2) as executor:
        list(executor.map(lambda n: run(fmt, n), range(1000, 1000 + 2 * count)) if pool is concurrent.futures.ThreadPoolExecutor
             else executor.map(run, [fmt] * (2 * count), range(1000, 1000 + 2 * count)))
    return 2 * count / (time.perf_counter() - started)

def peak_rss_vipsthumbnail(fmt):
    result = subprocess.run(["/usr/bin/time", "-f", "%M", "vipsthumbnail", source, "--size", "800", "-o", os.path.join(work, f"rss.{fmt}[Q=80,strip]")],
                            check=True, capture_output=True, text=True)
    return int(result.stderr.strip().splitlines()[-1]) / 1024

rows = []
for fmt in ("webp", "avif"):
    d = (latency(via_dcdn, fmt), throughput(via_dcdn, fmt, concurrent.futures.ThreadPoolExecutor))
    v = (latency(via_vipsthumbnail, fmt), throughput(via_vipsthumbnail, fmt, concurrent.futures.ThreadPoolExecutor))
    p = (latency(via_pillow, fmt), throughput(via_pillow, fmt, concurrent.futures.ProcessPoolExecutor))
    rows.append((fmt, d, v, p, peak_rss_vipsthumbnail(fmt)))

with open(f"/proc/{coordinator_pid}/status") as status:
    dcdn_rss = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
pillow_rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024

width, height = Image.open(source).size
print(f"\n{width * height / 1e6:.0f} MP JPEG → 800 px, q=80, {count} images per measurement")
print(f"{'format':7} {'tool':15} {'ms/image':>9} {'images/s (c=2)':>15}")
for fmt, d, v, p, _ in rows:
    for name, (ms, ips) in (("dcdn endpoint", d), ("vipsthumbnail", v), ("Pillow", p)):
        print(f"{fmt:7} {name:15} {ms:9.1f} {ips:15.2f}")
    print(f"  {fmt}: dcdn/vipsthumbnail latency {d[0] / v[0]:.2f}x, throughput {d[1] / v[1]:.2f}x;"
          f"  dcdn/Pillow latency {d[0] / p[0]:.2f}x, throughput {d[1] / p[1]:.2f}x")
print(f"peak RSS: dcdn coordinator {dcdn_rss:.0f} MiB (whole process, source cache included); "
      f"vipsthumbnail {max(r[4] for r in rows):.0f} MiB; Pillow {pillow_rss:.0f} MiB")
PY
