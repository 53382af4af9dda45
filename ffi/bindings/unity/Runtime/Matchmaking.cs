// The matchmaking flow (ticket and party) for games: the native library decides which request
// to send and when (poll with jitter, backoff honouring Retry-After, give up after N errors,
// cancel = DELETE, 409 = already matched); an IMatchmakerTransport (UnityWebRequest in games,
// HttpClient in tests and tools) only sends it. Plain C#: no UnityEngine dependency.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Text;

namespace Edgegap.Probe
{
    /// <summary>One HTTP request the flow wants sent.</summary>
    public sealed class MatchmakerRequest
    {
        internal MatchmakerRequest(string method, string url, IList<KeyValuePair<string, string>> headers, string body)
        {
            Method = method;
            Url = url;
            Headers = headers;
            Body = body;
        }

        /// <summary><c>GET</c>, <c>POST</c>, <c>PATCH</c> or <c>DELETE</c>.</summary>
        public string Method { get; private set; }

        /// <summary>The whole URL (base URL and path).</summary>
        public string Url { get; private set; }

        /// <summary>The headers to send. Holds the token (Authorization): never log them.</summary>
        public IList<KeyValuePair<string, string>> Headers { get; private set; }

        /// <summary>The JSON body, or null.</summary>
        public string Body { get; private set; }

        /// <summary>The method, URL and body, without the headers (so without the token).</summary>
        public override string ToString()
        {
            return Method + " " + Url + (Body == null ? string.Empty : " " + Body);
        }
    }

    /// <summary>What the transport got back: an answer, or why none came.</summary>
    public sealed class MatchmakerResponse
    {
        private MatchmakerResponse(int status, string retryAfter, byte[] body, string failure)
        {
            Status = status;
            RetryAfter = retryAfter;
            Body = body ?? new byte[0];
            Failure = failure;
        }

        /// <summary>An HTTP answer (any status): <paramref name="retryAfter"/> is the header's value or null.</summary>
        public static MatchmakerResponse Answer(int status, string retryAfter, byte[] body)
        {
            return new MatchmakerResponse(status, retryAfter, body, null);
        }

        /// <summary>No answer came (could not connect, timed out, reset).</summary>
        public static MatchmakerResponse Failed(string reason)
        {
            return new MatchmakerResponse(0, null, null, reason ?? "no answer");
        }

        /// <summary>The HTTP status (0 when no answer came).</summary>
        public int Status { get; private set; }

        /// <summary>The Retry-After header's value, or null.</summary>
        public string RetryAfter { get; private set; }

        /// <summary>The body (empty when none).</summary>
        public byte[] Body { get; private set; }

        /// <summary>Why no answer came, or null when one did.</summary>
        public string Failure { get; private set; }
    }

    /// <summary>
    /// Sends one request with the game's HTTP stack. Call <paramref name="done"/> exactly once,
    /// from any thread; the session applies it on its next <see cref="MatchmakingSession.Tick"/>.
    /// </summary>
    public interface IMatchmakerTransport
    {
        /// <summary>Sends <paramref name="request"/> and reports its answer to <paramref name="done"/>.</summary>
        void Send(MatchmakerRequest request, Action<MatchmakerResponse> done);
    }

    /// <summary>How a matchmaking session ended.</summary>
    public sealed class MatchmakingOutcome
    {
        internal MatchmakingOutcome(ProbeResult status, string assignmentJson, string error)
        {
            Status = status;
            AssignmentJson = assignmentJson;
            Error = error;
        }

        /// <summary>Ok with an assignment; MatchmakingCancelled, AlreadyMatched or MatchmakingFailed otherwise.</summary>
        public ProbeResult Status { get; private set; }

        /// <summary>The server: <c>{"fqdn", "public_ip", "ports": {name: {internal, external, link, protocol}}, "location"}</c>, or null.</summary>
        public string AssignmentJson { get; private set; }

        /// <summary>Why there is no assignment (never holds the token), or null.</summary>
        public string Error { get; private set; }

        /// <summary>A server was assigned.</summary>
        public bool Succeeded
        {
            get { return Status == ProbeResult.Ok; }
        }
    }

