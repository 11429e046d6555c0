/* A minimal test harness for the C tests: CHECK records a pass or a failure
 * with its line, and check_summary() prints "N passed, N failed". */
#ifndef PASSWDPOP_CHECK_H
#define PASSWDPOP_CHECK_H

#include <stdio.h>

static int check_passed;
static int check_failed;

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (cond) {                                                         \
            check_passed++;                                                 \
        } else {                                                            \
            check_failed++;                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                 \
        }                                                                   \
    } while (0)

/* Checks a status and, on a mismatch, shows both codes and the message. */
#define CHECK_STATUS(call, expected)                                          \
    do {                                                                      \
        int check_got_ = (call);                                              \
        if (check_got_ == (expected)) {                                       \
            check_passed++;                                                   \
        } else {                                                              \
            check_failed++;                                                   \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d: %s\n", \
                    __FILE__, __LINE__, #call, check_got_,                    \
                    passwdpop_strerror(check_got_), (expected),               \
                    passwdpop_last_error());                                  \
        }                                                                     \
    } while (0)

static int check_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed == 0 ? 0 : 1;
}

#endif
