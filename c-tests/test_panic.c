/* A panic inside the library must come back as PASSWDPOP_INTERNAL_ERROR and
 * leave the host running. Linked against a build with the test-hooks
 * feature, where a change in the domain panic.passwdpop.test panics. */
#include "check.h"

#include <string.h>

#include "passwdpop.h"

int main(void) {
    for (int round = 0; round < 3; round++) {
        CHECK_STATUS(passwdpop_change(NULL, "panic.passwdpop.test", "bob", "pw"),
                     PASSWDPOP_INTERNAL_ERROR);
        CHECK(strstr(passwdpop_last_error(), "internal error") != NULL);
        CHECK(strstr(passwdpop_last_error(), "pw") == NULL);
    }
    /* The library still works after the panics. */
    CHECK_STATUS(passwdpop_change(NULL, "etc", "bob", "pw"), PASSWDPOP_INVALID_DOMAIN);
    CHECK(strcmp(passwdpop_strerror(PASSWDPOP_INTERNAL_ERROR), "internal error") == 0);
    return check_summary("test_panic");
}
