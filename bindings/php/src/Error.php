<?php

declare(strict_types=1);

namespace Passwdpop;

/**
 * A failed call: getCode() is the C status code, $name its name without
 * PASSWDPOP_ (e.g. "NO_SUCH_ACCOUNT"), getMessage() the library's message,
 * which never holds the password.
 */
class Error extends \RuntimeException
{
    public readonly string $name;

    public function __construct(int $status, string $message)
    {
        parent::__construct($message, $status);
        $name = array_search($status, Passwdpop::STATUS, true);
        $this->name = $name === false ? "STATUS_$status" : $name;
    }
}
