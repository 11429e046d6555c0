<?php

declare(strict_types=1);

use Passwdpop\Batch;
use Passwdpop\Error;
use Passwdpop\Passwdpop;
use PHPUnit\Framework\TestCase;

final class PasswdpopTest extends TestCase
{
    private const SECRET = 'Tr0ub4dor&3-secret';

    private string $root;

    protected function setUp(): void
    {
        $this->root = sys_get_temp_dir() . '/passwdpop-php-' . bin2hex(random_bytes(8));
        mkdir($this->root, 0700);
    }

    protected function tearDown(): void
    {
        exec('rm -rf ' . escapeshellarg($this->root));
        putenv('PASSWDPOP_ROOT');
    }

    private function domain(string $name, string $content): void
    {
        mkdir("$this->root/$name");
        file_put_contents("$this->root/$name/shadow", $content);
    }

    private function shadow(string $name): string
    {
        return file_get_contents("$this->root/$name/shadow");
    }

    private function hashOf(string $name, string $user): string
    {
        foreach (explode("\n", $this->shadow($name)) as $line) {
            $fields = explode(':', $line);
            if ($fields[0] === $user) {
                return $fields[1];
            }
        }
        $this->fail("no entry for $user");
    }

    /** Runs PHP code in a process of its own; returns [exit status, stderr + stdout]. */
    private static function runPhp(string $code, array $env = [], array $prefix = []): array
    {
        $command = array_merge($prefix, [PHP_BINARY, '-r', 'require ' . var_export(__DIR__ . '/../src/autoload.php', true) . ';' . $code]);
        $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, array_merge(getenv(), $env));
        $output = stream_get_contents($pipes[1]) . stream_get_contents($pipes[2]);
        return [proc_close($process), $output];
    }

    public function testVersionIsTheLibrarysAndThePackages(): void
    {
        preg_match('/^version = "(.*)"/m', file_get_contents(PASSWDPOP_TOP . '/Cargo.toml'), $crate);
        $composer = json_decode(file_get_contents(__DIR__ . '/../composer.json'), true);
        $this->assertSame($crate[1], Passwdpop::version());
        $this->assertSame($crate[1], Passwdpop::VERSION);
        $this->assertSame($crate[1], $composer['version']);
    }

    public function testTheDeclarationsAreEveryFunctionOfTheHeader(): void
    {
        $pattern = '/^[a-z].*?\**(passwdpop\w*)\(/m';
        preg_match_all($pattern, file_get_contents(PASSWDPOP_TOP . '/include/passwdpop.h'), $header);
        preg_match_all($pattern, file_get_contents(__DIR__ . '/../src/passwdpop.h'), $ours);
        sort($header[1]);
        sort($ours[1]);
        $this->assertNotEmpty($header[1]);
        $this->assertSame($header[1], $ours[1]);
    }

    public static function passwords(): array
    {
        return [
            'ascii' => [self::SECRET],
            'utf-8' => ["p\u{e4}ssw\u{f6}rd \u{2603}"],
            'non-utf-8' => ["\xff\xfe latin-1 \xe9t\xe9"],
        ];
    }

    /** @dataProvider passwords */
    public function testChangeWritesAHashCrypt3Accepts(string $password): void
    {
        $this->domain('example.com', "alice:old:1:0:99999:7:::\nbob:old:1:0:99999:7:::\n");
        Passwdpop::change('example.com', 'bob', $password, ['root' => $this->root, 'rounds' => 1000]);
        $stored = $this->hashOf('example.com', 'bob');
        $this->assertStringStartsWith('$6$rounds=1000$', $stored);
        $this->assertSame($stored, crypt($password, $stored), 'crypt(3) accepts it');
        $this->assertNotSame($stored, crypt($password . 'x', $stored));
        $this->assertStringStartsWith("alice:old:1:0:99999:7:::\n", $this->shadow('example.com'));
        $this->assertTrue(Passwdpop::verify('example.com', 'bob@example.com', $password, ['root' => $this->root]));
        $this->assertFalse(Passwdpop::verify('example.com', 'bob', $password . 'x', ['root' => $this->root]));
    }

    public function testWithoutOptionsTheDefaultsAndPasswdpopRootApply(): void
    {
        $this->domain('example.com', "bob:old:1\n");
        putenv("PASSWDPOP_ROOT=$this->root");
        Passwdpop::change('example.com', 'bob', self::SECRET);
        $stored = $this->hashOf('example.com', 'bob');
        $this->assertStringStartsWith('$6$rounds=5000$', $stored);
        $this->assertSame($stored, crypt(self::SECRET, $stored));
        $this->assertTrue(Passwdpop::verify('example.com', 'bob', self::SECRET));
    }

    public function testPasswdFileLayoutKeepsTheOtherFields(): void
    {
        foreach (['passwd-file', Passwdpop::LAYOUT_PASSWD_FILE] as $index => $layout) {
            $this->domain("d$index.example", "bob:{SHA512-CRYPT}old:1000:1000::/home/bob::\n");
            Passwdpop::change("d$index.example", 'bob', self::SECRET, ['root' => $this->root, 'layout' => $layout, 'rounds' => 1000]);
            $this->assertMatchesRegularExpression(
                '/\Abob:\{SHA512-CRYPT\}\$6\$rounds=1000\$[^:]+:1000:1000::\/home\/bob::\n\z/',
                $this->shadow("d$index.example")
            );
        }
    }

    public function testAddSuspendUnsuspendSetHashRemove(): void
    {
        $this->domain('example.com', "bob:old:1:0:99999:7:::\n");
        $o = ['root' => $this->root, 'rounds' => 1000];
        Passwdpop::add('example.com', 'Carol', "\xffcarol-pw", $o);
        $stored = $this->hashOf('example.com', 'carol');
        $this->assertSame($stored, crypt("\xffcarol-pw", $stored), 'added, stored lower-cased');
        $this->assertStringStartsWith("bob:old:1:0:99999:7:::\ncarol:", $this->shadow('example.com'));
        for ($i = 0; $i < 2; $i++) {
            Passwdpop::suspend('example.com', 'carol', $o);
            $this->assertSame("!$stored", $this->hashOf('example.com', 'carol'), 'one !');
        }
        $this->assertFalse(Passwdpop::verify('example.com', 'carol', "\xffcarol-pw", ['root' => $this->root]));
        Passwdpop::unsuspend('example.com', 'carol', $o);
        $this->assertSame($stored, $this->hashOf('example.com', 'carol'));
        $this->assertTrue(Passwdpop::verify('example.com', 'carol', "\xffcarol-pw", ['root' => $this->root]));
        $given = crypt('migrated', '$5$saltsalt');
        Passwdpop::setHash('example.com', 'carol', $given, $o);
        $this->assertSame($given, $this->hashOf('example.com', 'carol'));
        $this->assertTrue(Passwdpop::verify('example.com', 'carol', 'migrated', ['root' => $this->root]));
        Passwdpop::remove('example.com', 'carol@example.com', $o);
        $this->assertSame("bob:old:1:0:99999:7:::\n", $this->shadow('example.com'));
    }

    public function testWaitVisibleReturnsInTheSecondAfterTheRename(): void
    {
        $this->domain('example.com', "bob:old:1\n");
        $o = ['root' => $this->root, 'rounds' => 1000, 'wait_visible' => true];
        foreach ([fn () => Passwdpop::change('example.com', 'bob', self::SECRET, $o),
                  fn () => Passwdpop::add('example.com', 'carol', self::SECRET, $o)] as $call) {
            $call();
            // time() may read the kernel's coarse clock, a few ms behind.
            $returned = (int) floor(microtime(true));
            clearstatcache();
            $this->assertGreaterThan(stat("$this->root/example.com/shadow")['ctime'], $returned);
        }
    }

    public function testABatchAppliesWhatItCanAndSaysWhatItCouldNot(): void
    {
        $this->domain('one.example', "bob:old:1\nann:old:1\n");
        $this->domain('two.example', "bob:old:1\n");
        $given = crypt('given', '$6$saltsalt');
        $batch = new Batch(['root' => $this->root, 'rounds' => 1000, 'threads' => 2]);
        $batch->add('one.example', 'bob', 'pw-one');
        $batch->addHash('one.example', 'ann', $given);
        $batch->add('two.example', 'carol', 'pw-two');
        $batch->add('two.example', 'bob', 'pw-two');
        try {
            $batch->add('bad..example', 'bob', 'must-never-show');
            $this->fail('a bad entry is refused at once');
        } catch (Error $err) {
            $this->assertSame('INVALID_DOMAIN', $err->name);
            $this->assertStringNotContainsString('must-never', $err->getMessage());
        }
        $this->assertCount(4, $batch, 'and not added');
        $this->assertSame('INVALID_CONFIG', $batch->status(0)->name, 'no outcome before the commit');
        try {
            $batch->commit();
            $this->fail('the commit throws the first failing entry');
        } catch (Error $err) {
            $this->assertSame('NO_SUCH_ACCOUNT', $err->name);
            $this->assertStringContainsString('carol', $err->getMessage());
        }
        $this->assertSame([null, null, 'NO_SUCH_ACCOUNT', null], array_map(fn ($i) => $batch->status($i)?->name, range(0, 3)));
        $this->assertSame('INVALID_CONFIG', $batch->status(4)->name, 'past the end');
        try {
            $batch->commit();
            $this->fail('a second commit');
        } catch (Error $err) {
            $this->assertSame('INVALID_CONFIG', $err->name);
        }
        $batch->free();
        $this->assertCount(0, $batch, 'freed: the library answers a NULL batch');
        try {
            $batch->commit();
            $this->fail('a freed batch');
        } catch (Error $err) {
            $this->assertSame('NULL_ARGUMENT', $err->name);
        }
        foreach ([['one.example', 'bob', 'pw-one'], ['two.example', 'bob', 'pw-two']] as [$domain, $user, $password]) {
            $stored = $this->hashOf($domain, $user);
            $this->assertSame($stored, crypt($password, $stored));
        }
        $this->assertSame($given, $this->hashOf('one.example', 'ann'));
    }

    public function testEveryStatusCodeThrowsAnError(): void
    {
        $this->domain('example.com', "bob:old:1\n");
        $this->domain('twice.example', "bob:a:1\nBOB:b:1\n");
        $this->domain('locked.example', "bob:a:1\n");
        file_put_contents("$this->root/locked.example/shadow.lock", getmypid() . "\n");
        symlink("$this->root/example.com", "$this->root/link.example");
        $before = array_map(fn ($name) => $this->shadow($name), ['example.com', 'twice.example', 'locked.example']);
        $o = ['root' => $this->root];
        $s = self::SECRET;
        $long = 'must-never-show-' . str_repeat('x', 600);
        $cases = [
            ['NULL_ARGUMENT', fn () => Passwdpop::change(null, 'bob', $s, $o), 'domain'],
            ['NULL_ARGUMENT', fn () => Passwdpop::verify('example.com', 'bob', null, $o), 'password'],
            ['INVALID_DOMAIN', fn () => Passwdpop::change('-bad.example', 'bob', $s, $o), '-bad.example'],
            ['INVALID_DOMAIN', fn () => Passwdpop::change("a\0.example", 'bob', $s, $o), 'NUL'],
            ['INVALID_USER', fn () => Passwdpop::change('example.com', 'bo:b', $s, $o), 'bo:b'],
            ['INVALID_USER', fn () => Passwdpop::change('example.com', "bo\0b", $s, $o), 'NUL'],
            ['INVALID_PASSWORD', fn () => Passwdpop::change('example.com', 'bob', '', $o), 'empty'],
            ['INVALID_PASSWORD', fn () => Passwdpop::change('example.com', 'bob', $long, $o), '511'],
            ['INVALID_PASSWORD', fn () => Passwdpop::change('example.com', 'bob', "must-never\0-show", $o), 'NUL'],
            ['INVALID_CONFIG', fn () => Passwdpop::change('example.com', 'bob', $s, $o + ['rounds' => 999]), '999'],
            ['INVALID_CONFIG', fn () => Passwdpop::change('example.com', 'bob', $s, $o + ['rounds' => -1]), '-1'],
            ['INVALID_CONFIG', fn () => Passwdpop::change('example.com', 'bob', $s, ['root' => 'relative/dir']), 'relative'],
            ['INVALID_CONFIG', fn () => Passwdpop::change('example.com', 'bob', $s, $o + ['layout' => 2]), '2'],
            ['INVALID_CONFIG', fn () => Passwdpop::change('example.com', 'bob', $s, $o + ['layout' => 'ldap']), 'ldap'],
            ['INVALID_CONFIG', fn () => Passwdpop::change('example.com', 'bob', $s, $o + ['colour' => 1]), 'colour'],
            ['INVALID_CONFIG', fn () => Passwdpop::change('example.com', 'bob', $s, $o + ['lock_timeout_ms' => 2 ** 32]), '4294967296'],
            ['NO_SUCH_DOMAIN', fn () => Passwdpop::change('missing.example', 'bob', $s, $o), 'missing.example'],
            ['NO_SUCH_ACCOUNT', fn () => Passwdpop::change('example.com', 'carol', $s, $o), 'carol'],
            ['NO_SUCH_ACCOUNT', fn () => Passwdpop::verify('example.com', 'carol', $s, $o), 'carol'],
            ['AMBIGUOUS_ACCOUNT', fn () => Passwdpop::change('twice.example', 'bob', $s, $o), 'bob'],
            ['UNSAFE_PATH', fn () => Passwdpop::change('link.example', 'bob', $s, $o), 'link.example'],
            ['LOCK_TIMEOUT', fn () => Passwdpop::change('locked.example', 'bob', $s, $o + ['lock_timeout_ms' => 0]), 'lock'],
            ['ACCOUNT_EXISTS', fn () => Passwdpop::add('example.com', 'BOB', $s, $o), 'BOB'],
            ['NO_SUCH_DOMAIN', fn () => Passwdpop::add('missing.example', 'bob', $s, $o), 'missing.example'],
            ['INVALID_PASSWORD', fn () => Passwdpop::add('example.com', 'new', '', $o), 'empty'],
            ['NO_SUCH_ACCOUNT', fn () => Passwdpop::remove('example.com', 'carol', $o), 'carol'],
            ['NO_SUCH_ACCOUNT', fn () => Passwdpop::suspend('example.com', 'carol', $o), 'carol'],
            ['NO_SUCH_ACCOUNT', fn () => Passwdpop::unsuspend('example.com', 'carol', $o), 'carol'],
            ['AMBIGUOUS_ACCOUNT', fn () => Passwdpop::remove('twice.example', 'bob', $o), 'bob'],
            ['INVALID_HASH', fn () => Passwdpop::setHash('example.com', 'bob', 'notahash', $o), 'hash'],
            ['INVALID_HASH', fn () => Passwdpop::setHash('example.com', 'bob', "\$6\$salt\$a\0b", $o), 'NUL'],
            ['NULL_ARGUMENT', fn () => Passwdpop::setHash('example.com', 'bob', null, $o), 'hash'],
            ['NULL_ARGUMENT', fn () => Passwdpop::remove('example.com', null, $o), 'user'],
            ['INVALID_CONFIG', fn () => Passwdpop::add('example.com', 'new', $s, $o + ['threads' => -1]), 'threads'],
        ];
        foreach ($cases as [$name, $call, $mentioned]) {
            try {
                $call();
                $this->fail("$name: no exception");
            } catch (Error $err) {
                $this->assertInstanceOf(\RuntimeException::class, $err);
                $this->assertSame($name, $err->name, $err->getMessage());
                $this->assertSame(Passwdpop::STATUS[$name], $err->getCode());
                $this->assertStringContainsString($mentioned, $err->getMessage(), $name);
                $this->assertStringNotContainsString('must-never', $err->getMessage());
                $this->assertStringNotContainsString(self::SECRET, $err->getMessage());
                $this->assertStringNotContainsString(self::SECRET, (string) $err);
            }
        }
        $after = array_map(fn ($name) => $this->shadow($name), ['example.com', 'twice.example', 'locked.example']);
        $this->assertSame($before, $after, 'no failure changed a file');
    }

    public function testTheMessageIsLastErrorAndASuccessClearsIt(): void
    {
        $this->domain('example.com', "bob:old:1\n");
        try {
            Passwdpop::change('example.com', 'carol', self::SECRET, ['root' => $this->root]);
            $this->fail('no exception');
        } catch (Error $err) {
            $this->assertSame(Passwdpop::lastError(), $err->getMessage());
            $this->assertSame(Passwdpop::last_error(), $err->getMessage());
        }
        $this->assertStringContainsString('carol', Passwdpop::lastError());
        Passwdpop::change('example.com', 'bob', self::SECRET, ['root' => $this->root, 'rounds' => 1000]);
        $this->assertSame('', Passwdpop::lastError());
    }

    public function testIoErrorFromAWritePastTheFileSizeLimit(): void
    {
        $content = "bob:old:1\n";
        for ($i = 0; $i < 150; $i++) {
            $content .= sprintf("filler%03d:%s:1\n", $i, str_repeat('x', 32));
        }
        $this->domain('full.example', $content);
        $code = 'try { Passwdpop\Passwdpop::change("full.example", "bob", "pw-io", ["root" => '
            . var_export($this->root, true) . ', "rounds" => 1000]); exit(3); } catch (Passwdpop\Error $e) {'
            . ' echo $e->name, " ", $e->getCode(), " ", $e->getMessage(); }';
        // SIGXFSZ ignored (inherited through exec), so the write fails with EFBIG.
        [$status, $output] = self::runPhp($code, [], ['sh', '-c', 'trap "" XFSZ; exec "$@"', 'sh', 'prlimit', '--fsize=1024']);
        $this->assertSame(0, $status, $output);
        $this->assertStringStartsWith('IO_ERROR 11 ', $output);
        $this->assertStringContainsString('File too large', $output);
        $this->assertStringNotContainsString('pw-io', $output);
        $this->assertSame($content, $this->shadow('full.example'));
        $this->assertSame(['shadow'], array_values(array_diff(scandir("$this->root/full.example"), ['.', '..'])));
    }

    public function testInternalErrorFromACaughtPanic(): void
    {
        $hooks = getenv('PASSWDPOP_HOOKS_LIBRARY');
        if ($hooks === false || $hooks === '') {
            $this->markTestSkipped('PASSWDPOP_HOOKS_LIBRARY (a test-hooks build, `make hooks-lib`) is not set');
        }
        $code = 'for ($i = 0; $i < 2; $i++) { try { Passwdpop\Passwdpop::change("panic.passwdpop.test", "bob", "pw-panic"); exit(3); }'
            . ' catch (Passwdpop\Error $e) { echo $e->name, " ", $e->getCode(), " ", $e->getMessage(), "\n"; } }'
            . ' try { Passwdpop\Passwdpop::change("etc", "bob", "pw"); } catch (Passwdpop\Error $e) { echo $e->name; }';
        [$status, $output] = self::runPhp($code, ['PASSWDPOP_LIBRARY' => $hooks]);
        $this->assertSame(0, $status, $output);
        $lines = explode("\n", $output);
        $this->assertStringStartsWith('INTERNAL_ERROR 13 internal error', $lines[0]);
        $this->assertStringStartsWith('INTERNAL_ERROR 13 internal error', $lines[1]);
        $this->assertSame('INVALID_DOMAIN', $lines[2], 'the library still works');
        $this->assertStringNotContainsString('pw-panic', $output);
    }

    public function testPasswordMismatchIsFalseNotAnError(): void
    {
        $this->domain('example.com', 'bob:' . crypt('right', '$6$salt') . ":1\n");
        $this->assertFalse(Passwdpop::verify('example.com', 'bob', 'wrong', ['root' => $this->root]));
        $this->assertNotSame('', Passwdpop::lastError(), 'the library answered PASSWORD_MISMATCH');
        $this->assertTrue(Passwdpop::verify('example.com', 'bob', 'right', ['root' => $this->root]));
        $this->assertSame('PASSWORD_MISMATCH', (new Error(12, 'm'))->name);
        file_put_contents("$this->root/example.com/shadow", 'bob:!' . crypt('right', '$6$salt') . ":1\n");
        $this->assertFalse(Passwdpop::verify('example.com', 'bob', 'right', ['root' => $this->root]), 'suspended');
    }

    public function testStrerrorAndNamesCoverEveryCode(): void
    {
        $this->assertSame(range(0, 15), array_values(Passwdpop::STATUS));
        foreach (Passwdpop::STATUS as $name => $code) {
            $this->assertNotSame('', Passwdpop::strerror($code));
            $this->assertSame($name, (new Error($code, 'm'))->name);
        }
        $this->assertSame('success', Passwdpop::strerror(0));
        $this->assertSame('unknown status code', Passwdpop::strerror(1000000));
        $this->assertSame('STATUS_99', (new Error(99, 'm'))->name);
    }

    private static function expectedApi2(int $result, string $reason = '', string $module = 'Email', string $func = 'passwdpop'): array
    {
        return ['cpanelresult' => [
            'apiversion' => 2,
            'data' => [['reason' => $reason, 'result' => $result]],
            'event' => ['result' => $result],
            'func' => $func,
            'module' => $module,
        ]];
    }

    public function testApi2SuccessStaticallyAndOnAnInstance(): void
    {
        $this->domain('example.com', "bob:old:1\n");
        $params = ['domain' => 'example.com', 'email' => 'bob', 'password' => self::SECRET];
        $options = ['root' => $this->root, 'rounds' => 1000];
        $this->assertSame(self::expectedApi2(1), Passwdpop::api2('Email', 'passwdpop', $params, $options));
        $cpanel = new Passwdpop();
        $this->assertSame(self::expectedApi2(1), $cpanel->api2('Email', 'passwdpop', $params, $options));
        $stored = $this->hashOf('example.com', 'bob');
        $this->assertSame($stored, crypt(self::SECRET, $stored));
    }

    public function testApi2IsTheCommandsJson(): void
    {
        $cli = PASSWDPOP_TOP . '/target/release/passwdpop';
        if (!is_executable($cli)) {
            $this->markTestSkipped('target/release/passwdpop is not built');
        }
        // Each function once succeeding and once failing; the command and the
        // binding each start from the same file.
        $calls = [
            ['passwdpop', ['email' => 'bob', 'password' => 'pw-json']],
            ['passwdpop', ['email' => 'carol', 'password' => 'pw-json']],
            ['addpop', ['email' => 'dave', 'password' => 'pw-json', 'quota' => '250']],
            ['addpop', ['email' => 'bob', 'password' => 'pw-json']],
            ['delpop', ['email' => 'bob']],
            ['delpop', ['email' => 'carol']],
        ];
        foreach ($calls as [$func, $params]) {
            $params += ['domain' => 'example.com'];
            $words = array_map(fn ($key) => "$key={$params[$key]}", array_keys($params));
            exec('rm -rf ' . escapeshellarg("$this->root/example.com"));
            $this->domain('example.com', "bob:old:1\n");
            $process = proc_open(array_merge([$cli, '--root', $this->root, '--output', 'json', 'Email', $func], $words),
                [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
            $printed = stream_get_contents($pipes[1]);
            proc_close($process);
            exec('rm -rf ' . escapeshellarg("$this->root/example.com"));
            $this->domain('example.com', "bob:old:1\n");
            $answer = Passwdpop::api2('Email', $func, $params, ['root' => $this->root]);
            $this->assertSame(json_decode($printed, true), $answer, "$func {$params['email']}");
            $this->assertSame(trim($printed), json_encode($answer, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE));
        }
    }

    public function testApi2FailuresAreResultsNeverExceptions(): void
    {
        $this->domain('example.com', "bob:old:1\n");
        $good = ['domain' => 'example.com', 'email' => 'bob', 'password' => 'must-never-show'];
        $o = ['root' => $this->root];
        $before = $this->shadow('example.com');
        $cases = [
            ['Email', 'passwdpop', ['email' => 'carol'] + $good, $o, 'carol'],
            ['Email', 'passwdpop', ['password' => ''] + $good, $o, 'empty'],
            ['Email', 'passwdpop', ['domain' => 'missing.example'] + $good, $o, 'missing.example'],
            ['Email', 'passwdpop', ['domain' => 'example.com', 'email' => 'bob'], $o, "missing parameter 'password'"],
            ['Email', 'passwdpop', $good + ['quota' => 10], $o, "unknown parameter 'quota'"],
            ['Email', 'passwdpop', ['password' => 12345] + $good, $o, "parameter 'password' must be a string"],
            ['Email', 'passwdpop', 'domain=example.com', $o, 'must be an array'],
            ['Email', 'passwdpop', $good, ['rounds' => 5], 'rounds'],
            ['Email', 'passwdpop', $good, $o + ['colour' => 1], 'colour'],
            ['Email', 'delpop', ['domain' => 'example.com', 'email' => 'bob', 'quota' => '1'], $o, "unknown parameter 'quota'"],
            ['Email', 'addpop', $good, $o, 'exists'],
            ['Email', 'addforward', $good, $o, "unknown function 'addforward'"],
            ['Mysql', 'passwdpop', $good, $o, "unknown module 'Mysql'"],
        ];
        foreach ($cases as [$module, $func, $params, $options, $mentioned]) {
            $answer = Passwdpop::api2($module, $func, $params, $options);
            $reason = $answer['cpanelresult']['data'][0]['reason'];
            $this->assertSame(self::expectedApi2(0, $reason, $module, $func), $answer);
            $this->assertStringContainsString($mentioned, $reason);
            $this->assertStringNotContainsString('must-never', $reason);
        }
        $this->assertSame($before, $this->shadow('example.com'));
    }

    public static function loadErrors(): array
    {
        return [
            'missing file' => ['/nonexistent/libpasswdpop.so', 'cannot load /nonexistent/libpasswdpop.so'],
            'not libpasswdpop' => ['libcrypt.so.1', 'libcrypt.so.1 has no function passwdpop'],
        ];
    }

    /** @dataProvider loadErrors */
    public function testLoadErrorsNameTheFileAndTheFix(string $library, string $expected): void
    {
        [$status, $output] = self::runPhp('echo Passwdpop\Passwdpop::version();', ['PASSWDPOP_LIBRARY' => $library]);
        $this->assertNotSame(0, $status);
        $this->assertStringContainsString($expected, $output);
        $this->assertStringContainsString('PASSWDPOP_LIBRARY', $output);
        $this->assertStringContainsString('apt install libpasswdpop0', $output);
    }

    public function testALibraryOfAnotherMajorVersionIsRefused(): void
    {
        // A stand-in with every function of the header, whose version is 1.0.0.
        preg_match_all('/^[a-z].*?\**(passwdpop\w*)\(/m', file_get_contents(PASSWDPOP_TOP . '/include/passwdpop.h'), $names);
        $source = '';
        foreach ($names[1] as $name) {
            $source .= $name === 'passwdpop_version'
                ? "const char *passwdpop_version(void) { return \"1.0.0\"; }\n"
                : "int $name(void) { return 0; }\n";
        }
        file_put_contents("$this->root/stand_in.c", $source);
        exec('cc -shared -fPIC -o ' . escapeshellarg("$this->root/libpasswdpop.so.1") . ' ' . escapeshellarg("$this->root/stand_in.c"), $out, $cc);
        $this->assertSame(0, $cc, 'cc builds the stand-in');
        [$status, $output] = self::runPhp('echo Passwdpop\Passwdpop::version();', ['PASSWDPOP_LIBRARY' => "$this->root/libpasswdpop.so.1"]);
        $this->assertNotSame(0, $status);
        $this->assertStringContainsString(
            "$this->root/libpasswdpop.so.1 is libpasswdpop 1.0.0, but this binding (" . Passwdpop::VERSION . ') needs major version 0',
            $output
        );
    }

    public function testWithoutPasswdpopLibraryTheSonameIsFound(): void
    {
        $dir = "$this->root/lib";
        mkdir($dir);
        symlink(getenv('PASSWDPOP_LIBRARY'), "$dir/libpasswdpop.so.0");
        [$status, $output] = self::runPhp('echo Passwdpop\Passwdpop::version();', ['PASSWDPOP_LIBRARY' => '', 'LD_LIBRARY_PATH' => $dir]);
        $this->assertSame(0, $status, $output);
        $this->assertSame(Passwdpop::version(), $output);
    }

    public function testWithFfiDisabledTheErrorSaysWhatToSet(): void
    {
        $command = [PHP_BINARY, '-d', 'ffi.enable=0', '-r',
            'require ' . var_export(__DIR__ . '/../src/autoload.php', true) . '; echo Passwdpop\Passwdpop::version();'];
        $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        $output = stream_get_contents($pipes[1]) . stream_get_contents($pipes[2]);
        $this->assertNotSame(0, proc_close($process));
        $this->assertStringContainsString('ffi.enable=true', $output);
        $this->assertStringContainsString('ffi.preload', $output);
    }

    public function testPreloadedTheLibraryIsUsedWhereFfiIsLimitedToPreloading(): void
    {
        // As PHP-FPM with ffi.enable=preload and ffi.preload. The preloaded
        // header names this build by its path; the dynamic linker could not
        // find libpasswdpop.so.0, so only the preloaded scope can work.
        $header = preg_replace('/^#define FFI_LIB .*$/m', '#define FFI_LIB "' . getenv('PASSWDPOP_LIBRARY') . '"',
            file_get_contents(__DIR__ . '/../src/passwdpop.h'));
        file_put_contents("$this->root/passwdpop.h", $header);
        $this->domain('example.com', "bob:old:1\n");
        $command = [PHP_BINARY, '-d', 'ffi.enable=preload', '-d', "ffi.preload=$this->root/passwdpop.h", '-r',
            'require ' . var_export(__DIR__ . '/../src/autoload.php', true) . ';'
            . ' Passwdpop\Passwdpop::change("example.com", "bob", "pw-preload", ["root" => ' . var_export($this->root, true) . ', "rounds" => 1000]);'
            . ' echo Passwdpop\Passwdpop::version();'];
        $env = array_merge(getenv(), ['PASSWDPOP_LIBRARY' => '', 'LD_LIBRARY_PATH' => "$this->root/nothing"]);
        $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env);
        $output = stream_get_contents($pipes[1]) . stream_get_contents($pipes[2]);
        $this->assertSame(0, proc_close($process), $output);
        $this->assertSame(Passwdpop::version(), $output);
        $stored = $this->hashOf('example.com', 'bob');
        $this->assertSame($stored, crypt('pw-preload', $stored));
    }
}
