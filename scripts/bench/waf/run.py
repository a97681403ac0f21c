#!/usr/bin/env python3
"""The requests of scripts/bench/waf.sh: every attack payload of attacks.jsonl in several placements
and every legitimate text of legitimate.jsonl in the places forms and APIs put text, sent to each
engine (a DCDN edge at some sensitivity, nginx + ModSecurity + CRS at some paranoia level) in front
of the same origin. A 403 is a block; a 200 carrying the origin's marker passed; anything else is an
error, reported and never counted as a detection. Standard library only; deterministic.

  run.py --engine NAME=HOST:PORT@VHOST ... --out FILE [--sample N] [--threads N]
  run.py --report FILE [--engine NAME] [--limit N]   (what an engine missed and blocked wrongly)
"""
import argparse
import hashlib
import http.client
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
MARKER_HEADER = "x-bench-origin"
MARKER_BODY = b"origin ok"
# Deep enough that the traversals of the corpus (up to 12 `../`) stay below the root: servers
# answer 400 to a path above it before any WAF could judge it.
PATH_PREFIX = "/p/" + "/".join("d%d" % i for i in range(16)) + "/"
BROWSER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.5",
}
ATTACK_PLACEMENTS = ["query", "path", "header", "form", "multipart", "json", "json_escaped", "xml"]
LEGIT_PLACEMENTS = ["query", "form", "multipart", "json"]
HEX = re.compile(r"%[0-9A-Fa-f]{2}")


