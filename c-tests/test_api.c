/* Every function and every status code of the C API, used as a C program would. */
#include "fixture.h"
#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "passwdpop.h"

#define SAMPLE "# example.com\nalice:!old:19000:0:99999:7:::\nbob:old:19000:0:99999:7:::\n"

static char root[1024];

static passwdpop_config *new_config(void) {
    passwdpop_config *config = passwdpop_config_new();
    CHECK(config != NULL);
    CHECK_STATUS(passwdpop_config_set_root(config, root), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_config_set_rounds(config, 1000), PASSWDPOP_OK);
    return config;
}

static int file_unchanged(const char *domain, const char *expected) {
    char *content = fixture_read(root, domain);
    int same = content && strcmp(content, expected) == 0;
    free(content);
    return same;
}

static void test_change_and_verify(void) {
    passwdpop_config *config = new_config();
    CHECK(fixture_domain(root, "example.com", SAMPLE) == 0);
    CHECK_STATUS(passwdpop_change(config, "example.com", "bob", "n3w-pass"), PASSWDPOP_OK);
    CHECK(strcmp(passwdpop_last_error(), "") == 0);

    char *content = fixture_read(root, "example.com");
    char hash[256];
    CHECK(content && fixture_hash_of(content, "bob", hash, sizeof hash) == 0);
    CHECK(strncmp(hash, "$6$rounds=1000$", 15) == 0);
    CHECK(crypt_accepts("n3w-pass", hash));
    CHECK(!crypt_accepts("old", hash));
    CHECK(content && strncmp(content, "# example.com\nalice:!old:19000:0:99999:7:::\nbob:$6$", 50) == 0);
    free(content);

    CHECK_STATUS(passwdpop_verify(config, "example.com", "bob", "n3w-pass"), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_verify(config, "example.com", "bob@example.com", "n3w-pass"), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_verify(config, "example.com", "bob", "wrong"), PASSWDPOP_PASSWORD_MISMATCH);
    CHECK_STATUS(passwdpop_verify(config, "example.com", "alice", "old"), PASSWDPOP_PASSWORD_MISMATCH);

    /* The passwd-file layout keeps field 3 (a uid there). */
    CHECK(fixture_domain(root, "example.net", "bob:{SHA512-CRYPT}x:1000:1000::/home/bob::\n") == 0);
    CHECK_STATUS(passwdpop_config_set_layout(config, PASSWDPOP_LAYOUT_PASSWD_FILE), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_change(config, "example.net", "bob", "pw"), PASSWDPOP_OK);
    content = fixture_read(root, "example.net");
    CHECK(content && strstr(content, ":1000:1000::/home/bob::\n") != NULL);
    CHECK(content && strncmp(content, "bob:{SHA512-CRYPT}$6$", 21) == 0);
    free(content);
    CHECK_STATUS(passwdpop_verify(config, "example.net", "bob", "pw"), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_config_set_layout(config, PASSWDPOP_LAYOUT_SHADOW), PASSWDPOP_OK);
    passwdpop_config_free(config);
}

/* With wait-visible on, a change returns only in a later second than its
 * rename (the new file's ctime), when Dovecot looks at the file again. */
static void test_wait_visible(void) {
    passwdpop_config *config = new_config();
    char path[1200];
    struct stat st;
    snprintf(path, sizeof path, "%s/visible.example/shadow", root);
    CHECK(fixture_domain(root, "visible.example", SAMPLE) == 0);
    CHECK_STATUS(passwdpop_config_set_wait_visible(config, 7), PASSWDPOP_OK);
    for (int round = 0; round < 2; round++) {
        CHECK_STATUS(passwdpop_change(config, "visible.example", "bob", "n3w-pass"), PASSWDPOP_OK);
        /* The precise clock, as Dovecot reads it (time() may lag behind). */
        struct timespec returned;
        CHECK(clock_gettime(CLOCK_REALTIME, &returned) == 0);
        CHECK(stat(path, &st) == 0);
        CHECK(returned.tv_sec > st.st_ctime);
    }
    CHECK_STATUS(passwdpop_config_set_wait_visible(config, 0), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_change(config, "visible.example", "bob", "n3w-pass"), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_config_set_wait_visible(NULL, 1), PASSWDPOP_NULL_ARGUMENT);
    CHECK(strstr(passwdpop_last_error(), "config") != NULL);
    passwdpop_config_free(config);
}

