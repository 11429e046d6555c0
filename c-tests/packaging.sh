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
check "the header declares the 26 functions" test "$(wc -l < "$scratch/declared")" -eq 26
# The symbols file names the SONAME and every exported function, no other.
check "packaging/libpasswdpop$major.symbols is for libpasswdpop.so.$major" \
    test "$(head -n 1 "packaging/libpasswdpop$major.symbols")" = "libpasswdpop.so.$major libpasswdpop$major #MINVER#"
sed -n 's/^ \(passwdpop[a-z_]*\)@Base [0-9.]*$/\1/p' "packaging/libpasswdpop$major.symbols" | sort > "$scratch/listed"
check "the symbols file lists exactly the exported functions" diff "$scratch/declared" "$scratch/listed"
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

# expect OUTPUT COMMAND...: the command succeeds and prints exactly OUTPUT.
expect() {
    expected=$1
    shift
    got=$("$@") || return 1
    [ "$got" = "$expected" ] || { echo "expected '$expected', got '$got'"; return 1; }
}

# The completions as each shell runs them, from a package's or an install's
# tree: the options, and the values of --layout.
bash_complete() { # FILE WORD... (the last is being completed)
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        _passwdpop passwdpop "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        echo "${COMPREPLY[*]}"' bash "$@"
}
zsh_binding() { # DIRECTORY: the function compinit binds to passwdpop
    zsh -f -c 'fpath=("$1" $fpath); autoload -U compinit; compinit -u -D
        print -r -- $_comps[passwdpop]' zsh "$1"
}
fish_complete() { # FILE COMMANDLINE: the candidates, sorted, on one line
    fish --no-config -c 'source $argv[1]; complete -C$argv[2]' "$1" "$2" | cut -f1 | sort | tr '\n' ' '
}
completion_checks() { # LABEL ROOT
    label=$1 share=$2/usr/share
    check "$label: bash completes --lay" \
        expect --layout bash_complete "$share/bash-completion/completions/passwdpop" passwdpop --lay
    check "$label: bash completes --layout's values" expect "shadow passwd-file" \
        bash_complete "$share/bash-completion/completions/passwdpop" passwdpop --layout ""
    check "$label: zsh parses _passwdpop" zsh -n "$share/zsh/vendor-completions/_passwdpop"
    check "$label: zsh's compinit binds _passwdpop" \
        expect _passwdpop zsh_binding "$share/zsh/vendor-completions"
    check "$label: fish completes --lay" \
        expect "--layout " fish_complete "$share/fish/vendor_completions.d/passwdpop.fish" "passwdpop --lay"
    check "$label: fish completes --layout's values" expect "passwd-file shadow " \
        fish_complete "$share/fish/vendor_completions.d/passwdpop.fish" "passwdpop --layout "
}

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
# Files copied unchanged from the source tree, each where its reader looks.
for pair in README.md:usr/share/doc/passwdpop/README.md \
    RELIABILITY.md:usr/share/doc/passwdpop/RELIABILITY.md \
    BENCHMARKS.md:usr/share/doc/passwdpop/BENCHMARKS.md \
    completions/passwdpop.bash:usr/share/bash-completion/completions/passwdpop \
    completions/_passwdpop:usr/share/zsh/vendor-completions/_passwdpop \
    completions/passwdpop.fish:usr/share/fish/vendor_completions.d/passwdpop.fish; do
    check "installed ${pair#*:} = ${pair%%:*}" cmp "${pair%%:*}" "$stage/${pair#*:}"
done
check "libpasswdpop.so.$major -> libpasswdpop.so.$version" \
    test "$(readlink "$stage/usr/lib/$multiarch/libpasswdpop.so.$major")" = "libpasswdpop.so.$version"
check "libpasswdpop.so -> libpasswdpop.so.$major" \
    test "$(readlink "$stage/usr/lib/$multiarch/libpasswdpop.so")" = "libpasswdpop.so.$major"
check "the .pc names the prefix and libdir" \
    grep -q "^libdir=/usr/lib/$multiarch$" "$stage/usr/lib/$multiarch/pkgconfig/passwdpop.pc"
