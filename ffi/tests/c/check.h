/*
 * The check macros of the single-threaded C tests (test_probe.c, test_flow.c): count each
 * check, print each failure with its place, and for a result code its name and the library's
 * last error of this thread. Include after edgegap_probe.h and stdio.h.
 */
#ifndef EGP_TEST_CHECK_H
#define EGP_TEST_CHECK_H

static int passed = 0;
static int failed = 0;

#define CHECK(cond, what)                                                                     \
    do {                                                                                      \
        if (cond) {                                                                           \
            passed++;                                                                         \
        } else {                                                                              \
            failed++;                                                                         \
            fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, (what), #cond);      \
        }                                                                                     \
    } while (0)

#define CHECK_CODE(expr, expected)                                                            \
    do {                                                                                      \
        EgpResult got_ = (expr);                                                              \
        if (got_ == (expected)) {                                                             \
            passed++;                                                                         \
        } else {                                                                              \
            failed++;                                                                         \
            fprintf(stderr, "FAIL %s:%d: %s returned %s, expected %s: %s\n", __FILE__,         \
                    __LINE__, #expr, egp_result_name(got_), egp_result_name(expected),        \
                    last_error());                                                            \
        }                                                                                     \
    } while (0)

static const char *last_error(void) {
    static char message[1024];
    size_t needed = 0;
    if (egp_last_error_message(message, sizeof message, &needed) != EGP_RESULT_OK) {
        snprintf(message, sizeof message, "(message of %zu bytes)", needed);
    }
    return message;
}

#endif
