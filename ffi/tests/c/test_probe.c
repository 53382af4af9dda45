/*
 * C test of libedgegap_probe: a real probe against beacon-sim beacons on loopback (the
 * scenario in ffi/tests/scenario.toml), then every misuse the ABI promises to survive.
 *
 * usage: test_probe BEACON_LIST.json
 * Built by ffi/tests/run.sh with -std=c11 -Wall -Wextra -Werror, and again with
 * AddressSanitizer; and by ffi/tests/windows/run.sh with mingw, run under wine.
 * Prints "N passed, M failed" and exits non-zero on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "edgegap_probe.h"

#include "check.h"

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
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

/* Polls until the probe has finished or `limit_ms` passed; returns the last progress. */
static EgpProgress poll_until_finished(EgpProbe probe, double limit_ms) {
    EgpProgress progress;
    memset(&progress, 0, sizeof progress);
    double start = now_ms();
    while (now_ms() - start < limit_ms) {
        if (egp_probe_poll(probe, &progress) != EGP_RESULT_OK || progress.finished) {
            break;
        }
        sleep_ms(5);
    }
    return progress;
}

/* Reads a text through the size-query protocol; the caller frees it. */
static char *read_text(EgpProbe probe,
                       EgpResult (*read)(EgpProbe, char *, size_t, size_t *)) {
    size_t needed = 0;
    if (read(probe, NULL, 0, &needed) != EGP_RESULT_BUFFER_TOO_SMALL || needed == 0) {
        return NULL;
    }
    char *text = malloc(needed);
    if (text != NULL && read(probe, text, needed, &needed) != EGP_RESULT_OK) {
        free(text);
        text = NULL;
    }
    return text;
}

/* Position of `"city": "<city>"` in the report, or -1. */
static long city_at(const char *report, const char *city) {
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"city\": \"%s\"", city);
    const char *at = strstr(report, pattern);
    return at == NULL ? -1 : (long)(at - report);
}

/* The string value of the first `"<key>": "` at or after `from` in `report`, copied into
 * `out` (empty when absent). */
static void value_after(const char *report, long from, const char *key, char *out, size_t len) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": \"", key);
    out[0] = '\0';
    if (from < 0) {
        return;
    }
    const char *at = strstr(report + from, pattern);
    if (at == NULL) {
        return;
    }
    at += strlen(pattern);
    size_t n = 0;
    while (at[n] != '\0' && at[n] != '"' && n + 1 < len) {
        n++;
    }
    memcpy(out, at, n);
    out[n] = '\0';
}

static int count_char(const char *text, char c) {
    int n = 0;
    for (; *text; text++) {
        n += *text == c;
    }
    return n;
}

typedef struct {
    atomic_int calls;
    atomic_uint status;
    atomic_ullong probe;
} CallbackRecord;

static void on_done(EgpProbe probe, EgpResult status, void *user_data) {
    CallbackRecord *record = user_data;
    atomic_store(&record->status, status);
    atomic_store(&record->probe, probe);
    atomic_fetch_add(&record->calls, 1);
}

static void test_version_and_config(void) {
    CHECK(egp_version() != NULL && strlen(egp_version()) > 0, "version string");
    CHECK(egp_abi_version() == EGP_ABI_VERSION, "ABI version matches the header");
    CHECK(strcmp(egp_result_name(EGP_RESULT_BUFFER_TOO_SMALL), "EGP_RESULT_BUFFER_TOO_SMALL") == 0,
          "result names");
    CHECK(strcmp(egp_result_name(9999), "EGP_RESULT_UNKNOWN") == 0, "unknown result name");

    EgpConfig config;
    CHECK_CODE(egp_config_init(NULL, sizeof config), EGP_RESULT_NULL_ARGUMENT);
    CHECK_CODE(egp_config_init(&config, 4), EGP_RESULT_INVALID_CONFIG);
    CHECK_CODE(egp_config_init(&config, sizeof config), EGP_RESULT_OK);
    CHECK(config.size == sizeof config, "config_init stores the size");
    CHECK(config.count >= 1 && config.timeout_ms > 0.0 && config.tie_factor >= 1.0, "defaults");
    CHECK(config.adaptive == 1 && config.max_probes == 30 && config.confidence == 0.95,
          "adaptive sampling on by default, 30 probes, 95 %");
    /* A caller compiled against the first layout (up to max_latency_ms) still works. */
    size_t first_layout = offsetof(EgpConfig, adaptive);
    EgpConfig old;
    memset(&old, 0xAB, sizeof old);
    CHECK_CODE(egp_config_init(&old, first_layout), EGP_RESULT_OK);
    CHECK(old.size == first_layout && old.count == config.count, "first layout initialised");
    CHECK(old.adaptive == 0xABABABABu, "nothing written past the caller's size");
}

