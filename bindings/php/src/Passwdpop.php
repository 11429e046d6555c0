<?php

declare(strict_types=1);

namespace Passwdpop;

use FFI;

/**
 * Change the password of a virtual mail account in <root>/<domain>/shadow.
 *
 * A thin binding over libpasswdpop's C ABI through PHP's bundled FFI
 * extension: each method maps to one C function, failures to a
 * {@see Error}. The library is libpasswdpop.so.0 found by the dynamic
 * linker, or the file named by the environment variable PASSWDPOP_LIBRARY;
 * when ffi.preload has preloaded passwdpop.h (the way for PHP-FPM, see the
 * README) and PASSWDPOP_LIBRARY is not set, that copy is used.
 *
 * Passwords are byte strings, passed as they are: FFI hands C a pointer to
 * the PHP string's own bytes, so the binding makes no copy and keeps
 * nothing after the call. PHP cannot promise a wipe (strings are shared
 * copy-on-write and freed without clearing); sodium_memzero($password)
 * clears your variable's buffer when no other variable shares it.
 */
final class Passwdpop
{
    public const VERSION = '0.1.0';

    /** The status codes of the C ABI (PASSWDPOP_<NAME>), by name. */
    public const STATUS = [
        'OK' => 0, 'NULL_ARGUMENT' => 1, 'INVALID_DOMAIN' => 2, 'INVALID_USER' => 3,
        'INVALID_PASSWORD' => 4, 'INVALID_CONFIG' => 5, 'NO_SUCH_DOMAIN' => 6,
        'NO_SUCH_ACCOUNT' => 7, 'AMBIGUOUS_ACCOUNT' => 8, 'UNSAFE_PATH' => 9,
        'LOCK_TIMEOUT' => 10, 'IO_ERROR' => 11, 'PASSWORD_MISMATCH' => 12,
        'INTERNAL_ERROR' => 13, 'INVALID_HASH' => 14, 'ACCOUNT_EXISTS' => 15,
    ];

    public const LAYOUT_SHADOW = 0;
    public const LAYOUT_PASSWD_FILE = 1;
    /** The layout names of the command line's --layout. */
    private const LAYOUTS = ['shadow' => self::LAYOUT_SHADOW, 'passwd-file' => self::LAYOUT_PASSWD_FILE];
    private const OPTIONS = ['root', 'rounds', 'layout', 'lock_timeout_ms', 'threads', 'wait_visible'];
    private const U32_MAX = 4294967295;
    /**
     * cPanel API 2 functions answered here: the parameters each needs, and
     * those it accepts and ignores (addpop's quota is Dovecot's business, not
     * the shadow file's, as for the command).
     */
    private const API2 = ['Email' => [
        'passwdpop' => [['domain', 'email', 'password'], []],
        'addpop' => [['domain', 'email', 'password'], ['quota']],
        'delpop' => [['domain', 'email'], []],
    ]];

    private static ?FFI $ffi = null;

    /** The FFI instance, loaded at first use. */
    public static function ffi(): FFI
    {
        return self::$ffi ??= self::load();
    }

