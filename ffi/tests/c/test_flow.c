/*
 * C test of the matchmaking flow in the C ABI (egp_flow_*): the library says which request to
 * send and when; this test is the game's HTTP stack, a minimal HTTP/1.1 client over loopback
 * sockets, talking to the simulated matchmaker (`beacon-sim matchmaker`) on 127.0.0.1.
 *
 * usage: test_flow BASE_URL TOKEN
 *   BASE_URL  http://127.0.0.1:PORT of a simulated matchmaker started with TOKEN and the faults
 *             ffi/tests/run.sh gives it (one 429 with Retry-After: 1, then one 503, on the
 *             first ticket polls)
 * Built by ffi/tests/run.sh with -std=c11 -Wall -Wextra -Werror, and again with
 * AddressSanitizer (POSIX sockets: not built for Windows).
 * Prints "C flow: N passed, M failed" and exits non-zero on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "edgegap_probe.h"

#include "check.h"

/* For invariants checked on every loop turn: only a failure is counted, so the summary's
 * pass count stays the number of scenario checks. */
#define ENSURE(cond, what)                                                                    \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            failed++;                                                                         \
            fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, (what), #cond);      \
        }                                                                                     \
    } while (0)

static const char *TOKEN = "";
static int PORT = 0;

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(uint64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A flow text, malloc'd (NULL when it cannot be read). */
static char *flow_text(EgpFlow flow, EgpFlowText which) {
    size_t needed = 0;
    if (egp_flow_text(flow, which, NULL, 0, &needed) != EGP_RESULT_BUFFER_TOO_SMALL) {
        return NULL;
    }
    char *text = malloc(needed);
    if (text != NULL && egp_flow_text(flow, which, text, needed, NULL) != EGP_RESULT_OK) {
        free(text);
        text = NULL;
    }
    return text;
}

/* An HTTP answer. */
typedef struct {
    int status;
    char retry_after[32];
    char *body;
    size_t body_len;
} Answer;

/* Sends one request to 127.0.0.1:PORT and reads the whole answer (the server closes the
 * connection). `headers` are "Name: value\n" lines. Returns 0, or -1 when no answer came. */
static int http(const char *method, const char *path, const char *headers, const char *body,
                Answer *out) {
    memset(out, 0, sizeof *out);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)PORT);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    size_t body_len = body == NULL ? 0 : strlen(body);
    size_t cap = strlen(path) + strlen(headers) * 2 + body_len + 256;
    char *request = malloc(cap);
    int n = snprintf(request, cap, "%s /%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", method, path, PORT);
    for (const char *line = headers; *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end == NULL ? strlen(line) : (size_t)(end - line);
        n += snprintf(request + n, cap - (size_t)n, "%.*s\r\n", (int)len, line);
        line += len + (end == NULL ? 0 : 1);
    }
    n += snprintf(request + n, cap - (size_t)n,
                  "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", body_len,
                  body == NULL ? "" : body);
    int ok = send(fd, request, (size_t)n, 0) == n;
    free(request);
    size_t size = 0, room = 4096;
    char *raw = malloc(room);
    while (ok) {
        if (size + 1024 > room) {
            room *= 2;
            raw = realloc(raw, room);
        }
        ssize_t got = recv(fd, raw + size, room - size - 1, 0);
        if (got <= 0) {
            break;
        }
        size += (size_t)got;
    }
    close(fd);
    raw[size] = '\0';
    char *head_end = strstr(raw, "\r\n\r\n");
    if (!ok || head_end == NULL || sscanf(raw, "HTTP/1.1 %d", &out->status) != 1) {
        free(raw);
        return -1;
    }
    *head_end = '\0';
    const char *retry = strstr(raw, "Retry-After: ");
    if (retry != NULL) {
        sscanf(retry + 13, "%31[0-9]", out->retry_after);
    }
    out->body_len = size - (size_t)(head_end + 4 - raw);
    out->body = malloc(out->body_len + 1);
    memcpy(out->body, head_end + 4, out->body_len);
    out->body[out->body_len] = '\0';
    free(raw);
    return 0;
}

