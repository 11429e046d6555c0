/* A program built only with `pkg-config --cflags --libs passwdpop`, as a
 * packager's user would build it: changes a password, then checks the new
 * hash with libxcrypt's crypt_r. Usage: consumer ROOT DOMAIN USER PASSWORD */
#define _GNU_SOURCE
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <passwdpop.h>

int main(int argc, char **argv) {
    if (argc != 5) return 64;
    const char *root = argv[1], *domain = argv[2], *user = argv[3], *password = argv[4];
    passwdpop_config *config = passwdpop_config_new();
    int status = config ? passwdpop_config_set_root(config, root) : PASSWDPOP_INTERNAL_ERROR;
    if (status == PASSWDPOP_OK) status = passwdpop_change(config, domain, user, password);
    passwdpop_config_free(config);
    if (status != PASSWDPOP_OK) {
        fprintf(stderr, "consumer: %s: %s\n", passwdpop_strerror(status), passwdpop_last_error());
        return 1;
    }
    char path[4096], line[1024];
    snprintf(path, sizeof path, "%s/%s/shadow", root, domain);
    FILE *file = fopen(path, "r");
    int verified = 0;
    size_t user_len = strlen(user);
    while (file && fgets(line, sizeof line, file)) {
        if (strncmp(line, user, user_len) != 0 || line[user_len] != ':') continue;
        char *hash = line + user_len + 1;
        hash[strcspn(hash, ":\n")] = '\0';
        struct crypt_data data;
        memset(&data, 0, sizeof data);
        const char *out = crypt_r(password, hash, &data);
        verified = out && strcmp(out, hash) == 0;
    }
    if (file) fclose(file);
    printf("consumer (libpasswdpop %s): %s\n", passwdpop_version(),
           verified ? "changed and verified with crypt_r" : "NOT VERIFIED");
    return verified ? 0 : 1;
}
