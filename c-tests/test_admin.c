/* The account operations and batches of the C API, used as a C program would:
 * every function, NULL and bad arguments, per-entry statuses. */
#include "fixture.h"
#include "check.h"

#include "passwdpop.h"

static char root[1024];

static passwdpop_config *new_config(void) {
    passwdpop_config *config = passwdpop_config_new();
    CHECK(config != NULL);
    CHECK_STATUS(passwdpop_config_set_root(config, root), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_config_set_rounds(config, 1000), PASSWDPOP_OK);
    return config;
}

static int contains(const char *domain, const char *text) {
    char *content = fixture_read(root, domain);
    int found = content && strstr(content, text) != NULL;
    free(content);
    return found;
}

static void test_single_operations(void) {
    passwdpop_config *config = new_config();
    char hash[256];
    char *content = NULL;
    CHECK(fixture_domain(root, "example.com", "alice:A:1\nbob:B:1\n cont\ncarol:C:1\n") == 0);

    CHECK_STATUS(passwdpop_add(config, "example.com", "Dave", "dave pw"), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_verify(config, "example.com", "dave", "dave pw"), PASSWDPOP_OK);
    CHECK(contains("example.com", "carol:C:1\ndave:$6$rounds=1000$"));
    content = fixture_read(root, "example.com");
    CHECK(content && fixture_hash_of(content, "dave", hash, sizeof hash) == 0);
    CHECK(crypt_accepts("dave pw", hash));
    free(content);
    CHECK_STATUS(passwdpop_add(config, "example.com", "DAVE", "x"), PASSWDPOP_ACCOUNT_EXISTS);
    CHECK(strstr(passwdpop_last_error(), "DAVE") != NULL);

    CHECK_STATUS(passwdpop_suspend(config, "example.com", "dave"), PASSWDPOP_OK);
    CHECK(contains("example.com", "dave:!$6$"));
    CHECK_STATUS(passwdpop_verify(config, "example.com", "dave", "dave pw"), PASSWDPOP_PASSWORD_MISMATCH);
    CHECK_STATUS(passwdpop_suspend(config, "example.com", "dave"), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_unsuspend(config, "example.com", "dave"), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_verify(config, "example.com", "dave", "dave pw"), PASSWDPOP_OK);

    struct crypt_data *data = calloc(1, sizeof *data);
    CHECK(data != NULL);
    const char *made = data ? crypt_r("migrated", "$5$rounds=1000$saltsalt", data) : NULL;
    CHECK(made != NULL && made[0] == '$');
    if (made) {
        CHECK_STATUS(passwdpop_set_hash(config, "example.com", "alice", made), PASSWDPOP_OK);
        CHECK_STATUS(passwdpop_verify(config, "example.com", "alice", "migrated"), PASSWDPOP_OK);
    }
    free(data);
    CHECK_STATUS(passwdpop_set_hash(config, "example.com", "alice", "notahash"), PASSWDPOP_INVALID_HASH);
    CHECK_STATUS(passwdpop_set_hash(config, "example.com", "alice", "$6$salt$short"), PASSWDPOP_INVALID_HASH);

    CHECK_STATUS(passwdpop_remove(config, "example.com", "bob"), PASSWDPOP_OK);
    content = fixture_read(root, "example.com");
    CHECK(content && strstr(content, "bob") == NULL && strstr(content, "cont") == NULL);
    CHECK(content && fixture_hash_of(content, "carol", hash, sizeof hash) == 0 && strcmp(hash, "C") == 0);
    free(content);
    CHECK_STATUS(passwdpop_remove(config, "example.com", "bob"), PASSWDPOP_NO_SUCH_ACCOUNT);
    CHECK_STATUS(passwdpop_suspend(config, "example.org", "bob"), PASSWDPOP_NO_SUCH_DOMAIN);

    /* NULL checks in argument order, before any other rule. */
    CHECK_STATUS(passwdpop_add(config, NULL, "..", "pw"), PASSWDPOP_NULL_ARGUMENT);
    CHECK_STATUS(passwdpop_add(config, "..", NULL, "pw"), PASSWDPOP_NULL_ARGUMENT);
    CHECK_STATUS(passwdpop_add(config, "..", "bob", NULL), PASSWDPOP_NULL_ARGUMENT);
    CHECK_STATUS(passwdpop_remove(config, NULL, "bob"), PASSWDPOP_NULL_ARGUMENT);
    CHECK_STATUS(passwdpop_suspend(config, "example.com", NULL), PASSWDPOP_NULL_ARGUMENT);
    CHECK_STATUS(passwdpop_unsuspend(config, NULL, NULL), PASSWDPOP_NULL_ARGUMENT);
    CHECK_STATUS(passwdpop_set_hash(config, "bad!", "bob", NULL), PASSWDPOP_NULL_ARGUMENT);
    CHECK(strstr(passwdpop_last_error(), "hash") != NULL);
    /* Then domain, user, hash. */
    CHECK_STATUS(passwdpop_set_hash(config, "bad!", "", "x"), PASSWDPOP_INVALID_DOMAIN);
    CHECK_STATUS(passwdpop_set_hash(config, "example.com", "", "x"), PASSWDPOP_INVALID_USER);
    CHECK_STATUS(passwdpop_add(config, "example.com", "new", ""), PASSWDPOP_INVALID_PASSWORD);
    passwdpop_config_free(config);
}