/* Sends the request the flow asked for and hands the answer (or the failure) back. */
static void exchange(EgpFlow flow, uint64_t t0) {
    char *method = flow_text(flow, EGP_FLOW_TEXT_REQUEST_METHOD);
    char *path = flow_text(flow, EGP_FLOW_TEXT_REQUEST_PATH);
    char *headers = flow_text(flow, EGP_FLOW_TEXT_REQUEST_HEADERS);
    char *body = flow_text(flow, EGP_FLOW_TEXT_REQUEST_BODY);
    Answer answer;
    if (method != NULL && path != NULL && headers != NULL && body != NULL &&
        http(method, path, headers, body[0] == '\0' ? NULL : body, &answer) == 0) {
        EgpResult r = egp_flow_respond(flow, now_ms() - t0, (uint32_t)answer.status,
                                       answer.retry_after[0] ? answer.retry_after : NULL,
                                       (const uint8_t *)answer.body, answer.body_len);
        ENSURE(r == EGP_RESULT_OK, "the answer is taken");
        free(answer.body);
    } else {
        ENSURE(egp_flow_transport_error(flow, now_ms() - t0, "no answer") == EGP_RESULT_OK,
               "the failure is taken");
    }
    free(method);
    free(path);
    free(headers);
    free(body);
}

/* Called after each answer with the flow, how many answers it had, and the context. */
typedef void (*OnAnswer)(EgpFlow flow, int answers, void *context);

/* Drives `count` flows together (a game loop: step each, send what is due, sleep until the
 * earliest wake-up) until all finished or `limit_ms` passed; fills `statuses`. */
static void drive(EgpFlow *flows, int count, EgpResult *statuses, uint64_t limit_ms,
                  OnAnswer on_answer, void *context) {
    uint64_t t0 = now_ms();
    int answers[8] = {0};
    int done = 0;
    while (done < count && now_ms() - t0 < limit_ms) {
        done = 0;
        uint64_t wake = now_ms() - t0 + 50;
        for (int i = 0; i < count; i++) {
            EgpFlowStep step;
            ENSURE(egp_flow_step(flows[i], now_ms() - t0, &step) == EGP_RESULT_OK, "step");
            if (step.action == EGP_FLOW_ACTION_FINISHED) {
                statuses[i] = (EgpResult)step.status;
                done++;
            } else if (step.action == EGP_FLOW_ACTION_SEND) {
                exchange(flows[i], t0);
                answers[i]++;
                if (on_answer != NULL) {
                    on_answer(flows[i], answers[i], context);
                }
                wake = 0;
            } else if (step.action == EGP_FLOW_ACTION_WAIT && step.wakeup_ms < wake) {
                wake = step.wakeup_ms;
            }
        }
        uint64_t now = now_ms() - t0;
        if (done < count && wake > now) {
            sleep_ms(wake - now);
        }
    }
    CHECK(done == count, "every flow finished in time");
}

static EgpFlow create(EgpFlowKind kind, const char *token, const char *group) {
    EgpFlow flow = EGP_FLOW_NONE;
    EgpResult r = egp_flow_create(kind, token, "casual", "{\"beacons\": {\"Oslo\": 12.5}}",
                                  group, "{\"poll_interval_ms\": 30, \"jitter_ms\": 5}", &flow);
    CHECK(r == EGP_RESULT_OK && flow != EGP_FLOW_NONE, "flow created");
    return flow;
}

static void test_ticket_to_assignment_through_429_and_503(void) {
    EgpFlow flow = create(EGP_FLOW_KIND_TICKET, TOKEN, NULL);
    EgpResult status = EGP_RESULT_PANIC;
    uint64_t started = now_ms();
    drive(&flow, 1, &status, 20000, NULL, NULL);
    CHECK_CODE(status, EGP_RESULT_OK);
    CHECK(now_ms() - started >= 900, "Retry-After: 1 was honoured");
    char *assignment = flow_text(flow, EGP_FLOW_TEXT_ASSIGNMENT_JSON);
    CHECK(assignment != NULL && strstr(assignment, "\"fqdn\":\"sim-server.local\"") != NULL,
          "the assignment names the server");
    CHECK(assignment != NULL && strstr(assignment, "\"external\":31000") != NULL,
          "the assignment has the port");
    char *id = flow_text(flow, EGP_FLOW_TEXT_TICKET_ID);
    CHECK(id != NULL && strncmp(id, "ticket-", 7) == 0, "the ticket id is known");
    char *error = flow_text(flow, EGP_FLOW_TEXT_ERROR_MESSAGE);
    CHECK(error != NULL && error[0] == '\0', "no error on success");
    free(assignment);
    free(id);
    free(error);
    CHECK_CODE(egp_flow_free(flow), EGP_RESULT_OK);
}

/* Cancels after the `after`-th answer (1 = the create). */
static void cancel_after(EgpFlow flow, int answers, void *context) {
    if (answers == *(int *)context) {
        CHECK_CODE(egp_flow_cancel(flow), EGP_RESULT_OK);
    }
}

