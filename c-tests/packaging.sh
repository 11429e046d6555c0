#!/bin/sh
# What a distribution or a C project sees: the exported symbols, a staged
# `make install` and the .deb packages, each used by a C program built only
# with the flags pkg-config gives, linked dynamically and statically.
# usage: c-tests/packaging.sh VERSION SONAME_MAJOR   (after `make deb`)
set -eu
version=$1 major=$2
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
arch=$(dpkg --print-architecture)
top=$PWD
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
passed=0
failed=0
check() { # DESCRIPTION COMMAND...
    description=$1
    shift
    if "$@" > "$scratch/out" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAILED: $description" >&2
        sed 's/^/    /' "$scratch/out" >&2
    fi
}

# The exported dynamic symbols are exactly the functions the header declares.
sed -n 's/^[a-z].* \**\(passwdpop[a-z_]*\)(.*/\1/p' include/passwdpop.h | sort > "$scratch/declared"
nm -D --defined-only target/release/libpasswdpop.so | awk '{print $3}' | sort > "$scratch/exported"
check "exported symbols = header functions" diff "$scratch/declared" "$scratch/exported"
check "the header declares the 12 functions" test "$(wc -l < "$scratch/declared")" -eq 12
# The .pc's Libs.private is written in the Makefile; it must be what rustc
# says a static link of this crate needs (a separate target dir, so the
# normal build is not disturbed).
native=$(cargo rustc --quiet --release --lib --crate-type staticlib --target-dir target/native-libs \
    -- --print native-static-libs 2>&1 | sed -n 's/.*native-static-libs: //p' | tr ' ' '\n' | sort -u)
listed=$(sed -n 's/^LIBS_PRIVATE := //p' Makefile | tr ' ' '\n' | sort -u)
check "Libs.private = rustc's native-static-libs" test "$native" = "$listed"
check "SONAME libpasswdpop.so.$major" \
    sh -c "readelf -d target/release/libpasswdpop.so | grep -q 'SONAME.*\[libpasswdpop.so.$major\]'"

# The README's minimal example is compiled with the same flags below.
sed -n '/^<!-- packaging-test: example.c -->$/,/^```$/p' README.md | sed '1,2d;$d' > "$scratch/example.c"
check "the README has the marked C example" test -s "$scratch/example.c"

consumer_checks() { # LABEL SYSROOT LIBDIR(inside the sysroot)
    label=$1 sysroot=$2 libdir=$3
    pc="env PKG_CONFIG_SYSROOT_DIR=$sysroot PKG_CONFIG_LIBDIR=$sysroot$libdir/pkgconfig pkg-config"
    check "$label: pkg-config knows passwdpop $version" \
        sh -c "test \"\$($pc --modversion passwdpop)\" = $version"
    check "$label: Libs.private lists libcrypt" sh -c "$pc --static --libs passwdpop | grep -q -- -lcrypt"
    cflags=$($pc --cflags passwdpop) libs=$($pc --libs passwdpop)
    static_libs=$($pc --static --libs passwdpop)
    root=$scratch/$label-vmail
    mkdir -p "$root/example.com"
    printf 'bob:old:19000:0:99999:7:::\n' > "$root/example.com/shadow"
    check "$label: dynamic consumer builds" \
        cc -Wall -Wextra -Werror "$top/c-tests/consumer.c" -o "$scratch/$label-dynamic" $cflags $libs -lcrypt
    check "$label: dynamic consumer runs against the installed .so" \
        env LD_LIBRARY_PATH="$sysroot$libdir" "$scratch/$label-dynamic" "$root" example.com bob dyn-pw
    check "$label: dynamic consumer needs libpasswdpop.so.$major" \
        sh -c "readelf -d $scratch/$label-dynamic | grep -q 'NEEDED.*libpasswdpop.so.$major'"
    check "$label: README example builds" \
        cc -Wall -Wextra -Werror -c "$scratch/example.c" -o "$scratch/$label-example.o" $cflags
    # The linker prefers the .so when both exist: name the archive.
    static_flags=$(echo "$static_libs" | sed 's/-lpasswdpop\b/-l:libpasswdpop.a/')
    check "$label: static consumer builds" \
        cc -Wall -Wextra -Werror "$top/c-tests/consumer.c" -o "$scratch/$label-static" $cflags $static_flags
    check "$label: static consumer runs without the .so" \
        "$scratch/$label-static" "$root" example.com bob static-pw
    check "$label: static consumer does not need libpasswdpop.so" \
        sh -c "! readelf -d $scratch/$label-static | grep -q 'libpasswdpop'"
    # Libs.private is what the archive needs: the README example, which calls
    # nothing from libcrypt itself, links with it and not without its -lcrypt.
    printf 'int set_sales_password(const char *);\nint main(void) { return set_sales_password(0) == 1 ? 0 : 2; }\n' \
        > "$scratch/main.c"
    without_crypt=$(echo "$static_flags" | sed 's/-lcrypt\b//')
    check "$label: the README example links statically with Libs.private" \
        cc "$scratch/main.c" "$scratch/$label-example.o" -o "$scratch/$label-example" $cflags $static_flags
    check "$label: and not without Libs.private's -lcrypt" \
        sh -c "! cc $scratch/main.c $scratch/$label-example.o -o $scratch/$label-broken $cflags $without_crypt 2>/dev/null"
}

