/* Many writers at once: PROCESSES processes of THREADS threads, each changing
 * its own user and a user they all share, ROUNDS times, in two domains. No
 * update may be lost, and every line nobody changed must stay as it was.
 * Usage: test_threads [PROCESSES THREADS ROUNDS]   (default 3 4 4; `make stress`
 * runs a larger load) */
#include "fixture.h"
#include "check.h"

#include <pthread.h>
#include <sys/wait.h>

#include "passwdpop.h"

#define MAX_PROCESSES 64
#define MAX_THREADS 64

static int PROCESSES = 3, THREADS = 4, ROUNDS = 4;

static const char *const domains[] = {"one.example", "two.example"};
static char root[1024];
static passwdpop_config *shared_config; /* shared read-only by all threads */

struct writer {
    int process;
    int thread;
    int failures;
};

static void *write_passwords(void *arg) {
    struct writer *writer = arg;
    char user[32], password[128];
    snprintf(user, sizeof user, "user%d_%d", writer->process, writer->thread);
    for (int round = 0; round < ROUNDS; round++) {
        for (int d = 0; d < 2; d++) {
            snprintf(password, sizeof password, "%s-%s-%d", user, domains[d], round);
            if (passwdpop_change(shared_config, domains[d], user, password) != PASSWDPOP_OK) {
                fprintf(stderr, "%s: %s\n", user, passwdpop_last_error());
                writer->failures++;
            }
            snprintf(password, sizeof password, "shared-%s-%d", user, round);
            if (passwdpop_change(shared_config, domains[d], "shared", password) != PASSWDPOP_OK) {
                fprintf(stderr, "shared: %s\n", passwdpop_last_error());
                writer->failures++;
            }
        }
    }
    return NULL;
}

static int run_process(int process) {
    pthread_t threads[MAX_THREADS];
    struct writer writers[MAX_THREADS];
    int failures = 0;
    for (int t = 0; t < THREADS; t++) {
        writers[t] = (struct writer){process, t, 0};
        if (pthread_create(&threads[t], NULL, write_passwords, &writers[t]) != 0) return 1;
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        failures += writers[t].failures;
    }
    return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 4) {
        PROCESSES = atoi(argv[1]);
        THREADS = atoi(argv[2]);
        ROUNDS = atoi(argv[3]);
    }
    if (PROCESSES < 1 || PROCESSES > MAX_PROCESSES || THREADS < 1 || THREADS > MAX_THREADS ||
        ROUNDS < 1) {
        fprintf(stderr, "usage: %s [PROCESSES THREADS ROUNDS] (at most %d x %d)\n", argv[0],
                MAX_PROCESSES, MAX_THREADS);
        return 64;
    }
    if (fixture_root(root, sizeof root) != 0) return 2;
    static char content[MAX_PROCESSES * MAX_THREADS * 40 + 256];
    strcpy(content, "# header line\nshared:old:1:0:99999:7:::\n");
    for (int p = 0; p < PROCESSES; p++) {
        for (int t = 0; t < THREADS; t++) {
            char line[128];
            snprintf(line, sizeof line, "user%d_%d:old:1:0:99999:7:::\n", p, t);
            strcat(content, line);
        }
    }
    strcat(content, "untouched:keep-me:1:0:99999:7:::\n");
    for (int d = 0; d < 2; d++) CHECK(fixture_domain(root, domains[d], content) == 0);

    shared_config = passwdpop_config_new();
    CHECK_STATUS(passwdpop_config_set_root(shared_config, root), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_config_set_rounds(shared_config, 1000), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_config_set_lock_timeout_ms(shared_config, 120000), PASSWDPOP_OK);

    pid_t children[MAX_PROCESSES];
    for (int p = 0; p < PROCESSES; p++) {
        children[p] = fork();
        if (children[p] == 0) {
            int status = run_process(p);
            passwdpop_config_free(shared_config);
            _exit(status);
        }
    }
    for (int p = 0; p < PROCESSES; p++) {
        int wstatus = 0;
        CHECK(waitpid(children[p], &wstatus, 0) == children[p]);
        CHECK(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    }

    for (int d = 0; d < 2; d++) {
        char *after = fixture_read(root, domains[d]);
        CHECK(after != NULL);
        if (!after) continue;
        char hash[256], password[128];
        for (int p = 0; p < PROCESSES; p++) {
            for (int t = 0; t < THREADS; t++) {
                char user[32];
                snprintf(user, sizeof user, "user%d_%d", p, t);
                snprintf(password, sizeof password, "%s-%s-%d", user, domains[d], ROUNDS - 1);
                CHECK(fixture_hash_of(after, user, hash, sizeof hash) == 0);
                CHECK(crypt_accepts(password, hash));
            }
        }
        int winners = 0;
        CHECK(fixture_hash_of(after, "shared", hash, sizeof hash) == 0);
        for (int p = 0; p < PROCESSES; p++) {
            for (int t = 0; t < THREADS; t++) {
                snprintf(password, sizeof password, "shared-user%d_%d-%d", p, t, ROUNDS - 1);
                winners += crypt_accepts(password, hash);
            }
        }
        CHECK(winners == 1);
        CHECK(strncmp(after, "# header line\nshared:$6$", 24) == 0);
        CHECK(strstr(after, "\nuntouched:keep-me:1:0:99999:7:::\n") != NULL);
        int lines = 0;
        for (const char *c = after; *c; c++) lines += *c == '\n';
        CHECK(lines == PROCESSES * THREADS + 3);
        free(after);
    }
    passwdpop_config_free(shared_config);
    fixture_cleanup(root);
    printf("test_threads: %d processes x %d threads x %d rounds x 2 domains: %d changes\n",
           PROCESSES, THREADS, ROUNDS, PROCESSES * THREADS * ROUNDS * 4);
    return check_summary("test_threads");
}