static void test_cancel_mid_poll_deletes_the_ticket(void) {
    EgpFlow flow = create(EGP_FLOW_KIND_TICKET, TOKEN, NULL);
    EgpResult status = EGP_RESULT_PANIC;
    int after = 2; /* the create, then one poll (SEARCHING) */
    drive(&flow, 1, &status, 10000, cancel_after, &after);
    CHECK_CODE(status, EGP_RESULT_MATCHMAKING_CANCELLED);
    char *id = flow_text(flow, EGP_FLOW_TEXT_TICKET_ID);
    char *error = flow_text(flow, EGP_FLOW_TEXT_ERROR_MESSAGE);
    CHECK(error != NULL && strstr(error, "ticket deleted") != NULL, "the ticket was deleted");
    char path[128], headers[256];
    snprintf(path, sizeof path, "tickets/%s", id == NULL ? "" : id);
    snprintf(headers, sizeof headers, "Authorization: %s\n", TOKEN);
    Answer gone;
    CHECK(http("GET", path, headers, NULL, &gone) == 0 && gone.status == 404,
          "the matchmaker no longer has the ticket");
    free(gone.body);
    free(id);
    free(error);
    CHECK_CODE(egp_flow_free(flow), EGP_RESULT_OK);
}

static void test_cancel_after_the_match_is_already_matched(void) {
    EgpFlow flow = create(EGP_FLOW_KIND_TICKET, TOKEN, NULL);
    EgpResult status = EGP_RESULT_PANIC;
    int after = 3; /* the create, SEARCHING, MATCH_FOUND */
    drive(&flow, 1, &status, 10000, cancel_after, &after);
    CHECK_CODE(status, EGP_RESULT_ALREADY_MATCHED);
    EgpFlowStep step;
    CHECK_CODE(egp_flow_step(flow, 0, &step), EGP_RESULT_OK);
    CHECK(step.last_http_status == 409, "the DELETE was answered 409");
    CHECK_CODE(egp_flow_free(flow), EGP_RESULT_OK);
}

/* Makes each member ready once it has its membership (after the create's answer). */
static void ready_after_join(EgpFlow flow, int answers, void *context) {
    (void)context;
    if (answers == 1) {
        CHECK_CODE(egp_flow_set_ready(flow, 1), EGP_RESULT_OK);
    }
}

static void test_party_create_join_ready_assignment(void) {
    EgpFlow flows[2];
    flows[0] = create(EGP_FLOW_KIND_CREATE_GROUP, TOKEN, NULL);
    EgpFlowStep step;
    CHECK_CODE(egp_flow_step(flows[0], 0, &step), EGP_RESULT_OK);
    exchange(flows[0], now_ms());
    char *group = flow_text(flows[0], EGP_FLOW_TEXT_GROUP_ID);
    char *owner = flow_text(flows[0], EGP_FLOW_TEXT_MEMBER_ID);
    CHECK(group != NULL && strncmp(group, "group-", 6) == 0, "the group was created");
    CHECK(owner != NULL && owner[0] != '\0', "the owner's membership is known");
    CHECK_CODE(egp_flow_set_ready(flows[0], 1), EGP_RESULT_OK);
    flows[1] = create(EGP_FLOW_KIND_JOIN_GROUP, TOKEN, group);
    EgpResult statuses[2] = {EGP_RESULT_PANIC, EGP_RESULT_PANIC};
    drive(flows, 2, statuses, 10000, ready_after_join, NULL);
    CHECK_CODE(statuses[0], EGP_RESULT_OK);
    CHECK_CODE(statuses[1], EGP_RESULT_OK);
    for (int i = 0; i < 2; i++) {
        char *assignment = flow_text(flows[i], EGP_FLOW_TEXT_ASSIGNMENT_JSON);
        CHECK(assignment != NULL && strstr(assignment, "sim-server.local") != NULL,
              "each member gets the assignment");
        free(assignment);
        CHECK_CODE(egp_flow_free(flows[i]), EGP_RESULT_OK);
    }
    free(group);
    free(owner);
}

static void test_wrong_token_is_a_clear_error_without_the_token(void) {
    EgpFlow flow = create(EGP_FLOW_KIND_TICKET, "wrong-secret-token-xyz", NULL);
    EgpResult status = EGP_RESULT_PANIC;
    drive(&flow, 1, &status, 5000, NULL, NULL);
    CHECK_CODE(status, EGP_RESULT_MATCHMAKING_FAILED);
    char *error = flow_text(flow, EGP_FLOW_TEXT_ERROR_MESSAGE);
    CHECK(error != NULL && strstr(error, "HTTP 401") != NULL, "the 401 is named");
    CHECK(error != NULL && strstr(error, "wrong-secret-token-xyz") == NULL, "no token in it");
    free(error);
    CHECK_CODE(egp_flow_free(flow), EGP_RESULT_OK);
}

