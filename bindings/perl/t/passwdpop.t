# The Perl binding against a freshly built library: PASSWDPOP_LIBRARY names
# it (`make bindings-test` sets it; else this tree's target/release build).
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);
use JSON::PP ();
use Test::More;
use Time::HiRes ();

my $TOP;
BEGIN {
    $TOP = abs_path(File::Spec->catdir(dirname(__FILE__), '..', '..', '..'));
    $ENV{PASSWDPOP_LIBRARY} //= "$TOP/target/release/libpasswdpop.so";
}
use lib "$TOP/bindings/perl/lib";
use Passwdpop;

my $SECRET = 'Tr0ub4dor&3-secret';
my $LIB = "$TOP/bindings/perl/lib";

sub vmail {
    my $root = tempdir(CLEANUP => 1);
    return $root;
}

sub domain {
    my ($root, $name, $content) = @_;
    mkdir "$root/$name" or die "mkdir $root/$name: $!";
    write_file("$root/$name/shadow", $content);
}

sub write_file {
    my ($path, $content) = @_;
    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh $content;
    close $fh or die "$path: $!";
}

sub read_shadow {
    my ($root, $name) = @_;
    open my $fh, '<:raw', "$root/$name/shadow" or die "$root/$name/shadow: $!";
    local $/;
    return scalar <$fh>;
}

sub hash_of {
    my ($root, $name, $user) = @_;
    for my $line (split /\n/, read_shadow($root, $name)) {
        my @fields = split /:/, $line, -1;
        return $fields[1] if $fields[0] eq $user;
    }
    die "no entry for $user";
}

# Runs Perl code in a process of its own (a library load, a file size
# limit): returns (exit status, stderr).
sub run_perl {
    my ($code, %env) = @_;
    local @ENV{keys %env} = values %env;
    my $err = File::Temp->new;
    my @command = ($^X, "-I$LIB", '-e', $code);
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDERR, '>', $err->filename or die;
        exec @command or die "exec: $!";
    }
    waitpid $pid, 0;
    my $status = $?;
    open my $fh, '<', $err->filename or die;
    local $/;
    return ($status, scalar <$fh> // '');
}

subtest 'version is the library\'s and the package\'s' => sub {
    open my $fh, '<', "$TOP/Cargo.toml" or die;
    my ($crate) = join('', <$fh>) =~ /^version = "(.*)"/m;
    is Passwdpop::version(), $crate;
    is $Passwdpop::VERSION, $crate;
};