consumer_checks install "$stage" "/usr/lib/$multiarch"
completion_checks install "$stage"
make --no-print-directory uninstall DESTDIR="$stage" PREFIX=/usr LIBDIR="/usr/lib/$multiarch" >/dev/null
check "uninstall removes every file it installed" test -z "$(find "$stage" ! -type d)"
check "uninstall keeps the shared directories" test -d "$stage/usr/lib/$multiarch"
check "uninstall removes the documentation directory" test ! -e "$stage/usr/share/doc/passwdpop"
# Below /usr/local, Debian's zsh looks in site-functions, not vendor-completions.
make --no-print-directory install DESTDIR="$scratch/local" PREFIX=/usr/local >/dev/null
for file in share/bash-completion/completions/passwdpop share/zsh/site-functions/_passwdpop \
    share/fish/vendor_completions.d/passwdpop.fish share/doc/passwdpop/README.md; do
    check "PREFIX=/usr/local: installed $file" test -f "$scratch/local/usr/local/$file"
done


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
completion_checks deb "$debs"
runtime=libpasswdpop$major
for file in README.md RELIABILITY.md BENCHMARKS.md; do
    check "$runtime: /usr/share/doc/$runtime/$file.gz is $file" \
        sh -c "gzip -dc $debs/usr/share/doc/$runtime/$file.gz | cmp - $file"
done
check "$runtime: the man page is man/passwdpop.1" \
    sh -c "gzip -dc $debs/usr/share/man/man1/passwdpop.1.gz | cmp - man/passwdpop.1"

# The licenses: the standard texts at the top, and the same in every
# package's machine-readable (DEP-5) copyright file.
without_copyright() { grep -v '^ *Copyright ' "$1"; }
check "LICENSE-APACHE is the Apache License 2.0 but for its copyright line" \
    expect "$(without_copyright /usr/share/common-licenses/Apache-2.0)" without_copyright LICENSE-APACHE
check "LICENSE-APACHE has the project's copyright line" \
    grep -q '^   Copyright 20[0-9][0-9] The passwdpop developers$' LICENSE-APACHE
check "LICENSE-MIT has the project's copyright line" \
    grep -q '^Copyright (c) 20[0-9][0-9] The passwdpop developers$' LICENSE-MIT