/* The payload is the ticket's `attributes` object, whole: a ticket flow given it sends
 * {"attributes": <payload>, "profile": ...} byte for byte. */
static void test_payload_is_the_ticket_attributes(const char *payload) {
    EgpFlow flow = EGP_FLOW_NONE;
    CHECK_CODE(egp_flow_create(EGP_FLOW_KIND_TICKET, "token-not-sent", "casual", payload, NULL,
                               "{\"seed\": 7}", &flow),
               EGP_RESULT_OK);
    EgpFlowStep step;
    CHECK_CODE(egp_flow_step(flow, 0, &step), EGP_RESULT_OK);
    CHECK(step.action == EGP_FLOW_ACTION_SEND && step.method == EGP_HTTP_METHOD_POST,
          "the ticket flow starts with POST");
    char body[4096];
    CHECK_CODE(egp_flow_text(flow, EGP_FLOW_TEXT_REQUEST_BODY, body, sizeof body, NULL),
               EGP_RESULT_OK);
    char expected[4200];
    snprintf(expected, sizeof expected, "{\"attributes\":%s,\"profile\":\"casual\"}", payload);
    CHECK(strcmp(body, expected) == 0, "the ticket body's attributes are the payload, whole");
    if (strcmp(body, expected) != 0) {
        fprintf(stderr, "  body:     %s\n  expected: %s\n", body, expected);
    }
    CHECK_CODE(egp_flow_free(flow), EGP_RESULT_OK);
}

/* A run's error belongs to the probe: readable from it, whatever failed since on this thread. */
static void test_probe_error_message(const char *beacons) {
    EgpProbe probe = EGP_PROBE_NONE;
    CHECK_CODE(egp_probe_create(beacons, NULL, &probe), EGP_RESULT_OK);
    char message[512];
    size_t needed = 0;
    CHECK_CODE(egp_probe_error_message(probe, message, sizeof message, &needed), EGP_RESULT_OK);
    CHECK(message[0] == '\0' && needed == 1, "no error before the run");
    CHECK_CODE(egp_probe_cancel(probe), EGP_RESULT_OK);
    CHECK_CODE(egp_probe_free(987654321), EGP_RESULT_INVALID_HANDLE);
    CHECK(strstr(last_error(), "987654321") != NULL, "the thread's last error is another one");
    CHECK_CODE(egp_probe_error_message(probe, message, sizeof message, NULL), EGP_RESULT_OK);
    CHECK(strstr(message, "cancelled before it started") != NULL,
          "the probe's own error, not the thread's last one");
    CHECK_CODE(egp_probe_error_message(probe, NULL, 0, &needed), EGP_RESULT_BUFFER_TOO_SMALL);
    CHECK(needed > 10, "the run's error has a size");
    CHECK(needed == strlen(message) + 1, "the size query agrees");
    CHECK_CODE(egp_probe_error_message(probe, NULL, 8, NULL), EGP_RESULT_NULL_ARGUMENT);
    CHECK_CODE(egp_probe_free(probe), EGP_RESULT_OK);
    CHECK_CODE(egp_probe_error_message(probe, message, sizeof message, NULL),
               EGP_RESULT_INVALID_HANDLE);
}

