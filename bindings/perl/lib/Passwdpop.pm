package Passwdpop;

# A thin binding over libpasswdpop's C ABI through FFI::Platypus: each
# function maps to one C function, failures to a Passwdpop::Error.

use strict;
use warnings;

use Carp ();
use FFI::Platypus 1.00;
use FFI::Platypus::DL qw(dlopen dlclose dlerror RTLD_PLATYPUS_DEFAULT);

our $VERSION = '0.1.0';

my $MAJOR = (split /\./, $VERSION)[0];
my $SONAME = "libpasswdpop.so.$MAJOR";

# The status codes of the C ABI (PASSWDPOP_<NAME>), by name.
our %STATUS = (
    OK => 0, NULL_ARGUMENT => 1, INVALID_DOMAIN => 2, INVALID_USER => 3,
    INVALID_PASSWORD => 4, INVALID_CONFIG => 5, NO_SUCH_DOMAIN => 6,
    NO_SUCH_ACCOUNT => 7, AMBIGUOUS_ACCOUNT => 8, UNSAFE_PATH => 9,
    LOCK_TIMEOUT => 10, IO_ERROR => 11, PASSWORD_MISMATCH => 12,
    INTERNAL_ERROR => 13, INVALID_HASH => 14, ACCOUNT_EXISTS => 15,
);
our %NAME = reverse %STATUS;

use constant { LAYOUT_SHADOW => 0, LAYOUT_PASSWD_FILE => 1 };
# The layout names of the command line's --layout.
my %LAYOUT = ('shadow' => LAYOUT_SHADOW, 'passwd-file' => LAYOUT_PASSWD_FILE);
my $U32_MAX = 4294967295;

# Every function of the C ABI: [C name, Perl name, argument types, result type].
my @PROTOTYPES = (
    [passwdpop => '_plain', [qw(string string string)], 'int'],
    [passwdpop_config_new => '_config_new', [], 'opaque'],
    [passwdpop_config_free => '_config_free', ['opaque'], 'void'],
    [passwdpop_config_set_root => '_config_set_root', [qw(opaque string)], 'int'],
    [passwdpop_config_set_rounds => '_config_set_rounds', [qw(opaque uint32)], 'int'],
    [passwdpop_config_set_lock_timeout_ms => '_config_set_lock_timeout_ms', [qw(opaque uint32)], 'int'],
    [passwdpop_config_set_layout => '_config_set_layout', [qw(opaque uint32)], 'int'],
    [passwdpop_change => '_change', [qw(opaque string string string)], 'int'],
    [passwdpop_verify => '_verify', [qw(opaque string string string)], 'int'],
    [passwdpop_strerror => 'strerror', ['int'], 'string'],
    [passwdpop_last_error => 'last_error', [], 'string'],
    [passwdpop_version => 'version', [], 'string'],
    [passwdpop_config_set_threads => '_config_set_threads', [qw(opaque uint32)], 'int'],
    [passwdpop_config_set_wait_visible => '_config_set_wait_visible', [qw(opaque int)], 'int'],
    [passwdpop_add => '_add', [qw(opaque string string string)], 'int'],
    [passwdpop_remove => '_remove', [qw(opaque string string)], 'int'],
    [passwdpop_suspend => '_suspend', [qw(opaque string string)], 'int'],
    [passwdpop_unsuspend => '_unsuspend', [qw(opaque string string)], 'int'],
    [passwdpop_set_hash => '_set_hash', [qw(opaque string string string)], 'int'],
    [passwdpop_batch_new => '_batch_new', ['opaque'], 'opaque'],
    [passwdpop_batch_add => '_batch_add', [qw(opaque string string string)], 'int'],
    [passwdpop_batch_add_hash => '_batch_add_hash', [qw(opaque string string string)], 'int'],
    [passwdpop_batch_commit => '_batch_commit', ['opaque'], 'int'],
    [passwdpop_batch_len => '_batch_len', ['opaque'], 'size_t'],
    [passwdpop_batch_status => '_batch_status', [qw(opaque size_t)], 'int'],
    [passwdpop_batch_free => '_batch_free', ['opaque'], 'void'],
);

