#!/bin/sh
# mmdebstrap --extract-hook for the images' base (dev/images/base.ts runs mmdebstrap): turns the
# extracted Debian packages into a distroless-style root. Runs on the build host, as root, with
# the host's tools; the root it edits has no shell, no dpkg and no apt.
#
# Usage: rootfs-hook.sh ROOT OUT DROP
#   ROOT  the folder mmdebstrap extracted into ("$1" of the hook)
#   OUT   where packages.tsv (name, version, architecture, source, sha256 of the .deb) goes
#   DROP  comma-separated packages whose files are removed again. apt pulls in what the
#         maintainer scripts need (debconf, openssl, libssl3 for update-ca-certificates); those
#         scripts never run here, so those packages stay out and are not listed.
# This run's .debs are the ones mmdebstrap names in MMDEBSTRAP_ESSENTIAL (older ones that the
# download cache holds from earlier runs are not).
set -eu
root=$1 out=$2 drop=,$3,
[ -n "${MMDEBSTRAP_ESSENTIAL:-}" ] || { echo "rootfs-hook.sh: run it as mmdebstrap's --extract-hook (MMDEBSTRAP_ESSENTIAL is unset)" >&2; exit 1; }

status=$root/var/lib/dpkg/status.d info=$root/var/lib/dpkg/info
mkdir -p "$status" "$info"
: > "$out/packages.tsv.tmp"
for rel in $MMDEBSTRAP_ESSENTIAL; do
  deb=$root$rel
  pkg=$(dpkg-deb -f "$deb" Package)
  if [ "${drop#*,"$pkg",}" = "$drop" ]; then
    # One status file per package, as distroless writes them: scanners (syft, trivy) read
    # /var/lib/dpkg/status.d/ to know what is installed when there is no dpkg database.
    { dpkg-deb -f "$deb"; echo "Status: install ok installed"; } > "$status/$pkg"
    dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | grep -v '^$' > "$info/$pkg.list"
    printf '%s\t%s\t%s\t%s\t%s\n' "$pkg" "$(dpkg-deb -f "$deb" Version)" \
      "$(dpkg-deb -f "$deb" Architecture)" "$(dpkg-deb -f "$deb" Source)" \
      "$(sha256sum "$deb" | cut -d' ' -f1)" >> "$out/packages.tsv.tmp"
  else
    # Files only (directories may be shared with kept packages; empty ones go below).
    dpkg-deb -c "$deb" | grep -v '^d' | awk '{print $6}' | while read -r f; do
      rm -f "$root/${f#./}"
    done
  fi
done
LC_ALL=C sort "$out/packages.tsv.tmp" > "$out/packages.tsv" && rm "$out/packages.tsv.tmp"

# The CA bundle update-ca-certificates would write: every Mozilla certificate, in name order.
mkdir -p "$root/etc/ssl/certs"
find "$root/usr/share/ca-certificates/mozilla" -name '*.crt' | LC_ALL=C sort | xargs cat \
  > "$root/etc/ssl/certs/ca-certificates.crt"

# Users: root and nonroot (65532, runtimeUid in src/contract/runtime.ts), no login shell.
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$root/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$root/etc/nsswitch.conf"
mkdir -p "$root/home/nonroot" "$root/root" "$root/app" "$root/models" "$root/var/cache/zimage"
chown 65532:65532 "$root/home/nonroot" "$root/var/cache/zimage"
chmod 700 "$root/root"
chmod 1777 "$root/tmp"

# What a container never uses: apt and dpkg state (status.d stays), docs but the copyright
# files (the licences), man pages, update-ca-certificates (a shell script; the bundle is made
# above), libstdc++'s gdb helpers, and the host's resolv.conf/hostname that mmdebstrap copied
# (the container engine mounts its own).
rm -rf "$root/etc/apt" "$root/var/lib/apt" "$root/var/cache/apt" "$root/var/log/apt" \
  "$root/etc/dpkg" "$root/var/cache/debconf" "$root/var/lib/dpkg/updates" \
  "$root/var/lib/dpkg/triggers" "$root/var/lib/dpkg/alternatives" "$root/var/lib/dpkg/status" \
  "$root/var/lib/dpkg/arch" "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/lintian" \
  "$root/etc/resolv.conf" "$root/etc/hostname" "$root/etc/fstab" \
  "$root/usr/sbin/update-ca-certificates" "$root/usr/share/gcc" "$root/usr/share/gdb"
find "$root/usr/share/doc" -type f ! -name copyright -delete
# Directories the removed packages leave empty (the top-level tree stays).
find "$root/usr" "$root/etc" "$root/var" -mindepth 1 -type d -empty -delete
mkdir -p "$root/var/cache/zimage" "$root/var/tmp" && chown 65532:65532 "$root/var/cache/zimage" && chmod 1777 "$root/var/tmp"
