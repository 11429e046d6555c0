/* The main job, through the C ABI: change one password, show the new line,
 * and check it with libxcrypt's crypt_r, as Exim's crypteq and Dovecot do.
 * Usage: demo ROOT DOMAIN USER PASSWORD */
#define _GNU_SOURCE
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passwdpop.h"

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s ROOT DOMAIN USER PASSWORD\n", argv[0]);
        return 64;
    }
    const char *root = argv[1], *domain = argv[2], *user = argv[3], *password = argv[4];
    int status = PASSWDPOP_INTERNAL_ERROR;
    char *line = NULL;
    size_t line_size = 0;
    FILE *shadow = NULL;
    struct crypt_data *crypt_buffer = NULL;

    passwdpop_config *config = passwdpop_config_new();
    if (!config) goto cleanup;
    status = passwdpop_config_set_root(config, root);
    if (status == PASSWDPOP_OK) status = passwdpop_change(config, domain, user, password);
    if (status != PASSWDPOP_OK) {
        fprintf(stderr, "passwdpop: %s: %s\n", passwdpop_strerror(status), passwdpop_last_error());
        goto cleanup;
    }
    printf("libpasswdpop %s changed the password of %s@%s\n", passwdpop_version(), user, domain);

    char path[4096];
    snprintf(path, sizeof path, "%s/%s/shadow", root, domain);
    shadow = fopen(path, "r");
    crypt_buffer = calloc(1, sizeof *crypt_buffer);
    status = PASSWDPOP_IO_ERROR;
    if (!shadow || !crypt_buffer) goto cleanup;
    size_t user_len = strlen(user);
    while (getline(&line, &line_size, shadow) > 0) {
        if (strncmp(line, user, user_len) != 0 || line[user_len] != ':') continue;
        printf("%s: %s", path, line);
        char *hash = line + user_len + 1;
        hash[strcspn(hash, ":\n")] = '\0';
        const char *computed = crypt_r(password, hash, crypt_buffer);
        int accepted = computed && strcmp(computed, hash) == 0;
        printf("crypt(3) %s the new password\n", accepted ? "accepts" : "REJECTS");
        status = accepted ? PASSWDPOP_OK : PASSWDPOP_PASSWORD_MISMATCH;
        break;
    }

cleanup:
    if (shadow) fclose(shadow);
    free(line);
    free(crypt_buffer);
    passwdpop_config_free(config);
    return status == PASSWDPOP_OK ? 0 : 1;
}
