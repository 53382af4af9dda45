// A frame-loop friendly probe: call Tick() from Update(); events fire on the calling thread.
// Plain C#: no UnityEngine dependency (EdgegapProbeBehaviour.cs is the MonoBehaviour).
using System;

namespace Edgegap.Probe
{
    /// <summary>What a finished probe produced.</summary>
    public sealed class ProbeOutcome
    {
        internal ProbeOutcome(ProbeResult status, string reportJson, string payloadJson, bool cancelled, string error)
        {
            Status = status;
            ReportJson = reportJson;
            PayloadJson = payloadJson;
            Cancelled = cancelled;
            Error = error;
        }

        /// <summary>Ok when a report is ready.</summary>
        public ProbeResult Status { get; private set; }

        /// <summary>The ranked report (JSON), or null.</summary>
        public string ReportJson { get; private set; }

        /// <summary>The matchmaker ticket attributes (JSON), or null.</summary>
        public string PayloadJson { get; private set; }

        /// <summary>The run was cancelled (the report holds what was measured).</summary>
        public bool Cancelled { get; private set; }

        /// <summary>Why there is no report, or null.</summary>
        public string Error { get; private set; }

        /// <summary>A report is ready.</summary>
        public bool Succeeded
        {
            get { return Status == ProbeResult.Ok; }
        }
    }

    /// <summary>
    /// Runs one probe for a game loop: <see cref="Start"/> it, call <see cref="Tick"/> once per
    /// frame (it only polls: microseconds, never blocks), and get <see cref="ProgressChanged"/>
    /// and <see cref="Completed"/> on the thread that ticks (Unity's main thread).
    /// </summary>
    public sealed class ProbeSession : IDisposable
    {
        private readonly BeaconProbe probe;
        private ProbeProgress lastProgress;

        /// <summary>A session over a beacon list (either JSON shape) with settings.</summary>
        public ProbeSession(string beaconListJson, ProbeConfig config)
        {
            probe = BeaconProbe.Create(beaconListJson, config);
        }

        /// <summary>A session with the default settings.</summary>
        public ProbeSession(string beaconListJson)
            : this(beaconListJson, ProbeConfig.Defaults())
        {
        }

        /// <summary>Raised by Tick when the progress changed.</summary>
        public event Action<ProbeProgress> ProgressChanged;

        /// <summary>Raised by Tick once, when the result is ready.</summary>
        public event Action<ProbeOutcome> Completed;

        /// <summary>The underlying probe.</summary>
        public BeaconProbe Probe
        {
            get { return probe; }
        }

        /// <summary>The last polled progress.</summary>
        public ProbeProgress Progress
        {
            get { return lastProgress; }
        }

        /// <summary>The outcome, once finished (else null).</summary>
        public ProbeOutcome Outcome { get; private set; }

        /// <summary>Whether the outcome is there.</summary>
        public bool IsFinished
        {
            get { return Outcome != null; }
        }

        /// <summary>Starts the probe (non-blocking).</summary>
        public void Start()
        {
            probe.Start();
        }

        /// <summary>Stops the probe early; Completed still fires with what was measured.</summary>
        public void Cancel()
        {
            if (Outcome == null)
            {
                probe.Cancel();
            }
        }

        /// <summary>Polls once. Call it every frame. Returns true once finished.</summary>
        public bool Tick()
        {
            if (Outcome != null)
            {
                return true;
            }
            var progress = probe.Poll();
            if (!progress.SameAs(lastProgress))
            {
                lastProgress = progress;
                var changed = ProgressChanged;
                if (changed != null)
                {
                    changed(progress);
                }
            }
            if (!progress.Finished)
            {
                return false;
            }
            string report = null;
            string payload = null;
            string error = null;
            var status = probe.TryGetResultJson(out report);
            if (status == ProbeResult.Ok)
            {
                status = probe.TryGetPayloadJson(out payload);
            }
            if (status != ProbeResult.Ok)
            {
                // The run's own error; the thread's last error only if reading itself failed.
                error = probe.ErrorMessage;
                if (string.IsNullOrEmpty(error))
                {
                    error = NativeMethods.LastErrorMessage();
                }
            }
            Outcome = new ProbeOutcome(status, report, payload, progress.Cancelled, error);
            var completed = Completed;
            if (completed != null)
            {
                completed(Outcome);
            }
            return true;
        }

        /// <summary>Frees the native probe (cancelling it if it still runs).</summary>
        public void Dispose()
        {
            probe.Dispose();
        }
    }
}