static void test_real_probe(const char *beacons) {
    EgpConfig config;
    egp_config_init(&config, sizeof config);
    EgpProbe probe = EGP_PROBE_NONE;
    CHECK_CODE(egp_probe_create(beacons, &config, &probe), EGP_RESULT_OK);
    CHECK(probe != EGP_PROBE_NONE, "a created probe has a handle");

    /* Before the start. */
    EgpProgress progress;
    CHECK_CODE(egp_probe_poll(probe, &progress), EGP_RESULT_NOT_STARTED);
    CHECK(progress.state == EGP_STATE_CREATED && progress.targets_total == 4,
          "poll before start reports CREATED and the beacon count");
    char small[8];
    CHECK_CODE(egp_probe_result_json(probe, small, sizeof small, NULL), EGP_RESULT_NOT_STARTED);

    CallbackRecord record;
    atomic_init(&record.calls, 0);
    atomic_init(&record.status, 999u);
    atomic_init(&record.probe, 0ull);
    CHECK_CODE(egp_probe_set_callback(probe, on_done, &record), EGP_RESULT_OK);

    double started = now_ms();
    CHECK_CODE(egp_probe_start(probe), EGP_RESULT_OK);
    CHECK(now_ms() - started < 1000.0, "start does not block");
    CHECK_CODE(egp_probe_start(probe), EGP_RESULT_ALREADY_STARTED);
    CHECK_CODE(egp_probe_set_callback(probe, on_done, &record), EGP_RESULT_ALREADY_STARTED);

    progress = poll_until_finished(probe, 15000.0);
    CHECK(progress.finished == 1 && progress.state == EGP_STATE_FINISHED, "the probe finishes");
    CHECK(progress.status == EGP_RESULT_OK, "the run succeeded");
    CHECK(progress.probes_sent > 0 && progress.samples > 0, "probes were sent and answered");
    CHECK(progress.targets_total == 4 && progress.targets_done == 4, "every beacon is done");
    CHECK(progress.cancelled == 0, "not cancelled");

    /* Buffers: size query, too small, exact. */
    size_t needed = 0;
    CHECK_CODE(egp_probe_result_json(probe, NULL, 0, &needed), EGP_RESULT_BUFFER_TOO_SMALL);
    CHECK(needed > 100, "needed size reported");
    CHECK_CODE(egp_probe_result_json(probe, NULL, 16, &needed), EGP_RESULT_NULL_ARGUMENT);
    char *report = malloc(needed);
    size_t needed_again = 0;
    report[0] = 'x';
    CHECK_CODE(egp_probe_result_json(probe, report, needed - 1, &needed_again),
               EGP_RESULT_BUFFER_TOO_SMALL);
    CHECK(needed_again == needed && report[0] == '\0', "too small: same size, empty string");
    CHECK_CODE(egp_probe_result_json(probe, report, needed, NULL), EGP_RESULT_OK);
    CHECK(strlen(report) == needed - 1, "the NUL is counted in the needed size");

    /* The ranking: Oslo (5 ms) < Paris (30 ms) < Tokyo (60 ms); Atlantis unreachable. */
    const char *unreachable_key = strstr(report, "\"unreachable\": [");
    long unreachable = unreachable_key == NULL ? -1 : (long)(unreachable_key - report);
    long oslo = city_at(report, "Oslo"), paris = city_at(report, "Paris");
    long tokyo = city_at(report, "Tokyo"), atlantis = city_at(report, "Atlantis");
    CHECK(oslo >= 0 && paris > oslo && tokyo > paris, "ranked Oslo, Paris, Tokyo");
    CHECK(tokyo < unreachable && atlantis > unreachable, "Atlantis is in unreachable only");
    /* Atlantis's ports are closed. Under auto its UDP failed (refused by ICMP port unreachable
     * on Linux; no reply on Windows, where the library turns SIO_UDP_CONNRESET off), then its
     * TCP port was tried, and the reset says refused on every platform. */
    char code[32], protocol[16];
    value_after(report, atlantis, "code", code, sizeof code);
    value_after(report, atlantis, "protocol", protocol, sizeof protocol);
    CHECK(strcmp(code, "refused") == 0, "Atlantis is refused");
    CHECK(strcmp(protocol, "tcp") == 0, "Atlantis was tried over TCP after UDP");
    /* How sure the choice is: stated at the top level, Paris the runner-up. */
    const char *confidence = strstr(report, "\"confidence\": {");
    CHECK(confidence != NULL, "the report states its confidence");
    if (confidence != NULL) {
        char verdict[32], runner_up[32];
        value_after(report, (long)(confidence - report), "verdict", verdict, sizeof verdict);
        value_after(report, (long)(confidence - report), "runner_up", runner_up, sizeof runner_up);
        CHECK(strcmp(verdict, "separated") == 0, "Oslo is ahead of Paris, separated");
        CHECK(strcmp(runner_up, "Paris") == 0, "Paris is the runner-up");
    }
    free(report);

    char *payload = read_text(probe, egp_probe_payload_json);
    CHECK(payload != NULL, "payload readable");
    if (payload != NULL) {
        CHECK(strstr(payload, "\"beacons\"") != NULL, "payload under the default attribute");
        CHECK(strstr(payload, "\"Oslo\":") && strstr(payload, "\"Paris\":") &&
                  strstr(payload, "\"Tokyo\":"),
              "payload has every reachable city");
        CHECK(strstr(payload, "Atlantis") == NULL, "payload has no unreachable city");
        CHECK(count_char(payload, ':') == 4, "payload has exactly three cities");
        test_payload_is_the_ticket_attributes(payload);
        free(payload);
    }
    char *run_error = read_text(probe, egp_probe_error_message);
    CHECK(run_error != NULL && run_error[0] == '\0', "a successful run has no error message");
    free(run_error);

    /* The callback ran once, on completion, with this probe and OK. */
    double waited = now_ms();
    while (atomic_load(&record.calls) == 0 && now_ms() - waited < 2000.0) {
        sleep_ms(2);
    }
    CHECK(atomic_load(&record.calls) == 1, "callback called once");
    CHECK(atomic_load(&record.status) == EGP_RESULT_OK, "callback status OK");
    CHECK(atomic_load(&record.probe) == probe, "callback gets its probe");

    CHECK_CODE(egp_probe_free(probe), EGP_RESULT_OK);
}

