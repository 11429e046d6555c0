complete -c passwdpop -l domain -d 'The account\'s domain (taken literally, not percent-decoded)' -r
complete -c passwdpop -l email -d 'The account: local part or full address (taken literally); a full address also gives the domain' -r
complete -c passwdpop -l password-fd -d 'Read the password from this inherited file descriptor (its first line)' -r
complete -c passwdpop -l root -d 'Directory holding one directory per domain [default: $PASSWDPOP_ROOT or /etc/vmail]' -r -f -a "(__fish_complete_directories)"
complete -c passwdpop -l user -d 'cPanel layout: the root is the etc directory in NAME\'s home (as cpapi2 --user), never a symlink nor writable by others' -r -f -a "(__fish_complete_users)"
complete -c passwdpop -l rounds -d 'SHA512-crypt rounds, 1000 to 999999999' -r
complete -c passwdpop -l layout -d 'Line layout of the shadow file' -r -f -a "shadow\t'user:hash:lastchange:min:max:warn:inactive:expire: (as cPanel writes it)'
passwd-file\t'Dovecot passwd-file: user:hash:uid:gid:gecos:home:shell:extra_fields'"
complete -c passwdpop -l lock-timeout -d 'Longest wait for other writers, in milliseconds (0: try once)' -r
complete -c passwdpop -l output -d 'Output format; json prints cPanel API 2\'s result object' -r -f -a "text\t'One line on success; the error on standard error'
json\t'cPanel API 2\'s result object on standard output'"
complete -c passwdpop -l password-stdin-raw -d 'Take all of standard input as the password, line endings included'
complete -c passwdpop -l verify -d 'Check the password instead of changing it (exit 0 on a match)'
complete -c passwdpop -l add -d 'Add the account (password read as for a change); exit 15 if it exists'
complete -c passwdpop -l remove -d 'Remove the account\'s entry and its continuation lines'
complete -c passwdpop -l suspend -d 'Lock the account: \'!\' in front of its hash, which is kept'
complete -c passwdpop -l unsuspend -d 'Unlock the account: the old password works again'
complete -c passwdpop -l set-hash -d 'Store a crypt(3) hash, read like a password, as the account\'s hash'
complete -c passwdpop -l batch -d 'Change many passwords: chpasswd(8) lines user@domain:password on standard input'
complete -c passwdpop -s e -l encrypted -d 'With --batch: the lines hold crypt(3) hashes, not passwords (as chpasswd -e)'
complete -c passwdpop -l no-wait-visible -d 'Return once the file is replaced, without waiting (up to 1 s) until Dovecot sees the change'
complete -c passwdpop -s h -l help -d 'Print help (see more with \'--help\')'
complete -c passwdpop -s V -l version -d 'Print version'
