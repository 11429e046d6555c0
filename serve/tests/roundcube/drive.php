<?php
// Runs one of Roundcube's own password drivers, unchanged, against
// passwdpopd. Only what the drivers call on Roundcube is stood in for here:
// the configuration, the logged-in user, error reporting and the password
// plugin's username() and result codes.
//
// php drive.php DRIVER_FILE DRIVER_CLASS HOST PORT USER CURRENT NEW
// prints {"code":N,"message":"..."}

[, $driver_file, $driver_class, $host, $port, $user, $current, $new] = $argv;

// The values of plugins/password/password.php.
define('PASSWORD_CRYPT_ERROR', 1);
define('PASSWORD_ERROR', 2);
define('PASSWORD_CONNECT_ERROR', 3);
define('PASSWORD_SUCCESS', 0);

class stand_in_config
{
    public $values = [];

    public function get($name, $default = null)
    {
        return array_key_exists($name, $this->values) ? $this->values[$name] : $default;
    }
}

class stand_in_user
{
    public $address;

    public function get_username($part = null)
    {
        [$local, $domain] = explode('@', $this->address, 2);
        return $part === 'local' ? $local : ($part === 'domain' ? $domain : $this->address);
    }
}

class rcmail
{
    private static $instance;
    public $config;
    public $user;

    public static function get_instance()
    {
        return self::$instance ?: (self::$instance = new rcmail());
    }

    public function get_user_name()
    {
        return $this->user->address;
    }
}

class rcube
{
    public static function raise_error($message, $log = false, $terminate = false)
    {
        fwrite(STDERR, "raise_error: " . (is_array($message) ? json_encode($message) : $message) . "\n");
    }
}

class rcube_utils
{
    public static function parse_host($name, $host = '')
    {
        return $name;
    }
}

// password::username() as the plugin defines it, for the formats used here.
class password
{
    public static function username($format = null)
    {
        $rcmail = rcmail::get_instance();
        $username = $rcmail->get_user_name();
        if ($format) {
            $username = strtr($format, [
                '%l' => $rcmail->user->get_username('local'),
                '%d' => $rcmail->user->get_username('domain'),
                '%u' => $username,
            ]);
        }
        return $username;
    }
}

require_once 'Net/Socket.php';
require_once $driver_file;

$rcmail = rcmail::get_instance();
$rcmail->config = new stand_in_config();
$rcmail->config->values = [
    'password_cpanel_host' => $host,
    'password_cpanel_port' => (int) $port,
    'password_pop_host' => $host,
    'password_pop_port' => (int) $port,
];
$rcmail->user = new stand_in_user();
$rcmail->user->address = $user;
$_SESSION['storage_host'] = $host;

$driver = new $driver_class();
$result = $driver->save($current, $new, password::username());
if (is_array($result)) {
    echo json_encode($result), "\n";
} else {
    echo json_encode(['code' => $result, 'message' => null]), "\n";
}
