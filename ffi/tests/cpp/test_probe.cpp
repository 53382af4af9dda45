// C++ test of the header-only wrapper (ffi/bindings/unreal/.../edgegap_probe.hpp): the same
// real probe against beacon-sim beacons as the C test, through RAII objects.
//
// usage: test_probe_cpp BEACON_LIST.json
// Built by ffi/tests/run.sh with g++ -std=c++17 -Wall -Wextra -Werror.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "edgegap_probe.hpp"

namespace {

int passed = 0;
int failed = 0;

void Check(bool ok, const char* what, int line) {
    if (ok) {
        ++passed;
    } else {
        ++failed;
        std::fprintf(stderr, "FAIL test_probe.cpp:%d: %s (last error: %s)\n", line, what,
                     edgegap::LastErrorMessage().c_str());
    }
}

#define CHECK(cond) Check((cond), #cond, __LINE__)

using Clock = std::chrono::steady_clock;

EgpProgress PollUntilFinished(const edgegap::Probe& probe, std::chrono::milliseconds limit) {
    auto start = Clock::now();
    EgpProgress progress = probe.Poll();
    while (!progress.finished && Clock::now() - start < limit) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        progress = probe.Poll();
    }
    return progress;
}

long Find(const std::string& text, const std::string& needle, std::size_t from = 0) {
    auto at = text.find(needle, from);
    return at == std::string::npos ? -1 : static_cast<long>(at);
}

