#!/bin/sh
# Every manual page under man/ must format without a single warning: groff
# with all its warnings on (and tbl), then man(1) as a reader runs it, at 80
# columns. Anything on standard error fails the page, and is printed.
# Usage: lint.sh [MAN_DIR]   (default: the man/ beside tests/)
set -u
dir=${1:-$(dirname "$0")/../../man}
failures=0
err=$(mktemp) || exit 1
trap 'rm -f "$err"' EXIT

if ! command -v groff >/dev/null 2>&1; then
  echo "FAIL: groff not found (scripts/bootstrap installs groff-base)"
  exit 1
fi
# man-db's man passes --warnings on to groff; another man may not know it.
man_warnings=
if command -v man >/dev/null 2>&1 && man --help 2>&1 | grep -q -- '--warnings'; then
  man_warnings=--warnings=w
fi

# check NAME COMMAND...: runs COMMAND, its standard output discarded; fails
# if it exits non-zero or writes anything to standard error.
check() {
  name=$1
  shift
  "$@" >/dev/null 2>"$err"
  status=$?
  if [ "$status" -ne 0 ] || [ -s "$err" ]; then
    failures=$((failures + 1))
    printf 'FAIL: %s (exit status %s): %s\n' "$name" "$status" "$*"
    sed 's/^/  /' "$err"
  fi
}

pages=0
for page in "$dir"/*.[1-9]; do
  [ -f "$page" ] || continue
  pages=$((pages + 1))
  check "$page: groff" groff -man -ww -z -t "$page"
  if command -v man >/dev/null 2>&1; then
    # shellcheck disable=SC2086 # $man_warnings is one word or none
    check "$page: man" env LC_ALL=C.UTF-8 MANWIDTH=80 MANPAGER=cat PAGER=cat man $man_warnings -l "$page"
  fi
done

if [ "$pages" -eq 0 ]; then
  echo "FAIL: no manual pages in $dir"
  exit 1
fi
if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed over $pages page(s)"
  exit 1
fi
echo "ok: $pages page(s)"