    /// <summary>Options of a matchmaking session (null fields keep the library's defaults).</summary>
    public sealed class MatchmakingOptions
    {
        /// <summary>The latency attribute's name (the profile's latencies rule); default "beacons".</summary>
        public string Attribute;
        /// <summary>Milliseconds between polls (default 1000).</summary>
        public uint? PollIntervalMs;
        /// <summary>Each interval moves by up to this many milliseconds either way (default 200).</summary>
        public uint? JitterMs;
        /// <summary>Give up after this many errors in a row (default 10).</summary>
        public uint? MaxConsecutiveErrors;
        /// <summary>Give up (and delete the ticket) after this many milliseconds (default never).</summary>
        public uint? TimeoutMs;

        internal string ToJson()
        {
            var parts = new List<string>();
            if (Attribute != null)
            {
                parts.Add("\"attribute\": \"" + Attribute.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"");
            }
            Add(parts, "poll_interval_ms", PollIntervalMs);
            Add(parts, "jitter_ms", JitterMs);
            Add(parts, "max_consecutive_errors", MaxConsecutiveErrors);
            Add(parts, "timeout_ms", TimeoutMs);
            return "{" + string.Join(", ", parts.ToArray()) + "}";
        }

        private static void Add(List<string> parts, string key, uint? value)
        {
            if (value.HasValue)
            {
                parts.Add("\"" + key + "\": " + value.Value);
            }
        }
    }

    /// <summary>
    /// One player's way through matchmaking: a ticket, or a party membership (create or join a
    /// group). Call <see cref="Tick"/> every frame (it never blocks); <see cref="Completed"/>
    /// fires on the thread that ticks (Unity's main thread), once.
    /// </summary>
    public sealed class MatchmakingSession : IDisposable
    {
        private readonly FlowSafeHandle handle;
        private readonly string baseUrl;
        private readonly IMatchmakerTransport transport;
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private readonly object answerLock = new object();
        private MatchmakerResponse pendingAnswer;
        private bool awaiting;

        private MatchmakingSession(FlowSafeHandle handle, string baseUrl, IMatchmakerTransport transport)
        {
            this.handle = handle;
            this.baseUrl = baseUrl.TrimEnd('/');
            this.transport = transport;
        }

        /// <summary>
        /// Enters matchmaking with a ticket. <paramref name="payloadJson"/> is the probe's payload
        /// (<see cref="BeaconProbe.GetPayloadJson"/>), which is the ticket's <c>attributes</c>.
        /// </summary>
        public static MatchmakingSession Ticket(string baseUrl, string token, string profile, string payloadJson,
            IMatchmakerTransport transport, MatchmakingOptions options = null)
        {
            return Create(MatchmakingKind.Ticket, baseUrl, token, profile, payloadJson, null, transport, options);
        }

        /// <summary>Creates a group (party) owned by this player, with its own latencies.</summary>
        public static MatchmakingSession CreateGroup(string baseUrl, string token, string profile, string payloadJson,
            IMatchmakerTransport transport, MatchmakingOptions options = null)
        {
            return Create(MatchmakingKind.CreateGroup, baseUrl, token, profile, payloadJson, null, transport, options);
        }

        /// <summary>Joins the group <paramref name="groupId"/> with this player's own latencies.</summary>
        public static MatchmakingSession JoinGroup(string baseUrl, string token, string groupId, string profile,
            string payloadJson, IMatchmakerTransport transport, MatchmakingOptions options = null)
        {
            return Create(MatchmakingKind.JoinGroup, baseUrl, token, profile, payloadJson, groupId, transport, options);
        }

        private static MatchmakingSession Create(MatchmakingKind kind, string baseUrl, string token, string profile,
            string payloadJson, string groupId, IMatchmakerTransport transport, MatchmakingOptions options)
        {
            if (baseUrl == null || transport == null)
            {
                throw new ProbeException(ProbeResult.NullArgument, baseUrl == null ? "baseUrl is null" : "transport is null");
            }
            ulong id;
            var code = NativeMethods.egp_flow_create(kind, NativeMethods.Utf8(token), NativeMethods.Utf8(profile),
                NativeMethods.Utf8(payloadJson), NativeMethods.Utf8(groupId),
                NativeMethods.Utf8((options ?? new MatchmakingOptions()).ToJson()), out id);
            ProbeException.Check(code);
            return new MatchmakingSession(FlowSafeHandle.FromId(id), baseUrl, transport);
        }

        /// <summary>Raised by Tick once, when the session ended.</summary>
        public event Action<MatchmakingOutcome> Completed;

        /// <summary>The outcome once ended, else null.</summary>
        public MatchmakingOutcome Outcome { get; private set; }

