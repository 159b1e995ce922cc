# Shared by the fetch-*.sh scripts (sourced, not run): set `name` before sourcing.
# die MESSAGE: print "<name>: MESSAGE" on stderr and exit 1.
# sha256 FILE: print the file's SHA-256 with sha256sum or shasum.
# find_python: set `python` to a Python with pip ($PYTHON, python3 or python), or die.

die() { echo "$name: $*" >&2; exit 1; }

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d' ' -f1
    else die "need sha256sum or shasum"; fi
}

find_python() {
    python=""
    for candidate in ${PYTHON:-} python3 python; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -m pip --version >/dev/null 2>&1; then
            python=$candidate
            return
        fi
    done
    die "need python3 with pip (or set PYTHON)"
}