subtest 'every function of the header is declared' => sub {
    open my $fh, '<', "$TOP/include/passwdpop.h" or die;
    my @header = sort map { /^[a-z].*?\**(passwdpop\w*)\(/ ? $1 : () } <$fh>;
    ok scalar @header, 'the header has functions';
    is_deeply [sort map { $_->[0] } Passwdpop::prototypes()], \@header;
};

subtest 'change writes a hash crypt(3) accepts; verify agrees' => sub {
    # [label, password as given, bytes the hash is of]
    my $wide = "p\x{e4}ssw\x{f6}rd \x{2603}";
    utf8::encode(my $wide_bytes = $wide);
    my $latin = "caf\x{e9}";
    utf8::upgrade(my $latin_upgraded = $latin);
    for my $case (
        ['bytes', $SECRET, $SECRET],
        ['UTF-8 bytes', $wide_bytes, $wide_bytes],
        ['non-UTF-8 bytes', "\xff\xfe latin-1 \xe9t\xe9", "\xff\xfe latin-1 \xe9t\xe9"],
        ['upgraded character string', $latin_upgraded, "caf\xe9"],
    ) {
        my ($label, $password, $sent) = @$case;
        my $root = vmail();
        domain($root, 'example.com', "alice:old:1:0:99999:7:::\nbob:old:1:0:99999:7:::\n");
        ok Passwdpop::change('example.com', 'bob', $password, { root => $root, rounds => 1000 }), $label;
        my $stored = hash_of($root, 'example.com', 'bob');
        like $stored, qr/\A\$6\$rounds=1000\$/, "$label: SHA512-crypt";
        is crypt($sent, $stored), $stored, "$label: crypt(3) accepts it";
        isnt crypt("${sent}x", $stored), $stored, "$label: and not another";
        like read_shadow($root, 'example.com'), qr/\Aalice:old:1:0:99999:7:::\n/, "$label: other lines kept";
        is Passwdpop::verify('example.com', 'bob@example.com', $password, { root => $root }), 1, "$label: verify";
        is Passwdpop::verify('example.com', 'bob', "${sent}x", { root => $root }), 0, "$label: mismatch";
    }
    my $root = vmail();
    domain($root, 'example.com', "bob:old:1\n");
    my $error = do { local $@; eval { Passwdpop::change('example.com', 'bob', $wide, { root => $root }) }; $@ };
    is $error->name, 'INVALID_PASSWORD', 'characters above 0xFF are refused';
    like $error->message, qr/above 0xFF/;
};

subtest 'without options the defaults and PASSWDPOP_ROOT apply' => sub {
    my $root = vmail();
    domain($root, 'example.com', "bob:old:1\n");
    local $ENV{PASSWDPOP_ROOT} = $root;
    ok Passwdpop::change('example.com', 'bob', $SECRET);
    my $stored = hash_of($root, 'example.com', 'bob');
    like $stored, qr/\A\$6\$rounds=5000\$/;
    is crypt($SECRET, $stored), $stored;
    is Passwdpop::verify('example.com', 'bob', $SECRET), 1;
};

subtest 'passwd-file layout keeps the other fields' => sub {
    for my $layout ('passwd-file', Passwdpop::LAYOUT_PASSWD_FILE) {
        my $root = vmail();
        domain($root, 'example.com', "bob:{SHA512-CRYPT}old:1000:1000::/home/bob::\n");
        Passwdpop::change('example.com', 'bob', $SECRET, { root => $root, layout => $layout, rounds => 1000 });
        like read_shadow($root, 'example.com'),
            qr/\Abob:\{SHA512-CRYPT\}\$6\$rounds=1000\$[^:]+:1000:1000::\/home\/bob::\n\z/, "layout $layout";
    }
};

subtest 'add, suspend, unsuspend, set_hash, remove' => sub {
    my $root = vmail();
    domain($root, 'example.com', "bob:old:1:0:99999:7:::\n");
    my %o = (root => $root, rounds => 1000);
    ok Passwdpop::add('example.com', 'Carol', "\xffcarol-pw", {%o});
    my $stored = hash_of($root, 'example.com', 'carol');
    is crypt("\xffcarol-pw", $stored), $stored, 'added, stored lower-cased, crypt(3) accepts it';
    like read_shadow($root, 'example.com'), qr/\Abob:old:1:0:99999:7:::\ncarol:/, 'at the end';
    for (1 .. 2) {
        Passwdpop::suspend('example.com', 'carol', {%o});
        is hash_of($root, 'example.com', 'carol'), "!$stored", 'suspended with one !';
    }
    is Passwdpop::verify('example.com', 'carol', "\xffcarol-pw", { root => $root }), 0, 'a suspended login fails';
    Passwdpop::unsuspend('example.com', 'carol', {%o});
    is hash_of($root, 'example.com', 'carol'), $stored, 'unsuspended';
    is Passwdpop::verify('example.com', 'carol', "\xffcarol-pw", { root => $root }), 1;
    my $given = crypt('migrated', '$5$saltsalt');
    Passwdpop::set_hash('example.com', 'carol', $given, {%o});
    is hash_of($root, 'example.com', 'carol'), $given, 'a given hash is stored as it is';
    is Passwdpop::verify('example.com', 'carol', 'migrated', { root => $root }), 1;
    Passwdpop::remove('example.com', 'carol@example.com', {%o});
    is read_shadow($root, 'example.com'), "bob:old:1:0:99999:7:::\n", 'removed';
};

subtest 'wait_visible returns in the second after the rename' => sub {
    my $root = vmail();
    domain($root, 'example.com', "bob:old:1\n");
    for my $call (
        sub { Passwdpop::change('example.com', 'bob', $SECRET, { root => $root, rounds => 1000, wait_visible => 1 }) },
        sub { Passwdpop::add('example.com', 'carol', $SECRET, { root => $root, rounds => 1000, wait_visible => 1 }) },
    ) {
        $call->();
        # time() is the kernel's coarse clock, which may lag a few ms behind.
        my $returned = int Time::HiRes::time();
        my $renamed = (stat "$root/example.com/shadow")[10];
        cmp_ok $returned, '>', $renamed, 'returned in a later second than the rename';
    }
};

subtest 'a batch applies what it can and says what it could not' => sub {
    my $root = vmail();
    domain($root, 'one.example', "bob:old:1\nann:old:1\n");
    domain($root, 'two.example', "bob:old:1\n");
    my $given = crypt('given', '$6$saltsalt');
    my $batch = Passwdpop::Batch->new({ root => $root, rounds => 1000, threads => 2 });
    my $password = 'pw-one';
    $batch->add('one.example', 'bob', $password);
    substr($password, 0, length $password, "\0" x length $password);    # the batch has its own copy
    $batch->add_hash('one.example', 'ann', $given);
    $batch->add('two.example', 'carol', 'pw-two');
    $batch->add('two.example', 'bob', 'pw-two');
    my $refused = do { local $@; eval { $batch->add('bad..example', 'bob', 'must-never-show') }; $@ };
    is $refused->name, 'INVALID_DOMAIN', 'a bad entry is refused at once';
    unlike $refused->message, qr/must-never/;
    is $batch->len, 4, 'and not added';
    is $batch->status(0)->name, 'INVALID_CONFIG', 'no outcome before the commit';
    my $failed = do { local $@; eval { $batch->commit }; $@ };
    is $failed->name, 'NO_SUCH_ACCOUNT', 'the commit croaks the first failing entry';
    like $failed->message, qr/carol/;
    is_deeply [map { my $e = $batch->status($_); $e && $e->name } 0 .. 3], [undef, undef, 'NO_SUCH_ACCOUNT', undef],
        'each entry\'s outcome';
    is $batch->status(4)->name, 'INVALID_CONFIG', 'past the end';
    my $again = do { local $@; eval { $batch->commit }; $@ };
    is $again->name, 'INVALID_CONFIG', 'a second commit';
    $batch->free;
    is $batch->len, 0, 'freed: the library answers a NULL batch';
    my $freed = do { local $@; eval { $batch->commit }; $@ };
    is $freed->name, 'NULL_ARGUMENT';
    for my $case (['one.example', 'bob', 'pw-one'], ['two.example', 'bob', 'pw-two']) {
        my ($domain, $user, $pw) = @$case;
        my $stored = hash_of($root, $domain, $user);
        is crypt($pw, $stored), $stored, "$user\@$domain changed";
    }
    is hash_of($root, 'one.example', 'ann'), $given, 'the given hash';
};

subtest 'every status code croaks a Passwdpop::Error' => sub {
    my $root = vmail();
    domain($root, 'example.com', "bob:old:1\n");
    domain($root, 'twice.example', "bob:a:1\nBOB:b:1\n");
    domain($root, 'locked.example', "bob:a:1\n");
    write_file("$root/locked.example/shadow.lock", "$$\n");
    symlink "$root/example.com", "$root/link.example" or die;
    my %before = map { $_ => read_shadow($root, $_) } qw(example.com twice.example locked.example);
    my $long = 'must-never-show-' . ('x' x 600);
    my %o = (root => $root);
    my @cases = (
        ['NULL_ARGUMENT', sub { Passwdpop::change(undef, 'bob', $SECRET, {%o}) }, 'domain'],
        ['NULL_ARGUMENT', sub { Passwdpop::verify('example.com', 'bob', undef, {%o}) }, 'password'],
        ['INVALID_DOMAIN', sub { Passwdpop::change('-bad.example', 'bob', $SECRET, {%o}) }, '-bad.example'],
        ['INVALID_DOMAIN', sub { Passwdpop::change("a\0.example", 'bob', $SECRET, {%o}) }, 'NUL'],
        ['INVALID_USER', sub { Passwdpop::change('example.com', 'bo:b', $SECRET, {%o}) }, 'bo:b'],
        ['INVALID_USER', sub { Passwdpop::change('example.com', "bo\0b", $SECRET, {%o}) }, 'NUL'],
        ['INVALID_PASSWORD', sub { Passwdpop::change('example.com', 'bob', '', {%o}) }, 'empty'],
        ['INVALID_PASSWORD', sub { Passwdpop::change('example.com', 'bob', $long, {%o}) }, '511'],
        ['INVALID_PASSWORD', sub { Passwdpop::change('example.com', 'bob', "must-never\0-show", {%o}) }, 'NUL'],
        ['INVALID_CONFIG', sub { Passwdpop::change('example.com', 'bob', $SECRET, { %o, rounds => 999 }) }, '999'],
        ['INVALID_CONFIG', sub { Passwdpop::change('example.com', 'bob', $SECRET, { %o, rounds => -1 }) }, '-1'],
        ['INVALID_CONFIG', sub { Passwdpop::change('example.com', 'bob', $SECRET, { root => 'relative/dir' }) }, 'relative'],
        ['INVALID_CONFIG', sub { Passwdpop::change('example.com', 'bob', $SECRET, { %o, layout => 2 }) }, '2'],
        ['INVALID_CONFIG', sub { Passwdpop::change('example.com', 'bob', $SECRET, { %o, layout => 'ldap' }) }, 'ldap'],
        ['INVALID_CONFIG', sub { Passwdpop::change('example.com', 'bob', $SECRET, { %o, colour => 1 }) }, 'colour'],
        ['INVALID_CONFIG', sub { Passwdpop::change('example.com', 'bob', $SECRET, { %o, lock_timeout_ms => 2**32 }) }, '4294967296'],
        ['NO_SUCH_DOMAIN', sub { Passwdpop::change('missing.example', 'bob', $SECRET, {%o}) }, 'missing.example'],
        ['NO_SUCH_ACCOUNT', sub { Passwdpop::change('example.com', 'carol', $SECRET, {%o}) }, 'carol'],
        ['NO_SUCH_ACCOUNT', sub { Passwdpop::verify('example.com', 'carol', $SECRET, {%o}) }, 'carol'],
        ['AMBIGUOUS_ACCOUNT', sub { Passwdpop::change('twice.example', 'bob', $SECRET, {%o}) }, 'bob'],
        ['UNSAFE_PATH', sub { Passwdpop::change('link.example', 'bob', $SECRET, {%o}) }, 'link.example'],
        ['LOCK_TIMEOUT', sub { Passwdpop::change('locked.example', 'bob', $SECRET, { %o, lock_timeout_ms => 0 }) }, 'lock'],
        ['ACCOUNT_EXISTS', sub { Passwdpop::add('example.com', 'BOB', $SECRET, {%o}) }, 'BOB'],
        ['NO_SUCH_DOMAIN', sub { Passwdpop::add('missing.example', 'bob', $SECRET, {%o}) }, 'missing.example'],
        ['INVALID_PASSWORD', sub { Passwdpop::add('example.com', 'new', '', {%o}) }, 'empty'],
        ['NO_SUCH_ACCOUNT', sub { Passwdpop::remove('example.com', 'carol', {%o}) }, 'carol'],
        ['NO_SUCH_ACCOUNT', sub { Passwdpop::suspend('example.com', 'carol', {%o}) }, 'carol'],
        ['NO_SUCH_ACCOUNT', sub { Passwdpop::unsuspend('example.com', 'carol', {%o}) }, 'carol'],
        ['AMBIGUOUS_ACCOUNT', sub { Passwdpop::remove('twice.example', 'bob', {%o}) }, 'bob'],
        ['INVALID_HASH', sub { Passwdpop::set_hash('example.com', 'bob', 'notahash', {%o}) }, 'hash'],
        ['INVALID_HASH', sub { Passwdpop::set_hash('example.com', 'bob', "\$6\$salt\$a\0b", {%o}) }, 'NUL'],
        ['NULL_ARGUMENT', sub { Passwdpop::set_hash('example.com', 'bob', undef, {%o}) }, 'hash'],
        ['NULL_ARGUMENT', sub { Passwdpop::remove('example.com', undef, {%o}) }, 'user'],
        ['INVALID_CONFIG', sub { Passwdpop::add('example.com', 'new', $SECRET, { %o, threads => -1 }) }, 'threads'],
    );
    for my $case (@cases) {
        my ($name, $call, $mentioned) = @$case;
        my $error = do { local $@; eval { $call->(); 1 } ? undef : $@ };
        isa_ok $error, 'Passwdpop::Error', $name;
        next unless ref $error;
        is $error->name, $name, "name $name";
        is $error->status, $Passwdpop::STATUS{$name}, "status $name";
        like $error->message, qr/\Q$mentioned\E/, "$name: message mentions '$mentioned'";
        is "$error", $error->message, "$name: stringifies to the message";
        unlike $error->message, qr/must-never|\Q$SECRET\E/, "$name: no password in the message";
    }
    is_deeply { map { $_ => read_shadow($root, $_) } keys %before }, \%before, 'no failure changed a file';
};

subtest 'the message is last_error; a success clears it' => sub {
    my $root = vmail();
    domain($root, 'example.com', "bob:old:1\n");
    my $error = do { local $@; eval { Passwdpop::change('example.com', 'carol', $SECRET, { root => $root }) }; $@ };
    is $error->message, Passwdpop::last_error();
    like Passwdpop::last_error(), qr/carol/;
    Passwdpop::change('example.com', 'bob', $SECRET, { root => $root, rounds => 1000 });
    is Passwdpop::last_error(), '';
};

subtest 'IO_ERROR from a write past the file size limit' => sub {
    my $root = vmail();
    my $content = "bob:old:1\n" . join('', map { sprintf "filler%03d:%s:1\n", $_, 'x' x 32 } 0 .. 149);
    domain($root, 'full.example', $content);
    my $code = q{
        $SIG{XFSZ} = 'IGNORE';    # the write then fails with EFBIG
        use Passwdpop;
        eval { Passwdpop::change('full.example', 'bob', 'pw-io', { root => $ARGV[0], rounds => 1000 }); 1 }
            and die "no error\n";
        my $e = $@;
        die "wrong error: $e\n" unless $e->name eq 'IO_ERROR' && $e->status == 11
            && $e->message =~ /File too large/ && $e->message !~ /pw-io/;
    };
    my ($status, $stderr) = run_io($code, $root);
    is $status, 0, 'IO_ERROR with the OS reason' or diag $stderr;
    is read_shadow($root, 'full.example'), $content, 'the file is intact';
    opendir my $dir, "$root/full.example" or die;
    is_deeply [sort grep { !/^\.\.?\z/ } readdir $dir], ['shadow'], 'no temp file left';
};

# Runs Perl code under a 1 KiB file size limit (util-linux prlimit), with the
# root in @ARGV.
sub run_io {
    my ($code, $root) = @_;
    my $err = File::Temp->new;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDERR, '>', $err->filename or die;
        exec 'prlimit', '--fsize=1024', $^X, "-I$LIB", '-e', $code, $root or die "exec: $!";
    }
    waitpid $pid, 0;
    my $status = $?;
    open my $fh, '<', $err->filename or die;
    local $/;
    return ($status, scalar <$fh> // '');
}

subtest 'INTERNAL_ERROR from a caught panic' => sub {
    my $hooks = $ENV{PASSWDPOP_HOOKS_LIBRARY};
    plan skip_all => 'PASSWDPOP_HOOKS_LIBRARY (a test-hooks build, `make hooks-lib`) is not set' unless $hooks;
    my ($status, $stderr) = run_perl(q{
        use Passwdpop;
        for (1 .. 2) {
            eval { Passwdpop::change('panic.passwdpop.test', 'bob', 'pw-panic'); 1 } and die "no error\n";
            my $e = $@;
            die "wrong error: $e\n" unless $e->name eq 'INTERNAL_ERROR' && $e->status == 13
                && $e->message =~ /internal error/ && $e->message !~ /pw-panic/;
        }
        eval { Passwdpop::change('etc', 'bob', 'pw'); 1 } and die "no error\n";
        die "still working? $@\n" unless $@->name eq 'INVALID_DOMAIN';
    }, PASSWDPOP_LIBRARY => $hooks);
    is $status, 0, 'INTERNAL_ERROR, and the library still works' or diag $stderr;
};

subtest 'PASSWORD_MISMATCH is 0, not an error' => sub {
    my $root = vmail();
    domain($root, 'example.com', 'bob:' . crypt('right', '$6$salt') . ":1\n");
    is Passwdpop::verify('example.com', 'bob', 'wrong', { root => $root }), 0;
    like Passwdpop::last_error(), qr/./, 'the library answered PASSWORD_MISMATCH';
    is Passwdpop::verify('example.com', 'bob', 'right', { root => $root }), 1;
    is(Passwdpop::Error->new(12, 'm')->name, 'PASSWORD_MISMATCH');
    write_file("$root/example.com/shadow", 'bob:!' . crypt('right', '$6$salt') . ":1\n");
    is Passwdpop::verify('example.com', 'bob', 'right', { root => $root }), 0, 'a suspended entry never matches';
};

subtest 'strerror and names cover every code' => sub {
    is_deeply [sort { $a <=> $b } values %Passwdpop::STATUS], [0 .. 15];
    for my $name (sort keys %Passwdpop::STATUS) {
        my $code = $Passwdpop::STATUS{$name};
        ok length Passwdpop::strerror($code), "strerror($code)";
        is(Passwdpop::Error->new($code, 'm')->name, $name);
    }
    is Passwdpop::strerror(0), 'success';
    is Passwdpop::strerror(1_000_000), 'unknown status code';
    is(Passwdpop::Error->new(99, 'm')->name, 'STATUS_99');
};

sub expected_api2 {
    my ($result, $reason, $module, $func) = @_;
    return { cpanelresult => { apiversion => 2, func => $func // 'passwdpop', module => $module // 'Email',
        data => [{ reason => $reason // '', result => $result }], event => { result => $result } } };
}

subtest 'api2 success: cPanel\'s answer, three ways to call it' => sub {
    my $root = vmail();
    domain($root, 'example.com', "bob:old:1\n");
    my %params = (domain => 'example.com', email => 'bob', password => $SECRET);
    my %o = (root => $root, rounds => 1000);
    is_deeply(Passwdpop->api2('Email', 'passwdpop', {%params}, {%o}), expected_api2(1), 'class method');
    is_deeply(Passwdpop::api2('Email', 'passwdpop', {%params}, {%o}), expected_api2(1), 'function');
    my $cpliveapi = Passwdpop->new;
    is_deeply($cpliveapi->api2('Email', 'passwdpop', {%params}, {%o}), expected_api2(1), 'object');
    my $stored = hash_of($root, 'example.com', 'bob');
    is crypt($SECRET, $stored), $stored;
};

subtest 'api2 is the command\'s JSON' => sub {
    my $cli = "$TOP/target/release/passwdpop";
    plan skip_all => 'target/release/passwdpop is not built' unless -x $cli;
    my $root = vmail();
    # Each function once succeeding and once failing; the command and the
    # binding each start from the same file.
    for my $case (
        [passwdpop => { email => 'bob', password => 'pw-json' }],
        [passwdpop => { email => 'carol', password => 'pw-json' }],
        [addpop => { email => 'dave', password => 'pw-json', quota => 250 }],
        [addpop => { email => 'bob', password => 'pw-json' }],
        [delpop => { email => 'bob' }],
        [delpop => { email => 'carol' }],
    ) {
        my ($func, $params) = @$case;
        my %params = (%$params, domain => 'example.com');
        system('rm', '-rf', "$root/example.com");
        domain($root, 'example.com', "bob:old:1\n");
        open my $out, '-|', $cli, '--root', $root, '--output', 'json', 'Email', $func,
            map { "$_=$params{$_}" } sort keys %params or die;
        my $json = JSON::PP->new->decode(join '', <$out>);
        close $out;
        system('rm', '-rf', "$root/example.com");
        domain($root, 'example.com', "bob:old:1\n");
        my $answer = Passwdpop->api2('Email', $func, {%params}, { root => $root });
        my $codec = JSON::PP->new->canonical;
        is $codec->encode($answer), $codec->encode($json), "$func email=$params{email}";
    }
};

subtest 'api2 failures are results, never exceptions' => sub {
    my $root = vmail();
    domain($root, 'example.com', "bob:old:1\n");
    my %good = (domain => 'example.com', email => 'bob', password => 'must-never-show');
    my %o = (root => $root);
    my $before = read_shadow($root, 'example.com');
    for my $case (
        ['Email', 'passwdpop', { %good, email => 'carol' }, {%o}, 'carol'],
        ['Email', 'passwdpop', { %good, password => '' }, {%o}, 'empty'],
        ['Email', 'passwdpop', { %good, domain => 'missing.example' }, {%o}, 'missing.example'],
        ['Email', 'passwdpop', { domain => 'example.com', email => 'bob' }, {%o}, "missing parameter 'password'"],
        ['Email', 'passwdpop', { %good, quota => 10 }, {%o}, "unknown parameter 'quota'"],
        ['Email', 'passwdpop', 'domain=example.com', {%o}, 'hash reference'],
        ['Email', 'passwdpop', {%good}, { rounds => 5 }, 'rounds'],
        ['Email', 'passwdpop', {%good}, { %o, colour => 1 }, 'colour'],
        ['Email', 'delpop', { domain => 'example.com', email => 'bob', quota => 1 }, {%o}, "unknown parameter 'quota'"],
        ['Email', 'addpop', { domain => 'example.com', email => 'bob', password => 'must-never-show' }, {%o}, 'exists'],
        ['Email', 'addforward', {%good}, {%o}, "unknown function 'addforward'"],
        ['Mysql', 'passwdpop', {%good}, {%o}, "unknown module 'Mysql'"],
    ) {
        my ($module, $func, $params, $options, $mentioned) = @$case;
        my $answer = eval { Passwdpop->api2($module, $func, $params, $options) };
        ok $answer, "$module $func: no exception" or diag $@;
        next unless $answer;
        my $reason = $answer->{cpanelresult}{data}[0]{reason};
        is_deeply $answer, expected_api2(0, $reason, $module, $func), "$module $func: the shape";
        like $reason, qr/\Q$mentioned\E/, "reason mentions '$mentioned'";
        unlike $reason, qr/must-never/, 'no password in the reason';
    }
    is read_shadow($root, 'example.com'), $before, 'nothing changed';
};

subtest 'load errors name the file and the fix' => sub {
    for my $case (
        ['/nonexistent/libpasswdpop.so', 'cannot load /nonexistent/libpasswdpop.so'],
        ['libcrypt.so.1', 'libcrypt.so.1 has no function passwdpop'],
    ) {
        my ($library, $expected) = @$case;
        my ($status, $stderr) = run_perl('use Passwdpop;', PASSWDPOP_LIBRARY => $library);
        isnt $status, 0, "$library: use fails";
        like $stderr, qr/\Q$expected\E/, "$library: names the file";
        like $stderr, qr/PASSWDPOP_LIBRARY/, "$library: says how to fix it";
        like $stderr, qr/apt install libpasswdpop0/, "$library: names the package";
    }
    my $dir = tempdir(CLEANUP => 1);
    # A stand-in with every function of the header, whose version is 1.0.0.
    open my $c, '>', "$dir/stand_in.c" or die;
    for my $name (map { $_->[0] } Passwdpop::prototypes()) {
        print $c $name eq 'passwdpop_version'
            ? qq{const char *passwdpop_version(void) { return "1.0.0"; }\n}
            : "int $name(void) { return 0; }\n";
    }
    close $c;
    system('cc', '-shared', '-fPIC', '-o', "$dir/libpasswdpop.so.1", "$dir/stand_in.c") == 0 or die 'cc failed';
    my ($wrong, $why) = run_perl('use Passwdpop;', PASSWDPOP_LIBRARY => "$dir/libpasswdpop.so.1");
    isnt $wrong, 0, 'another major version: use fails';
    like $why, qr/\Q$dir\E\/libpasswdpop.so.1 is libpasswdpop 1.0.0, but this binding \(\Q$Passwdpop::VERSION\E\) needs major version 0/;
    symlink $ENV{PASSWDPOP_LIBRARY}, "$dir/libpasswdpop.so.0" or die;
    my $version = Passwdpop::version();
    my ($status, $stderr) = run_perl("use Passwdpop; Passwdpop::version() eq '$version' or die;",
        PASSWDPOP_LIBRARY => '', LD_LIBRARY_PATH => $dir);
    is $status, 0, 'without PASSWDPOP_LIBRARY the SONAME is found by the dynamic linker' or diag $stderr;
};

done_testing;