/* Canned answers, no network: a malformed body, and every misuse. */
static void test_canned_answers_and_misuse(void) {
    EgpFlow flow = create(EGP_FLOW_KIND_TICKET, "canned-token-123", NULL);
    EgpFlowStep step;
    CHECK_CODE(egp_flow_respond(flow, 0, 201, NULL, NULL, 0), EGP_RESULT_NO_REQUEST_PENDING);
    CHECK_CODE(egp_flow_step(flow, 0, &step), EGP_RESULT_OK);
    CHECK(step.action == EGP_FLOW_ACTION_SEND, "send first");
    CHECK_CODE(egp_flow_step(flow, 1, &step), EGP_RESULT_OK);
    CHECK(step.action == EGP_FLOW_ACTION_AWAIT_RESPONSE, "then await the answer");
    CHECK_CODE(egp_flow_respond(flow, 2, 201, NULL, NULL, 5), EGP_RESULT_NULL_ARGUMENT);
    const char *junk = "<html>oops</html>";
    CHECK_CODE(egp_flow_respond(flow, 2, 201, NULL, (const uint8_t *)junk, strlen(junk)),
               EGP_RESULT_OK);
    CHECK_CODE(egp_flow_step(flow, 2, &step), EGP_RESULT_OK);
    CHECK(step.action == EGP_FLOW_ACTION_FINISHED &&
              step.status == EGP_RESULT_MATCHMAKING_FAILED,
          "a malformed body ends the flow");
    char *error = flow_text(flow, EGP_FLOW_TEXT_ERROR_MESSAGE);
    CHECK(error != NULL && strstr(error, "malformed JSON") != NULL, "and says why");
    free(error);
    char small[4];
    CHECK_CODE(egp_flow_text(flow, EGP_FLOW_TEXT_REQUEST_PATH, small, sizeof small, NULL),
               EGP_RESULT_NOT_STARTED);
    CHECK_CODE(egp_flow_text(flow, 77, small, sizeof small, NULL), EGP_RESULT_INVALID_CONFIG);
    CHECK_CODE(egp_flow_step(flow, 3, NULL), EGP_RESULT_NULL_ARGUMENT);
    CHECK_CODE(egp_flow_set_ready(flow, 1), EGP_RESULT_INVALID_CONFIG);
    CHECK_CODE(egp_flow_free(flow), EGP_RESULT_OK);
    CHECK_CODE(egp_flow_free(flow), EGP_RESULT_INVALID_HANDLE);
    CHECK_CODE(egp_flow_cancel(flow), EGP_RESULT_INVALID_HANDLE);
    CHECK_CODE(egp_flow_free(EGP_FLOW_NONE), EGP_RESULT_OK);
    EgpFlow none = 5;
    CHECK_CODE(egp_flow_create(EGP_FLOW_KIND_JOIN_GROUP, "t", "p", "{}", NULL, NULL, &none),
               EGP_RESULT_NULL_ARGUMENT);
    CHECK(none == EGP_FLOW_NONE, "no handle on failure");
    CHECK_CODE(egp_flow_create(EGP_FLOW_KIND_TICKET, "t", "p", "[1]", NULL, NULL, &none),
               EGP_RESULT_INVALID_JSON);
    CHECK_CODE(egp_flow_create(9, "t", "p", "{}", NULL, NULL, &none), EGP_RESULT_INVALID_CONFIG);
    CHECK_CODE(egp_flow_create(EGP_FLOW_KIND_TICKET, NULL, "p", "{}", NULL, NULL, &none),
               EGP_RESULT_NULL_ARGUMENT);
}

int main(int argc, char **argv) {
    if (argc != 3 || sscanf(argv[1], "http://127.0.0.1:%d", &PORT) != 1 || PORT <= 0) {
        fprintf(stderr, "usage: %s http://127.0.0.1:PORT TOKEN (loopback only)\n", argv[0]);
        return 2;
    }
    TOKEN = argv[2];
    test_ticket_to_assignment_through_429_and_503();
    test_cancel_mid_poll_deletes_the_ticket();
    test_cancel_after_the_match_is_already_matched();
    test_party_create_join_ready_assignment();
    test_wrong_token_is_a_clear_error_without_the_token();
    test_canned_answers_and_misuse();
    printf("C flow: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
