#!/bin/sh
# PASSWDPOP_ROOT must be ignored in a setuid process. Builds a setuid-root
# copy of c-tests/setuid_root.c in a scratch directory every user can reach,
# runs it as nobody, and runs the same program without setuid as a control.
# usage: c-tests/setuid.sh LIB_DIR   (as root)
set -eu
lib_dir=$1
if [ "$(id -u)" != 0 ]; then
    echo "setuid test: needs root" >&2
    exit 1
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
chmod 0755 "$scratch"
cp "$lib_dir/libpasswdpop.so" "$scratch/libpasswdpop.so.0"
mkdir -p "$scratch/vmail/setuid-test.example"
# The password is "right".
printf 'bob:%s\n' '$6$saltsaltsaltsalt$2b2ZRBITWJ.IOqK2.9gqQIIJIgaZkYOaYtVi9iRviQb09vhzMFndcr9wuIgXvwp3EohSG2kxzxNz4eAIakWV3/' > "$scratch/vmail/setuid-test.example/shadow"
chmod -R a+rX "$scratch"
cc -std=c11 -Wall -Wextra -Werror -Iinclude "$(dirname "$0")/setuid_root.c" \
    -o "$scratch/setuid_root" "$scratch/libpasswdpop.so.0" -Wl,-rpath,"$scratch"
as_nobody() {
    PASSWDPOP_ROOT="$scratch/vmail" setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}
failed=0
# Control: not setuid, so the variable is used and the password verifies.
as_nobody "$scratch/setuid_root" setuid-test.example bob right || failed=1
chmod 4755 "$scratch/setuid_root"
status=0
as_nobody "$scratch/setuid_root" setuid-test.example bob right || status=$?
if [ "$status" -eq 0 ]; then
    echo "setuid test: PASSWDPOP_ROOT was honoured in a setuid process" >&2
    failed=1
fi
if [ "$failed" -eq 0 ]; then
    echo "setuid test: 2 passed, 0 failed"
else
    echo "setuid test: failed"
fi
exit "$failed"
