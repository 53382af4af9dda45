// The probe as C# objects: create, start, poll, read JSON, cancel, dispose.
// Plain C#: no UnityEngine dependency, so mono can compile and test it outside Unity.
using System;

namespace Edgegap.Probe
{
    /// <summary>
    /// One probe run over a beacon list. Never blocks, except <see cref="RunBlocking"/> (tools
    /// only). Methods throw <see cref="ProbeException"/> when the native call fails; the
    /// <c>Try</c> variants return the code instead.
    /// </summary>
    public sealed class BeaconProbe : IDisposable
    {
        private readonly ProbeSafeHandle handle;

        private BeaconProbe(ProbeSafeHandle handle)
        {
            this.handle = handle;
        }

        /// <summary>The native library's version.</summary>
        public static string NativeVersion
        {
            get { return NativeMethods.Version(); }
        }

        /// <summary>The native C ABI version (1 for this binding).</summary>
        public static uint NativeAbiVersion
        {
            get { return NativeMethods.egp_abi_version(); }
        }

        /// <summary>The owned native handle.</summary>
        public ProbeSafeHandle Handle
        {
            get { return handle; }
        }

        /// <summary>Creates a probe from a beacon list JSON (either shape) and settings.</summary>
        public static BeaconProbe Create(string beaconListJson, ProbeConfig config)
        {
            ulong id;
            ProbeException.Check(NativeMethods.egp_probe_create(NativeMethods.Utf8(beaconListJson), ref config, out id));
            return new BeaconProbe(ProbeSafeHandle.FromId(id));
        }

        /// <summary>Creates a probe with the default settings.</summary>
        public static BeaconProbe Create(string beaconListJson)
        {
            return Create(beaconListJson, ProbeConfig.Defaults());
        }

        /// <summary>Creates a probe with settings as JSON, e.g. <c>{"count": 5, "attribute": "beacons"}</c>.</summary>
        public static BeaconProbe CreateWithJsonConfig(string beaconListJson, string configJson)
        {
            ulong id;
            var code = NativeMethods.egp_probe_create_json(
                NativeMethods.Utf8(beaconListJson), NativeMethods.Utf8(configJson), out id);
            ProbeException.Check(code);
            return new BeaconProbe(ProbeSafeHandle.FromId(id));
        }

        /// <summary>Gives the report of an earlier run (keeps its best location when it still ties).</summary>
        public void SetPrevious(string reportJson)
        {
            var bytes = NativeMethods.Utf8(reportJson);
            ProbeException.Check(handle.Call(id => NativeMethods.egp_probe_set_previous_json(id, bytes)));
        }

        /// <summary>Starts probing on the library's threads; returns at once.</summary>
        public void Start()
        {
            ProbeException.Check(TryStart());
        }

        /// <summary>Starts probing; returns the code instead of throwing.</summary>
        public ProbeResult TryStart()
        {
            return handle.Call(NativeMethods.egp_probe_start);
        }

        /// <summary>Progress without blocking (state Created before Start).</summary>
        public ProbeProgress Poll()
        {
            ProbeProgress progress;
            var code = handle.Poll(out progress);
            if (code != ProbeResult.Ok && code != ProbeResult.NotStarted)
            {
                ProbeException.Check(code);
            }
            return progress;
        }

        /// <summary>Whether the result is ready.</summary>
        public bool IsFinished
        {
            get { return Poll().Finished; }
        }

        /// <summary>Stops the probe early; it then finishes with what it measured.</summary>
        public void Cancel()
        {
            ProbeException.Check(handle.Call(NativeMethods.egp_probe_cancel));
        }

        /// <summary>For tools and tests: runs to the end on this thread. Never on the main thread of a game.</summary>
        public ProbeResult RunBlocking()
        {
            return handle.Call(NativeMethods.egp_probe_run_blocking);
        }

        /// <summary>The ranked report as JSON (throws NotFinished before the end).</summary>
        public string GetResultJson()
        {
            string text;
            ProbeException.Check(TryGetResultJson(out text));
            return text;
        }

        /// <summary>The ranked report as JSON; returns the code instead of throwing.</summary>
        public ProbeResult TryGetResultJson(out string json)
        {
            return TryRead(NativeMethods.egp_probe_result_json, out json);
        }

        /// <summary>
        /// The matchmaker payload, <c>{"beacons": {"City": ms, ...}}</c>: use it as the ticket's
        /// <c>attributes</c> object.
        /// </summary>
        public string GetPayloadJson()
        {
            string text;
            ProbeException.Check(TryGetPayloadJson(out text));
            return text;
        }

        /// <summary>The matchmaker payload; returns the code instead of throwing.</summary>
        public ProbeResult TryGetPayloadJson(out string json)
        {
            return TryRead(NativeMethods.egp_probe_payload_json, out json);
        }

        /// <summary>
        /// Why this probe's run failed (empty while it runs or when it succeeded): the run's own
        /// error, whatever else failed since on this thread.
        /// </summary>
        public string ErrorMessage
        {
            get
            {
                string text;
                return TryRead(NativeMethods.egp_probe_error_message, out text) == ProbeResult.Ok ? text : string.Empty;
            }
        }

        /// <summary>Signature of the native calls that copy a probe's text into a buffer.</summary>
        private delegate ProbeResult ProbeTextReader(ulong probe, byte[] buf, UIntPtr len, out UIntPtr needed);

        /// <summary>Reads one of the probe's texts through the buffer protocol (size query, then copy).</summary>
        private ProbeResult TryRead(ProbeTextReader native, out string json)
        {
            string text = null;
            var code = handle.Call(id => NativeMethods.ReadText(
                (byte[] buf, UIntPtr len, out UIntPtr needed) => native(id, buf, len, out needed),
                out text));
            json = text;
            return code;
        }

        /// <summary>Frees the native probe (cancelling it if it still runs).</summary>
        public void Dispose()
        {
            handle.Dispose();
        }
    }
}
