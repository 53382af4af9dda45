/*
 * Multi-threaded C test of libedgegap_probe: THREADS threads create, start, poll, cancel and
 * free probes against the beacon-sim beacons for a bounded time, while completion callbacks
 * re-enter the library (poll, read, create and start new probes, free other probes and
 * themselves). Then one last probe must still finish and call back: no library thread is stuck.
 *
 * What it exercises:
 *  - a shared pool of running probes: threads add probes, take and free them, and cancel
 *    whatever is in it (possibly racing with a free: OK or INVALID_HANDLE, nothing else);
 *  - pool callbacks that free another pool probe, sometimes themselves, start new probes, and
 *    check that egp_probe_run_blocking is refused (EGP_RESULT_RUNTIME) on the callback thread;
 *  - A-frees-B-while-B-frees-A: two probes finishing together whose callbacks free each other
 *    (this deadlocked both runtime workers before callbacks stopped waiting on library threads);
 *  - callbacks that free their own probe; free while running with a heap user_data released
 *    right after free (AddressSanitizer catches a callback running after free returned);
 *  - double free and use after free returning EGP_RESULT_INVALID_HANDLE from any thread;
 *  - a free made inside a callback must not wait for a probe: the longest one is reported.
 *
 * usage: test_threads BEACON_LIST.json [SECONDS]   (default 3 seconds of churn)
 * Built by ffi/tests/run.sh with -std=c11 -Wall -Wextra -Werror -pthread, against the cdylib
 * and again with AddressSanitizer against the staticlib, and by ffi/tests/windows/run.sh with
 * mingw (winpthreads) for Windows, run under wine. A watchdog fails the test (exit 3) instead
 * of hanging when something deadlocks (SIGALRM on POSIX, a thread on Windows). Exits non-zero
 * on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edgegap_probe.h"

#define THREADS 8
#define POOL 32
#define WATCHDOG_SECONDS 90
/* Every wait in this test is bounded by this; a probe here takes well under a second. */
#define WAIT_LIMIT_MS 15000.0
/* A free made inside a callback must return at once; this is far above any lock wait and far
 * below the length of a long probe (4 s), so waiting for a probe's end is caught. */
#define CALLBACK_FREE_LIMIT_MS 1000.0

/* Quick probes: two probes per beacon, Atlantis (down) times out after 150 ms. */
static const char *QUICK =
    "{\"count\": 2, \"interval_ms\": 2, \"timeout_ms\": 150, \"protocol\": \"udp\","
    " \"early_decision\": false}";
/* Long probes (4 s unless cancelled or freed). */
static const char *LONG =
    "{\"count\": 200, \"interval_ms\": 20, \"protocol\": \"udp\", \"early_decision\": false}";

static const char *beacons;
static atomic_int passed;
static atomic_int failed;
static atomic_bool stopping;
static atomic_ullong pool[POOL];
static atomic_int pool_in_flight;
static atomic_long pool_callbacks;
static atomic_long iterations;
static atomic_long cross_pairs;
static atomic_long max_callback_free_us;

#define CHECK(cond, what)                                                                     \
    do {                                                                                      \
        if (cond) {                                                                           \
            atomic_fetch_add(&passed, 1);                                                     \
        } else {                                                                              \
            atomic_fetch_add(&failed, 1);                                                     \
            fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, (what), #cond);      \
        }                                                                                     \
    } while (0)

#define CHECK_CODE(expr, expected) CHECK_CODE2(expr, expected, expected)

/* The call must return one of two codes. */
#define CHECK_CODE2(expr, one, other)                                                         \
    do {                                                                                      \
        EgpResult got_ = (expr);                                                              \
        if (got_ == (one) || got_ == (other)) {                                               \
            atomic_fetch_add(&passed, 1);                                                     \
        } else {                                                                              \
            atomic_fetch_add(&failed, 1);                                                     \
            char message_[512];                                                               \
            size_t needed_ = 0;                                                               \
            if (egp_last_error_message(message_, sizeof message_, &needed_) != EGP_RESULT_OK) \
                message_[0] = '\0';                                                           \
            fprintf(stderr, "FAIL %s:%d: %s returned %s, expected %s: %s\n", __FILE__,         \
                    __LINE__, #expr, egp_result_name(got_), egp_result_name(one), message_);  \
        }                                                                                     \
    } while (0)

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    if (text != NULL && fread(text, 1, (size_t)size, f) != (size_t)size) {
        free(text);
        text = NULL;
    }
    if (text != NULL) {
        text[size] = '\0';
    }
    fclose(f);
    return text;
}