void TestRealProbe(const std::string& beacons) {
    edgegap::Config config;
    CHECK(config.size == sizeof(EgpConfig));
    auto created = edgegap::Probe::Create(beacons, config);
    CHECK(created.ok());
    if (!created) return;
    edgegap::Probe probe = std::move(created).value();

    EgpResult poll_code = EGP_RESULT_OK;
    EgpProgress before = probe.Poll(&poll_code);
    CHECK(poll_code == EGP_RESULT_NOT_STARTED && before.state == EGP_STATE_CREATED);
    CHECK(before.targets_total == 4);
    CHECK(probe.ResultJson().code() == EGP_RESULT_NOT_STARTED);

    std::atomic<int> calls{0};
    std::atomic<uint32_t> status{999};
    std::atomic<bool> other_thread{false};
    const auto main_thread = std::this_thread::get_id();
    CHECK(probe.OnComplete([&](EgpResult s) {
        status = static_cast<uint32_t>(s);
        other_thread = std::this_thread::get_id() != main_thread;
        ++calls;
    }) == EGP_RESULT_OK);

    CHECK(probe.Start() == EGP_RESULT_OK);
    CHECK(probe.Start() == EGP_RESULT_ALREADY_STARTED);
    EgpProgress progress = PollUntilFinished(probe, std::chrono::seconds(15));
    CHECK(progress.finished == 1 && progress.status == EGP_RESULT_OK);
    CHECK(progress.probes_sent > 0 && progress.samples > 0);
    CHECK(progress.targets_done == 4);

    auto report = probe.ResultJson();
    CHECK(report.ok());
    if (report) {
        const std::string& r = report.value();
        long oslo = Find(r, "\"city\": \"Oslo\"");
        long paris = Find(r, "\"city\": \"Paris\"");
        long tokyo = Find(r, "\"city\": \"Tokyo\"");
        long unreachable = Find(r, "\"unreachable\": [");
        long atlantis = Find(r, "\"city\": \"Atlantis\"");
        CHECK(oslo >= 0 && oslo < paris && paris < tokyo);
        CHECK(tokyo < unreachable && unreachable < atlantis);
    }
    auto payload = probe.PayloadJson();
    CHECK(payload.ok());
    if (payload) {
        const std::string& p = payload.value();
        CHECK(Find(p, "\"Oslo\":") > 0 && Find(p, "\"Paris\":") > 0 && Find(p, "\"Tokyo\":") > 0);
        CHECK(Find(p, "Atlantis") < 0);
        CHECK(std::count(p.begin(), p.end(), ':') == 4);
    }

    auto waited = Clock::now();
    while (calls == 0 && Clock::now() - waited < std::chrono::seconds(2)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    CHECK(calls == 1);
    CHECK(status == EGP_RESULT_OK);
    CHECK(other_thread);
}

void TestRaiiAndMisuse(const std::string& beacons) {
    EgpProbe raw = EGP_PROBE_NONE;
    {
        auto probe = edgegap::Probe::CreateJson(beacons, R"({"count": 200, "early_decision": false})");
        CHECK(probe.ok());
        if (!probe) return;
        raw = probe.value().handle();
        CHECK(probe.value().Start() == EGP_RESULT_OK);
        EgpProgress progress{};
        CHECK(egp_probe_poll(raw, &progress) == EGP_RESULT_OK);
    }  // destroyed while running: freed and cancelled
    EgpProgress after{};
    CHECK(egp_probe_poll(raw, &after) == EGP_RESULT_INVALID_HANDLE);

    // Moving transfers ownership; the moved-from object owns nothing.
    auto first = edgegap::Probe::Create(beacons);
    CHECK(first.ok());
    if (first) {
        edgegap::Probe a = std::move(first).value();
        EgpProbe id = a.handle();
        edgegap::Probe b = std::move(a);
        CHECK(a.handle() == EGP_PROBE_NONE && b.handle() == id);
        CHECK(a.Start() == EGP_RESULT_INVALID_HANDLE);
        CHECK(b.RunBlocking() == EGP_RESULT_OK);
        CHECK(b.ResultJson().ok());
    }

    auto bad = edgegap::Probe::Create("{not json");
    CHECK(!bad.ok() && bad.code() == EGP_RESULT_BAD_BEACON_LIST);
    CHECK(!bad.error().message.empty());
    auto empty = edgegap::Probe::Create(R"({"beacons": []})");
    CHECK(empty.code() == EGP_RESULT_NO_BEACONS);
    auto typo = edgegap::Probe::CreateJson(beacons, R"({"countt": 3})");
    CHECK(typo.code() == EGP_RESULT_INVALID_JSON);
    edgegap::Config bad_config;
    bad_config.tie_factor = 0.5;
    CHECK(edgegap::Probe::Create(beacons, bad_config).code() == EGP_RESULT_INVALID_CONFIG);
    CHECK(std::string(edgegap::ResultName(EGP_RESULT_PANIC)) == "EGP_RESULT_PANIC");
}

void TestCancel(const std::string& beacons) {
    auto created = edgegap::Probe::CreateJson(beacons, R"({"count": 200, "early_decision": false})");
    CHECK(created.ok());
    if (!created) return;
    edgegap::Probe probe = std::move(created).value();
    CHECK(probe.Start() == EGP_RESULT_OK);
    auto start = Clock::now();
    while (probe.Poll().samples < 3 && Clock::now() - start < std::chrono::seconds(5)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(!probe.Finished());
    CHECK(probe.ResultJson().code() == EGP_RESULT_NOT_FINISHED);
    auto cancelled_at = Clock::now();
    CHECK(probe.Cancel() == EGP_RESULT_OK);
    EgpProgress progress = PollUntilFinished(probe, std::chrono::seconds(5));
    CHECK(progress.finished == 1 && progress.cancelled == 1);
    CHECK(Clock::now() - cancelled_at < std::chrono::seconds(3));
    CHECK(probe.ResultJson().ok());
}

// What UEdgegapProbeSubsystem::Finish relies on: after a run that failed, Poll() itself
// succeeds and sets no last error, so the run's error must come from the probe.
void TestRunErrorAfterPoll(const std::string& beacons) {
    std::thread([&beacons] {
        auto created = edgegap::Probe::Create(beacons);
        CHECK(created.ok());
        if (!created) return;
        edgegap::Probe probe = std::move(created).value();
        CHECK(probe.Cancel() == EGP_RESULT_OK);  // before the start: the run fails as CANCELLED
        EgpResult poll_code = EGP_RESULT_PANIC;
        EgpProgress progress = probe.Poll(&poll_code);
        CHECK(poll_code == EGP_RESULT_OK);
        CHECK(progress.finished == 1 && progress.status == EGP_RESULT_CANCELLED);
        CHECK(edgegap::LastErrorMessage().empty());  // the poll set nothing: never log this
        CHECK(Find(probe.ErrorMessage(), "cancelled before it started") >= 0);
    }).join();
}

// The flow through the wrapper with canned answers (Unreal's HTTP module is not here): ticket,
// 429 with Retry-After, assignment; then a cancel answered 409.
void TestMatchmakingFlow() {
    auto created = edgegap::MatchmakingFlow::Create(EGP_FLOW_KIND_TICKET, "cpp-token-42", "casual",
                                                    R"({"beacons": {"Oslo": 5.5}})", "",
                                                    R"({"poll_interval_ms": 100, "jitter_ms": 0})");
    CHECK(created.ok());
    if (!created) return;
    edgegap::MatchmakingFlow flow = std::move(created).value();
    EgpFlowStep step = flow.Step(0);
    CHECK(step.action == EGP_FLOW_ACTION_SEND && step.method == EGP_HTTP_METHOD_POST);
    CHECK(flow.Text(EGP_FLOW_TEXT_REQUEST_PATH).value() == "tickets");
    CHECK(Find(flow.Text(EGP_FLOW_TEXT_REQUEST_HEADERS).value(), "Authorization: cpp-token-42\n") == 0);
    CHECK(flow.Respond(10, 201, "", R"({"id": "t-9", "status": "SEARCHING"})") == EGP_RESULT_OK);
    step = flow.Step(10);
    CHECK(step.action == EGP_FLOW_ACTION_WAIT && step.wakeup_ms == 110);
    CHECK(flow.Step(110).method == EGP_HTTP_METHOD_GET);
    CHECK(flow.Text(EGP_FLOW_TEXT_REQUEST_PATH).value() == "tickets/t-9");
    CHECK(flow.Respond(120, 429, "2", "") == EGP_RESULT_OK);
    step = flow.Step(120);
    CHECK(step.action == EGP_FLOW_ACTION_WAIT && step.wakeup_ms == 2120);
    CHECK(step.last_http_status == 429);
    CHECK(flow.Step(2120).action == EGP_FLOW_ACTION_SEND);
    CHECK(flow.Respond(2130, 200,
                       "", R"({"id": "t-9", "status": "HOST_ASSIGNED", "assignment": {"fqdn": "srv.example", "ports": {}}})") ==
          EGP_RESULT_OK);
    step = flow.Step(2130);
    CHECK(step.action == EGP_FLOW_ACTION_FINISHED && step.status == EGP_RESULT_OK);
    CHECK(Find(flow.Text(EGP_FLOW_TEXT_ASSIGNMENT_JSON).value(), R"("fqdn":"srv.example")") >= 0);
    CHECK(flow.Respond(2140, 200, "", "{}") == EGP_RESULT_NO_REQUEST_PENDING);

    auto second = edgegap::MatchmakingFlow::Create(EGP_FLOW_KIND_TICKET, "cpp-token-42", "casual",
                                                   R"({"beacons": {"Oslo": 5.5}})");
    CHECK(second.ok());
    if (!second) return;
    edgegap::MatchmakingFlow late = std::move(second).value();
    late.Step(0);
    late.Respond(1, 201, "", R"({"id": "t-10", "status": "MATCH_FOUND"})");
    CHECK(late.Cancel() == EGP_RESULT_OK);
    CHECK(late.Step(2).method == EGP_HTTP_METHOD_DELETE);
    late.Respond(3, 409, "", R"({"message": "match found"})");
    CHECK(late.Step(3).status == EGP_RESULT_ALREADY_MATCHED);
    CHECK(Find(late.Text(EGP_FLOW_TEXT_ERROR_MESSAGE).value(), "already found its match") >= 0);

    auto bad = edgegap::MatchmakingFlow::Create(EGP_FLOW_KIND_JOIN_GROUP, "t", "p", "{}");
    CHECK(!bad.ok() && bad.code() == EGP_RESULT_NULL_ARGUMENT);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s BEACON_LIST.json\n", argv[0]);
        return 2;
    }
    std::ifstream file(argv[1]);
    std::stringstream buffer;
    buffer << file.rdbuf();
    const std::string beacons = buffer.str();
    if (beacons.empty()) {
        std::fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }
    TestRealProbe(beacons);
    TestRaiiAndMisuse(beacons);
    TestCancel(beacons);
    TestRunErrorAfterPoll(beacons);
    TestMatchmakingFlow();
    std::printf("C++: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
