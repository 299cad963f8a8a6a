#!/usr/bin/env bash
# Refreshes the vendored NHS design system (crates/viewer/assets/nhsuk-frontend)
# from npm: `tools/nhsuk-frontend/refresh.sh [VERSION]` (default: the pinned
# one in VERSION). Run by hand when moving the pin; nothing downloads at build
# or run time — the copied files are committed. Prints each file's sha256 and
# the package's integrity hash; put them in the commit message, and check the
# viewer's tests (and the pages in a browser) before committing.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/../../crates/viewer/assets/nhsuk-frontend"
version="${1:-$(sed -n 's/^version: //p' "$dest/VERSION")}"
case "$version" in
  10.*) ;;
  *) echo "refusing version '$version': the viewer is written against nhsuk-frontend 10.x" >&2; exit 1 ;;
esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "nhsuk-frontend@$version" >/dev/null)
integrity="$(npm view "nhsuk-frontend@$version" dist.integrity)"
tar -xzf "$tmp/nhsuk-frontend-$version.tgz" -C "$tmp"
src="$tmp/package/dist/nhsuk"

# Only the minified CSS and JS and the icons the CSS links (url(/assets/images/…)).
# The fonts the CSS names are on assets.nhs.uk: a strict CSP blocks them and
# the page falls back to Arial, as the design system intends.
rm -rf "$dest/images"
mkdir -p "$dest/images"
cp "$src/nhsuk-frontend.min.css" "$src/nhsuk-frontend.min.js" "$dest/"
for f in $(grep -o 'url(/assets/images/[^)]*)' "$src/nhsuk-frontend.min.css" | sed 's#url(/assets/images/##; s#)##' | sort -u) favicon.svg; do
  cp "$src/assets/images/$f" "$dest/images/"
done
# The package declares MIT in package.json but ships no licence file; LICENCE
# is kept by hand (see README.md beside it).

# The source-map comments point at files not vendored.
sed -i 's#/\*\# sourceMappingURL=[^*]*\*/##' "$dest/nhsuk-frontend.min.css"
sed -i 's#//\# sourceMappingURL=.*$##' "$dest/nhsuk-frontend.min.js"

sums="$(cd "$dest" && find . -type f ! -name README.md ! -name LICENCE ! -name VERSION | sort | xargs sha256sum)"
cat > "$dest/VERSION" <<VERSION
version: $version
integrity: $integrity
tarball: https://registry.npmjs.org/nhsuk-frontend/-/nhsuk-frontend-$version.tgz
sha256 of each file as vendored:
$sums
VERSION

echo "nhsuk-frontend $version ($integrity)"
echo "$sums"
