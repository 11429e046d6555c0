#!/bin/sh
# Builds the Debian packages in target/deb/ from one staged `make install`:
#   libpasswdpop<MAJOR>  the shared library, the passwdpop command, its man
#                        page and shell completions, README.md, RELIABILITY.md
#                        and BENCHMARKS.md
#   libpasswdpop-dev     header, pkg-config file, static library, unversioned
#                        symlink
#   python3-passwdpop, libpasswdpop-perl, php-passwdpop
#                        the bindings (Architecture: all), where Debian's
#                        Python 3, Perl and PHP look without configuration
#   passwdpopd           the daemon (target/release/passwdpopd), its man page,
#                        systemd units (not enabled) and example configuration
# Every installed file goes to exactly one package (`move`); `build` then
# adds what Debian wants in each (copyright, changelog, control, md5sums) and
# writes the .deb. To add a package: stage its files, `move` them, `build` it.
# usage: packaging/deb.sh VERSION SONAME_MAJOR [OUTDIR]
#   (from the top directory, after `make lib`; OUTDIR defaults to target/deb)
set -eu
umask 022
version=$1 major=$2 out=${3:-$PWD/target/deb}
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
libdir=usr/lib/$multiarch
runtime=libpasswdpop$major
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The maintainer is Cargo.toml's first author. The release date is
# SOURCE_DATE_EPOCH, else the last commit's: the changelog's date, and every
# file's time in the .deb (dpkg-deb clamps to it), so the same source gives
# the same packages.
maintainer=$(sed -n 's/^authors = \["\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
if [ -z "$maintainer" ]; then
    echo "deb.sh: Cargo.toml has no authors = [\"Name <address>\"] for the Maintainer field" >&2
    exit 1
fi
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || stat -c %Y Cargo.toml)
fi
export SOURCE_DATE_EPOCH
release_date=$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")

stage=$out/stage
# Package trees where dpkg-shlibdeps expects them: debian/<package>.
packages=$out/src/debian
"${MAKE:-make}" --no-print-directory install DESTDIR="$stage" PREFIX=/usr \
    LIBDIR="/$libdir" MANDIR=/usr/share/man DOCDIR="/usr/share/doc/$runtime" >/dev/null

# The bindings are plain source files, loaded by each language's FFI.
python_dir=usr/lib/python3/dist-packages
perl_dir=usr/share/perl5
php_dir=usr/share/php/Passwdpop
install -d "$stage/$python_dir/passwdpop" "$stage/$python_dir/passwdpop-$version.dist-info" \
    "$stage/$perl_dir" "$stage/usr/share/man/man3" "$stage/$php_dir"
install -m 0644 bindings/python/passwdpop/__init__.py bindings/python/passwdpop/_native.py \
    bindings/python/passwdpop/py.typed "$stage/$python_dir/passwdpop/"
# What importlib.metadata and pip read to know the package is there.
printf 'Metadata-Version: 2.1\nName: passwdpop\nVersion: %s\nSummary: %s\nRequires-Python: >=3.8\n' \
    "$version" "Change virtual mail passwords in per-domain shadow files" \
    > "$stage/$python_dir/passwdpop-$version.dist-info/METADATA"
install -m 0644 bindings/perl/lib/Passwdpop.pm "$stage/$perl_dir/Passwdpop.pm"
pod2man --section=3pm --center="passwdpop" --release="$version" --date="$(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)" \
    bindings/perl/lib/Passwdpop.pm "$stage/usr/share/man/man3/Passwdpop.3pm"