    private static function load(): FFI
    {
        $major = explode('.', self::VERSION)[0];
        $soname = "libpasswdpop.so.$major";
        $path = getenv('PASSWDPOP_LIBRARY');
        $fix = "install the libpasswdpop$major package (apt install libpasswdpop$major), or set "
            . 'PASSWDPOP_LIBRARY to the path of a libpasswdpop.so (a source tree has it in '
            . 'target/release after `make lib`)';
        if ($path === false || $path === '') {
            try {
                // ffi.preload's copy: PHP-FPM's default ffi.enable=preload
                // allows FFI only for what was preloaded.
                $ffi = FFI::scope('PASSWDPOP');
                return self::checked($ffi, "$soname (preloaded)", $major, $fix);
            } catch (\Throwable $notPreloaded) {
            }
            $path = $soname;
            $tried = "$soname (through the dynamic linker's search path)";
        } else {
            $tried = $path;
        }
        $declarations = preg_replace('/^#define .*$/m', '', file_get_contents(__DIR__ . '/passwdpop.h'));
        try {
            $ffi = FFI::cdef($declarations, $path);
        } catch (\Throwable $err) {
            $message = $err->getMessage();
            if (preg_match('/Failed resolving C function \'(\w+)\'/', $message, $missing)) {
                throw new \RuntimeException(
                    "Passwdpop: $tried has no function {$missing[1]}: it is older than this binding ("
                    . self::VERSION . "); $fix"
                );
            }
            if (stripos($message, 'ffi.enable') !== false) {
                $fix = 'set ffi.enable=true for this SAPI, or preload the library '
                    . '(ffi.preload=/usr/share/php/Passwdpop/passwdpop.h; see the README)';
            }
            throw new \RuntimeException("Passwdpop: cannot load $tried: $message; $fix");
        }
        return self::checked($ffi, $tried, $major, $fix);
    }

    private static function checked(FFI $ffi, string $tried, string $major, string $fix): FFI
    {
        $found = $ffi->passwdpop_version();
        if (explode('.', $found)[0] !== $major) {
            throw new \RuntimeException(
                "Passwdpop: $tried is libpasswdpop $found, but this binding (" . self::VERSION
                . ") needs major version $major; $fix"
            );
        }
        return $ffi;
    }

    /** The library's version, e.g. "0.1.0". */
    public static function version(): string
    {
        return self::ffi()->passwdpop_version();
    }

    /** The library's fixed description of any status code. */
    public static function strerror(int $status): string
    {
        return self::ffi()->passwdpop_strerror($status);
    }

    /** This thread's message for its last failed library call ("" after a success). */
    public static function lastError(): string
    {
        return self::ffi()->passwdpop_last_error();
    }

    /** The library's name for lastError(), as in C. */
    public static function last_error(): string
    {
        return self::lastError();
    }

    /** @internal Throws the Error for a status, with this thread's message. */
    public static function check(int $status): void
    {
        if ($status !== 0) {
            throw new Error($status, self::lastError());
        }
    }

    /** @internal A domain or user as C sees it; null stays NULL (the library answers it). */
    public static function name(?string $value, string $what, int $status): ?string
    {
        if ($value !== null && str_contains($value, "\0")) {
            throw new Error($status, "the $what holds a NUL byte");
        }
        return $value;
    }

    private static function u32(mixed $value, string $what): int
    {
        // FFI would wrap -1 or 2**32 into a valid-looking number.
        if (!is_int($value) || $value < 0 || $value > self::U32_MAX) {
            $shown = is_scalar($value) ? var_export($value, true) : get_debug_type($value);
            throw new Error(self::STATUS['INVALID_CONFIG'], "$what $shown is not an integer in 0..=" . self::U32_MAX);
        }
        return $value;
    }

    private static function layout(mixed $layout): int
    {
        if (is_string($layout)) {
            if (!isset(self::LAYOUTS[$layout])) {
                throw new Error(
                    self::STATUS['INVALID_CONFIG'],
                    "unknown layout '$layout' (known: " . implode(', ', array_keys(self::LAYOUTS)) . ')'
                );
            }
            return self::LAYOUTS[$layout];
        }
        return self::u32($layout, 'layout');
    }

