#!/bin/sh
# `meson install` puts everything where a Unix system looks for it: the
# binaries, the four man pages, the systemd
# units (ExecStart naming the installed jobd), jobd.toml and the example job
# files. Installs into a temporary DESTDIR; the paths are the build's prefix
# and its directories.
#   install_test.sh BUILD_ROOT PREFIX BINDIR SBINDIR MANDIR SYSCONFDIR DATADIR
set -u
build=$1 prefix=$2 bindir=$3 sbindir=$4 mandir=$5 sysconfdir=$6 datadir=$7
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }

if ! out=$(meson install -C "$build" --destdir "$dest" --no-rebuild 2>&1); then
  echo "$out"
  fail "meson install failed"
  exit 1
fi
# An absolute directory option stays as it is; a relative one is under the prefix.
under() { case $1 in /*) echo "$dest$1" ;; *) echo "$dest$prefix/$1" ;; esac; }

for f in "$(under "$bindir")/jobctl" "$(under "$sbindir")/jobd"; do
  [ -x "$f" ] || fail "$f is not installed (or not executable)"
done
for page in man1/jobctl.1 man8/jobd.8 man5/jobs.toml.5 man5/jobd.toml.5; do
  [ -f "$(under "$mandir")/$page" ] || [ -f "$(under "$mandir")/$page.gz" ] || fail "man page $page is not installed"
done
service=$(find "$dest" -name jobd.service -path '*systemd/system/*' | head -n 1)
[ -n "$service" ] || fail "jobd.service is not installed under a systemd/system directory"
[ -n "$(find "$dest" -name jobd.socket -path '*systemd/system/*')" ] || fail "jobd.socket is not installed"
[ -n "$(find "$dest" -name jobd.service -path '*systemd/user/*')" ] || fail "the user jobd.service is not installed"
if [ -n "$service" ]; then
  exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$service")
  [ -x "$dest$exec_start" ] || fail "ExecStart=$exec_start does not name the installed jobd"
fi
[ -f "$(under "$sysconfdir")/jobd/jobd.toml" ] || fail "jobd.toml is not installed in $sysconfdir/jobd"
for example in demo.toml etl.toml everyday.toml spread.toml; do
  [ -f "$(under "$datadir")/doc/jobd/examples/$example" ] || fail "example $example is not installed"
done
# What is installed works: the installed jobd checks the installed configuration.
if [ -x "$(under "$sbindir")/jobd" ]; then
  "$(under "$sbindir")/jobd" --check-config --config "$(under "$sysconfdir")/jobd/jobd.toml" >/dev/null ||
    fail "the installed jobd refuses the installed jobd.toml"
fi
[ $failed -eq 0 ] && echo "installed: binaries, man pages, units, jobd.toml, examples"
exit $failed
