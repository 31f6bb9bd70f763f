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
# Needs: npm (apt-get install -y npm, or any Node.js >= 18) and access to the npm registry.
set -euo pipefail

MATHJAX_VERSION=3.2.2
HTML_MANAGER_VERSION=1.0.15   # the embedder release for ipywidgets 8.1 (widget protocol 2)

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest="$root/assets/vendor"
stamp="$dest/VERSIONS"
want="mathjax@$MATHJAX_VERSION @jupyter-widgets/html-manager@$HTML_MANAGER_VERSION"

if [[ "${1:-}" != "--force" && -f "$stamp" && "$(cat "$stamp")" == "$want" \
      && -f "$dest/mathjax/tex-mml-chtml.js" && -f "$dest/html-manager/embed.js" ]]; then
    echo "vendor_assets: assets/vendor is up to date ($want)"
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "vendor_assets: error: npm not found. Install Node.js/npm (Debian: apt-get install -y npm)," >&2
    echo "  then rerun scripts/vendor_assets.sh; the book's math and widgets need these files offline." >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "vendor_assets: fetching $want from $(npm config get registry)"
# `npm pack` downloads the published tarballs only: no dependency tree, no node_modules.
(cd "$tmp" && npm pack --silent "mathjax@$MATHJAX_VERSION" "@jupyter-widgets/html-manager@$HTML_MANAGER_VERSION" >/dev/null)
mkdir -p "$tmp/mj" "$tmp/hm" "$tmp/out/mathjax" "$tmp/out/html-manager"
tar -xzf "$tmp/mathjax-$MATHJAX_VERSION.tgz" -C "$tmp/mj"
tar -xzf "$tmp/jupyter-widgets-html-manager-$HTML_MANAGER_VERSION.tgz" -C "$tmp/hm"

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