static void test_null_arguments(void) {
    passwdpop_config *config = new_config();
    CHECK_STATUS(passwdpop(NULL, "bob", "pw"), PASSWDPOP_NULL_ARGUMENT);
    CHECK(strstr(passwdpop_last_error(), "domain") != NULL);
    CHECK_STATUS(passwdpop_change(config, "example.com", NULL, "pw"), PASSWDPOP_NULL_ARGUMENT);
    CHECK(strstr(passwdpop_last_error(), "user") != NULL);
    CHECK_STATUS(passwdpop_change(config, "example.com", "bob", NULL), PASSWDPOP_NULL_ARGUMENT);
    /* NULL checks come before the domain rules. */
    CHECK_STATUS(passwdpop_verify(config, "..", "bob", NULL), PASSWDPOP_NULL_ARGUMENT);
    CHECK_STATUS(passwdpop_config_set_root(NULL, "/tmp"), PASSWDPOP_NULL_ARGUMENT);
    CHECK_STATUS(passwdpop_config_set_root(config, NULL), PASSWDPOP_NULL_ARGUMENT);
    CHECK_STATUS(passwdpop_config_set_rounds(NULL, 5000), PASSWDPOP_NULL_ARGUMENT);
    CHECK_STATUS(passwdpop_config_set_lock_timeout_ms(NULL, 5), PASSWDPOP_NULL_ARGUMENT);
    CHECK_STATUS(passwdpop_config_set_layout(NULL, PASSWDPOP_LAYOUT_SHADOW), PASSWDPOP_NULL_ARGUMENT);
    passwdpop_config_free(NULL);
    passwdpop_config_free(config);
}

static void test_invalid_arguments_change_nothing(void) {
    passwdpop_config *config = new_config();
    char long_password[600];
    memset(long_password, 'p', sizeof long_password - 1);
    long_password[sizeof long_password - 1] = '\0';
    long_password[512] = '\0'; /* 512 bytes: one more than crypt(3) takes */
    char *before = fixture_read(root, "example.com");

    CHECK_STATUS(passwdpop_change(config, "etc", "bob", "pw"), PASSWDPOP_INVALID_DOMAIN);
    CHECK_STATUS(passwdpop_change(config, "../example.com", "bob", "pw"), PASSWDPOP_INVALID_DOMAIN);
    CHECK_STATUS(passwdpop_change(config, "a..b.com", "bob", "pw"), PASSWDPOP_INVALID_DOMAIN);
    CHECK_STATUS(passwdpop_change(config, "example.com", "b:ob", "pw"), PASSWDPOP_INVALID_USER);
    CHECK_STATUS(passwdpop_change(config, "example.com", "bob@example.org", "pw"), PASSWDPOP_INVALID_USER);
    CHECK_STATUS(passwdpop_change(config, "example.com", "", "pw"), PASSWDPOP_INVALID_USER);
    CHECK_STATUS(passwdpop_change(config, "example.com", "bob", ""), PASSWDPOP_INVALID_PASSWORD);
    CHECK_STATUS(passwdpop_change(config, "example.com", "bob", long_password), PASSWDPOP_INVALID_PASSWORD);
    CHECK(strstr(passwdpop_last_error(), "ppppp") == NULL);
    /* The first bad argument in order wins. */
    CHECK_STATUS(passwdpop_change(config, "etc", "b:ob", ""), PASSWDPOP_INVALID_DOMAIN);
    CHECK_STATUS(passwdpop_change(config, "example.com", "b:ob", ""), PASSWDPOP_INVALID_USER);
    CHECK(before && file_unchanged("example.com", before));
    free(before);
    passwdpop_config_free(config);
}

static void test_config_rejections_leave_config_unchanged(void) {
    passwdpop_config *config = new_config();
    CHECK(fixture_domain(root, "config.example", "bob:old:1\n") == 0);
    CHECK_STATUS(passwdpop_config_set_root(config, "relative/dir"), PASSWDPOP_INVALID_CONFIG);
    CHECK_STATUS(passwdpop_config_set_root(config, ""), PASSWDPOP_INVALID_CONFIG);
    CHECK_STATUS(passwdpop_config_set_rounds(config, 999), PASSWDPOP_INVALID_CONFIG);
    CHECK_STATUS(passwdpop_config_set_rounds(config, 1000000000u), PASSWDPOP_INVALID_CONFIG);
    CHECK_STATUS(passwdpop_config_set_layout(config, 2), PASSWDPOP_INVALID_CONFIG);
    CHECK_STATUS(passwdpop_config_set_layout(config, (passwdpop_layout)-1), PASSWDPOP_INVALID_CONFIG);
    CHECK(strstr(passwdpop_last_error(), "layout") != NULL);
    /* Still the scratch root, 1000 rounds and the shadow layout. */
    CHECK_STATUS(passwdpop_change(config, "config.example", "bob", "pw"), PASSWDPOP_OK);
    char *content = fixture_read(root, "config.example");
    CHECK(content && strncmp(content, "bob:$6$rounds=1000$", 19) == 0);
    CHECK(content && strstr(content, "$:1\n") == NULL && strchr(content + 19, ':') != NULL);
    free(content);
    CHECK_STATUS(passwdpop_config_set_lock_timeout_ms(config, 0), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_config_set_rounds(config, 999999999u), PASSWDPOP_OK);
    passwdpop_config_free(config);
}