install -m 0644 bindings/php/src/*.php bindings/php/src/passwdpop.h "$stage/$php_dir/"

move() { # PACKAGE PATH...
    package=$1
    shift
    # DEBIAN/ marks the package's root for dpkg-shlibdeps.
    mkdir -p "$packages/$package/DEBIAN"
    for path in "$@"; do
        mkdir -p "$packages/$package/$(dirname "$path")"
        mv "$stage/$path" "$packages/$package/$path"
    done
}

# The Rust crates compiled into the library and the command (not the
# procedural macros, which run only in the compiler), with their licenses.
"${CARGO:-cargo}" tree -p passwdpop -e normal,no-proc-macro --prefix none -f '{p}: {l}' \
    | sed 's| (/[^)]*)||; s| (\*)$||; s/ v\([0-9]\)/ \1/; /^passwdpop /d; s/^/ /' | sort -u \
    > "$out/crates"

# The DEP-5 copyright file of every package: the header, then the MIT text
# of LICENSE-MIT (from its permission notice on) as a License paragraph.
copyright() {
    sed -e "s|@CONTACT@|$maintainer|" -e "/^@CRATES@\$/{r ${crates:-$out/crates}" -e 'd}' packaging/copyright.in
    printf '\nLicense: MIT\n'
    sed -n '/^Permission is hereby granted/,$p' LICENSE-MIT | sed 's/^$/./; s/^/ /'
}

build() { # PACKAGE ARCHITECTURE SECTION DEPENDS SUMMARY DESCRIPTION
    root=$packages/$1
    doc=$root/usr/share/doc/$1
    mkdir -p "$root/DEBIAN" "$doc"
    # What dh_compress does: man pages always, documents over 4 KiB.
    if [ -d "$root/usr/share/man" ]; then
        find "$root/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} +
    fi
    find "$doc" -type f -size +4k ! -name copyright ! -name '*.gz' -exec gzip -9n {} +
    copyright > "$doc/copyright"
    printf 'passwdpop (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- %s  %s\n' \
        "$version" "$version" "$maintainer" "$release_date" | gzip -9n > "$doc/changelog.gz"
    size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
    {
        printf 'Package: %s\nSource: passwdpop\nVersion: %s\nArchitecture: %s\n' "$1" "$version" "$2"
        printf 'Maintainer: %s\nInstalled-Size: %s\n' "$maintainer" "$size"
        if [ -n "$4" ]; then
            printf 'Depends: %s\n' "$4"
        fi
        printf 'Section: %s\nPriority: optional\nHomepage: https://crates.io/crates/passwdpop\n' "$3"
        printf 'Description: %s\n%s\n' "$5" "$6"
    } > "$root/DEBIAN/control"
    # Every file but the conffiles under etc/, as dh_md5sums does.
    (cd "$root" && find usr $(test -d lib && echo lib) -type f -exec md5sum {} + > DEBIAN/md5sums)
    dpkg-deb --root-owner-group --build "$root" "$out/${1}_${version}_$2.deb" >/dev/null
    echo "built ${out#"$PWD"/}/${1}_${version}_$2.deb"
}

# Which installed file goes to which package.
move "$runtime" "$libdir/libpasswdpop.so.$version" "$libdir/libpasswdpop.so.$major" \
    usr/bin/passwdpop usr/share/man/man1/passwdpop.1 \
    usr/share/bash-completion/completions/passwdpop usr/share/zsh/vendor-completions/_passwdpop \
    usr/share/fish/vendor_completions.d/passwdpop.fish \
    "usr/share/doc/$runtime/README.md" "usr/share/doc/$runtime/RELIABILITY.md" \
    "usr/share/doc/$runtime/BENCHMARKS.md"
move libpasswdpop-dev usr/include/passwdpop.h "$libdir/pkgconfig/passwdpop.pc" \
    "$libdir/libpasswdpop.a" "$libdir/libpasswdpop.so"
move python3-passwdpop "$python_dir/passwdpop/__init__.py" "$python_dir/passwdpop/_native.py" \
    "$python_dir/passwdpop/py.typed" "$python_dir/passwdpop-$version.dist-info/METADATA"
move libpasswdpop-perl "$perl_dir/Passwdpop.pm" usr/share/man/man3/Passwdpop.3pm
for file in bindings/php/src/*.php bindings/php/src/passwdpop.h; do
    move php-passwdpop "$php_dir/${file##*/}"
done
leftover=$(find "$stage" -type f -o -type l)
if [ -n "$leftover" ]; then
    echo "deb.sh: installed files in no package: $leftover" >&2
    exit 1
fi

strip --strip-unneeded --remove-section=.comment --remove-section=.note \
    "$packages/$runtime/$libdir/libpasswdpop.so.$version" "$packages/$runtime/usr/bin/passwdpop"
strip --strip-debug --remove-section=.comment "$packages/libpasswdpop-dev/$libdir/libpasswdpop.a"

# dpkg-shlibdeps wants a debian/control to read; the binaries are ours.
printf 'Source: passwdpop\n\nPackage: %s\nArchitecture: any\n' "$runtime" > "$out/src/debian/control"
depends=$(cd "$out/src" && dpkg-shlibdeps -O \
    "debian/$runtime/$libdir/libpasswdpop.so.$version" "debian/$runtime/usr/bin/passwdpop" \
    | sed -n 's/^shlibs:Depends=//p')

printf 'libpasswdpop %s %s (>= %s)\n' "$major" "$runtime" "$version" > "$packages/$runtime/DEBIAN/shlibs"
# The version that first exported each function, for the packages built
# against it (kept by hand, as debian/*.symbols is: a function added later
# carries the version that added it).
install -m 0644 "packaging/$runtime.symbols" "$packages/$runtime/DEBIAN/symbols"
printf 'activate-noawait ldconfig\n' > "$packages/$runtime/DEBIAN/triggers"
build "$runtime" "$arch" libs "$depends" \
    "change virtual mail passwords in per-domain shadow files" \
    " passwdpop writes a fresh SHA512-crypt hash into the right line of
 /etc/vmail/<domain>/shadow, as Exim and Dovecot read it: atomically, under a
 lock, without touching any other line. This package has the shared library,
 the passwdpop command and the README with the Exim and Dovecot configuration."
