#define FFI_SCOPE "PASSWDPOP"
#define FFI_LIB "libpasswdpop.so.0"
/* The C ABI of libpasswdpop as PHP's FFI reads it (no preprocessor: no includes
 * or macros besides the two FFI::load() reads, which must come first). Passwdpop.php
 * gives it to FFI::cdef(); for PHP-FPM, preload it with
 * ffi.preload=/usr/share/php/Passwdpop/passwdpop.h. */

typedef struct passwdpop_config passwdpop_config;
typedef uint32_t passwdpop_layout;
typedef struct passwdpop_batch passwdpop_batch;

int passwdpop(const char *domain, const char *user, const char *password);
passwdpop_config *passwdpop_config_new(void);
void passwdpop_config_free(passwdpop_config *config);
int passwdpop_config_set_root(passwdpop_config *config, const char *dir);
int passwdpop_config_set_rounds(passwdpop_config *config, uint32_t rounds);
int passwdpop_config_set_lock_timeout_ms(passwdpop_config *config, uint32_t ms);
int passwdpop_config_set_layout(passwdpop_config *config, passwdpop_layout layout);
int passwdpop_change(const passwdpop_config *config, const char *domain, const char *user, const char *password);
int passwdpop_verify(const passwdpop_config *config, const char *domain, const char *user, const char *password);
const char *passwdpop_strerror(int status);
const char *passwdpop_last_error(void);
const char *passwdpop_version(void);
int passwdpop_config_set_threads(passwdpop_config *config, uint32_t threads);
int passwdpop_config_set_wait_visible(passwdpop_config *config, int wait);
int passwdpop_add(const passwdpop_config *config, const char *domain, const char *user, const char *password);
int passwdpop_remove(const passwdpop_config *config, const char *domain, const char *user);
int passwdpop_suspend(const passwdpop_config *config, const char *domain, const char *user);
int passwdpop_unsuspend(const passwdpop_config *config, const char *domain, const char *user);
int passwdpop_set_hash(const passwdpop_config *config, const char *domain, const char *user, const char *hash);
passwdpop_batch *passwdpop_batch_new(const passwdpop_config *config);
int passwdpop_batch_add(passwdpop_batch *batch, const char *domain, const char *user, const char *password);
int passwdpop_batch_add_hash(passwdpop_batch *batch, const char *domain, const char *user, const char *hash);
int passwdpop_batch_commit(passwdpop_batch *batch);
size_t passwdpop_batch_len(const passwdpop_batch *batch);
int passwdpop_batch_status(const passwdpop_batch *batch, size_t index);
void passwdpop_batch_free(passwdpop_batch *batch);