    /** A passwdpop_config for one call, or null (the defaults) without options. */
    public static function config(array $options): ?FFI\CData
    {
        foreach (array_keys($options) as $key) {
            if (!in_array($key, self::OPTIONS, true)) {
                throw new Error(
                    self::STATUS['INVALID_CONFIG'],
                    "unknown option '$key' (options: " . implode(', ', self::OPTIONS) . ')'
                );
            }
        }
        if (count(array_filter($options, fn ($value) => $value !== null)) === 0) {
            return null;
        }
        $ffi = self::ffi();
        $config = $ffi->passwdpop_config_new();
        if (FFI::isNull($config)) {
            throw new Error(self::STATUS['INTERNAL_ERROR'], 'passwdpop_config_new() failed');
        }
        try {
            if (isset($options['root'])) {
                $root = self::name((string) $options['root'], 'root', self::STATUS['INVALID_CONFIG']);
                self::check($ffi->passwdpop_config_set_root($config, $root));
            }
            if (isset($options['rounds'])) {
                self::check($ffi->passwdpop_config_set_rounds($config, self::u32($options['rounds'], 'rounds')));
            }
            if (isset($options['layout'])) {
                self::check($ffi->passwdpop_config_set_layout($config, self::layout($options['layout'])));
            }
            if (isset($options['lock_timeout_ms'])) {
                $ms = self::u32($options['lock_timeout_ms'], 'lock_timeout_ms');
                self::check($ffi->passwdpop_config_set_lock_timeout_ms($config, $ms));
            }
            if (isset($options['threads'])) {
                self::check($ffi->passwdpop_config_set_threads($config, self::u32($options['threads'], 'threads')));
            }
            if (isset($options['wait_visible'])) {
                self::check($ffi->passwdpop_config_set_wait_visible($config, $options['wait_visible'] ? 1 : 0));
            }
        } catch (\Throwable $err) {
            $ffi->passwdpop_config_free($config);
            throw $err;
        }
        return $config;
    }

    /** @internal Refuses a password or hash that C would cut short. */
    public static function secret(?string $secret, int $status): ?string
    {
        if ($secret !== null && str_contains($secret, "\0")) {
            $what = $status === self::STATUS['INVALID_HASH'] ? 'hash' : 'password';
            throw new Error($status, "the $what holds a NUL byte");
        }
        return $secret;
    }

    /**
     * Runs an account function of the C ABI with a config for $options, the
     * secret (password or hash) only when $status says how to refuse a bad
     * one; the plain passwdpop() for a change without options.
     */
    private static function call(string $function, ?string $domain, ?string $user, array $options, ?int $status = null, ?string $secret = null): int
    {
        $domain = self::name($domain, 'domain', self::STATUS['INVALID_DOMAIN']);
        $user = self::name($user, 'user', self::STATUS['INVALID_USER']);
        if ($status !== null) {
            $secret = self::secret($secret, $status);
        }
        $config = self::config($options);
        $ffi = self::ffi();
        try {
            if ($status === null) {
                return $ffi->$function($config, $domain, $user);
            }
            if ($config === null && $function === 'passwdpop_change') {
                return $ffi->passwdpop($domain, $user, $secret);
            }
            return $ffi->$function($config, $domain, $user, $secret);
        } finally {
            if ($config !== null) {
                $ffi->passwdpop_config_free($config);
            }
        }
    }

    /**
     * Sets a new password for $user (local part or full address) in
     * <root>/<domain>/shadow. Options: root, rounds, layout ('shadow',
     * 'passwd-file' or a LAYOUT_* constant), lock_timeout_ms; those left out
     * keep the library's defaults. Throws {@see Error}.
     */
    public static function change(?string $domain, ?string $user, ?string $password, array $options = []): void
    {
        self::check(self::call('passwdpop_change', $domain, $user, $options, self::STATUS['INVALID_PASSWORD'], $password));
    }

    /**
     * true if $password is the account's password, false if not (a
     * suspended `!` entry never matches); throws {@see Error} for anything else.
     */
    public static function verify(?string $domain, ?string $user, ?string $password, array $options = []): bool
    {
        $status = self::call('passwdpop_verify', $domain, $user, $options, self::STATUS['INVALID_PASSWORD'], $password);
        if ($status === self::STATUS['PASSWORD_MISMATCH']) {
            return false;
        }
        self::check($status);
        return true;
    }

    /** Adds an account (stored lower-cased); ACCOUNT_EXISTS if there is one. Options as change()'s. */
    public static function add(?string $domain, ?string $user, ?string $password, array $options = []): void
    {
        self::check(self::call('passwdpop_add', $domain, $user, $options, self::STATUS['INVALID_PASSWORD'], $password));
    }