check "Cargo.toml's license names the two" grep -q '^license = "MIT OR Apache-2.0"$' Cargo.toml
paragraph() { # FILE FIRST-LINE: a DEP-5 paragraph's continuation lines, as text
    sed -n "/^$2\$/,/^\$/p" "$1" | sed '1d; s/^ //; /^\.$/d; /^$/d'
}
# What the build says the release is: SOURCE_DATE_EPOCH, else the last commit.
maintainer=$(sed -n 's/^authors = \["\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || stat -c %Y Cargo.toml)}
release_date=$(LC_ALL=C date -u -R -d "@$epoch")
check "Cargo.toml has an author for the Maintainer field" test -n "$maintainer"
for package in "$runtime" libpasswdpop-dev; do
    doc=$debs/usr/share/doc/$package
    check "$package: copyright is DEP-5" expect \
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" head -n 1 "$doc/copyright"
    check "$package: copyright's Files: * are MIT or Apache-2.0" \
        sh -c "sed -n '/^Files: \*$/,/^$/p' $doc/copyright | grep -qx 'License: MIT or Apache-2.0'"
    check "$package: copyright's MIT text is LICENSE-MIT's" \
        expect "$(sed -n '/^Permission is hereby granted/,$p' LICENSE-MIT | sed '/^$/d')" \
        paragraph "$doc/copyright" "License: MIT"
    check "$package: copyright points to the Apache-2.0 text" \
        sh -c "sed -n '/^License: Apache-2.0$/,/^$/p' $doc/copyright | grep -q /usr/share/common-licenses/Apache-2.0"
    check "$package: copyright names the crates linked in, not the proc-macros" sh -c \
        "grep -qx ' sha2 [0-9.]*: MIT OR Apache-2.0' $doc/copyright && ! grep -q '^ syn ' $doc/copyright"
    check "$package: Maintainer is Cargo.toml's first author" \
        expect "$maintainer" dpkg-deb -f "target/deb/${package}_${version}_$arch.deb" Maintainer
    check "$package: the changelog is signed by it on the release date" \
        expect " -- $maintainer  $release_date" sh -c "gzip -dc $doc/changelog.gz | tail -n 1"
done
# SOURCE_DATE_EPOCH dates the changelog and every file, and the build has
# nothing to warn about (dpkg-shlibdeps used to, twice).
SOURCE_DATE_EPOCH=1700000000 sh packaging/deb.sh "$version" "$major" "$scratch/dated" \
    > "$scratch/dated.log" 2>&1
check "a build with SOURCE_DATE_EPOCH prints no warning" sh -c "! grep -i warning $scratch/dated.log"
check "SOURCE_DATE_EPOCH dates the changelog" \
    expect " -- $maintainer  Tue, 14 Nov 2023 22:13:20 +0000" \
    sh -c "dpkg-deb --fsys-tarfile $scratch/dated/${runtime}_${version}_$arch.deb |
        tar -xO ./usr/share/doc/$runtime/changelog.gz | gzip -dc | tail -n 1"
check "SOURCE_DATE_EPOCH dates every file in the package" sh -c \
    "! dpkg-deb -c $scratch/dated/${runtime}_${version}_$arch.deb | grep -v ' 2023-11-14 22:13 '"
check "lintian: no errors or warnings" lintian --fail-on error,warning \
    "target/deb/${runtime}_${version}_$arch.deb" "target/deb/libpasswdpop-dev_${version}_$arch.deb" \
    "target/deb/passwdpopd_${version}_$arch.deb"

# passwdpopd: exactly this library version, the daemon's files, units not enabled.
daemon_deb=target/deb/passwdpopd_${version}_$arch.deb
check "passwdpopd depends on exactly $runtime $version" sh -c \
    "dpkg-deb -f $daemon_deb Depends | grep -q '$runtime (= $version)'"
dpkg-deb -x "$daemon_deb" "$scratch/daemon"
for file in usr/sbin/passwdpopd usr/share/man/man8/passwdpopd.8.gz lib/systemd/system/passwdpopd.service \
    lib/systemd/system/passwdpopd.socket etc/passwdpopd/passwdpopd.toml; do
    check "passwdpopd ships $file" test -f "$scratch/daemon/$file"
done
check "passwdpopd: the configuration is a conffile" sh -c \
    "dpkg-deb --ctrl-tarfile $daemon_deb | tar -xO ./conffiles | grep -qx /etc/passwdpopd/passwdpopd.toml"
check "passwdpopd: no maintainer script enables the units" sh -c \
    "! dpkg-deb --ctrl-tarfile $daemon_deb | tar -t | grep -q 'postinst'"
check "passwdpopd: the binary runs" "$scratch/daemon/usr/sbin/passwdpopd" --version

# The bindings: plain files where each language looks by default, tied to
# this very library.
bindings="python3-passwdpop libpasswdpop-perl php-passwdpop"
for package in $bindings; do
    deb=target/deb/${package}_${version}_all.deb
    check "$deb exists" test -f "$deb"
    check "$package: Architecture: all" expect all dpkg-deb -f "$deb" Architecture
    check "$package: depends on $runtime (= $version)" \
        sh -c "dpkg-deb -f $deb Depends | grep -q '$runtime (= $version)'"
    check "$package: files owned by root" \
        sh -c "! dpkg-deb -c $deb | awk '{print \$2}' | grep -v '^root/root$'"
    dpkg-deb -x "$deb" "$scratch/bindings"
done
for file in passwdpop/__init__.py passwdpop/_native.py; do
    check "python3-passwdpop: /usr/lib/python3/dist-packages/$file" \
        cmp "$scratch/bindings/usr/lib/python3/dist-packages/$file" "bindings/python/$file"
done
check "libpasswdpop-perl: /usr/share/perl5/Passwdpop.pm" \
    cmp "$scratch/bindings/usr/share/perl5/Passwdpop.pm" bindings/perl/lib/Passwdpop.pm
check "libpasswdpop-perl: the manual page Passwdpop(3pm)" \
    sh -c "gzip -dc $scratch/bindings/usr/share/man/man3/Passwdpop.3pm.gz | grep -q '^\\.TH Passwdpop 3pm'"
for file in bindings/php/src/*; do
    check "php-passwdpop: /usr/share/php/Passwdpop/${file##*/}" \
        cmp "$scratch/bindings/usr/share/php/Passwdpop/${file##*/}" "$file"
done
check "lintian: no errors or warnings in the bindings' packages" lintian --fail-on error,warning \
    $(for package in $bindings; do echo "target/deb/${package}_${version}_all.deb"; done)

# (c) Installable with dpkg -i, and purged again whatever happens, so later
# tests on this reused machine never pick up a system copy.
if [ "$(id -u)" = 0 ] && ! dpkg -s "libpasswdpop$major" >/dev/null 2>&1; then
    trap 'dpkg --purge $bindings libpasswdpop-dev "libpasswdpop$major" >/dev/null 2>&1; rm -rf "$scratch"' EXIT
    check "dpkg -i installs both packages" dpkg -i \
        "target/deb/libpasswdpop${major}_${version}_$arch.deb" "target/deb/libpasswdpop-dev_${version}_$arch.deb"
    check "the installed command runs" sh -c "/usr/bin/passwdpop --version | grep -q '$version'"
    check "the installed man page is found" sh -c "test -f /usr/share/man/man1/passwdpop.1.gz"
    check "the README is installed" test -f "/usr/share/doc/libpasswdpop$major/README.md.gz"
    # Each shell finds the completions by itself, with no configuration.
    check "bash-completion loads the installed completion" sh -c \
        "bash -c '. /usr/share/bash-completion/bash_completion && __load_completion passwdpop && complete -p passwdpop' | grep -q _passwdpop"
    check "zsh's compinit finds the installed completion" expect _passwdpop \
        zsh -f -c 'autoload -U compinit; compinit -u -D; print -r -- $_comps[passwdpop]'
    # (--no-config would leave fish without its completion path; a scratch
    # home keeps it away from root's configuration.)
    check "fish finds the installed completion" expect "--layout " sh -c \
        "env -u XDG_CONFIG_HOME -u XDG_DATA_HOME HOME=$scratch/fish-home \
            fish -c \"complete -C'passwdpop --lay'\" | cut -f1 | tr '\n' ' '"
    root=$scratch/system-vmail
    mkdir -p "$root/example.com"
    printf 'bob:old:1\n' > "$root/example.com/shadow"
    check "a consumer built with the system's pkg-config runs" sh -c \
        "cc $top/c-tests/consumer.c -o $scratch/system-consumer \$(pkg-config --cflags --libs passwdpop) -lcrypt && $scratch/system-consumer $root example.com bob sys-pw"
    # Packages built against it depend on it through its symbols file.
    check "the installed library carries its symbols file" \
        cmp "packaging/libpasswdpop$major.symbols" "/var/lib/dpkg/info/libpasswdpop$major.symbols"
    mkdir -p "$scratch/dependent/debian"
    printf 'Source: dependent\n\nPackage: dependent\nArchitecture: any\n' > "$scratch/dependent/debian/control"
    check "dpkg-shlibdeps gives a program linked to it the symbols file's version" \
        expect "libpasswdpop$major (>= 0.1.0)" sh -c "cd $scratch/dependent && dpkg-shlibdeps -O $scratch/system-consumer 2>/dev/null |
            sed -n 's/^shlibs:Depends=//p' | tr ',' '\n' | sed 's/^ *//' | grep '^libpasswdpop'"
    # One line from each language, against the installed library only:
    # no PASSWDPOP_LIBRARY, run from a directory with nothing to import.
    check "dpkg -i installs the bindings" dpkg -i \
        $(for package in $bindings; do echo "target/deb/${package}_${version}_all.deb"; done)
    printf 'bob:old:1\nann:old:1\ncarol:old:1\n' > "$root/example.com/shadow"
    installed() { (cd "$scratch" && env -u PASSWDPOP_LIBRARY -u PERL5LIB -u PYTHONPATH "$@"); }
    check "python3: import passwdpop; passwdpop.change(...)" installed /usr/bin/python3 -c \
        "import passwdpop; assert passwdpop.__file__.startswith('/usr/lib/python3/dist-packages/'); passwdpop.change('example.com', 'bob', 'python-pw', root='$root')"
    check "perl: use Passwdpop; Passwdpop::change(...)" installed perl -MPasswdpop -e \
        "\$INC{'Passwdpop.pm'} eq '/usr/share/perl5/Passwdpop.pm' or die; Passwdpop::change('example.com', 'ann', 'perl-pw', { root => '$root' })"
    check "php: require 'Passwdpop/autoload.php'; Passwdpop::change(...)" installed php -r \
        "require 'Passwdpop/autoload.php'; Passwdpop\\Passwdpop::change('example.com', 'carol', 'php-pw', ['root' => '$root']);"
    for pair in bob:python-pw ann:perl-pw carol:php-pw; do
        check "the installed command accepts ${pair#*:} for ${pair%%:*}" sh -c \
            "printf '%s\n' '${pair#*:}' | /usr/bin/passwdpop --verify --root $root --domain example.com --email ${pair%%:*}"
    done
    check "dpkg --purge removes them" dpkg --purge $bindings libpasswdpop-dev "libpasswdpop$major"
    check "nothing of ours is left in the system" sh -c "! ls /usr/lib/$multiarch/libpasswdpop* /usr/include/passwdpop.h \
        /usr/lib/python3/dist-packages/passwdpop* /usr/share/perl5/Passwdpop.pm /usr/share/php/Passwdpop 2>/dev/null"
else
    echo "packaging: dpkg -i not tried (needs root, and no installed libpasswdpop$major)"
fi

echo "packaging: $passed passed, $failed failed"
test "$failed" -eq 0