static void test_file_problems(void) {
    passwdpop_config *config = new_config();
    CHECK_STATUS(passwdpop_config_set_lock_timeout_ms(config, 0), PASSWDPOP_OK);
    CHECK(fixture_domain(root, "files.example", "bob:a:1\nBOB:b:1\n") == 0);

    CHECK_STATUS(passwdpop_change(config, "missing.example", "bob", "pw"), PASSWDPOP_NO_SUCH_DOMAIN);
    CHECK(strstr(passwdpop_last_error(), "missing.example") != NULL);
    CHECK_STATUS(passwdpop_change(config, "files.example", "carol", "pw"), PASSWDPOP_NO_SUCH_ACCOUNT);
    CHECK(strstr(passwdpop_last_error(), "carol") != NULL);
    CHECK_STATUS(passwdpop_verify(config, "files.example", "carol", "pw"), PASSWDPOP_NO_SUCH_ACCOUNT);
    CHECK_STATUS(passwdpop_change(config, "files.example", "bob", "pw"), PASSWDPOP_AMBIGUOUS_ACCOUNT);
    CHECK(file_unchanged("files.example", "bob:a:1\nBOB:b:1\n"));

    char path[4200], target[4200];
    snprintf(target, sizeof target, "%s/files.example", root);
    snprintf(path, sizeof path, "%s/link.example", root);
    CHECK(symlink(target, path) == 0);
    CHECK_STATUS(passwdpop_change(config, "link.example", "bob", "pw"), PASSWDPOP_UNSAFE_PATH);
    CHECK(strstr(passwdpop_last_error(), "link.example") != NULL);

    /* A dotlock held by a live process (ours). */
    CHECK(fixture_domain(root, "locked.example", "bob:a:1\n") == 0);
    snprintf(path, sizeof path, "%s/locked.example/shadow.lock", root);
    FILE *lock = fopen(path, "w");
    CHECK(lock != NULL);
    if (lock) {
        fprintf(lock, "%d\n", (int)getpid());
        fclose(lock);
    }
    CHECK_STATUS(passwdpop_change(config, "locked.example", "bob", "pw"), PASSWDPOP_LOCK_TIMEOUT);
    CHECK(file_unchanged("locked.example", "bob:a:1\n"));
    unlink(path);
    CHECK_STATUS(passwdpop_change(config, "locked.example", "bob", "pw"), PASSWDPOP_OK);
    passwdpop_config_free(config);
}

/* A write that fails halfway (file size limit): IO_ERROR with the OS's reason,
 * original intact, no temp file left. Runs in a child: the limit is its own. */