/* UDP only: the closed port of Atlantis must never stop the receive loop, so the three
 * others are still measured and ranked; Atlantis is unreachable, refused where the system
 * says which datagram hit a closed port (Linux's error queue), no reply on Windows. */
static void test_udp_with_a_closed_port(const char *beacons) {
    EgpProbe probe = EGP_PROBE_NONE;
    CHECK_CODE(egp_probe_create_json(beacons,
                                     "{\"protocol\": \"udp\", \"count\": 4, \"timeout_ms\": 500}",
                                     &probe),
               EGP_RESULT_OK);
    CHECK_CODE(egp_probe_run_blocking(probe), EGP_RESULT_OK);
    char *report = read_text(probe, egp_probe_result_json);
    CHECK(report != NULL, "UDP report readable");
    if (report != NULL) {
        long oslo = city_at(report, "Oslo"), paris = city_at(report, "Paris");
        long tokyo = city_at(report, "Tokyo"), atlantis = city_at(report, "Atlantis");
        const char *unreachable_key = strstr(report, "\"unreachable\": [");
        long unreachable = unreachable_key == NULL ? -1 : (long)(unreachable_key - report);
        CHECK(oslo >= 0 && paris > oslo && tokyo > paris && tokyo < unreachable,
              "UDP: the others are measured and ranked despite the closed port");
        CHECK(atlantis > unreachable, "UDP: Atlantis is unreachable");
        char code[32];
        value_after(report, atlantis, "code", code, sizeof code);
#ifdef _WIN32
        CHECK(strcmp(code, "no_reply") == 0, "UDP on Windows: a closed port is no reply");
#else
        CHECK(strcmp(code, "refused") == 0, "UDP on Linux: a closed port is refused");
#endif
        free(report);
    }
    CHECK_CODE(egp_probe_free(probe), EGP_RESULT_OK);
}

