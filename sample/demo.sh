#!/bin/sh
# The main job on a copy of sample/vmail: change passwords with the CLI and
# through the C ABI, show the changed lines, check them.
# usage: sample/demo.sh PATH-TO-passwdpop PATH-TO-c-demo
set -eu
cli=$1 c_demo=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -R "$(dirname "$0")/vmail" "$scratch/vmail"
chmod 0750 "$scratch"/vmail/*
chmod 0640 "$scratch"/vmail/*/shadow
root=$scratch/vmail

show() { printf '\n$ %s\n' "$*"; }

show "grep '^sales:' example.com/shadow"
grep '^sales:' "$root/example.com/shadow"
show "echo 'n3w-Secret!' | passwdpop --domain example.com --email sales"
echo 'n3w-Secret!' | "$cli" --root "$root" --domain example.com --email sales
show "grep '^sales:' example.com/shadow"
grep '^sales:' "$root/example.com/shadow"
show "echo 'n3w-Secret!' | passwdpop --verify --domain example.com --email sales@example.com"
echo 'n3w-Secret!' | "$cli" --root "$root" --verify --domain example.com --email sales@example.com
show "passwdpop --layout passwd-file --output json Email passwdpop domain=example.org email=alice password=a%20b%3Ac"
"$cli" --root "$root" --layout passwd-file --output json \
    Email passwdpop domain=example.org email=alice password=a%20b%3Ac
show "grep '^alice:' example.org/shadow"
grep '^alice:' "$root/example.org/shadow"
show "c-tests/build/demo ROOT example.com info via-the-C-ABI   (the C ABI, checked with crypt(3))"
"$c_demo" "$root" example.com info 'via-the-C-ABI'