static void test_io_error(void) {
    char content[8192] = "bob:old:1\n";
    for (int i = 0; i < 150; i++) {
        char line[64];
        snprintf(line, sizeof line, "filler%03d:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx:1\n", i);
        strcat(content, line);
    }
    CHECK(fixture_domain(root, "full.example", content) == 0);
    pid_t child = fork();
    if (child == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit limit = {1024, 1024};
        setrlimit(RLIMIT_FSIZE, &limit);
        passwdpop_config *config = passwdpop_config_new();
        passwdpop_config_set_root(config, root);
        passwdpop_config_set_rounds(config, 1000);
        int status = passwdpop_change(config, "full.example", "bob", "pw");
        int named = strstr(passwdpop_last_error(), "File too large") != NULL;
        passwdpop_config_free(config);
        _exit(status == PASSWDPOP_IO_ERROR && named ? 0 : 1);
    }
    int wstatus = 0;
    CHECK(waitpid(child, &wstatus, 0) == child);
    CHECK(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    CHECK(file_unchanged("full.example", content));
    char command[4300];
    snprintf(command, sizeof command, "test $(ls -A '%s/full.example' | wc -l) -eq 1", root);
    CHECK(system(command) == 0);
}

static void test_strings(void) {
    const int codes[] = {PASSWDPOP_OK, PASSWDPOP_NULL_ARGUMENT, PASSWDPOP_INVALID_DOMAIN,
                         PASSWDPOP_INVALID_USER, PASSWDPOP_INVALID_PASSWORD,
                         PASSWDPOP_INVALID_CONFIG, PASSWDPOP_NO_SUCH_DOMAIN,
                         PASSWDPOP_NO_SUCH_ACCOUNT, PASSWDPOP_AMBIGUOUS_ACCOUNT,
                         PASSWDPOP_UNSAFE_PATH, PASSWDPOP_LOCK_TIMEOUT, PASSWDPOP_IO_ERROR,
                         PASSWDPOP_PASSWORD_MISMATCH, PASSWDPOP_INTERNAL_ERROR,
                         PASSWDPOP_INVALID_HASH, PASSWDPOP_ACCOUNT_EXISTS};
    size_t count = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < count; i++) {
        CHECK(codes[i] == (int)i); /* 0, then distinct positive values in order */
        const char *text = passwdpop_strerror(codes[i]);
        CHECK(text != NULL && text[0] != '\0');
        for (size_t j = 0; j < i; j++) CHECK(strcmp(text, passwdpop_strerror(codes[j])) != 0);
    }
    CHECK(strcmp(passwdpop_strerror(0), "success") == 0);
    CHECK(strcmp(passwdpop_strerror(-1), "unknown status code") == 0);
    CHECK(strcmp(passwdpop_strerror(1000), "unknown status code") == 0);
    CHECK(strcmp(passwdpop_version(), PASSWDPOP_EXPECTED_VERSION) == 0);
}

static void *fail_in_thread(void *arg) {
    (void)arg;
    passwdpop_change(NULL, "etc", "bob", "pw");
    return (void *)strstr(passwdpop_last_error(), "invalid domain");
}

static void test_last_error_is_per_thread(void) {
    passwdpop_change(NULL, "example.com", "b:ob", "secret-in-thread");
    pthread_t thread;
    void *seen = NULL;
    CHECK(pthread_create(&thread, NULL, fail_in_thread, NULL) == 0);
    CHECK(pthread_join(thread, &seen) == 0);
    CHECK(seen != NULL);
    CHECK(strstr(passwdpop_last_error(), "invalid user") != NULL);
    CHECK(strstr(passwdpop_last_error(), "secret-in-thread") == NULL);
}

static void test_root_from_environment(void) {
    char env_root[1024];
    CHECK(fixture_root(env_root, sizeof env_root) == 0);
    CHECK(fixture_domain(env_root, "env.example", "bob:old:1\n") == 0);
    CHECK(setenv("PASSWDPOP_ROOT", env_root, 1) == 0);
    CHECK_STATUS(passwdpop("env.example", "bob", "pw"), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_verify(NULL, "env.example", "bob", "pw"), PASSWDPOP_OK);
    passwdpop_config *config = passwdpop_config_new();
    CHECK_STATUS(passwdpop_verify(config, "env.example", "bob", "pw"), PASSWDPOP_OK);
    passwdpop_config_free(config);
    CHECK(setenv("PASSWDPOP_ROOT", "relative", 1) == 0);
    CHECK_STATUS(passwdpop("env.example", "bob", "pw"), PASSWDPOP_INVALID_CONFIG);
    CHECK(strstr(passwdpop_last_error(), "PASSWDPOP_ROOT") != NULL);
    /* Empty is not "unset": it must not fall back to /etc/vmail. */
    CHECK(setenv("PASSWDPOP_ROOT", "", 1) == 0);
    CHECK_STATUS(passwdpop("env.example", "bob", "pw"), PASSWDPOP_INVALID_CONFIG);
    CHECK(strstr(passwdpop_last_error(), "PASSWDPOP_ROOT") != NULL);
    unsetenv("PASSWDPOP_ROOT");
    fixture_cleanup(env_root);
}

int main(void) {
    if (fixture_root(root, sizeof root) != 0) {
        perror("mkdtemp");
        return 2;
    }
    test_change_and_verify();
    test_wait_visible();
    test_null_arguments();
    test_invalid_arguments_change_nothing();
    test_config_rejections_leave_config_unchanged();
    test_file_problems();
    test_io_error();
    test_strings();
    test_last_error_is_per_thread();
    test_root_from_environment();
    fixture_cleanup(root);
    return check_summary("test_api");
}