#ifdef _WIN32
/* ICMP is refused on Windows at once, with a message that says so, for every beacon. */
static void test_icmp_refused_on_windows(const char *beacons) {
    EgpProbe probe = EGP_PROBE_NONE;
    CHECK_CODE(egp_probe_create_json(beacons, "{\"protocol\": \"icmp\"}", &probe), EGP_RESULT_OK);
    double started = now_ms();
    EgpResult status = egp_probe_run_blocking(probe);
    CHECK(now_ms() - started < 2000.0, "ICMP on Windows ends at once");
    char *report = read_text(probe, egp_probe_result_json);
    if (status == EGP_RESULT_OK && report != NULL) {
        const char *unreachable_key = strstr(report, "\"unreachable\": [");
        long unreachable = unreachable_key == NULL ? -1 : (long)(unreachable_key - report);
        CHECK(unreachable >= 0 && city_at(report, "Oslo") > unreachable &&
                  city_at(report, "Tokyo") > unreachable,
              "ICMP on Windows: every beacon unreachable");
        char code[32];
        value_after(report, city_at(report, "Oslo"), "code", code, sizeof code);
        CHECK(strcmp(code, "send_failed") == 0, "ICMP on Windows: send_failed");
        CHECK(strstr(report, "not implemented on Windows") != NULL,
              "ICMP on Windows: the reason says so");
    } else {
        /* A run where nothing was measured may also fail as a whole: then the message says. */
        CHECK(status == EGP_RESULT_PROBE_FAILED, "ICMP on Windows: OK or PROBE_FAILED");
        CHECK(strstr(last_error(), "Windows") != NULL, "ICMP on Windows: the message says so");
    }
    free(report);
    CHECK_CODE(egp_probe_free(probe), EGP_RESULT_OK);
}
#endif

static void test_misuse(const char *beacons) {
    EgpProbe probe = 12345;
    EgpProgress progress;
    char buf[64];
    size_t needed = 0;

    CHECK_CODE(egp_probe_create(NULL, NULL, &probe), EGP_RESULT_NULL_ARGUMENT);
    CHECK(probe == EGP_PROBE_NONE, "a failed create leaves EGP_PROBE_NONE");
    CHECK(strstr(last_error(), "beacons_json") != NULL, "message names the argument");
    CHECK_CODE(egp_last_error_code(), EGP_RESULT_NULL_ARGUMENT);
    CHECK_CODE(egp_probe_create(beacons, NULL, NULL), EGP_RESULT_NULL_ARGUMENT);
    CHECK_CODE(egp_probe_create("{not json", NULL, &probe), EGP_RESULT_BAD_BEACON_LIST);
    CHECK(strlen(last_error()) > 0, "invalid JSON has a message");
    CHECK_CODE(egp_probe_create("{\"locations\": []}", NULL, &probe), EGP_RESULT_NO_BEACONS);
    CHECK_CODE(egp_probe_create("{\"locations\": \"\xff\xfe\"}", NULL, &probe),
               EGP_RESULT_INVALID_UTF8);
    CHECK_CODE(egp_probe_create_json(beacons, "{\"count\": 0}", &probe),
               EGP_RESULT_INVALID_CONFIG);
    CHECK_CODE(egp_probe_create_json(beacons, "{\"cuont\": 3}", &probe), EGP_RESULT_INVALID_JSON);

    EgpConfig config;
    egp_config_init(&config, sizeof config);
    config.protocol = 77;
    CHECK_CODE(egp_probe_create(beacons, &config, &probe), EGP_RESULT_INVALID_CONFIG);
    config.protocol = EGP_PROTOCOL_AUTO;
    config.size = 3;
    CHECK_CODE(egp_probe_create(beacons, &config, &probe), EGP_RESULT_INVALID_CONFIG);

    /* The NULL handle and made-up handles. */
    CHECK_CODE(egp_probe_start(EGP_PROBE_NONE), EGP_RESULT_INVALID_HANDLE);
    CHECK_CODE(egp_probe_poll(EGP_PROBE_NONE, &progress), EGP_RESULT_INVALID_HANDLE);
    CHECK_CODE(egp_probe_cancel(EGP_PROBE_NONE), EGP_RESULT_INVALID_HANDLE);
    CHECK_CODE(egp_probe_result_json(EGP_PROBE_NONE, buf, sizeof buf, &needed),
               EGP_RESULT_INVALID_HANDLE);
    CHECK_CODE(egp_probe_free(EGP_PROBE_NONE), EGP_RESULT_OK);
    CHECK_CODE(egp_probe_poll(0xDEADBEEFull, &progress), EGP_RESULT_INVALID_HANDLE);

    /* Free twice, use after free. */
    CHECK_CODE(egp_probe_create(beacons, NULL, &probe), EGP_RESULT_OK);
    CHECK_CODE(egp_probe_poll(probe, NULL), EGP_RESULT_NULL_ARGUMENT);
    CHECK_CODE(egp_probe_set_previous_json(probe, "not a report"), EGP_RESULT_INVALID_JSON);
    CHECK_CODE(egp_probe_set_previous_json(probe, NULL), EGP_RESULT_NULL_ARGUMENT);
    CHECK_CODE(egp_probe_free(probe), EGP_RESULT_OK);
    CHECK_CODE(egp_probe_free(probe), EGP_RESULT_INVALID_HANDLE);
    CHECK_CODE(egp_probe_start(probe), EGP_RESULT_INVALID_HANDLE);
    CHECK_CODE(egp_probe_poll(probe, &progress), EGP_RESULT_INVALID_HANDLE);
    CHECK_CODE(egp_probe_payload_json(probe, buf, sizeof buf, &needed), EGP_RESULT_INVALID_HANDLE);

    /* A fresh probe never gets the id of a freed one. */
    EgpProbe next = EGP_PROBE_NONE;
    CHECK_CODE(egp_probe_create(beacons, NULL, &next), EGP_RESULT_OK);
    CHECK(next != probe, "ids are not reused");
    CHECK_CODE(egp_probe_free(next), EGP_RESULT_OK);

    /* Cancel before start: no result. */
    CHECK_CODE(egp_probe_create(beacons, NULL, &probe), EGP_RESULT_OK);
    CHECK_CODE(egp_probe_cancel(probe), EGP_RESULT_OK);
    CHECK_CODE(egp_probe_start(probe), EGP_RESULT_CANCELLED);
    CHECK_CODE(egp_probe_poll(probe, &progress), EGP_RESULT_OK);
    CHECK(progress.finished && progress.cancelled && progress.status == EGP_RESULT_CANCELLED,
          "cancelled before start is finished without a result");
    CHECK_CODE(egp_probe_result_json(probe, buf, sizeof buf, &needed), EGP_RESULT_CANCELLED);
    CHECK_CODE(egp_probe_free(probe), EGP_RESULT_OK);

    /* The last-error message itself: size query and too-small buffer keep the message. */
    egp_probe_start(EGP_PROBE_NONE);
    size_t message_needed = 0;
    CHECK_CODE(egp_last_error_message(NULL, 0, &message_needed), EGP_RESULT_BUFFER_TOO_SMALL);
    CHECK(message_needed > 1, "message size reported");
    CHECK_CODE(egp_last_error_message(buf, 2, NULL), EGP_RESULT_BUFFER_TOO_SMALL);
    CHECK_CODE(egp_last_error_code(), EGP_RESULT_INVALID_HANDLE);
    char *message = malloc(message_needed);
    CHECK_CODE(egp_last_error_message(message, message_needed, NULL), EGP_RESULT_OK);
    CHECK(strstr(message, "not valid") != NULL, "the message explains the handle");
    free(message);
}