def load(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def url_encode(text, safe):
    """Percent-encodes what a URL cannot carry, keeping the %XX escapes a payload list wrote on
    purpose (an attack string meant for a URL is sent as its author wrote it)."""
    out = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "%" and HEX.match(text, index):
            out.append(text[index:index + 3])
            index += 3
            continue
        if char.isascii() and (char.isalnum() or char in "-._~" or char in safe):
            out.append(char)
        else:
            out.append("".join("%%%02X" % byte for byte in char.encode("utf-8")))
        index += 1
    return "".join(out)


def decoded(payload):
    """The value an application sees of a payload written with URL escapes (a form field or a JSON
    string carries the character, not its escape)."""
    return urllib.parse.unquote(payload) if HEX.search(payload) else payload


def json_escaped(value):
    """A JSON string with every character but letters and digits as \\uXXXX, as some encoders emit."""
    out = ['"']
    for char in value:
        if char.isascii() and char.isalnum():
            out.append(char)
        else:
            code = ord(char)
            if code > 0xFFFF:
                code -= 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
            else:
                out.append("\\u%04x" % code)
    out.append('"')
    return "".join(out)


def xml_text(value):
    value = "".join(char for char in value if char in "\t\n\r" or ord(char) >= 0x20)  # XML 1.0 has no other controls
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def multipart(fields, seed):
    boundary = "----WebKitFormBoundary" + hashlib.sha1(seed.encode()).hexdigest()[:16]
    parts = []
    for name, value in fields:
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n" % (boundary, name)).encode() + value.encode("utf-8") + b"\r\n")
    body = b"".join(parts) + ("--%s--\r\n" % boundary).encode()
    return "multipart/form-data; boundary=" + boundary, body


def build(placement, text, seed, family=None, kind=None):
    """(method, target, extra headers, body) of one request carrying `text` in `placement`."""
    value = decoded(text) if family is not None else text
    if placement == "query":
        query = url_encode(text, "!$'()*,/:;=@+") if family is not None else urllib.parse.quote_plus(text)
        return "GET", "/search?q=%s&page=1" % query, {}, None
    if placement == "path":
        return "GET", PATH_PREFIX + url_encode(text, "!$'()*,:;=@+/"), {}, None
    if placement == "user_agent":
        return "GET", "/index.html", {"User-Agent": value}, None
    if placement == "header":
        if family in ("log4shell", "shellshock"):
            raw = value if not re.search(r"[\x00-\x1f\x7f]", value) else text
            return "GET", "/api/status", {"X-Api-Version": raw}, None
        return "GET", "/index.html", {"Referer": "http://www.example.com/search?q=" + url_encode(text, "!$'()*,/:;=@+")}, None
    if placement == "form":
        body = "name=Alice+Martin&email=alice%40example.com&comment=" + urllib.parse.quote_plus(value)
        return "POST", "/contact", {"Content-Type": "application/x-www-form-urlencoded"}, body.encode()
    if placement == "multipart":
        content_type, body = multipart([("name", "Alice Martin"), ("hl", "en"), ("comment", value)], seed)
        return "POST", "/upload", {"Content-Type": content_type}, body
    if placement in ("json", "json_escaped"):
        if kind == "json_api" and placement == "json":
            return "POST", "/api/v1/items", {"Content-Type": "application/json"}, text.encode()
        string = json.dumps(value, ensure_ascii=False) if placement == "json" else json_escaped(value)
        body = '{"name": "Alice Martin", "lang": "en", "comment": %s}' % string
        return "POST", "/api/v1/comments", {"Content-Type": "application/json"}, body.encode()
    if placement == "xml":
        body = '<?xml version="1.0" encoding="UTF-8"?>\n<comment><name>Alice Martin</name><text>%s</text></comment>' % xml_text(value)
        return "POST", "/api/v1/comments", {"Content-Type": "application/xml"}, body.encode()
    if placement == "xml_document":
        return "POST", "/api/v1/import", {"Content-Type": "application/xml"}, text.encode()
    raise ValueError(placement)


def attack_placements(family, payload):
    if family == "scanner":
        return ["user_agent"]
    if family == "xxe":
        return ["xml_document"]
    # nginx answers 400 to a NUL byte in the path before any module sees the request.
    return [placement for placement in ATTACK_PLACEMENTS if placement != "path" or "\x00" not in decoded(payload)]


def sample(items, per_group, key):
    """Smoke mode: the first `per_group` items of each family or kind."""
    seen = {}
    chosen = []
    for item in items:
        group = item[key]
        if seen.get(group, 0) < per_group:
            seen[group] = seen.get(group, 0) + 1
            chosen.append(item)
    return chosen


class Client:
    """One keep-alive connection per thread and engine."""

    def __init__(self, engines):
        self.engines = engines
        self.local = threading.local()

    def send(self, engine, request):
        method, target, extra, body = request
        name, host, port, vhost = engine
        connections = self.local.__dict__.setdefault("connections", {})
        headers = dict(BROWSER_HEADERS)
        headers["Host"] = vhost
        headers.update(extra)
        if body is not None:
            headers["Content-Length"] = str(len(body))
        for attempt in range(3):
            connection = connections.get(name)
            if connection is None:
                connection = http.client.HTTPConnection(host, port, timeout=30)
                connections[name] = connection
            try:
                connection.request(method, target, body=body, headers=headers)
                response = connection.getresponse()
                content = response.read()
                marker = response.getheader(MARKER_HEADER)
                if response.getheader("connection", "").lower() == "close" or response.will_close:
                    connection.close()
                    connections.pop(name, None)
                if response.status == 403:
                    return "blocked", 403
                if response.status == 200 and (marker == "ok" or MARKER_BODY in content):
                    return "passed", 200
                return "error", response.status
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connections.pop(name, None)
                if attempt == 2:
                    return "error", type(error).__name__
                time.sleep(0.05)
        return "error", "unreachable"


def percent(part, whole):
    return 100.0 * part / whole if whole else 0.0


def summarise(document):
    engines = document["engines"]
    attacks = document["attacks"]
    legit = document["legitimate"]
    width = max(14, *(len(name) + 2 for name in engines))

    def table(title, groups, rows, fmt):
        print("\n%-22s" % title + "".join("%*s" % (width, name) for name in engines) + "%8s" % "n")
        for group in groups:
            items = [row for row in rows if fmt(row) == group]
            cells = []
            for name in engines:
                blocked = sum(1 for row in items if row["results"][name] == "blocked")
                cells.append("%*s" % (width, "%.1f %%" % percent(blocked, len(items))))
            print("%-22s" % group + "".join(cells) + "%8d" % len(items))

    families = list(dict.fromkeys(row["family"] for row in attacks))
    placements = list(dict.fromkeys(row["placement"] for row in attacks))
    table("detection by family", families, attacks, lambda row: row["family"])
    table("detection by placement", placements, attacks, lambda row: row["placement"])
    kinds = list(dict.fromkeys(row["kind"] for row in legit))
    table("false positives by kind", kinds, legit, lambda row: row["kind"])
    table("false pos. by placement", LEGIT_PLACEMENTS, legit, lambda row: row["placement"])

    print("\n%-22s" % "overall" + "".join("%*s" % (width, name) for name in engines))
    line_detect, line_family, line_fp, line_errors = [], [], [], []
    summary = {}
    for name in engines:
        blocked = sum(1 for row in attacks if row["results"][name] == "blocked")
        per_family = [percent(sum(1 for row in attacks if row["family"] == family and row["results"][name] == "blocked"),
                              sum(1 for row in attacks if row["family"] == family)) for family in families]
        false_positives = sum(1 for row in legit if row["results"][name] == "blocked")
        errors = sum(1 for row in attacks + legit if row["results"][name] == "error")
        summary[name] = {
            "detection": percent(blocked, len(attacks)), "family_mean": sum(per_family) / len(per_family) if per_family else 0.0,
            "false_positive_rate": percent(false_positives, len(legit)), "false_positives": false_positives, "errors": errors,
        }
        line_detect.append("%*s" % (width, "%.1f %%" % summary[name]["detection"]))
        line_family.append("%*s" % (width, "%.1f %%" % summary[name]["family_mean"]))
        line_fp.append("%*s" % (width, "%.2f %% (%d)" % (summary[name]["false_positive_rate"], false_positives)))
        line_errors.append("%*s" % (width, errors))
    print("%-22s" % ("detection (%d req)" % len(attacks)) + "".join(line_detect))
    print("%-22s" % "mean over families" + "".join(line_family))
    print("%-22s" % ("false pos. (%d req)" % len(legit)) + "".join(line_fp))
    print("%-22s" % "errors" + "".join(line_errors))
    return summary


def report(document, engine, limit):
    attacks = document["attacks"]
    legit = document["legitimate"]
    peers = [name for name in document["engines"] if name.startswith("crs-")]

    def short(text):
        text = text.replace("\r", "\\r").replace("\n", "\\n")
        return text if len(text) <= 110 else text[:107] + "..."

    missed = [row for row in attacks if row["results"][engine] != "blocked"]
    shown = missed
    if limit is not None:
        # A few of each family, those a CRS peer blocked first: what to look at.
        by_family = {}
        for row in sorted(missed, key=lambda row: not any(row["results"][peer] == "blocked" for peer in peers)):
            by_family.setdefault(row["family"], []).append(row)
        shown = []
        while len(shown) < limit and any(by_family.values()):
            for rows in by_family.values():
                if rows and len(shown) < limit:
                    shown.append(rows.pop(0))
    print("\n%s missed %d of %d attack requests%s:" % (engine, len(missed), len(attacks),
                                                      "" if limit is None else " (%d of them, one family after another)" % len(shown)))
    for row in shown:
        others = " ".join("%s:%s" % (peer, "blocked" if row["results"][peer] == "blocked" else "missed") for peer in peers)
        outcome = "" if row["results"][engine] != "error" else " [error %s]" % row["status"][engine]
        print("  %-17s %-13s %s%s   %s" % (row["family"], row["placement"], short(row["payload"]), outcome, others))
    blocked = [row for row in legit if row["results"][engine] == "blocked"]
    texts = {}
    for row in blocked:
        texts.setdefault((row["kind"], row["text"]), []).append(row["placement"])
    print("\n%s blocked %d of %d legitimate requests, %d texts%s:" % (engine, len(blocked), len(legit), len(texts),
                                                                     "" if limit is None else " (first %d)" % limit))
    for (kind, text), placements in list(texts.items())[:limit]:
        print("  %-12s %-26s %s" % (kind, ",".join(placements), short(text)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", action="append", default=[], help="NAME=HOST:PORT@VHOST (with --report: NAME)")
    parser.add_argument("--out")
    parser.add_argument("--sample", type=int, default=0, help="only the first N payloads of each family and texts of each kind")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--report")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--show", default="dcdn-medium", help="the engine whose misses and false positives are printed")
    args = parser.parse_args()

    if args.report:
        with open(args.report, encoding="utf-8") as handle:
            document = json.load(handle)
        for engine in args.engine or document["engines"]:
            report(document, engine, args.limit)
        return 0

    engines = []
    for spec in args.engine:
        name, rest = spec.split("=", 1)
        address, vhost = rest.split("@", 1)
        host, port = address.rsplit(":", 1)
        engines.append((name, host, int(port), vhost))
    attacks = load("attacks.jsonl")
    legit = load("legitimate.jsonl")
    if args.sample:
        attacks = sample(attacks, args.sample, "family")
        legit = sample(legit, args.sample, "kind")

    rows = []
    for index, item in enumerate(attacks):
        for placement in attack_placements(item["family"], item["payload"]):
            seed = "a%d-%s" % (index, placement)
            rows.append({"family": item["family"], "payload": item["payload"], "placement": placement,
                         "request": build(placement, item["payload"], seed, family=item["family"])})
    legit_rows = []
    for index, item in enumerate(legit):
        for placement in LEGIT_PLACEMENTS:
            seed = "l%d-%s" % (index, placement)
            legit_rows.append({"kind": item["kind"], "text": item["text"], "placement": placement,
                               "request": build(placement, item["text"], seed, kind=item["kind"])})
    every = rows + legit_rows
    print("waf: %d attack payloads in %d requests, %d legitimate texts in %d requests, per engine"
          % (len(attacks), len(rows), len(legit), len(legit_rows)))

    client = Client(engines)
    for engine in engines:
        started = time.time()
        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            outcomes = list(pool.map(lambda row: client.send(engine, row["request"]), every))
        for row, (outcome, status) in zip(every, outcomes):
            row.setdefault("results", {})[engine[0]] = outcome
            row.setdefault("status", {})[engine[0]] = status
        print("waf: %-12s %d requests in %.1f s" % (engine[0], len(every), time.time() - started))

    for row in every:
        del row["request"]
    document = {"engines": [engine[0] for engine in engines], "attacks": rows, "legitimate": legit_rows}
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=0)
    summary = summarise(document)

    errors = [row for row in every if any(outcome == "error" for outcome in row["results"].values())]
    if errors:
        print("\nwaf: %d requests answered neither 403 nor the origin's 200 (not counted as detections):" % len(errors))
        for row in errors[:20]:
            statuses = " ".join("%s:%s" % (name, row["status"][name]) for name in document["engines"] if row["results"][name] == "error")
            print("  %-17s %-13s %-60.60s %s" % (row.get("family", row.get("kind")), row["placement"],
                                                  (row.get("payload") or row.get("text")).replace("\n", "\\n"), statuses))
    if args.show in summary:
        report(document, args.show, 15)
    with open(args.out + ".summary", "w") as handle:
        json.dump(summary, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
