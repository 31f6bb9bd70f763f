#!/usr/bin/env bash
# Recreate assets/vendor/ (gitignored) from the npm registry, so that built pages render math without
# any request leaving the page's host (readers may be offline; CI blocks the internet).
#
#   scripts/vendor_assets.sh           # fetch only when missing or when the pinned versions changed
#   scripts/vendor_assets.sh --force   # fetch again
#
# What it vendors (pinned, so every build serves the same files):
#   assets/vendor/mathjax/         MathJax 3: the es5 tex-mml-chtml bundle, its CHTML fonts, the TeX
#                                  extensions it autoloads, and the a11y/ui/sre components its menu loads.
# No widget embedder: no page holds ipywidgets (see _config.yml). It was 4.7 MB in every build.
#
# The packages come from the npm registry as its published tarballs, checked against the registry's
# sha512 integrity values pinned below; no Node.js or npm is needed. Set NPM_CONFIG_REGISTRY to use a
# registry mirror.
set -euo pipefail

MATHJAX_VERSION=3.2.2
MATHJAX_SHA512=Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest="$root/assets/vendor"
stamp="$dest/VERSIONS"
want="mathjax@$MATHJAX_VERSION"

if [[ "${1:-}" != "--force" && -f "$stamp" && "$(cat "$stamp")" == "$want" \
      && -f "$dest/mathjax/tex-mml-chtml.js" ]]; then
    echo "vendor_assets: assets/vendor is up to date ($want)"
    exit 0
fi

registry="${NPM_CONFIG_REGISTRY:-${npm_config_registry:-https://registry.npmjs.org/}}"
registry="${registry%/}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "vendor_assets: fetching $want from $registry"

fetch() {  # fetch URL FILE SHA512: download a tarball and check it against the registry's integrity value
    python3 - "$@" <<'PY'
import base64
import hashlib
import sys
import urllib.request

url, path, expected = sys.argv[1:]
try:
    with urllib.request.urlopen(url, timeout=120) as response:
        data = response.read()
except OSError as exc:
    sys.exit(f"vendor_assets: error: cannot download {url} ({exc}). The npm registry must be reachable "
             "(or set NPM_CONFIG_REGISTRY to a mirror); the book's math and widgets need these files.")
digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
if digest != expected:
    sys.exit(f"vendor_assets: error: {url} does not match its pinned sha512 integrity; refusing to use it.")
with open(path, "wb") as f:
    f.write(data)
PY
}
fetch "$registry/mathjax/-/mathjax-$MATHJAX_VERSION.tgz" "$tmp/mathjax.tgz" "$MATHJAX_SHA512"
mkdir -p "$tmp/mj" "$tmp/out/mathjax"
tar -xzf "$tmp/mathjax.tgz" -C "$tmp/mj"

# MathJax finds its fonts and extensions relative to the bundle's own URL, so keep the es5 layout.
es5="$tmp/mj/package/es5"
cp "$es5/tex-mml-chtml.js" "$tmp/out/mathjax/"
mkdir -p "$tmp/out/mathjax/output/chtml" "$tmp/out/mathjax/input/tex"
cp -r "$es5/output/chtml/fonts" "$tmp/out/mathjax/output/chtml/"
cp -r "$es5/input/tex/extensions" "$tmp/out/mathjax/input/tex/"
cp -r "$es5/a11y" "$es5/ui" "$es5/sre" "$tmp/out/mathjax/"
cp "$tmp/mj/package/LICENSE" "$tmp/out/mathjax/LICENSE"

echo "$want" > "$tmp/out/VERSIONS"
# Replace the folder in one step so an interrupted run never leaves a half-filled assets/vendor.
mkdir -p "$root/assets"
rm -rf "$dest.old"
[[ -d "$dest" ]] && mv "$dest" "$dest.old"
mv "$tmp/out" "$dest"
rm -rf "$dest.old"
echo "vendor_assets: wrote assets/vendor ($(du -sh "$dest" | cut -f1))"
