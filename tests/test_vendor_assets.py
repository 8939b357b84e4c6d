"""Vendored front-end assets: present, map-free, and no CDN references.

Assets are produced by ``bash tools/vendor_assets.sh`` (pinned in package.json /
package-lock.json). This test uses only the stdlib and does not import the app.
"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "static"
VENDOR = STATIC / "vendor"
TEMPLATES = ROOT / "templates"

EXPECTED = [
    "vendor/VERSIONS.txt",
    # Bootstrap
    "vendor/bootstrap/bootstrap.min.css",
    "vendor/bootstrap/bootstrap.bundle.min.js",
    "vendor/bootstrap/LICENSE",
    # htmx
    "vendor/htmx/htmx.min.js",
    "vendor/htmx/LICENSE",
    # Leaflet
    "vendor/leaflet/leaflet.js",
    "vendor/leaflet/leaflet.css",
    "vendor/leaflet/LICENSE",
    "vendor/leaflet/images/layers.png",
    "vendor/leaflet/images/layers-2x.png",
    "vendor/leaflet/images/marker-icon.png",
    "vendor/leaflet/images/marker-icon-2x.png",
    "vendor/leaflet/images/marker-shadow.png",
    # Leaflet.markercluster
    "vendor/leaflet.markercluster/leaflet.markercluster.js",
    "vendor/leaflet.markercluster/MarkerCluster.css",
    "vendor/leaflet.markercluster/MarkerCluster.Default.css",
    "vendor/leaflet.markercluster/LICENSE",
    # Chart.js
    "vendor/chartjs/chart.umd.min.js",
    "vendor/chartjs/LICENSE",
    # DejaVu fonts
    "fonts/DejaVuSans.ttf",
    "fonts/DejaVuSans-Bold.ttf",
    "fonts/LICENSE-DejaVu",
]

PACKAGES = [
    "bootstrap",
    "htmx.org",
    "leaflet",
    "leaflet.markercluster",
    "chart.js",
    "dejavu-fonts-ttf",
]

CDN_MARKERS = ("cdn.", "unpkg", "jsdelivr")
SCANNED_SUFFIXES = {".html", ".css", ".js"}


@pytest.mark.parametrize("rel", EXPECTED)
def test_vendored_file_exists_and_non_empty(rel):
    path = STATIC / rel
    assert path.is_file(), f"missing {path.relative_to(ROOT)}; run: bash tools/vendor_assets.sh"
    assert path.stat().st_size > 0, f"empty {path.relative_to(ROOT)}"


def test_fonts_are_truetype():
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        head = (STATIC / "fonts" / name).read_bytes()[:4]
        assert head in (b"\x00\x01\x00\x00", b"true"), f"{name} is not a TrueType font"


def test_versions_file_lists_every_package():
    lines = (VENDOR / "VERSIONS.txt").read_text(encoding="utf-8").splitlines()
    versions = dict(
        line.split(None, 1) for line in lines if line.strip() and not line.startswith("#")
    )
    for pkg in PACKAGES:
        assert pkg in versions, f"{pkg} missing from VERSIONS.txt"
        assert versions[pkg].strip()[0].isdigit(), f"bad version for {pkg}: {versions[pkg]!r}"


def test_no_source_map_references_in_vendor():
    offenders = [
        str(p.relative_to(ROOT))
        for p in sorted(VENDOR.rglob("*"))
        if p.is_file() and b"sourceMappingURL" in p.read_bytes()
    ]
    assert not offenders, f"sourceMappingURL left in: {offenders}"


def _own_frontend_files():
    for base in (TEMPLATES, STATIC):
        if not base.is_dir():
            continue
        for p in sorted(base.rglob("*")):
            if not p.is_file() or p.suffix.lower() not in SCANNED_SUFFIXES:
                continue
            if VENDOR in p.parents:
                continue
            yield p


def test_no_cdn_references():
    offenders = []
    for p in _own_frontend_files():
        text = p.read_text(encoding="utf-8", errors="replace").lower()
        for marker in CDN_MARKERS:
            if marker in text:
                offenders.append(f"{p.relative_to(ROOT)}: {marker!r}")
    assert not offenders, "CDN references found (use static/vendor instead): " + "; ".join(offenders)