        /// <summary>The ticket's id once created (a member's id for a party), else empty.</summary>
        public string TicketId
        {
            get { return Text(FlowText.TicketId); }
        }

        /// <summary>The group's id for a party once known (share it with the friends who join), else empty.</summary>
        public string GroupId
        {
            get { return Text(FlowText.GroupId); }
        }

        /// <summary>This player's membership id in a party, else empty.</summary>
        public string MemberId
        {
            get { return Text(FlowText.MemberId); }
        }

        /// <summary>The last HTTP status the matchmaker answered (0 before any).</summary>
        public int LastHttpStatus { get; private set; }

        /// <summary>Stops waiting: the ticket is deleted (the group left) on the next ticks; Completed follows.</summary>
        public void Cancel()
        {
            ProbeException.Check(handle.Call(NativeMethods.egp_flow_cancel));
        }

        /// <summary>Says this party member is ready (or not); sent on the next tick. Parties only.</summary>
        public void SetReady(bool ready)
        {
            ProbeException.Check(handle.Call(id => NativeMethods.egp_flow_set_ready(id, ready ? 1u : 0u)));
        }

        /// <summary>Advances the flow. Call it every frame. Returns true once ended.</summary>
        public bool Tick()
        {
            if (Outcome != null)
            {
                return true;
            }
            var now = (ulong)clock.ElapsedMilliseconds;
            if (awaiting)
            {
                MatchmakerResponse answer;
                lock (answerLock)
                {
                    answer = pendingAnswer;
                    pendingAnswer = null;
                }
                if (answer == null)
                {
                    return false;
                }
                awaiting = false;
                Apply(answer, now);
            }
            var step = default(FlowStep);
            ProbeException.Check(handle.Call(id => NativeMethods.egp_flow_step(id, now, out step)));
            return Act(step);
        }

        private void Apply(MatchmakerResponse answer, ulong now)
        {
            ProbeResult code;
            if (answer.Failure != null)
            {
                code = handle.Call(id => NativeMethods.egp_flow_transport_error(id, now, NativeMethods.Utf8(answer.Failure)));
            }
            else
            {
                LastHttpStatus = answer.Status;
                code = handle.Call(id => NativeMethods.egp_flow_respond(id, now, (uint)answer.Status,
                    NativeMethods.Utf8(answer.RetryAfter), answer.Body, (UIntPtr)(uint)answer.Body.Length));
            }
            ProbeException.Check(code);
        }

        private bool Act(FlowStep step)
        {
            switch (step.Action)
            {
                case FlowAction.Send:
                    Send();
                    return false;
                case FlowAction.Finished:
                    var assignment = step.Status == ProbeResult.Ok ? Text(FlowText.AssignmentJson) : null;
                    var error = step.Status == ProbeResult.Ok ? null : Text(FlowText.ErrorMessage);
                    Outcome = new MatchmakingOutcome(step.Status, assignment, error);
                    var completed = Completed;
                    if (completed != null)
                    {
                        completed(Outcome);
                    }
                    return true;
                default:
                    return false;
            }
        }

        private void Send()
        {
            var headers = new List<KeyValuePair<string, string>>();
            foreach (var line in Text(FlowText.RequestHeaders).Split('\n'))
            {
                var colon = line.IndexOf(": ", StringComparison.Ordinal);
                if (colon > 0)
                {
                    headers.Add(new KeyValuePair<string, string>(line.Substring(0, colon), line.Substring(colon + 2)));
                }
            }
            var body = Text(FlowText.RequestBody);
            var request = new MatchmakerRequest(Text(FlowText.RequestMethod), baseUrl + "/" + Text(FlowText.RequestPath),
                headers, body.Length == 0 ? null : body);
            awaiting = true;
            transport.Send(request, answer =>
            {
                lock (answerLock)
                {
                    pendingAnswer = answer ?? MatchmakerResponse.Failed("the transport gave no answer");
                }
            });
        }

        private string Text(FlowText which)
        {
            string text = null;
            var code = handle.Call(id => NativeMethods.ReadText(
                (byte[] buf, UIntPtr len, out UIntPtr needed) => NativeMethods.egp_flow_text(id, which, buf, len, out needed),
                out text));
            return code == ProbeResult.Ok ? text : string.Empty;
        }

        /// <summary>Frees the native flow. It sends nothing: Cancel and tick until Completed to delete a ticket.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }
    }
}