static void test_cancel_mid_run(const char *beacons) {
    /* A long run: 200 probes per beacon, 20 ms apart (4 s), no early decision. */
    EgpProbe probe = EGP_PROBE_NONE;
    CHECK_CODE(egp_probe_create_json(
                   beacons, "{\"count\": 200, \"interval_ms\": 20, \"early_decision\": false}",
                   &probe),
               EGP_RESULT_OK);
    CHECK_CODE(egp_probe_start(probe), EGP_RESULT_OK);
    EgpProgress progress;
    memset(&progress, 0, sizeof progress);
    double start = now_ms();
    while (progress.samples < 3 && now_ms() - start < 5000.0) {
        egp_probe_poll(probe, &progress);
        sleep_ms(5);
    }
    CHECK(progress.state == EGP_STATE_RUNNING && progress.finished == 0, "still running");
    CHECK_CODE(egp_probe_result_json(probe, NULL, 0, NULL), EGP_RESULT_NOT_FINISHED);
    double cancelled_at = now_ms();
    CHECK_CODE(egp_probe_cancel(probe), EGP_RESULT_OK);
    CHECK_CODE(egp_probe_cancel(probe), EGP_RESULT_OK);
    progress = poll_until_finished(probe, 5000.0);
    CHECK(progress.finished == 1, "a cancelled probe finishes");
    CHECK(now_ms() - cancelled_at < 3000.0, "cancel stops the run well before its 4 s");
    CHECK(progress.cancelled == 1, "progress says cancelled");
    CHECK(progress.probes_sent < 4 * 200, "not every probe was sent");
    char *report = read_text(probe, egp_probe_result_json);
    CHECK(report != NULL && strstr(report, "\"locations\"") != NULL,
          "a cancelled run still reports what it measured");
    free(report);
    CHECK_CODE(egp_probe_free(probe), EGP_RESULT_OK);
}

