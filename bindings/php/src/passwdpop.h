#define FFI_SCOPE "PASSWDPOP"
#define FFI_LIB "libpasswdpop.so.0"
/* The C ABI of libpasswdpop as PHP's FFI reads it (no preprocessor: no includes
 * or macros besides the two FFI::load() reads, which must come first). Passwdpop.php
 * gives it to FFI::cdef(); for PHP-FPM, preload it with
 * ffi.preload=/usr/share/php/Passwdpop/passwdpop.h. */

typedef struct passwdpop_config passwdpop_config;
typedef uint32_t passwdpop_layout;

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
