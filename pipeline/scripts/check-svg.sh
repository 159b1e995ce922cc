#!/usr/bin/env bash
# Check that the report's SVG plots are standalone SVG documents that render outside a browser.
#
# Usage: pipeline/scripts/check-svg.sh FILE.svg... [--png-dir DIR]
#
# Each file must parse as XML with an <svg> root in the SVG namespace carrying width, height and
# viewBox, and must render with rsvg-convert (librsvg, the renderer of GNOME's image viewer); the PNGs
# go to --png-dir (default: a temporary directory) so that they can be looked at. rsvg-convert comes
# from Debian's librsvg2-bin, installed with apt-get when it is missing and this runs as root.
set -euo pipefail

png_dir=""
files=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --png-dir) png_dir=$2; shift 2 ;;
        *) files+=("$1"); shift ;;
    esac
done
[[ ${#files[@]} -gt 0 ]] || { echo "usage: $0 FILE.svg... [--png-dir DIR]" >&2; exit 2; }
png_dir=${png_dir:-$(mktemp -d)}
mkdir -p "$png_dir"

if ! command -v rsvg-convert >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq librsvg2-bin >/dev/null
    else
        echo "check-svg: rsvg-convert is missing (Debian package librsvg2-bin)" >&2
        exit 1
    fi
fi

for f in "${files[@]}"; do
    python3 - "$f" <<'PY'
import sys
import xml.etree.ElementTree as ET

path = sys.argv[1]
root = ET.parse(path).getroot()
if root.tag != "{http://www.w3.org/2000/svg}svg":
    sys.exit(f"{path}: root element is {root.tag}, not an SVG <svg>")
missing = [a for a in ("width", "height", "viewBox") if a not in root.attrib]
if missing:
    sys.exit(f"{path}: <svg> lacks {', '.join(missing)}")
PY
    out="$png_dir/$(basename "${f%.svg}").png"
    rsvg-convert "$f" -o "$out"
    echo "ok $f -> $out"
done
