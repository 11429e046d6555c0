<?php
// Without Composer: `require 'Passwdpop/autoload.php';` (the Debian package
// installs it in /usr/share/php, on PHP's default include_path) or
// `require '/path/to/bindings/php/src/autoload.php';`.
spl_autoload_register(static function (string $class): void {
    $prefix = 'Passwdpop\\';
    if (strncmp($class, $prefix, strlen($prefix)) === 0) {
        $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
