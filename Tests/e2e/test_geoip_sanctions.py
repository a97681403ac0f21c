"""Sanctions and country rules decided by the edge's real GeoIP lookup of the connecting address,
with no test header: a `dcdn dev` of its own reads a GeoIP database the test wrote, in which
loopback addresses belong to countries (127.0.0.2 Iran, 127.0.0.3 North Korea, 127.0.0.4
Germany, 127.0.0.5 France, 127.0.0.6 Syria). Visitors connect from those addresses; headers that
claim another country or address change nothing.

The edge has no setting for its GeoIP files (EdgeNodeRole.Options.geoIPv4Path is fixed to
Debian's /usr/share/tor/geoip): the test bind-mounts its database there, inside a mount
namespace of its own that only the `dcdn` process sees."""

import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import Instance, proxied_site, serve_http
from test_dns import wait_for
from test_security import ATTACKS, Origin, get, patch_security

COUNTRIES = {"127.0.0.1": "DE", "127.0.0.2": "IR", "127.0.0.3": "KP", "127.0.0.4": "DE", "127.0.0.5": "FR", "127.0.0.6": "SY"}
UNKNOWN = "127.0.0.7"  # in no range of the database
BLOCKED = "127.0.0.8"  # nor this one, which the IP block list names


def geoip_database(directory):
    """Tor's format ("first,last,CC" with addresses as integers): one range per address."""
    integer = lambda address: int.from_bytes(bytes(int(part) for part in address.split(".")), "big")
    ipv4, ipv6 = os.path.join(directory, "geoip"), os.path.join(directory, "geoip6")
    with open(ipv4, "w") as file:
        file.write("# test GeoIP database: loopback addresses in countries\n")
        for address, country in sorted(COUNTRIES.items(), key=lambda item: integer(item[0])):
            file.write(f"{integer(address)},{integer(address)},{country}\n")
    with open(ipv6, "w") as file:
        file.write("# no IPv6 ranges\n")
    return {ipv4: "/usr/share/tor/geoip", ipv6: "/usr/share/tor/geoip6"}


def in_mount_namespace(binds):
    """Runs the command in a new mount namespace where each file of `binds` covers its target."""
    mounts = " && ".join(f'mount --bind "{source}" "{target}"' for source, target in binds.items())
    return lambda command: ["unshare", "--mount", "--propagation", "private", "sh", "-c", f'{mounts} && exec "$@"', "sh", *command]


@pytest.fixture(scope="module")
def geo_dev():
    if shutil.which("unshare") is None or not all(os.path.exists(target) for target in ("/usr/share/tor/geoip", "/usr/share/tor/geoip6")):
        pytest.skip("needs unshare and tor-geoipdb's files to bind-mount over")
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True, timeout=10)
    if probe.returncode != 0:
        pytest.skip("cannot make a mount namespace here (needs CAP_SYS_ADMIN); the edge has no GeoIP file setting to use instead")
    directory = tempfile.mkdtemp(prefix="dcdn-geoip-")
    instance = Instance("dev", wrap=in_mount_namespace(geoip_database(directory)))
    yield instance
    assert instance.stop() == 0, instance.output


@pytest.fixture(scope="module")
def site(geo_dev):
    with serve_http(Origin) as port:
        yield proxied_site(geo_dev, port, "geo")


def status(site, source, path="/", **headers):
    return get(site, path, source=source, headers=headers)[0]


def test_sanctioned_countries_are_refused_by_the_address_lookup(geo_dev, site):
    assert "no GeoIP data" not in geo_dev.output and "GeoIP unavailable" not in geo_dev.output
    for source in ("127.0.0.2", "127.0.0.3"):
        code, headers, body = get(site, "/", source=source)
        assert code == 451, (source, code)
        assert f"({COUNTRIES[source]})" in body, body[:300]
    for source in ("127.0.0.4", "127.0.0.5", UNKNOWN):
        code, _, body = get(site, "/", source=source)
        assert code == 200 and "origin page" in body, (source, code)


def test_what_a_visitor_claims_in_headers_changes_nothing(site):
    # No test header is configured: X-Test-Country is just a header.
    assert status(site, "127.0.0.2", **{"X-Test-Country": "DE"}) == 451
    assert status(site, "127.0.0.4", **{"X-Test-Country": "IR"}) == 200
    for field in ("X-Forwarded-For", "X-Real-IP", "CF-Connecting-IP", "True-Client-IP", "Forwarded"):
        value = "for=127.0.0.4" if field == "Forwarded" else "127.0.0.4"
        assert status(site, "127.0.0.2", **{field: value}) == 451, field
        assert status(site, "127.0.0.4", **{field: value.replace("127.0.0.4", "127.0.0.2")}) == 200, field


def test_a_cached_object_is_not_served_to_a_sanctioned_visitor(site):
    target = "/static/geo.js"
    assert status(site, "127.0.0.4", target) == 200
    assert "hit" in get(site, target, source="127.0.0.4")[1].get("Cache-Status", ""), "answered from the memory fast path"
    assert status(site, "127.0.0.2", target) == 451


def test_country_lists_and_the_allow_list_use_the_same_lookup(site):
    patch_security(site, country_block=["DE"])
    wait_for(lambda: status(site, "127.0.0.4") == 403, timeout=10, interval=0.1)
    assert status(site, "127.0.0.5") == 200
    # Each change is waited for by what it alone changes (Germany was refused already).
    patch_security(site, country_block=[])
    wait_for(lambda: status(site, "127.0.0.4") == 200, timeout=10, interval=0.1)
    patch_security(site, country_allow=["FR"])
    wait_for(lambda: status(site, "127.0.0.4") == 403, timeout=10, interval=0.1)
    assert status(site, "127.0.0.5") == 200
    assert status(site, UNKNOWN) == 403, "an address of no known country is not in an allow list"
    # The IP lists: the block list refuses an address; the allow list skips the firewall (the
    # managed WAF included), but never the sanctions.
    patch_security(site, country_allow=[], ip_block=[BLOCKED], ip_allow=["127.0.0.6/32", "127.0.0.4/32"])
    wait_for(lambda: status(site, "127.0.0.4") == 200, timeout=10, interval=0.1)
    code, _, body = get(site, "/", source=BLOCKED)
    assert code == 403 and "does not accept requests from your address" in body
    assert status(site, "127.0.0.4", ATTACKS[0][0]) == 200
    assert status(site, "127.0.0.5", ATTACKS[0][0]) == 403
    assert status(site, "127.0.0.6") == 451
    patch_security(site, ip_block=[], ip_allow=[])
