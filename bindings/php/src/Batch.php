<?php

declare(strict_types=1);

namespace Passwdpop;

/**
 * Many changes applied with one rewrite per domain (passwdpop_batch_*):
 *
 *     $batch = new Passwdpop\Batch(['root' => '/etc/vmail', 'threads' => 2]);
 *     $batch->add('example.com', 'bob', $password);
 *     $batch->addHash('example.com', 'carol', '$6$...');
 *     try { $batch->commit(); } catch (Passwdpop\Error $e) { ... $batch->status($i) ... }
 *
 * add()/addHash() check their arguments at once (a refused entry throws and
 * is not added); the library copies each password and clears the copy once
 * hashed. commit() throws the first failing entry's Error, the other entries
 * being applied all the same; status($i) is null for an applied entry, else
 * its Error (returned, not thrown). The batch is freed with the object.
 */
final class Batch implements \Countable
{
    private ?\FFI\CData $batch = null;

    public function __construct(array $options = [])
    {
        $ffi = Passwdpop::ffi();
        $config = Passwdpop::config($options);
        try {
            $this->batch = $ffi->passwdpop_batch_new($config);
        } finally {
            if ($config !== null) {
                $ffi->passwdpop_config_free($config);
            }
        }
        if (\FFI::isNull($this->batch)) {
            throw new Error(Passwdpop::STATUS['INTERNAL_ERROR'], 'passwdpop_batch_new() failed');
        }
    }

    public function add(?string $domain, ?string $user, ?string $password): void
    {
        $this->addEntry('passwdpop_batch_add', $domain, $user, $password, Passwdpop::STATUS['INVALID_PASSWORD']);
    }

    public function addHash(?string $domain, ?string $user, ?string $hash): void
    {
        $this->addEntry('passwdpop_batch_add_hash', $domain, $user, $hash, Passwdpop::STATUS['INVALID_HASH']);
    }

    private function addEntry(string $function, ?string $domain, ?string $user, ?string $secret, int $status): void
    {
        $domain = Passwdpop::name($domain, 'domain', Passwdpop::STATUS['INVALID_DOMAIN']);
        $user = Passwdpop::name($user, 'user', Passwdpop::STATUS['INVALID_USER']);
        $secret = Passwdpop::secret($secret, $status);
        Passwdpop::check(Passwdpop::ffi()->$function($this->batch, $domain, $user, $secret));
    }

    public function commit(): void
    {
        Passwdpop::check(Passwdpop::ffi()->passwdpop_batch_commit($this->batch));
    }

    public function count(): int
    {
        return Passwdpop::ffi()->passwdpop_batch_len($this->batch);
    }

    public function status(int $index): ?Error
    {
        if ($index < 0) {
            throw new \OutOfRangeException("batch entry $index");
        }
        $status = Passwdpop::ffi()->passwdpop_batch_status($this->batch, $index);
        return $status === 0 ? null : new Error($status, Passwdpop::lastError());
    }

    /** Frees the batch now (the library clears the passwords it still holds). */
    public function free(): void
    {
        if ($this->batch !== null) {
            Passwdpop::ffi()->passwdpop_batch_free($this->batch);
            $this->batch = null;
        }
    }

    public function __destruct()
    {
        $this->free();
    }
}