build libpasswdpop-dev "$arch" libdevel "$runtime (= $version), libcrypt-dev" \
    "change virtual mail passwords (development files)" \
    " Header, pkg-config file and static library for libpasswdpop, which
 changes the password of a virtual mail account in a per-domain shadow file."
# The bindings need this very library: they declare every function it exports.
build python3-passwdpop all python "$runtime (= $version), python3:any" \
    "change virtual mail passwords (Python 3 binding)" \
    " passwdpop writes a fresh SHA512-crypt hash into the right line of
 /etc/vmail/<domain>/shadow, as Exim and Dovecot read it. This package lets
 Python 3 scripts call libpasswdpop through ctypes (import passwdpop),
 with cPanel LiveAPI's api2 call shape."
build libpasswdpop-perl all perl "$runtime (= $version), perl, libffi-platypus-perl" \
    "change virtual mail passwords (Perl binding)" \
    " passwdpop writes a fresh SHA512-crypt hash into the right line of
 /etc/vmail/<domain>/shadow, as Exim and Dovecot read it. This package lets
 Perl scripts call libpasswdpop through FFI::Platypus (use Passwdpop), with
 cPanel LiveAPI's api2 call shape."
build php-passwdpop all php "$runtime (= $version), php-common, php-ffi" \
    "change virtual mail passwords (PHP binding)" \
    " passwdpop writes a fresh SHA512-crypt hash into the right line of
 /etc/vmail/<domain>/shadow, as Exim and Dovecot read it. This package lets
 PHP scripts call libpasswdpop through PHP's FFI extension
 (require 'Passwdpop/autoload.php'), with cPanel LiveAPI's api2 call shape."

# passwdpopd: the daemon links the library's Rust API statically; it depends
# on exactly this libpasswdpop so that the command, the C library and the
# daemon on one host always share one locking protocol and file format. The
# units are shipped but not enabled: nothing listens until the admin
# configures /etc/passwdpopd/passwdpopd.toml and enables them.
daemon=passwdpopd
"${CARGO:-cargo}" tree --offline -p passwdpopd -e normal,no-proc-macro --prefix none -f '{p}: {l}' \
    | sed 's| (/[^)]*)||; s| (\*)$||; s/ v\([0-9]\)/ \1/; /^passwdpop /d; /^passwdpopd /d; s/^/ /' \
    | sort -u > "$out/crates-daemon"
install -D -m 0755 "${PASSWDPOPD:-target/release/passwdpopd}" "$stage/usr/sbin/passwdpopd"
install -D -m 0644 serve/man/passwdpopd.8 "$stage/usr/share/man/man8/passwdpopd.8"
install -D -m 0644 serve/systemd/passwdpopd.service "$stage/lib/systemd/system/passwdpopd.service"
install -D -m 0644 serve/systemd/passwdpopd.socket "$stage/lib/systemd/system/passwdpopd.socket"
install -D -m 0644 serve/systemd/passwdpopd.toml "$stage/etc/passwdpopd/passwdpopd.toml"
move "$daemon" usr/sbin/passwdpopd usr/share/man/man8/passwdpopd.8 \
    lib/systemd/system/passwdpopd.service lib/systemd/system/passwdpopd.socket \
    etc/passwdpopd/passwdpopd.toml
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
    "$packages/$daemon/usr/sbin/passwdpopd"
printf '/etc/passwdpopd/passwdpopd.toml\n' > "$packages/$daemon/DEBIAN/conffiles"
printf '\nPackage: %s\nArchitecture: any\n' "$daemon" >> "$out/src/debian/control"
daemon_depends=$(cd "$out/src" && dpkg-shlibdeps -O "debian/$daemon/usr/sbin/passwdpopd" \
    | sed -n 's/^shlibs:Depends=//p')
crates=$out/crates-daemon build "$daemon" "$arch" mail "$runtime (= $version), $daemon_depends" \
    "change virtual mail passwords over cPanel's API and poppassd" \
    " passwdpopd lets webmail users change their own mail password by proving
 the current one (cPanel UAPI over HTTPS, as Roundcube's cpanel driver
 speaks it, or poppassd), and cPanel API 2 clients with a token set any
 account's password, in the per-domain shadow files that Exim and Dovecot
 read. Throttled, logged, bounded; systemd units included, not enabled."