static void on_watchdog(int signal_number) {
    (void)signal_number;
    static const char message[] =
        "FAIL test_threads: still running after the watchdog's limit: a deadlock\n";
    ssize_t written = write(STDERR_FILENO, message, sizeof message - 1);
    (void)written;
    _exit(3);
}

static uint64_t next_random(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

/* Polls until finished (or the limit); the poll's own code must stay OK. */
static EgpProgress wait_finished(EgpProbe probe) {
    EgpProgress progress;
    memset(&progress, 0, sizeof progress);
    double start = now_ms();
    while (now_ms() - start < WAIT_LIMIT_MS) {
        EgpResult code = egp_probe_poll(probe, &progress);
        if (code != EGP_RESULT_OK || progress.finished) {
            CHECK_CODE(code, EGP_RESULT_OK);
            break;
        }
        sleep_ms(5);
    }
    return progress;
}

/* Waits until `*flag` reaches `value` (or the limit); returns whether it did. */
static int wait_for(atomic_int *flag, int value) {
    double start = now_ms();
    while (atomic_load(flag) < value) {
        if (now_ms() - start > WAIT_LIMIT_MS) {
            return 0;
        }
        sleep_ms(1);
    }
    return 1;
}

static EgpProbe create(const char *config) {
    EgpProbe probe = EGP_PROBE_NONE;
    CHECK_CODE(egp_probe_create_json(beacons, config, &probe), EGP_RESULT_OK);
    return probe;
}

/* A free made inside a callback: must succeed or find the handle already gone, and return at
 * once. */
static EgpResult timed_free(EgpProbe probe) {
    double start = now_ms();
    EgpResult code = egp_probe_free(probe);
    long us = (long)((now_ms() - start) * 1000.0);
    long seen = atomic_load(&max_callback_free_us);
    while (us > seen && !atomic_compare_exchange_weak(&max_callback_free_us, &seen, us)) {
    }
    return code;
}

/* Frees a probe this thread owns: OK, then the second free and a poll are INVALID_HANDLE. */
static void free_owned(EgpProbe probe, int in_callback) {
    CHECK_CODE(in_callback ? timed_free(probe) : egp_probe_free(probe), EGP_RESULT_OK);
    CHECK_CODE(egp_probe_free(probe), EGP_RESULT_INVALID_HANDLE);
    EgpProgress progress;
    CHECK_CODE(egp_probe_poll(probe, &progress), EGP_RESULT_INVALID_HANDLE);
}

/* ---- The pool: running probes anyone may take (and then owns) or cancel. ---- */

static void pool_callback(EgpProbe probe, EgpResult status, void *user_data);

/* Starts a probe with the pool callback and puts it into the pool; when the pool is full the
 * caller frees it again at once (free while running). */
static void pool_add(const char *config, uint64_t *rng, int in_callback) {
    EgpProbe probe = create(config);
    if (probe == EGP_PROBE_NONE) {
        return;
    }
    size_t slot = (size_t)(next_random(rng) % POOL);
    CHECK_CODE(egp_probe_set_callback(probe, pool_callback, (void *)(uintptr_t)slot),
               EGP_RESULT_OK);
    CHECK_CODE(egp_probe_start(probe), EGP_RESULT_OK);
    unsigned long long empty = 0;
    if (!atomic_compare_exchange_strong(&pool[slot], &empty, probe)) {
        free_owned(probe, in_callback);
    }
}

/* Takes a random probe out of the pool, if any, and frees it. */
static void pool_take_and_free(uint64_t *rng, int in_callback) {
    EgpProbe probe = atomic_exchange(&pool[next_random(rng) % POOL], 0);
    if (probe != EGP_PROBE_NONE) {
        free_owned(probe, in_callback);
    }
}

/* Cancels a random pool probe, which another thread may be freeing right now. */
static void pool_cancel(uint64_t *rng) {
    EgpProbe probe = atomic_load(&pool[next_random(rng) % POOL]);
    if (probe != EGP_PROBE_NONE) {
        CHECK_CODE2(egp_probe_cancel(probe), EGP_RESULT_OK, EGP_RESULT_INVALID_HANDLE);
    }
}

static void pool_callback(EgpProbe probe, EgpResult status, void *user_data) {
    atomic_fetch_add(&pool_in_flight, 1);
    atomic_fetch_add(&pool_callbacks, 1);
    size_t slot = (size_t)(uintptr_t)user_data;
    uint64_t rng = probe * 0x9E3779B97F4A7C15ull + 1;

    CHECK(status == EGP_RESULT_OK || status == EGP_RESULT_PROBE_FAILED,
          "a pool probe ends with a report (cancelled or not)");
    /* Re-entering on its own probe, which a game thread may be freeing right now. */
    EgpProgress progress;
    EgpResult code = egp_probe_poll(probe, &progress);
    CHECK_CODE2(code, EGP_RESULT_OK, EGP_RESULT_INVALID_HANDLE);
    CHECK(code != EGP_RESULT_OK || progress.finished == 1, "finished before the callback");
    size_t needed = 0;
    code = egp_probe_payload_json(probe, NULL, 0, &needed);
    CHECK(code == EGP_RESULT_BUFFER_TOO_SMALL || code == EGP_RESULT_INVALID_HANDLE ||
              code == (EgpResult)status,
          "payload size query inside the callback");
    CHECK_CODE(egp_probe_run_blocking(probe), EGP_RESULT_RUNTIME);

    /* Free another pool probe (maybe running, maybe finished, maybe calling back). */
    pool_take_and_free(&rng, 1);
    pool_cancel(&rng);
    if (!atomic_load(&stopping) && next_random(&rng) % 3 == 0) {
        pool_add(next_random(&rng) % 4 == 0 ? LONG : QUICK, &rng, 1);
    }
    /* Free itself, half of the time, if nobody took it meanwhile. */
    unsigned long long self = probe;
    if (next_random(&rng) % 2 == 0 && atomic_compare_exchange_strong(&pool[slot], &self, 0)) {
        free_owned(probe, 1);
    }
    atomic_fetch_sub(&pool_in_flight, 1);
}

/* ---- A frees B while B frees A. ---- */

typedef struct {
    EgpProbe probes[2];
    atomic_uint freed_by_callback[2]; /* the code of the free a callback made, or 999 */
    atomic_int entered;
    atomic_int left;
} CrossPair;

static void cross_callback(EgpProbe probe, EgpResult status, void *user_data) {
    (void)status;
    CrossPair *pair = user_data;
    atomic_fetch_add(&pair->entered, 1);
    int other = pair->probes[0] == probe ? 1 : 0;
    /* Stay a moment so the partner's callback gets the chance to run at the same time. */
    sleep_ms(1);
    atomic_store(&pair->freed_by_callback[other], (unsigned)timed_free(pair->probes[other]));
    atomic_fetch_add(&pair->left, 1); /* the last access to `pair` */
}

static void cross_free(void) {
    CrossPair *pair = calloc(1, sizeof *pair);
    for (int i = 0; i < 2; i++) {
        atomic_init(&pair->freed_by_callback[i], 999u);
        pair->probes[i] = create(QUICK);
    }
    atomic_init(&pair->entered, 0);
    atomic_init(&pair->left, 0);
    for (int i = 0; i < 2; i++) {
        CHECK_CODE(egp_probe_set_callback(pair->probes[i], cross_callback, pair), EGP_RESULT_OK);
    }
    for (int i = 0; i < 2; i++) {
        CHECK_CODE(egp_probe_start(pair->probes[i]), EGP_RESULT_OK);
    }
    CHECK(wait_for(&pair->entered, 1), "one of the cross-freeing callbacks ran");
    CHECK(wait_for(&pair->left, atomic_load(&pair->entered)), "the callbacks returned");
    unsigned by_game[2];
    for (int i = 0; i < 2; i++) {
        by_game[i] = egp_probe_free(pair->probes[i]);
    }
    /* Once both handles are freed no callback can start: wait for one still returning. */
    CHECK(wait_for(&pair->left, atomic_load(&pair->entered)), "the callbacks returned");
    for (int i = 0; i < 2; i++) {
        unsigned by_callback = atomic_load(&pair->freed_by_callback[i]);
        int ok = (by_callback == EGP_RESULT_OK) + (by_game[i] == EGP_RESULT_OK);
        CHECK(ok == 1, "each probe of a cross pair is freed exactly once");
        CHECK((by_callback == 999u || by_callback == EGP_RESULT_OK ||
               by_callback == EGP_RESULT_INVALID_HANDLE) &&
                  (by_game[i] == EGP_RESULT_OK || by_game[i] == EGP_RESULT_INVALID_HANDLE),
              "a second free is INVALID_HANDLE");
    }
    atomic_fetch_add(&cross_pairs, 1);
    free(pair);
}

/* ---- A callback that frees its own probe. ---- */

typedef struct {
    atomic_uint code;
    atomic_int done;
} SelfFree;

static void self_free_callback(EgpProbe probe, EgpResult status, void *user_data) {
    (void)status;
    SelfFree *record = user_data;
    atomic_store(&record->code, (unsigned)timed_free(probe));
    atomic_store(&record->done, 1); /* the last access to `record` */
}

static void self_free(void) {
    SelfFree *record = calloc(1, sizeof *record);
    atomic_init(&record->code, 999u);
    atomic_init(&record->done, 0);
    EgpProbe probe = create(QUICK);
    CHECK_CODE(egp_probe_set_callback(probe, self_free_callback, record), EGP_RESULT_OK);
    CHECK_CODE(egp_probe_start(probe), EGP_RESULT_OK);
    int done = wait_for(&record->done, 1);
    CHECK(done, "the self-freeing callback ran");
    if (done) {
        CHECK(atomic_load(&record->code) == EGP_RESULT_OK, "a callback frees its own probe");
        CHECK_CODE(egp_probe_free(probe), EGP_RESULT_INVALID_HANDLE);
        free(record);
    } else {
        CHECK_CODE(egp_probe_free(probe), EGP_RESULT_OK);
        free(record); /* no callback after free returned */
    }
}

/* ---- Free while running: the heap user_data dies right after free returns. ---- */

static void count_callback(EgpProbe probe, EgpResult status, void *user_data) {
    (void)probe;
    (void)status;
    atomic_fetch_add((atomic_int *)user_data, 1);
}

static void free_while_running(uint64_t *rng) {
    atomic_int *calls = malloc(sizeof *calls);
    atomic_init(calls, 0);
    EgpProbe probe = create(next_random(rng) % 2 ? QUICK : LONG);
    CHECK_CODE(egp_probe_set_callback(probe, count_callback, calls), EGP_RESULT_OK);
    CHECK_CODE(egp_probe_start(probe), EGP_RESULT_OK);
    sleep_ms((long)(next_random(rng) % 200));
    if (next_random(rng) % 2) {
        CHECK_CODE(egp_probe_cancel(probe), EGP_RESULT_OK);
    }
    free_owned(probe, 0);
    CHECK(atomic_load(calls) <= 1, "the callback runs at most once");
    free(calls); /* ASan reports a callback touching it after free returned */
}

/* ---- The simple lifecycle, run_blocking, cancel before start. ---- */

static void lifecycle(void) {
    EgpProbe probe = create(QUICK);
    CHECK_CODE(egp_probe_start(probe), EGP_RESULT_OK);
    EgpProgress progress = wait_finished(probe);
    CHECK(progress.finished == 1 && progress.status == EGP_RESULT_OK, "a plain probe finishes");
    char payload[512];
    CHECK_CODE(egp_probe_payload_json(probe, payload, sizeof payload, NULL), EGP_RESULT_OK);
    CHECK(strstr(payload, "\"Oslo\"") != NULL, "the payload has Oslo");
    free_owned(probe, 0);
}

static void blocking(void) {
    EgpProbe probe = create(QUICK);
    CHECK_CODE(egp_probe_run_blocking(probe), EGP_RESULT_OK);
    free_owned(probe, 0);
}

static void cancel_before_start(void) {
    EgpProbe probe = create(QUICK);
    CHECK_CODE(egp_probe_cancel(probe), EGP_RESULT_OK);
    CHECK_CODE(egp_probe_start(probe), EGP_RESULT_CANCELLED);
    free_owned(probe, 0);
}

typedef struct {
    int index;
    double until_ms;
} Worker;

static void *worker(void *arg) {
    Worker *w = arg;
    uint64_t rng = 0x2545F4914F6CDD1Dull * (uint64_t)(w->index + 1);
    while (now_ms() < w->until_ms) {
        switch (next_random(&rng) % 10) {
        case 0:
            lifecycle();
            break;
        case 1:
        case 2:
            pool_add(next_random(&rng) % 4 == 0 ? LONG : QUICK, &rng, 0);
            break;
        case 3:
            pool_take_and_free(&rng, 0);
            break;
        case 4:
            for (int i = 0; i < 4; i++) {
                pool_cancel(&rng);
            }
            break;
        case 5:
            cross_free();
            break;
        case 6:
            self_free();
            break;
        case 7:
            free_while_running(&rng);
            break;
        case 8:
            cancel_before_start();
            break;
        default:
            if (next_random(&rng) % 4 == 0) {
                blocking();
            } else {
                cross_free();
            }
            break;
        }
        atomic_fetch_add(&iterations, 1);
    }
    return NULL;
}

static void drain_pool(void) {
    for (size_t i = 0; i < POOL; i++) {
        EgpProbe probe = atomic_exchange(&pool[i], 0);
        if (probe != EGP_PROBE_NONE) {
            free_owned(probe, 0);
        }
    }
}

/* After the churn: a new probe still runs to the end and calls back. */
static void final_probe(void) {
    atomic_int *calls = malloc(sizeof *calls);
    atomic_init(calls, 0);
    EgpProbe probe = create(QUICK);
    CHECK_CODE(egp_probe_set_callback(probe, count_callback, calls), EGP_RESULT_OK);
    double started = now_ms();
    CHECK_CODE(egp_probe_start(probe), EGP_RESULT_OK);
    EgpProgress progress = wait_finished(probe);
    CHECK(progress.finished == 1 && progress.status == EGP_RESULT_OK,
          "a probe started after the churn finishes: no worker is stuck");
    CHECK(wait_for(calls, 1), "its callback runs: the callback thread is not stuck");
    printf("C threads: the final probe finished in %.0f ms\n", now_ms() - started);
    free_owned(probe, 0);
    CHECK(atomic_load(calls) == 1, "called back once");
    free(calls);
}

#ifdef _WIN32
/* Windows has no SIGALRM: a detached thread is the watchdog. */
static void *watchdog_thread(void *unused) {
    (void)unused;
    sleep_ms(WATCHDOG_SECONDS * 1000L);
    on_watchdog(0);
    return NULL;
}
#endif

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s BEACON_LIST.json [SECONDS]\n", argv[0]);
        return 2;
    }
    beacons = read_file(argv[1]);
    if (beacons == NULL) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }
    double seconds = argc == 3 ? atof(argv[2]) : 3.0;