static void test_free_while_running(const char *beacons) {
    EgpProbe probe = EGP_PROBE_NONE;
    CHECK_CODE(egp_probe_create_json(beacons, "{\"count\": 100, \"early_decision\": false}",
                                     &probe),
               EGP_RESULT_OK);
    CallbackRecord record;
    atomic_init(&record.calls, 0);
    atomic_init(&record.status, 0u);
    atomic_init(&record.probe, 0ull);
    CHECK_CODE(egp_probe_set_callback(probe, on_done, &record), EGP_RESULT_OK);
    CHECK_CODE(egp_probe_start(probe), EGP_RESULT_OK);
    sleep_ms(20);
    CHECK_CODE(egp_probe_free(probe), EGP_RESULT_OK);
    /* After free returned the callback must never run: `record` dies with this frame. */
    sleep_ms(300);
    CHECK(atomic_load(&record.calls) == 0, "no callback after free");
    CHECK_CODE(egp_probe_cancel(probe), EGP_RESULT_INVALID_HANDLE);
}

static void test_blocking_and_previous(const char *beacons) {
    EgpProbe first = EGP_PROBE_NONE;
    CHECK_CODE(egp_probe_create_json(beacons, "{\"count\": 3, \"attribute\": \"latency\"}", &first),
               EGP_RESULT_OK);
    CHECK_CODE(egp_probe_run_blocking(first), EGP_RESULT_OK);
    char *report = read_text(first, egp_probe_result_json);
    char *payload = read_text(first, egp_probe_payload_json);
    CHECK(payload != NULL && strstr(payload, "\"latency\"") != NULL, "attribute from JSON config");
    CHECK(report != NULL && city_at(report, "Oslo") >= 0, "blocking run has a report");
    CHECK_CODE(egp_probe_free(first), EGP_RESULT_OK);

    EgpProbe second = EGP_PROBE_NONE;
    CHECK_CODE(egp_probe_create(beacons, NULL, &second), EGP_RESULT_OK);
    if (report != NULL) {
        CHECK_CODE(egp_probe_set_previous_json(second, report), EGP_RESULT_OK);
    }
    CHECK_CODE(egp_probe_run_blocking(second), EGP_RESULT_OK);
    CHECK_CODE(egp_probe_run_blocking(second), EGP_RESULT_OK);
    CHECK_CODE(egp_probe_set_previous_json(second, "{}"), EGP_RESULT_INVALID_JSON);
    if (report != NULL) {
        CHECK_CODE(egp_probe_set_previous_json(second, report), EGP_RESULT_ALREADY_STARTED);
    }
    char *again = read_text(second, egp_probe_result_json);
    long oslo = again == NULL ? -1 : city_at(again, "Oslo");
    long paris = again == NULL ? -1 : city_at(again, "Paris");
    CHECK(oslo >= 0 && (paris < 0 || oslo < paris), "the previous best stays best");
    CHECK_CODE(egp_probe_free(second), EGP_RESULT_OK);
    free(report);
    free(payload);
    free(again);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s BEACON_LIST.json\n", argv[0]);
        return 2;
    }
    char *beacons = read_file(argv[1]);
    if (beacons == NULL) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }
    test_version_and_config();
    test_real_probe(beacons);
    test_udp_with_a_closed_port(beacons);
#ifdef _WIN32
    test_icmp_refused_on_windows(beacons);
#endif
    test_misuse(beacons);
    test_probe_error_message(beacons);
    test_cancel_mid_run(beacons);
    test_free_while_running(beacons);
    test_blocking_and_previous(beacons);
    free(beacons);
    printf("C: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