# The C functions this binding calls, as [name, ...] (the suite compares
# them with the header).
sub prototypes { return @PROTOTYPES }

sub _load {
    my $path = $ENV{PASSWDPOP_LIBRARY};
    my $file = (defined $path && length $path) ? $path : $SONAME;
    my $tried = $file eq $SONAME ? "$SONAME (through the dynamic linker's search path)" : $file;
    my $fix = "install the libpasswdpop$MAJOR package (apt install libpasswdpop$MAJOR), or set "
        . 'PASSWDPOP_LIBRARY to the path of a libpasswdpop.so (a source tree has it in '
        . 'target/release after `make lib`)';
    # FFI::Platypus would only say later that a symbol is missing; dlopen says why.
    my $handle = dlopen($file, RTLD_PLATYPUS_DEFAULT)
        or die "Passwdpop: cannot load $tried: " . (dlerror() // 'unknown error') . "; $fix\n";
    dlclose($handle);
    my $ffi = FFI::Platypus->new(api => 2, lib => [$file]);
    for my $prototype (@PROTOTYPES) {
        my ($c_name, $perl_name, $arguments, $result) = @$prototype;
        $ffi->find_symbol($c_name)
            or die "Passwdpop: $tried has no function $c_name: it is older than this "
            . "binding ($VERSION); $fix\n";
        $ffi->attach([$c_name => $perl_name] => $arguments => $result);
    }
    my $found = version();
    if ((split /\./, $found)[0] ne $MAJOR) {
        die "Passwdpop: $tried is libpasswdpop $found, but this binding ($VERSION) "
            . "needs major version $MAJOR; $fix\n";
    }
    return;
}

_load();

sub _fail {
    my ($status, $message) = @_;
    Carp::croak(Passwdpop::Error->new($status, $message));
}

sub _check {
    my ($status) = @_;
    _fail($status, last_error()) if $status != 0;
    return;
}

# A domain, user or root as bytes for C. undef stays NULL (the library
# answers it). A character string must fit in bytes; a NUL cannot pass.
sub _bytes {
    my ($value, $what, $status) = @_;
    return undef unless defined $value;
    if (utf8::is_utf8($value)) {
        utf8::downgrade($value, 1)
            or _fail($status, "the $what has characters above 0xFF; encode it to bytes first "
                . "(e.g. Encode::encode('UTF-8', ...))");
    }
    _fail($status, "the $what holds a NUL byte") if index($value, "\0") >= 0;
    return $value;
}

sub _u32 {
    my ($value, $what) = @_;
    # FFI::Platypus would wrap -1 or 2**32 into a valid-looking number.
    _fail($STATUS{INVALID_CONFIG}, "$what '$value' is not an integer in 0..=$U32_MAX")
        unless $value =~ /\A[0-9]+\z/ && $value <= $U32_MAX;
    return $value;
}

sub _layout {
    my ($layout) = @_;
    return $LAYOUT{$layout} if exists $LAYOUT{$layout};
    return _u32($layout, 'layout') if $layout =~ /\A[0-9]+\z/;
    _fail($STATUS{INVALID_CONFIG},
        "unknown layout '$layout' (known: " . join(', ', sort keys %LAYOUT) . ')');
}

# Each option: its config setter, and how its value is converted.
my %OPTION = (
    root => [\&_config_set_root, sub { _bytes($_[0], 'root', $STATUS{INVALID_CONFIG}) }],
    rounds => [\&_config_set_rounds, sub { _u32($_[0], 'rounds') }],
    layout => [\&_config_set_layout, \&_layout],
    lock_timeout_ms => [\&_config_set_lock_timeout_ms, sub { _u32($_[0], 'lock_timeout_ms') }],
    threads => [\&_config_set_threads, sub { _u32($_[0], 'threads') }],
    wait_visible => [\&_config_set_wait_visible, sub { $_[0] ? 1 : 0 }],
);

# A passwdpop_config for one call, or undef (the defaults) without options.
sub _config {
    my ($options) = @_;
    return undef unless $options && grep { defined } values %$options;
    for my $key (sort keys %$options) {
        _fail($STATUS{INVALID_CONFIG},
            "unknown option '$key' (options: " . join(', ', sort keys %OPTION) . ')')
            unless $OPTION{$key};
    }
    my $config = _config_new() or _fail($STATUS{INTERNAL_ERROR}, 'passwdpop_config_new() failed');
    my $ok = eval {
        for my $key (sort keys %$options) {
            next unless defined $options->{$key};
            my ($setter, $convert) = @{ $OPTION{$key} };
            _check($setter->($config, $convert->($options->{$key})));
        }
        1;
    };
    if (!$ok) {
        my $err = $@;
        _config_free($config);
        die $err;
    }
    return $config;
}

# Calls $function->($target, $domain, $user, $secret) with the secret (a
# password or a hash, $_[4]) as C may read it. A byte string goes as the
# scalar's own buffer (FFI::Platypus passes a pointer to it); only a
# character string is copied, to downgrade it, and that copy is overwritten.
# $status says how a bad secret is refused (INVALID_PASSWORD, INVALID_HASH).
sub _with_secret {
    my ($function, $target, $domain, $user, undef, $status) = @_;
    my $what = $status == $STATUS{INVALID_HASH} ? 'hash' : 'password';
    if (defined $_[4] && index($_[4], "\0") >= 0) {
        _fail($status, "the $what holds a NUL byte");
    }
    return $function->($target, $domain, $user, $_[4]) unless defined $_[4] && utf8::is_utf8($_[4]);
    my $copy = $_[4];
    my $result;
    if (utf8::downgrade($copy, 1)) {
        $result = $function->($target, $domain, $user, $copy);
    }
    substr($copy, 0, length $copy, "\0" x length $copy);
    return $result if defined $result;
    _fail($status, "the $what has characters above 0xFF; encode it to bytes first "
        . "(e.g. Encode::encode('UTF-8', \$$what))");
}

# Calls an account function with a config for $options; the secret ($_[5])
# only when $status says how to refuse a bad one. Returns the status.
sub _call {
    my ($function, $domain, $user, $options, $status) = @_;
    $domain = _bytes($domain, 'domain', $STATUS{INVALID_DOMAIN});
    $user = _bytes($user, 'user', $STATUS{INVALID_USER});
    my $config = _config(_with_options($options));
    my $result = eval {
        defined $status
            ? _with_secret($function, $config, $domain, $user, $_[5], $status)
            : $function->($config, $domain, $user);
    };
    my $err = $@;
    _config_free($config) if $config;
    die $err unless defined $result;
    return $result;
}

sub _with_options {
    my ($options) = @_;
    return $options if !defined $options || ref $options eq 'HASH';
    _fail($STATUS{INVALID_CONFIG}, 'the options must be a hash reference');
}

# change($domain, $user, $password, { root => ..., rounds => ..., layout => ..., lock_timeout_ms => ... })
sub change {
    my ($domain, $user, undef, $options) = @_;
    my $plain = !_with_options($options) || !grep { defined } values %$options;
    my $function = $plain ? sub { shift; _plain(@_) } : \&_change;
    _check(_call($function, $domain, $user, $options, $STATUS{INVALID_PASSWORD}, $_[2]));
    return 1;
}

# verify(...) -> 1 on a match, 0 on a mismatch; croaks for anything else.
sub verify {
    my ($domain, $user, undef, $options) = @_;
    my $status = _call(\&_verify, $domain, $user, $options, $STATUS{INVALID_PASSWORD}, $_[2]);
    return 0 if $status == $STATUS{PASSWORD_MISMATCH};
    _check($status);
    return 1;
}

# add($domain, $user, $password, \%options): a new account, stored lower-cased.
sub add {
    my ($domain, $user, undef, $options) = @_;
    _check(_call(\&_add, $domain, $user, $options, $STATUS{INVALID_PASSWORD}, $_[2]));
    return 1;
}

# set_hash($domain, $user, $hash, \%options): a complete crypt(3) hash, no {SCHEME}.
sub set_hash {
    my ($domain, $user, undef, $options) = @_;
    _check(_call(\&_set_hash, $domain, $user, $options, $STATUS{INVALID_HASH}, $_[2]));
    return 1;
}

sub remove { _check(_call(\&_remove, @_[0 .. 2])); return 1 }
sub suspend { _check(_call(\&_suspend, @_[0 .. 2])); return 1 }
sub unsuspend { _check(_call(\&_unsuspend, @_[0 .. 2])); return 1 }

# cPanel API 2 functions answered here: the call, the parameters it needs,
# and those it accepts and ignores (addpop's quota is Dovecot's business, not
# the shadow file's, as for the command).
my %API2 = (
    Email => {
        passwdpop => [sub { change(@{ $_[0] }{qw(domain email password)}, $_[1]) }, [qw(domain email password)], []],
        addpop => [sub { add(@{ $_[0] }{qw(domain email password)}, $_[1]) }, [qw(domain email password)], ['quota']],
        delpop => [sub { remove(@{ $_[0] }{qw(domain email)}, $_[1]) }, [qw(domain email)], []],
    },
);

sub new {
    my ($class) = @_;
    return bless {}, ref $class || $class;
}

sub _api2_result {
    my ($module, $func, $reason) = @_;
    my $result = defined $reason ? 0 : 1;
    return {
        cpanelresult => {
            apiversion => 2,
            func => $func,
            module => $module,
            data => [{ reason => $reason // '', result => $result }],
            event => { result => $result },
        },
    };
}

# Passwdpop->api2('Email', 'passwdpop', { domain => ..., email => ..., password => ... } [, \%options]);
# also 'addpop' (domain, email, password, an ignored quota) and 'delpop' (domain, email).
# Also callable as a function or on an object from new(), as Cpanel::LiveAPI is.
sub api2 {
    shift if @_ && (ref $_[0] ? eval { $_[0]->isa(__PACKAGE__) } : $_[0] eq __PACKAGE__);
    my ($module, $func, $params, $options) = @_;
    $module //= '';
    $func //= '';
    my $reason = eval {
        my $functions = $API2{$module}
            or die "unknown module '$module' (known: " . join(', ', sort keys %API2) . ")\n";
        my $entry = $functions->{$func}
            or die "unknown function '$func' in module '$module' (known: "
            . join(', ', sort keys %$functions) . ")\n";
        my ($call, $needed, $ignored) = @$entry;
        ref $params eq 'HASH' or die "the parameters must be a hash reference\n";
        my %known = map { $_ => 1 } @$needed, @$ignored;
        for my $key (sort keys %$params) {
            die "unknown parameter '$key' (parameters: @{[join ', ', @$needed, @$ignored]})\n"
                unless $known{$key};
        }
        for my $key (@$needed) {
            die "missing parameter '$key'\n" unless defined $params->{$key};
        }
        $call->($params, $options);
        1;
    } ? undef : $@;
    if (defined $reason) {
        $reason = ref $reason && eval { $reason->isa('Passwdpop::Error') } ? $reason->message : "$reason";
        $reason =~ s/\n\z//;
    }
    return _api2_result($module, $func, $reason);
}

package Passwdpop::Batch;

# Many changes applied with one rewrite per domain (passwdpop_batch_*).

sub new {
    my ($class, $options) = @_;
    my $config = Passwdpop::_config(Passwdpop::_with_options($options));
    my $batch = Passwdpop::_batch_new($config);
    Passwdpop::_config_free($config) if $config;
    $batch or Passwdpop::_fail($STATUS{INTERNAL_ERROR}, 'passwdpop_batch_new() failed');
    return bless { batch => $batch }, $class;
}

sub _add_entry {
    my ($self, $function, $domain, $user, undef, $status) = @_;
    $domain = Passwdpop::_bytes($domain, 'domain', $STATUS{INVALID_DOMAIN});
    $user = Passwdpop::_bytes($user, 'user', $STATUS{INVALID_USER});
    Passwdpop::_check(Passwdpop::_with_secret($function, $self->{batch}, $domain, $user, $_[4], $status));
    return 1;
}

sub add { $_[0]->_add_entry(\&Passwdpop::_batch_add, @_[1 .. 3], $STATUS{INVALID_PASSWORD}) }
sub add_hash { $_[0]->_add_entry(\&Passwdpop::_batch_add_hash, @_[1 .. 3], $STATUS{INVALID_HASH}) }
sub commit { Passwdpop::_check(Passwdpop::_batch_commit($_[0]->{batch})); return 1 }
sub len { Passwdpop::_batch_len($_[0]->{batch}) }

# undef for an applied entry, else its Passwdpop::Error (returned, not thrown).
sub status {
    my ($self, $index) = @_;
    Passwdpop::_fail($STATUS{INVALID_CONFIG}, "no entry $index") unless $index =~ /\A[0-9]+\z/;
    my $status = Passwdpop::_batch_status($self->{batch}, $index);
    return $status == 0 ? undef : Passwdpop::Error->new($status, Passwdpop::last_error());
}

sub free {
    my ($self) = @_;
    Passwdpop::_batch_free($self->{batch}) if $self->{batch};
    $self->{batch} = undef;
    return;
}

sub DESTROY { $_[0]->free }

package Passwdpop::Error;

use overload '""' => sub { $_[0]->{message} }, fallback => 1;

sub new {
    my ($class, $status, $message) = @_;
    my $name = $Passwdpop::NAME{$status} // "STATUS_$status";
    return bless { status => $status, name => $name, message => $message }, $class;
}

sub status { $_[0]->{status} }
sub name { $_[0]->{name} }
sub message { $_[0]->{message} }
sub throw { my $class = shift; die $class->new(@_) }

1;

__END__

=head1 NAME

Passwdpop - change virtual mail passwords in per-domain shadow files

=head1 SYNOPSIS

    use Passwdpop;

    Passwdpop::change('example.com', 'sales', 'n3w-Secret!');
    Passwdpop::change('example.com', 'sales@example.com', $password,
        { root => '/etc/vmail', rounds => 5000, layout => 'shadow', lock_timeout_ms => 10000 });
    my $ok = Passwdpop::verify('example.com', 'sales', $guess);    # 1 or 0

    # cPanel LiveAPI's call shape: only the object changes.
    my $cpliveapi = Passwdpop->new();
    my $result = $cpliveapi->api2('Email', 'passwdpop',
        { domain => 'example.com', email => 'sales', password => $password });
    print $result->{cpanelresult}{data}[0]{result} ? "ok\n" : "failed: $result->{cpanelresult}{data}[0]{reason}\n";

    eval { Passwdpop::change('example.com', 'carol', 'pw'); 1 } or do {
        my $err = $@;    # a Passwdpop::Error
        printf "%s (%d): %s\n", $err->name, $err->status, $err->message;
    };

=head1 DESCRIPTION

A thin binding over libpasswdpop's C ABI through FFI::Platypus (no compiler
at install time). The library is C<libpasswdpop.so.0>, found by the dynamic
linker, or the file named by the environment variable C<PASSWDPOP_LIBRARY>.

C<change> croaks a C<Passwdpop::Error> (C<< ->status >>, the C status code;
C<< ->name >>, e.g. C<NO_SUCH_ACCOUNT>; C<< ->message >>, the library's
message, which never holds the password). C<verify> returns 0 only for a
mismatch. C<api2> never dies for a failed change: it returns cPanel's result
structure, C<< { cpanelresult => { apiversion => 2, func, module, data =>
[{ result => 1|0, reason }], event => { result => 1|0 } } } >>. Also:
C<version>, C<strerror($status)>, C<last_error>, C<%Passwdpop::STATUS>.

=head1 PASSWORDS

Passwords are byte strings and are passed as they are. A byte string goes
to C as a pointer to the scalar's own buffer: the binding makes no copy and
keeps nothing after the call. A character string (UTF-8 flag on) is
downgraded in one copy, which is overwritten with NUL bytes after the call;
characters above 0xFF are refused (encode them first). A password holding
a NUL byte is refused with C<INVALID_PASSWORD>, since C would cut it there.

Perl cannot promise that a secret is wiped: assignments may share or copy a
string's buffer (copy-on-write), and freed strings are not cleared. To clear
your own variable, overwrite it in place, e.g.
C<substr($password, 0, length $password, "\0" x length $password)>.

=cut
