#!/bin/sh
# PASSWDPOP_ROOT must be ignored in a setuid process. Builds a setuid-root
# copy of c-tests/setuid_root.c in a scratch directory every user can reach,
# runs it as nobody, and runs the same program without setuid as a control.
# Then the command: a setuid or setgid copy of LIB_DIR/passwdpop must refuse
# to run before it reads its arguments or standard input.
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

# The command. The control (no setuid bit) verifies the password as nobody.
cp "$lib_dir/passwdpop" "$scratch/passwdpop"
chmod 0755 "$scratch/passwdpop"
cli_as_nobody() {
    # Prints the exit status, the command's standard error, and what it left
    # of standard input (all of it, when it read nothing).
    printf 'right\nleft-unread\n' | as_nobody sh -c '
        err=$(mktemp); "$0" "$@" >/dev/null 2>"$err"; echo "status=$?"; cat "$err"; rm -f "$err"; cat' \
        "$scratch/passwdpop" "$@"
}
out=$(cli_as_nobody --root "$scratch/vmail" --verify --domain setuid-test.example --email bob)
case "$out" in
    status=0*) ;;
    *) echo "setuid test: the control run of the command failed: $out" >&2; failed=1 ;;
esac
for bits in 4755 2755; do
    chmod "$bits" "$scratch/passwdpop"
    for args in "--root $scratch/vmail --verify --domain setuid-test.example --email bob" "--help"; do
        # shellcheck disable=SC2086 # the words of $args are the arguments
        out=$(cli_as_nobody $args)
        case "$out" in
            "status=5
passwdpop: refusing to run setuid or setgid"*"sudo"*"passwdpopd
right
left-unread") ;;
            *) echo "setuid test: mode $bits, passwdpop $args: not refused as expected: $out" >&2
               failed=1 ;;
        esac
    done
done

if [ "$failed" -eq 0 ]; then
    echo "setuid test: 7 passed, 0 failed"
else
    echo "setuid test: failed"
fi
exit "$failed"
