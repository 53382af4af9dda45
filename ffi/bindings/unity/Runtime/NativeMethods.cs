// P/Invoke declarations of the edgegap-probe C ABI (ffi/include/edgegap_probe.h).
// Plain C#: no UnityEngine dependency, so mono can compile it outside Unity (ffi/tests/run.sh).
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Edgegap.Probe
{
    /// <summary>Result codes of the C ABI. The numbers never change.</summary>
    public enum ProbeResult : uint
    {
        Ok = 0,
        NullArgument = 1,
        InvalidUtf8 = 2,
        InvalidJson = 3,
        BadBeaconList = 4,
        NoBeacons = 5,
        InvalidConfig = 6,
        InvalidHandle = 7,
        BufferTooSmall = 8,
        NotStarted = 9,
        NotFinished = 10,
        AlreadyStarted = 11,
        Cancelled = 12,
        ProbeFailed = 13,
        Runtime = 14,
        Panic = 15,
        /// <summary>A matchmaking flow ended without an assignment (see its error message).</summary>
        MatchmakingFailed = 16,
        /// <summary>A matchmaking flow was cancelled or timed out (its ticket deleted when it existed).</summary>
        MatchmakingCancelled = 17,
        /// <summary>A cancel came too late: the matchmaker had already found the match (409).</summary>
        AlreadyMatched = 18,
        /// <summary>An answer was handed to a flow that had no request out.</summary>
        NoRequestPending = 19,
    }

    /// <summary>What a matchmaking flow enters as (the C <c>EgpFlowKind</c>).</summary>
    public enum MatchmakingKind : uint
    {
        Ticket = 0,
        CreateGroup = 1,
        JoinGroup = 2,
    }

    /// <summary>What a flow asks for next (the C <c>EgpFlowAction</c>).</summary>
    internal enum FlowAction : uint
    {
        Send = 1,
        Wait = 2,
        AwaitResponse = 3,
        Finished = 4,
    }

    /// <summary>Which flow text to read (the C <c>EgpFlowText</c>).</summary>
    internal enum FlowText : uint
    {
        RequestMethod = 0,
        RequestPath = 1,
        RequestHeaders = 2,
        RequestBody = 3,
        AssignmentJson = 4,
        ErrorMessage = 5,
        TicketId = 6,
        GroupId = 7,
        MemberId = 8,
    }

    /// <summary>The C <c>EgpFlowStep</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct FlowStep
    {
        public FlowAction Action;
        public uint Method;
        public ulong WakeupMs;
        public ProbeResult Status;
        public uint LastHttpStatus;
    }

    /// <summary>Where a probe is in its life.</summary>
    public enum ProbeState : uint
    {
        Created = 0,
        Running = 1,
        Finished = 2,
    }

    /// <summary>Transport used for every beacon.</summary>
    public enum ProbeProtocol : uint
    {
        Auto = 0,
        Udp = 1,
        Tcp = 2,
        Icmp = 3,
    }

    /// <summary>Address family of the probes.</summary>
    public enum ProbeIpVersion : uint
    {
        Any = 0,
        V4 = 1,
        V6 = 2,
    }

    /// <summary>The figure a location is ranked by.</summary>
    public enum ProbeStatistic : uint
    {
        Median = 0,
        Mean = 1,
        TrimmedMean = 2,
        Min = 3,
    }

    /// <summary>
    /// Probe settings, the C <c>EgpConfig</c>. Start from <see cref="Defaults"/> and change fields.
    /// Times are in milliseconds.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ProbeConfig
    {
        /// <summary>Size of the struct; set by <see cref="Defaults"/>. Do not change.</summary>
        public uint Size;
        public ProbeProtocol Protocol;
        public ProbeIpVersion IpVersion;
        public ProbeStatistic Statistic;
        /// <summary>Probes per beacon (at least 1).</summary>
        public uint Count;
        /// <summary>Extra probes a beacon may get to replace lost ones.</summary>
        public uint ExtraProbes;
        /// <summary>1: stop probing locations that can no longer win; 0: probe all.</summary>
        public uint EarlyDecision;
        /// <summary>1: accept any reply from the beacon's address and port.</summary>
        public uint Lenient;
        public double IntervalMs;
        public double TimeoutMs;
        /// <summary>Hard limit for the whole run; 0 means none.</summary>
        public double DeadlineMs;
        public double LossPenaltyMs;
        public double JitterWeight;
        public double TieFactor;
        public double TieMarginMs;
        /// <summary>Locations above this are excluded (the matchmaker's max_latency); 0 means none.</summary>
        public double MaxLatencyMs;
        /// <summary>1 (default): keep probing close contenders side by side until told apart at
        /// <see cref="Confidence"/>; 0: exactly <see cref="Count"/> samples per beacon.</summary>
        public uint Adaptive;
        /// <summary>Most probes per location while close contenders are told apart (default 30).</summary>
        public uint MaxProbes;
        /// <summary>How sure a comparison must be, 0.5 to below 1 (default 0.95).</summary>
        public double Confidence;

        /// <summary>The library's defaults.</summary>
        public static ProbeConfig Defaults()
        {
            var config = new ProbeConfig();
            var size = (UIntPtr)(uint)Marshal.SizeOf(typeof(ProbeConfig));
            ProbeException.Check(NativeMethods.egp_config_init(ref config, size));
            return config;
        }
    }

    /// <summary>A snapshot of a probe's progress, the C <c>EgpProgress</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ProbeProgress
    {
        public ulong ProbesSent;
        public ulong Samples;
        public uint TargetsDone;
        public uint TargetsTotal;
        public ProbeState State;
        /// <summary>The run's result: NotStarted / NotFinished before the end, then Ok or why not.</summary>
        public ProbeResult Status;
        public uint DecidedFlag;
        public uint FinishedFlag;
        public uint CancelledFlag;
        public uint Reserved;

        /// <summary>The best location is known (others may still be measured).</summary>
        public bool Decided { get { return DecidedFlag != 0; } }

        /// <summary>The result is ready.</summary>
        public bool Finished { get { return FinishedFlag != 0; } }

        /// <summary>The probe was cancelled.</summary>
        public bool Cancelled { get { return CancelledFlag != 0; } }

        /// <summary>Same counters and flags as <paramref name="other"/> (no boxing).</summary>
        public bool SameAs(ProbeProgress other)
        {
            return ProbesSent == other.ProbesSent && Samples == other.Samples
                && TargetsDone == other.TargetsDone && TargetsTotal == other.TargetsTotal
                && State == other.State && Status == other.Status && DecidedFlag == other.DecidedFlag
                && FinishedFlag == other.FinishedFlag && CancelledFlag == other.CancelledFlag;
        }

        /// <summary>Fraction of beacons done, 0..1, for a progress bar.</summary>
        public float Fraction
        {
            get { return TargetsTotal == 0 ? 0f : Math.Min(1f, (float)TargetsDone / TargetsTotal); }
        }
    }

    /// <summary>A failed call of the native library.</summary>
    public sealed class ProbeException : Exception
    {
        public ProbeException(ProbeResult code, string message)
            : base(code + ": " + message)
        {
            Code = code;
        }

        /// <summary>The C result code.</summary>
        public ProbeResult Code { get; private set; }

        /// <summary>Throws for anything but Ok, with the library's message for this thread.</summary>
        public static void Check(ProbeResult code)
        {
            if (code != ProbeResult.Ok)
            {
                throw new ProbeException(code, NativeMethods.LastErrorMessage());
            }
        }
    }

    /// <summary>The raw C functions. Strings cross as NUL-terminated UTF-8 byte arrays.</summary>
    internal static class NativeMethods
    {
#if UNITY_IOS && !UNITY_EDITOR
        // iOS links the static library into the player: symbols are resolved in-process.
        private const string Lib = "__Internal";
#else
        // libedgegap_probe.so / edgegap_probe.dll / libedgegap_probe.dylib
        private const string Lib = "edgegap_probe";
#endif

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr egp_version();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint egp_abi_version();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_config_init(ref ProbeConfig config, UIntPtr size);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_probe_create(byte[] beaconsJson, ref ProbeConfig config, out ulong probe);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_probe_create_json(byte[] beaconsJson, byte[] configJson, out ulong probe);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_probe_set_previous_json(ulong probe, byte[] reportJson);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_probe_start(ulong probe);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_probe_poll(ulong probe, out ProbeProgress progress);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_probe_result_json(ulong probe, byte[] buf, UIntPtr len, out UIntPtr needed);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_probe_payload_json(ulong probe, byte[] buf, UIntPtr len, out UIntPtr needed);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_probe_cancel(ulong probe);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_probe_run_blocking(ulong probe);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_probe_free(ulong probe);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_probe_error_message(ulong probe, byte[] buf, UIntPtr len, out UIntPtr needed);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_last_error_message(byte[] buf, UIntPtr len, out UIntPtr needed);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_flow_create(MatchmakingKind kind, byte[] token, byte[] profile, byte[] attributesJson, byte[] groupId, byte[] optionsJson, out ulong flow);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_flow_step(ulong flow, ulong nowMs, out FlowStep step);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_flow_respond(ulong flow, ulong nowMs, uint status, byte[] retryAfter, byte[] body, UIntPtr bodyLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_flow_transport_error(ulong flow, ulong nowMs, byte[] reason);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_flow_cancel(ulong flow);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_flow_set_ready(ulong flow, uint ready);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_flow_text(ulong flow, FlowText which, byte[] buf, UIntPtr len, out UIntPtr needed);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ProbeResult egp_flow_free(ulong flow);

        /// <summary>A C# string as NUL-terminated UTF-8 (null stays null).</summary>
        internal static byte[] Utf8(string text)
        {
            if (text == null)
            {
                return null;
            }
            var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
            Encoding.UTF8.GetBytes(text, 0, text.Length, bytes, 0);
            return bytes;
        }

        internal delegate ProbeResult TextReader(byte[] buf, UIntPtr len, out UIntPtr needed);

        /// <summary>Reads a text through the size-query protocol of the C ABI.</summary>
        internal static ProbeResult ReadText(TextReader read, out string text)
        {
            text = null;
            UIntPtr needed;
            var code = read(null, UIntPtr.Zero, out needed);
            if (code != ProbeResult.BufferTooSmall)
            {
                return code;
            }
            var buf = new byte[(int)needed.ToUInt32()];
            code = read(buf, (UIntPtr)(uint)buf.Length, out needed);
            if (code == ProbeResult.Ok)
            {
                text = Encoding.UTF8.GetString(buf, 0, (int)needed.ToUInt32() - 1);
            }
            return code;
        }

        /// <summary>The last error message of this thread.</summary>
        internal static string LastErrorMessage()
        {
            string message;
            return ReadText(egp_last_error_message, out message) == ProbeResult.Ok ? message : string.Empty;
        }

        /// <summary>The native library's version, such as "0.1.0".</summary>
        internal static string Version()
        {
            return Marshal.PtrToStringAnsi(egp_version());
        }
    }
}
