// The MonoBehaviour: drives a ProbeSession from Update(). Compiled only inside Unity.
#if UNITY_5_3_OR_NEWER
using System;
using UnityEngine;
using UnityEngine.Events;

namespace Edgegap.Probe
{
    /// <summary>
    /// Add to a GameObject, call <see cref="Begin"/> with the beacon list your matchmaker
    /// returned (<c>GET {matchmaker}/locations/beacons</c>), and read <see cref="Outcome"/> or
    /// listen to <see cref="onPayload"/>. Polls from Update(); never blocks the main thread.
    /// The probe is freed (and cancelled) when the component is destroyed.
    /// </summary>
    [AddComponentMenu("Edgegap/Edgegap Probe")]
    public sealed class EdgegapProbeBehaviour : MonoBehaviour
    {
        [Serializable]
        public sealed class StringEvent : UnityEvent<string>
        {
        }

        [Tooltip("Probes per beacon.")]
        [Min(1)]
        public int probesPerBeacon = 5;

        [Tooltip("Drop locations above this latency (the matchmaker's max_latency); 0 keeps all.")]
        [Min(0)]
        public float maxLatencyMs = 0f;

        [Tooltip("Called with the ticket payload JSON when the probe succeeded.")]
        public StringEvent onPayload = new StringEvent();

        [Tooltip("Called with the error message when the probe produced no report.")]
        public StringEvent onError = new StringEvent();

        private ProbeSession session;

        /// <summary>The running or finished session, or null.</summary>
        public ProbeSession Session
        {
            get { return session; }
        }

        /// <summary>The outcome once finished, else null.</summary>
        public ProbeOutcome Outcome
        {
            get { return session == null ? null : session.Outcome; }
        }

        /// <summary>Starts probing the beacons of this list (either JSON shape).</summary>
        public void Begin(string beaconListJson)
        {
            End();
            var config = ProbeConfig.Defaults();
            config.Count = (uint)Mathf.Max(1, probesPerBeacon);
            config.MaxLatencyMs = maxLatencyMs;
            try
            {
                session = new ProbeSession(beaconListJson, config);
                session.Completed += OnCompleted;
                session.Start();
            }
            catch (ProbeException e)
            {
                Debug.LogWarning("Edgegap probe could not start: " + e.Message);
                onError.Invoke(e.Message);
                End();
            }
        }

        /// <summary>Cancels the probe; the outcome then holds what was measured.</summary>
        public void Cancel()
        {
            if (session != null)
            {
                session.Cancel();
            }
        }

        private void Update()
        {
            if (session != null && !session.IsFinished)
            {
                session.Tick();
            }
        }

        private void OnCompleted(ProbeOutcome outcome)
        {
            if (outcome.Succeeded)
            {
                onPayload.Invoke(outcome.PayloadJson);
            }
            else
            {
                onError.Invoke(outcome.Error);
            }
        }

        private void End()
        {
            if (session != null)
            {
                session.Dispose();
                session = null;
            }
        }

        private void OnDestroy()
        {
            End();
        }
    }
}
#endif
