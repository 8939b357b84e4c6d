#!/usr/bin/env bash
# Vendor pinned front-end assets from npm into static/ (no CDN at runtime).
#
# Usage (from the repo root):   bash tools/vendor_assets.sh     (or: npm run vendor)
#
# Versions are pinned exactly in package.json and locked in package-lock.json;
# to upgrade, edit package.json, run `npm install` to refresh the lock, then
# re-run this script and commit package*.json + static/vendor + static/fonts.
# node_modules/ is a build cache only and is git-ignored.
set -euo pipefail

ROOT="$(pwd)"
if [[ ! -f "$ROOT/package.json" || ! -f "$ROOT/package-lock.json" ]]; then
    echo "error: run from the repo root (package.json + package-lock.json not found in $ROOT)" >&2
    exit 1
fi

NM="$ROOT/node_modules"
VENDOR="$ROOT/static/vendor"
FONTS="$ROOT/static/fonts"

# Install exactly what the lock file says; no lifecycle scripts needed.
npm ci --no-audit --no-fund --ignore-scripts

# static/vendor is fully owned by this script: rebuild it from scratch so no
# stale files survive a version bump. static/fonts may hold other files, so
# only our own files there are overwritten.
rm -rf "$VENDOR"
mkdir -p "$VENDOR" "$FONTS"

# copy SRC DEST_DIR [DEST_NAME]  -- fails loudly if SRC is missing or empty
copy() {
    local src="$NM/$1" dest_dir="$2" name="${3:-$(basename "$1")}"
    if [[ ! -s "$src" ]]; then
        echo "error: missing or empty $src" >&2
        exit 1
    fi
    mkdir -p "$dest_dir"
    cp "$src" "$dest_dir/$name"
}

# Bootstrap
copy bootstrap/dist/css/bootstrap.min.css        "$VENDOR/bootstrap"
copy bootstrap/dist/js/bootstrap.bundle.min.js   "$VENDOR/bootstrap"
copy bootstrap/LICENSE                           "$VENDOR/bootstrap" LICENSE

# htmx
copy htmx.org/dist/htmx.min.js                   "$VENDOR/htmx"
copy htmx.org/LICENSE                            "$VENDOR/htmx" LICENSE

# Leaflet (+ marker images referenced relatively by leaflet.css as images/...)
copy leaflet/dist/leaflet.js                     "$VENDOR/leaflet"
copy leaflet/dist/leaflet.css                    "$VENDOR/leaflet"
for img in "$NM"/leaflet/dist/images/*; do
    copy "leaflet/dist/images/$(basename "$img")" "$VENDOR/leaflet/images"
done
copy leaflet/LICENSE                             "$VENDOR/leaflet" LICENSE

# Leaflet.markercluster
copy leaflet.markercluster/dist/leaflet.markercluster.js   "$VENDOR/leaflet.markercluster"
copy leaflet.markercluster/dist/MarkerCluster.css          "$VENDOR/leaflet.markercluster"
copy leaflet.markercluster/dist/MarkerCluster.Default.css  "$VENDOR/leaflet.markercluster"
copy leaflet.markercluster/MIT-LICENCE.txt                 "$VENDOR/leaflet.markercluster" LICENSE

# Chart.js (4.x ships a minified UMD build; fall back to the plain one if not)
if [[ -s "$NM/chart.js/dist/chart.umd.min.js" ]]; then
    copy chart.js/dist/chart.umd.min.js          "$VENDOR/chartjs"
else
    copy chart.js/dist/chart.umd.js              "$VENDOR/chartjs"
fi
copy chart.js/LICENSE.md                         "$VENDOR/chartjs" LICENSE

# DejaVu fonts (used e.g. for PDF rendering with non-Latin glyphs)
copy dejavu-fonts-ttf/ttf/DejaVuSans.ttf         "$FONTS"
copy dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf    "$FONTS"
copy dejavu-fonts-ttf/LICENSE                    "$FONTS" LICENSE-DejaVu

# Strip source-map comments: the .map files are not vendored, and browsers
# would otherwise request them (404s in devtools).
while IFS= read -r -d '' f; do
    sed -i \
        -e '/^[[:space:]]*\/\/[#@][[:space:]]*sourceMappingURL=.*$/d' \
        -e '/^[[:space:]]*\/\*[#@][[:space:]]*sourceMappingURL=.*\*\/[[:space:]]*$/d' \
        "$f"
done < <(find "$VENDOR" -type f \( -name '*.js' -o -name '*.css' \) -print0)

if grep -rl 'sourceMappingURL' "$VENDOR" >&2; then
    echo "error: sourceMappingURL still present in the files above" >&2
    exit 1
fi

# Record exact versions as installed.
{
    echo "# Vendored by tools/vendor_assets.sh from npm (see package-lock.json)."
    for pkg in bootstrap htmx.org leaflet leaflet.markercluster chart.js dejavu-fonts-ttf; do
        ver="$(node -p "require(process.argv[1]).version" "$NM/$pkg/package.json")"
        echo "$pkg $ver"
    done
} > "$VENDOR/VERSIONS.txt"

echo "Vendored assets:"
cat "$VENDOR/VERSIONS.txt"
du -sh "$VENDOR" "$FONTS"
