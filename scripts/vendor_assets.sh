#!/usr/bin/env bash
# Recreate assets/vendor/ (gitignored) from the npm registry, so that built pages render math and
# widgets without any request leaving the page's host (readers may be offline; CI blocks the internet).
#
#   scripts/vendor_assets.sh           # fetch only when missing or when the pinned versions changed
#   scripts/vendor_assets.sh --force   # fetch again
#
# What it vendors (pinned, so every build serves the same files):
#   assets/vendor/mathjax/         MathJax 3: the es5 tex-mml-chtml bundle, its CHTML fonts, the TeX
#                                  extensions it autoloads, and the a11y/ui/sre components its menu loads.
#   assets/vendor/html-manager/    the non-AMD widget embedder (embed.js) of @jupyter-widgets/html-manager
#                                  and the icon fonts it resolves next to itself. The AMD variant is not
#                                  used: it needs require.js and calls the MathJax 2 API.
# The MathJax-2-to-3 shim the embedder needs is our own code: assets/widgets-mathjax-shim.js (committed).
#
# The packages come from the npm registry as its published tarballs, checked against the registry's
# sha512 integrity values pinned below; no Node.js or npm is needed. Set NPM_CONFIG_REGISTRY to use a
# registry mirror.
set -euo pipefail

MATHJAX_VERSION=3.2.2
MATHJAX_SHA512=Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==
HTML_MANAGER_VERSION=1.0.15   # the embedder release for ipywidgets 8.1 (widget protocol 2)
HTML_MANAGER_SHA512=5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest="$root/assets/vendor"
stamp="$dest/VERSIONS"
want="mathjax@$MATHJAX_VERSION @jupyter-widgets/html-manager@$HTML_MANAGER_VERSION"

if [[ "${1:-}" != "--force" && -f "$stamp" && "$(cat "$stamp")" == "$want" \
      && -f "$dest/mathjax/tex-mml-chtml.js" && -f "$dest/html-manager/embed.js" ]]; then
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
fetch "$registry/@jupyter-widgets/html-manager/-/html-manager-$HTML_MANAGER_VERSION.tgz" "$tmp/hm.tgz" \
    "$HTML_MANAGER_SHA512"
mkdir -p "$tmp/mj" "$tmp/hm" "$tmp/out/mathjax" "$tmp/out/html-manager"
tar -xzf "$tmp/mathjax.tgz" -C "$tmp/mj"
tar -xzf "$tmp/hm.tgz" -C "$tmp/hm"

# MathJax finds its fonts and extensions relative to the bundle's own URL, so keep the es5 layout.
es5="$tmp/mj/package/es5"
cp "$es5/tex-mml-chtml.js" "$tmp/out/mathjax/"
mkdir -p "$tmp/out/mathjax/output/chtml" "$tmp/out/mathjax/input/tex"
cp -r "$es5/output/chtml/fonts" "$tmp/out/mathjax/output/chtml/"
cp -r "$es5/input/tex/extensions" "$tmp/out/mathjax/input/tex/"
cp -r "$es5/a11y" "$es5/ui" "$es5/sre" "$tmp/out/mathjax/"
cp "$tmp/mj/package/LICENSE" "$tmp/out/mathjax/LICENSE"

# embed.js sets webpack's public path from its own <script src>, so the fonts sit beside it.
dist="$tmp/hm/package/dist"
cp "$dist/embed.js" "$dist/embed.js.LICENSE.txt" "$tmp/out/html-manager/"
cp "$dist"/*.woff2 "$dist"/*.woff "$dist"/*.ttf "$dist"/*.eot "$dist"/*.svg "$tmp/out/html-manager/"
cp "$tmp/hm/package/LICENSE" "$tmp/out/html-manager/LICENSE" 2>/dev/null || true

echo "$want" > "$tmp/out/VERSIONS"
# Replace the folder in one step so an interrupted run never leaves a half-filled assets/vendor.
mkdir -p "$root/assets"
rm -rf "$dest.old"
[[ -d "$dest" ]] && mv "$dest" "$dest.old"
mv "$tmp/out" "$dest"
rm -rf "$dest.old"
echo "vendor_assets: wrote assets/vendor ($(du -sh "$dest" | cut -f1))"