static void test_batch(void) {
    passwdpop_config *config = new_config();
    CHECK_STATUS(passwdpop_config_set_threads(config, 2), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_config_set_threads(NULL, 2), PASSWDPOP_NULL_ARGUMENT);
    CHECK(fixture_domain(root, "batch.example", "u1:x:1\nu2:x:1\nu3:x:1\n") == 0);

    passwdpop_batch *batch = passwdpop_batch_new(config);
    CHECK(batch != NULL);
    if (!batch) goto cleanup;
    CHECK_STATUS(passwdpop_batch_add(batch, "batch.example", "u1", "one"), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_batch_add(batch, "batch.example", "u2", "two"), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_batch_add(batch, "batch.example", "nobody", "x"), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_batch_add(batch, "missing.example", "u1", "x"), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_batch_add(batch, "batch.example", "U1", "one again"), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_batch_add_hash(batch, "batch.example", "u3", "$1$saltsalt$493KEjZxuI6BvNXetbWgz1"),
                 PASSWDPOP_OK);
    /* Refused at once and not counted. */
    CHECK_STATUS(passwdpop_batch_add(batch, "batch.example", "", "x"), PASSWDPOP_INVALID_USER);
    CHECK_STATUS(passwdpop_batch_add(batch, "batch.example", "u1", NULL), PASSWDPOP_NULL_ARGUMENT);
    CHECK_STATUS(passwdpop_batch_add_hash(batch, "batch.example", "u1", "nope"), PASSWDPOP_INVALID_HASH);
    CHECK_STATUS(passwdpop_batch_add(NULL, "batch.example", "u1", "x"), PASSWDPOP_NULL_ARGUMENT);
    CHECK(passwdpop_batch_len(batch) == 6);
    CHECK(passwdpop_batch_len(NULL) == 0);
    CHECK_STATUS(passwdpop_batch_status(batch, 0), PASSWDPOP_INVALID_CONFIG);

    CHECK_STATUS(passwdpop_batch_commit(batch), PASSWDPOP_NO_SUCH_ACCOUNT);
    const int expected[] = {PASSWDPOP_OK, PASSWDPOP_OK, PASSWDPOP_NO_SUCH_ACCOUNT,
                            PASSWDPOP_NO_SUCH_DOMAIN, PASSWDPOP_OK, PASSWDPOP_OK};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        CHECK_STATUS(passwdpop_batch_status(batch, i), expected[i]);
    CHECK_STATUS(passwdpop_batch_status(batch, 6), PASSWDPOP_INVALID_CONFIG);
    CHECK_STATUS(passwdpop_batch_status(NULL, 0), PASSWDPOP_NULL_ARGUMENT);
    CHECK_STATUS(passwdpop_batch_commit(batch), PASSWDPOP_INVALID_CONFIG);
    CHECK_STATUS(passwdpop_batch_commit(NULL), PASSWDPOP_NULL_ARGUMENT);

    CHECK_STATUS(passwdpop_verify(config, "batch.example", "u1", "one again"), PASSWDPOP_OK);
    CHECK_STATUS(passwdpop_verify(config, "batch.example", "u2", "two"), PASSWDPOP_OK);
    /* An MD5-crypt hash from another server (mkpasswd -m md5crypt -S saltsalt migrated). */
    CHECK(contains("batch.example", "u3:$1$saltsalt$493KEjZxuI6BvNXetbWgz1:"));
    CHECK_STATUS(passwdpop_verify(config, "batch.example", "u3", "migrated"), PASSWDPOP_OK);

cleanup:
    passwdpop_batch_free(batch);
    passwdpop_batch_free(NULL);
    /* A batch from the defaults, freed with its passwords unhashed. */
    batch = passwdpop_batch_new(NULL);
    CHECK(batch != NULL);
    if (batch) CHECK_STATUS(passwdpop_batch_add(batch, "example.com", "bob", "never used"), PASSWDPOP_OK);
    passwdpop_batch_free(batch);
    passwdpop_config_free(config);
}

int main(void) {
    if (fixture_root(root, sizeof root) != 0) {
        perror("mkdtemp");
        return 2;
    }
    test_single_operations();
    test_batch();
    fixture_cleanup(root);
    return check_summary("test_admin");
}
