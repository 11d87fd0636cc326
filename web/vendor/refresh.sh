#!/bin/sh
# Refreshes the vendored browser libraries from the npm registry: packs each package at the
# version given (or the one in README.md), copies its ES module build and licence files here,
# and prints the checksums to put in README.md. There is no build step: the files are served
# as they are, embedded in the binary by rust-embed.
#
#   web/vendor/refresh.sh [MARKED_VERSION [DOMPURIFY_VERSION]]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pinned() { sed -n "s/^| \`$1\` | \([^ |]*\) .*/\1/p" "$here/README.md"; }
marked=${1:-$(pinned marked)}
dompurify=${2:-$(pinned dompurify)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# fetch NAME VERSION: unpacks the package's tarball into $work/NAME.
fetch() {
    (cd "$work" && npm pack --silent "$1@$2" >/dev/null)
    mkdir -p "$work/$1"
    tar -xzf "$work/$1-$2.tgz" -C "$work/$1"
}

fetch marked "$marked"
cp "$work/marked/package/lib/marked.esm.js" "$here/marked.esm.js"
cp "$work/marked/package/LICENSE" "$here/LICENSE.marked"

fetch dompurify "$dompurify"
cp "$work/dompurify/package/dist/purify.es.mjs" "$here/purify.es.mjs"
cp "$work/dompurify/package/LICENSE" "$here/LICENSE.dompurify"
if [ -f "$work/dompurify/package/LICENSE-MPL" ]; then
    cp "$work/dompurify/package/LICENSE-MPL" "$here/LICENSE-MPL.dompurify"
fi

echo "marked $marked, dompurify $dompurify; update README.md with:"
cd "$here" && sha256sum marked.esm.js purify.es.mjs