    /** Removes the account's entry (and the continuation lines after it). */
    public static function remove(?string $domain, ?string $user, array $options = []): void
    {
        self::check(self::call('passwdpop_remove', $domain, $user, $options));
    }

    /** Locks the account (one '!' before its hash); the password is kept. */
    public static function suspend(?string $domain, ?string $user, array $options = []): void
    {
        self::check(self::call('passwdpop_suspend', $domain, $user, $options));
    }

    /** Unlocks the account: the old password works again. */
    public static function unsuspend(?string $domain, ?string $user, array $options = []): void
    {
        self::check(self::call('passwdpop_unsuspend', $domain, $user, $options));
    }

    /**
     * Stores $hash, a complete crypt(3) hash without {SCHEME} prefix, as the
     * account's hash (a migration); INVALID_HASH if libxcrypt would not take it.
     */
    public static function setHash(?string $domain, ?string $user, ?string $hash, array $options = []): void
    {
        self::check(self::call('passwdpop_set_hash', $domain, $user, $options, self::STATUS['INVALID_HASH'], $hash));
    }

    /**
     * cPanel LiveAPI's api2($module, $func, $params): ('Email', 'passwdpop',
     * ['domain' => ..., 'email' => ..., 'password' => ...]) changes a
     * password, 'addpop' (domain, email, password, an ignored quota) adds an
     * account, 'delpop' (domain, email) removes one. Returns the structure of cPanel's answer (and of
     * `passwdpop --output json`): ['cpanelresult' => ['apiversion' => 2,
     * 'func', 'module', 'data' => [['reason', 'result' => 1|0]], 'event' =>
     * ['result' => 1|0]]]; never throws for a failure. $options are
     * change()'s. Callable statically or on an instance, as
     * `$cpanel->api2(...)` is.
     */
    public static function api2(mixed $module, mixed $func, mixed $params, array $options = []): array
    {
        $module = is_scalar($module) ? (string) $module : get_debug_type($module);
        $func = is_scalar($func) ? (string) $func : get_debug_type($func);
        $reason = null;
        try {
            if (!isset(self::API2[$module])) {
                throw new \InvalidArgumentException(
                    "unknown module '$module' (known: " . implode(', ', array_keys(self::API2)) . ')'
                );
            }
            $functions = self::API2[$module];
            if (!isset($functions[$func])) {
                throw new \InvalidArgumentException(
                    "unknown function '$func' in module '$module' (known: "
                    . implode(', ', array_keys($functions)) . ')'
                );
            }
            if (!is_array($params)) {
                throw new \InvalidArgumentException('the parameters must be an array');
            }
            [$needed, $ignored] = $functions[$func];
            foreach (array_keys($params) as $key) {
                if (!in_array($key, $needed, true) && !in_array($key, $ignored, true)) {
                    throw new \InvalidArgumentException(
                        "unknown parameter '$key' (parameters: " . implode(', ', array_merge($needed, $ignored)) . ')'
                    );
                }
            }
            foreach ($needed as $key) {
                if (!isset($params[$key])) {
                    throw new \InvalidArgumentException("missing parameter '$key'");
                }
                if (!is_string($params[$key])) {
                    throw new \InvalidArgumentException("parameter '$key' must be a string");
                }
            }
            match ($func) {
                'passwdpop' => self::change($params['domain'], $params['email'], $params['password'], $options),
                'addpop' => self::add($params['domain'], $params['email'], $params['password'], $options),
                'delpop' => self::remove($params['domain'], $params['email'], $options),
            };
        } catch (Error | \InvalidArgumentException $err) {
            $reason = $err->getMessage();
        }
        $result = $reason === null ? 1 : 0;
        return [
            'cpanelresult' => [
                'apiversion' => 2,
                'data' => [['reason' => $reason ?? '', 'result' => $result]],
                'event' => ['result' => $result],
                'func' => $func,
                'module' => $module,
            ],
        ];
    }
}
