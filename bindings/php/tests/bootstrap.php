<?php
// The suite runs against this tree's build unless PASSWDPOP_LIBRARY names one
// (`make bindings-test` sets it, and PASSWDPOP_HOOKS_LIBRARY, a build that
// panics on purpose).
const PASSWDPOP_TOP = __DIR__ . '/../../..';
if (getenv('PASSWDPOP_LIBRARY') === false) {
    putenv('PASSWDPOP_LIBRARY=' . realpath(PASSWDPOP_TOP) . '/target/release/libpasswdpop.so');
}
require __DIR__ . '/../src/autoload.php';
