/* Scratch vmail trees for the C tests. */
#ifndef PASSWDPOP_FIXTURE_H
#define PASSWDPOP_FIXTURE_H

#define _GNU_SOURCE
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Creates a fresh root under $TMPDIR (or /tmp); returns 0 on success. */
static int fixture_root(char *root, size_t size) {
    const char *tmp = getenv("TMPDIR");
    snprintf(root, size, "%s/passwdpop-ctest-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(root) ? 0 : -1;
}

/* Writes <root>/<domain>/shadow with content, mode 0640. */
static int fixture_domain(const char *root, const char *domain, const char *content) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, domain);
    if (mkdir(path, 0750) != 0) return -1;
    snprintf(path, sizeof path, "%s/%s/shadow", root, domain);
    FILE *file = fopen(path, "w");
    if (!file) return -1;
    int ok = fputs(content, file) >= 0;
    if (fclose(file) != 0) ok = 0;
    chmod(path, 0640);
    return ok ? 0 : -1;
}

/* Reads <root>/<domain>/shadow into a malloc'ed string, or NULL. */
static char *fixture_read(const char *root, const char *domain) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/shadow", root, domain);
    FILE *file = fopen(path, "r");
    if (!file) return NULL;
    char *content = calloc(1, 1 << 20);
    if (content) {
        size_t n = fread(content, 1, (1 << 20) - 1, file);
        content[n] = '\0';
    }
    fclose(file);
    return content;
}

/* Copies the hash field of user's line into hash; 0 if found. */
static int fixture_hash_of(const char *content, const char *user, char *hash, size_t size) {
    size_t user_len = strlen(user);
    for (const char *line = content; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > user_len && strncmp(line, user, user_len) == 0 && line[user_len] == ':') {
            const char *start = line + user_len + 1;
            const char *stop = memchr(start, ':', len - user_len - 1);
            size_t hash_len = stop ? (size_t)(stop - start) : len - user_len - 1;
            if (hash_len >= size) return -1;
            memcpy(hash, start, hash_len);
            hash[hash_len] = '\0';
            return 0;
        }
        line = end ? end + 1 : NULL;
    }
    return -1;
}

/* Whether libxcrypt's crypt_r accepts password for hash, as Exim's crypteq does. */
static int crypt_accepts(const char *password, const char *hash) {
    struct crypt_data *data = calloc(1, sizeof *data);
    if (!data) return 0;
    const char *out = crypt_r(password, hash, data);
    int ok = out && out[0] != '*' && strcmp(out, hash) == 0;
    free(data);
    return ok;
}

/* Removes the scratch root (best effort). */
static void fixture_cleanup(const char *root) {
    char command[4200];
    snprintf(command, sizeof command, "rm -rf '%s'", root);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root);
}

#endif
