/* Run as a setuid-root program by an unprivileged user: PASSWDPOP_ROOT must be
 * ignored (the environment belongs to the caller), so the default root
 * /etc/vmail is used. Exits with the status of passwdpop_verify(). */
#include <stdio.h>

#include "passwdpop.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s DOMAIN USER PASSWORD\n", argv[0]);
        return 64;
    }
    int status = passwdpop_verify(NULL, argv[1], argv[2], argv[3]);
    printf("passwdpop_verify: %d (%s) %s\n", status, passwdpop_strerror(status),
           passwdpop_last_error());
    return status;
}
