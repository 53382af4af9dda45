// edgegap_probe.hpp: header-only C++17 RAII wrapper over the edgegap-probe C ABI.
//
// Engine-independent (plain C++17, no exceptions thrown, no RTTI needed): Unreal's
// UEdgegapProbeSubsystem uses it, and so can any other C++ host. Link libedgegap_probe
// (static or shared) and put ffi/include on the include path.
//
//   edgegap::Config config;               // egp_config_init'ed defaults
//   config.count = 5;
//   auto probe = edgegap::Probe::Create(beacon_list_json, config);
//   if (!probe) { log(probe.error().message); return; }
//   probe.value().Start();
//   // every frame:
//   EgpProgress progress = probe.value().Poll();
//   if (progress.finished) { auto payload = probe.value().PayloadJson(); ... }
//
//   // Matchmaking without an HTTP stack in the library: the flow says what to send and when,
//   // your HTTP client sends it (see MatchmakingFlow).
//   auto flow = edgegap::MatchmakingFlow::Create(EGP_FLOW_KIND_TICKET, token, "casual", payload);
//
// Ownership: a Probe owns its handle and frees it in its destructor (which also cancels a
// running probe and guarantees the completion callback is not running and never will).
// Probe is move-only. Strings are copied in and out; nothing returned points into the library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "edgegap_probe.h"