#ifdef _WIN32
    pthread_t watchdog;
    if (pthread_create(&watchdog, NULL, watchdog_thread, NULL) != 0) {
        fprintf(stderr, "cannot start the watchdog thread\n");
        return 2;
    }
    pthread_detach(watchdog);
#else
    signal(SIGALRM, on_watchdog);
    alarm(WATCHDOG_SECONDS);
#endif

    double started = now_ms();
    pthread_t threads[THREADS];
    Worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i].index = i;
        workers[i].until_ms = started + seconds * 1000.0;
        if (pthread_create(&threads[i], NULL, worker, &workers[i]) != 0) {
            fprintf(stderr, "cannot start thread %d\n", i);
            return 2;
        }
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
    }
    /* No new pool probes from callbacks from here on; free what is left, wait for callbacks
     * still running, and free what they added before they saw `stopping`. */
    atomic_store(&stopping, 1);
    drain_pool();
    double waited = now_ms();
    while (atomic_load(&pool_in_flight) > 0 && now_ms() - waited < WAIT_LIMIT_MS) {
        sleep_ms(1);
    }
    CHECK(atomic_load(&pool_in_flight) == 0, "pool callbacks returned");
    drain_pool();

    final_probe();
    double max_free_ms = (double)atomic_load(&max_callback_free_us) / 1000.0;
    CHECK(max_free_ms < CALLBACK_FREE_LIMIT_MS, "a free inside a callback returns at once");
    printf("C threads: %d threads, %ld iterations, %ld cross-freeing pairs, %ld pool callbacks, "
           "longest free inside a callback %.2f ms, %.1f s in all\n",
           THREADS, atomic_load(&iterations), atomic_load(&cross_pairs),
           atomic_load(&pool_callbacks), max_free_ms, (now_ms() - started) / 1000.0);
    printf("C threads: %d passed, %d failed\n", atomic_load(&passed), atomic_load(&failed));
    free((void *)beacons);
    return atomic_load(&failed) == 0 ? 0 : 1;
}
