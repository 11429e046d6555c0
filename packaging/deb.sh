#!/bin/sh
# Builds target/deb/libpasswdpop<MAJOR>_<VERSION>_<ARCH>.deb (library, CLI,
# man page) and target/deb/libpasswdpop-dev_<VERSION>_<ARCH>.deb (header,
# pkg-config file, static library, unversioned symlink) from one staged
# `make install`. Dependencies are computed by dpkg-shlibdeps.
# usage: packaging/deb.sh VERSION SONAME_MAJOR   (from the top directory, after `make lib`)
set -eu
umask 022
version=$1 major=$2
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
libdir=usr/lib/$multiarch
runtime=libpasswdpop$major
out=$PWD/target/deb
rm -rf "$out"
mkdir -p "$out"

stage=$out/stage
# Package trees where dpkg-shlibdeps expects them: debian/<package>.
packages=$out/src/debian
"${MAKE:-make}" --no-print-directory install DESTDIR="$stage" PREFIX=/usr \
    LIBDIR="/$libdir" MANDIR=/usr/share/man >/dev/null

# Which installed file goes to which package.
move() { # PACKAGE PATH...
    package=$1
    shift
    for path in "$@"; do
        mkdir -p "$packages/$package/$(dirname "$path")"
        mv "$stage/$path" "$packages/$package/$path"
    done
}
move "$runtime" "$libdir/libpasswdpop.so.$version" "$libdir/libpasswdpop.so.$major" \
    usr/bin/passwdpop usr/share/man/man1/passwdpop.1
move libpasswdpop-dev usr/include/passwdpop.h "$libdir/pkgconfig/passwdpop.pc" \
    "$libdir/libpasswdpop.a" "$libdir/libpasswdpop.so"
leftover=$(find "$stage" -type f -o -type l)
if [ -n "$leftover" ]; then
    echo "deb.sh: installed files in no package: $leftover" >&2
    exit 1
fi

strip --strip-unneeded --remove-section=.comment --remove-section=.note \
    "$packages/$runtime/$libdir/libpasswdpop.so.$version" "$packages/$runtime/usr/bin/passwdpop"
strip --strip-debug --remove-section=.comment "$packages/libpasswdpop-dev/$libdir/libpasswdpop.a"
gzip -9n "$packages/$runtime/usr/share/man/man1/passwdpop.1"

for package in "$runtime" libpasswdpop-dev; do
    doc=$packages/$package/usr/share/doc/$package
    mkdir -p "$doc"
    cat > "$doc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: passwdpop

Files: *
Copyright: 2026 the passwdpop developers
License: MIT or Apache-2.0
 Copyright 2026 the passwdpop developers. Licensed under the MIT license or
 the Apache License, Version 2.0, at your option.
 .
 On Debian systems, the full text of the Apache License, Version 2.0, is in
 /usr/share/common-licenses/Apache-2.0.
COPYRIGHT
    printf 'passwdpop (%s) unstable; urgency=medium\n\n  * Built from the passwdpop source tree.\n\n -- passwdpop developers <passwdpop@example.org>  %s\n' \
        "$version" "$(date -R -d @0)" | gzip -9n > "$doc/changelog.gz"
done

# dpkg-shlibdeps wants a debian/control to read; the binaries are ours.
printf 'Source: passwdpop\n\nPackage: %s\nArchitecture: any\n' "$runtime" > "$out/src/debian/control"
depends=$(cd "$out/src" && dpkg-shlibdeps -O \
    "debian/$runtime/$libdir/libpasswdpop.so.$version" "debian/$runtime/usr/bin/passwdpop" \
    | sed -n 's/^shlibs:Depends=//p')

control() { # PACKAGE SECTION DEPENDS SUMMARY DESCRIPTION
    mkdir -p "$packages/$1/DEBIAN"
    size=$(du -sk --exclude=DEBIAN "$packages/$1" | cut -f1)
    cat > "$packages/$1/DEBIAN/control" <<CONTROL
Package: $1
Source: passwdpop
Version: $version
Architecture: $arch
Maintainer: passwdpop developers <passwdpop@example.org>
Installed-Size: $size
Depends: $3
Section: $2
Priority: optional
Homepage: https://crates.io/crates/passwdpop
Description: $4
$5
CONTROL
    (cd "$packages/$1" && find usr -type f -exec md5sum {} + > DEBIAN/md5sums)
}
control "$runtime" libs "$depends" \
    "change virtual mail passwords in per-domain shadow files" \
    " passwdpop writes a fresh SHA512-crypt hash into the right line of
 /etc/vmail/<domain>/shadow, as Exim and Dovecot read it: atomically, under a
 lock, without touching any other line. This package has the shared library
 and the passwdpop command."
control libpasswdpop-dev libdevel "$runtime (= $version), libcrypt-dev" \
    "change virtual mail passwords (development files)" \
    " Header, pkg-config file and static library for libpasswdpop, which
 changes the password of a virtual mail account in a per-domain shadow file."
printf 'libpasswdpop %s %s (>= %s)\n' "$major" "$runtime" "$version" > "$packages/$runtime/DEBIAN/shlibs"
printf 'activate-noawait ldconfig\n' > "$packages/$runtime/DEBIAN/triggers"

for package in "$runtime" libpasswdpop-dev; do
    dpkg-deb --root-owner-group --build "$packages/$package" "$out/${package}_${version}_$arch.deb" >/dev/null
    echo "built target/deb/${package}_${version}_$arch.deb"
done