# (a) A staged install, multiarch LIBDIR, and its uninstall.
stage=$scratch/stage
make --no-print-directory install DESTDIR="$stage" PREFIX=/usr LIBDIR="/usr/lib/$multiarch" >/dev/null
for file in "usr/lib/$multiarch/libpasswdpop.so.$version" "usr/lib/$multiarch/libpasswdpop.a" \
    usr/include/passwdpop.h "usr/lib/$multiarch/pkgconfig/passwdpop.pc" usr/bin/passwdpop \
    usr/share/man/man1/passwdpop.1; do
    check "installed $file" test -f "$stage/$file"
done
check "libpasswdpop.so.$major -> libpasswdpop.so.$version" \
    test "$(readlink "$stage/usr/lib/$multiarch/libpasswdpop.so.$major")" = "libpasswdpop.so.$version"
check "libpasswdpop.so -> libpasswdpop.so.$major" \
    test "$(readlink "$stage/usr/lib/$multiarch/libpasswdpop.so")" = "libpasswdpop.so.$major"
check "the .pc names the prefix and libdir" \
    grep -q "^libdir=/usr/lib/$multiarch$" "$stage/usr/lib/$multiarch/pkgconfig/passwdpop.pc"
consumer_checks install "$stage" "/usr/lib/$multiarch"
make --no-print-directory uninstall DESTDIR="$stage" PREFIX=/usr LIBDIR="/usr/lib/$multiarch" >/dev/null
check "uninstall removes every file it installed" test -z "$(find "$stage" ! -type d)"
check "uninstall keeps the shared directories" test -d "$stage/usr/lib/$multiarch"

# (b) The .deb packages, extracted (never installed on this reused machine).
debs=$scratch/debs
for package in "libpasswdpop$major" libpasswdpop-dev; do
    deb=target/deb/${package}_${version}_$arch.deb
    check "$deb exists" test -f "$deb"
    dpkg-deb -x "$deb" "$debs"
    check "$package: files owned by root" \
        sh -c "! dpkg-deb -c $deb | awk '{print \$2}' | grep -v '^root/root$'"
done
check "the runtime package depends on libc6, libgcc-s1 and libcrypt1" sh -c \
    "dpkg-deb -f target/deb/libpasswdpop${major}_${version}_$arch.deb Depends | grep libc6 | grep libgcc-s1 | grep -q libcrypt1"
check "the .so in the package is stripped" \
    sh -c "! file -L $debs/usr/lib/$multiarch/libpasswdpop.so.$version 2>/dev/null | grep -q 'not stripped' && ! readelf -S $debs/usr/lib/$multiarch/libpasswdpop.so.$version | grep -q '\.debug_info'"
consumer_checks deb "$debs" "/usr/lib/$multiarch"

# (c) Installable with dpkg -i, and purged again whatever happens, so later
# tests on this reused machine never pick up a system copy.
if [ "$(id -u)" = 0 ] && ! dpkg -s "libpasswdpop$major" >/dev/null 2>&1; then
    trap 'dpkg --purge libpasswdpop-dev "libpasswdpop$major" >/dev/null 2>&1; rm -rf "$scratch"' EXIT
    check "dpkg -i installs both packages" dpkg -i \
        "target/deb/libpasswdpop${major}_${version}_$arch.deb" "target/deb/libpasswdpop-dev_${version}_$arch.deb"
    check "the installed command runs" sh -c "/usr/bin/passwdpop --version | grep -q '$version'"
    check "the installed man page is found" sh -c "test -f /usr/share/man/man1/passwdpop.1.gz"
    root=$scratch/system-vmail
    mkdir -p "$root/example.com"
    printf 'bob:old:1\n' > "$root/example.com/shadow"
    check "a consumer built with the system's pkg-config runs" sh -c \
        "cc $top/c-tests/consumer.c -o $scratch/system-consumer \$(pkg-config --cflags --libs passwdpop) -lcrypt && $scratch/system-consumer $root example.com bob sys-pw"
    check "dpkg --purge removes them" dpkg --purge libpasswdpop-dev "libpasswdpop$major"
    check "nothing of ours is left in the system" sh -c "! ls /usr/lib/$multiarch/libpasswdpop* /usr/include/passwdpop.h 2>/dev/null"
else
    echo "packaging: dpkg -i not tried (needs root, and no installed libpasswdpop$major)"
fi

echo "packaging: $passed passed, $failed failed"
test "$failed" -eq 0