namespace edgegap {

/// A failed call: the C result code and the library's message for it.
struct Error {
    EgpResult code = EGP_RESULT_OK;
    std::string message;
};

/// This thread's last error message (empty when no call failed).
inline std::string LastErrorMessage() {
    size_t needed = 0;
    if (egp_last_error_message(nullptr, 0, &needed) != EGP_RESULT_BUFFER_TOO_SMALL || needed == 0) {
        return std::string();
    }
    std::string text(needed, '\0');
    if (egp_last_error_message(&text[0], text.size(), nullptr) != EGP_RESULT_OK) {
        return std::string();
    }
    text.resize(needed - 1);
    return text;
}

/// The error of the call that just returned `code` on this thread.
inline Error ErrorFor(EgpResult code) { return Error{code, LastErrorMessage()}; }

/// The name of a result code, such as "EGP_RESULT_BUFFER_TOO_SMALL".
inline const char* ResultName(EgpResult code) { return egp_result_name(static_cast<uint32_t>(code)); }

/// A value or an Error (a small stand-in for C++23 std::expected).
template <class T>
class Expected {
public:
    Expected(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
    Expected(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

    bool ok() const { return value_.has_value(); }
    explicit operator bool() const { return ok(); }
    T& value() & { return *value_; }
    const T& value() const& { return *value_; }
    T&& value() && { return std::move(*value_); }
    const Error& error() const { return error_; }
    EgpResult code() const { return ok() ? EGP_RESULT_OK : error_.code; }

private:
    std::optional<T> value_;
    Error error_;
};

/// Reads a text through the C ABI's buffer protocol: a size query, then the copy.
template <class Read>
Expected<std::string> ReadBuffer(Read read) {
    size_t needed = 0;
    EgpResult code = read(nullptr, 0, &needed);
    if (code != EGP_RESULT_BUFFER_TOO_SMALL) return ErrorFor(code);
    std::string text(needed, '\0');
    code = read(&text[0], text.size(), &needed);
    if (code != EGP_RESULT_OK) return ErrorFor(code);
    text.resize(needed - 1);
    return text;
}

/// Probe settings with the library's defaults (egp_config_init); change fields as needed.
struct Config : EgpConfig {
    Config() : EgpConfig() { egp_config_init(this, sizeof(EgpConfig)); }
};

/// One probe run. Move-only; the destructor frees the handle.
class Probe {
public:
    /// Called once on the library's callback thread (one callback at a time) when the result is
    /// ready. Destroying another Probe inside it does not wait (see EgpCompletionCallback);
    /// do not destroy the Probe that owns this function from inside it.
    using Completion = std::function<void(EgpResult status)>;

    /// Creates a probe from a beacon list (either JSON shape) and settings.
    static Expected<Probe> Create(const std::string& beacons_json, const EgpConfig& config = Config()) {
        EgpProbe handle = EGP_PROBE_NONE;
        EgpResult code = egp_probe_create(beacons_json.c_str(), &config, &handle);
        if (code != EGP_RESULT_OK) return ErrorFor(code);
        return Probe(handle);
    }

    /// Creates a probe with settings as JSON (`{"count": 5, "protocol": "udp", ...}`).
    static Expected<Probe> CreateJson(const std::string& beacons_json, const std::string& config_json) {
        EgpProbe handle = EGP_PROBE_NONE;
        EgpResult code = egp_probe_create_json(beacons_json.c_str(), config_json.c_str(), &handle);
        if (code != EGP_RESULT_OK) return ErrorFor(code);
        return Probe(handle);
    }

    Probe(Probe&& other) noexcept
        : handle_(std::exchange(other.handle_, EGP_PROBE_NONE)), completion_(std::move(other.completion_)) {}

    Probe& operator=(Probe&& other) noexcept {
        if (this != &other) {
            Reset();
            handle_ = std::exchange(other.handle_, EGP_PROBE_NONE);
            completion_ = std::move(other.completion_);
        }
        return *this;
    }

    Probe(const Probe&) = delete;
    Probe& operator=(const Probe&) = delete;

    ~Probe() { Reset(); }

    /// The C handle (still owned by this object).
    EgpProbe handle() const { return handle_; }

    /// Hands the previous run's report JSON to this probe (sticky best location).
    EgpResult SetPrevious(const std::string& report_json) {
        return egp_probe_set_previous_json(handle_, report_json.c_str());
    }

    /// Sets a completion function, called once on the library's callback thread. Before Start().
    EgpResult OnComplete(Completion completion) {
        auto stored = std::make_unique<Completion>(std::move(completion));
        EgpResult code = egp_probe_set_callback(handle_, &Probe::Trampoline, stored.get());
        if (code == EGP_RESULT_OK) completion_ = std::move(stored);
        return code;
    }

    /// Starts the probe on the library's threads; returns at once.
    EgpResult Start() { return egp_probe_start(handle_); }

    /// Progress without blocking. `code` (optional) receives the poll's own result.
    EgpProgress Poll(EgpResult* code = nullptr) const {
        EgpProgress progress{};
        EgpResult result = egp_probe_poll(handle_, &progress);
        if (code != nullptr) *code = result;
        return progress;
    }

    /// Whether the result is ready.
    bool Finished() const { return Poll().finished != 0; }

    /// Stops the probe early; it then finishes with what it measured.
    EgpResult Cancel() { return egp_probe_cancel(handle_); }

    /// For tools: runs to the end on the calling thread.
    EgpResult RunBlocking() { return egp_probe_run_blocking(handle_); }

    /// The ranked report (JSON).
    Expected<std::string> ResultJson() const { return ReadText(egp_probe_result_json); }

    /// The matchmaker payload (JSON, `{"beacons": {"City": ms, ...}}`): the ticket's
    /// `attributes` object, whole.
    Expected<std::string> PayloadJson() const { return ReadText(egp_probe_payload_json); }

    /// Why this probe's run failed (empty while it runs or when it succeeded). Use it, not
    /// LastErrorMessage(), after a Poll() that says `status != EGP_RESULT_OK`: the poll itself
    /// succeeded and set no last error.
    std::string ErrorMessage() const {
        auto text = ReadText(egp_probe_error_message);
        return text ? std::move(text).value() : text.error().message;
    }

private:
    explicit Probe(EgpProbe handle) : handle_(handle) {}

    void Reset() {
        if (handle_ != EGP_PROBE_NONE) {
            // Frees the handle; afterwards the callback is not running and never will, so the
            // stored completion can be destroyed safely.
            egp_probe_free(handle_);
            handle_ = EGP_PROBE_NONE;
        }
        completion_.reset();
    }

    using TextReader = EgpResult (*)(EgpProbe, char*, size_t, size_t*);

    Expected<std::string> ReadText(TextReader read) const {
        return ReadBuffer([&](char* buf, size_t len, size_t* needed) { return read(handle_, buf, len, needed); });
    }

    static void Trampoline(EgpProbe, EgpResult status, void* user_data) {
        auto* completion = static_cast<Completion*>(user_data);
        // The C ABI forbids unwinding out of the callback: swallow anything thrown.
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
        try {
            (*completion)(status);
        } catch (...) {
        }
#else
        (*completion)(status);
#endif
    }

    EgpProbe handle_ = EGP_PROBE_NONE;
    std::unique_ptr<Completion> completion_;
};

/// One matchmaking flow (a ticket, or a party membership) without I/O: Step() says what to
/// send and when, your HTTP client sends it (Unreal's HTTP module in UEdgegapProbeSubsystem),
/// Respond() hands the answer back. Times are your monotonic clock in milliseconds.
/// Move-only; the destructor frees the handle (it sends nothing: Cancel() and step until
/// FINISHED to delete a ticket).
class MatchmakingFlow {
public:
    /// Creates a flow. `attributes_json` is the probe's payload (the ticket's `attributes`);
    /// `group_id` is for EGP_FLOW_KIND_JOIN_GROUP only; `options_json` as egp_flow_create.
    static Expected<MatchmakingFlow> Create(EgpFlowKind kind, const std::string& token,
                                            const std::string& profile,
                                            const std::string& attributes_json,
                                            const std::string& group_id = std::string(),
                                            const std::string& options_json = "{}") {
        EgpFlow handle = EGP_FLOW_NONE;
        EgpResult code = egp_flow_create(static_cast<uint32_t>(kind), token.c_str(), profile.c_str(),
                                         attributes_json.c_str(),
                                         group_id.empty() ? nullptr : group_id.c_str(),
                                         options_json.c_str(), &handle);
        if (code != EGP_RESULT_OK) return ErrorFor(code);
        return MatchmakingFlow(handle);
    }

    MatchmakingFlow(MatchmakingFlow&& other) noexcept : handle_(std::exchange(other.handle_, EGP_FLOW_NONE)) {}

    MatchmakingFlow& operator=(MatchmakingFlow&& other) noexcept {
        if (this != &other) {
            egp_flow_free(handle_);
            handle_ = std::exchange(other.handle_, EGP_FLOW_NONE);
        }
        return *this;
    }

    MatchmakingFlow(const MatchmakingFlow&) = delete;
    MatchmakingFlow& operator=(const MatchmakingFlow&) = delete;

    ~MatchmakingFlow() { egp_flow_free(handle_); }

    /// What to do at `now_ms` (action SEND / WAIT until wakeup_ms / AWAIT_RESPONSE / FINISHED).
    EgpFlowStep Step(uint64_t now_ms, EgpResult* code = nullptr) {
        EgpFlowStep step{};
        EgpResult result = egp_flow_step(handle_, now_ms, &step);
        if (code != nullptr) *code = result;
        return step;
    }

    /// One of the flow's texts (request method, path, headers, body; assignment; error; ids).
    Expected<std::string> Text(EgpFlowText which) const {
        return ReadBuffer([&](char* buf, size_t len, size_t* needed) {
            return egp_flow_text(handle_, static_cast<uint32_t>(which), buf, len, needed);
        });
    }

    /// Hands over the answer to the request of the last SEND (`retry_after` empty when absent).
    EgpResult Respond(uint64_t now_ms, uint32_t status, const std::string& retry_after,
                      const std::string& body) {
        return egp_flow_respond(handle_, now_ms, status, retry_after.empty() ? nullptr : retry_after.c_str(),
                                reinterpret_cast<const uint8_t*>(body.data()), body.size());
    }

    /// Says the request of the last SEND got no answer.
    EgpResult TransportError(uint64_t now_ms, const std::string& reason) {
        return egp_flow_transport_error(handle_, now_ms, reason.c_str());
    }

    /// Stops waiting: DELETE follows on the next steps.
    EgpResult Cancel() { return egp_flow_cancel(handle_); }

    /// Sets this party member's readiness (sent on the next step).
    EgpResult SetReady(bool ready) { return egp_flow_set_ready(handle_, ready ? 1u : 0u); }

    /// The C handle (still owned by this object).
    EgpFlow handle() const { return handle_; }

private:
    explicit MatchmakingFlow(EgpFlow handle) : handle_(handle) {}

    EgpFlow handle_ = EGP_FLOW_NONE;
};

}  // namespace edgegap
