// Ownership of a native probe handle. Plain C#: no UnityEngine dependency.
using System;
using System.Runtime.InteropServices;

namespace Edgegap.Probe
{
    /// <summary>
    /// Owns one native probe (an <c>EgpProbe</c> id) and frees it exactly once, on Dispose or,
    /// if forgotten, from the finalizer. Freeing also cancels a running probe.
    /// </summary>
    /// <remarks>See <see cref="NativeIdHandle"/> for how the id is kept.</remarks>
    public sealed class ProbeSafeHandle : NativeIdHandle
    {
        private ProbeSafeHandle()
        {
        }

        internal static ProbeSafeHandle FromId(ulong id)
        {
            var handle = new ProbeSafeHandle();
            handle.Adopt(id);
            return handle;
        }

        /// <summary>Polls without allocating (called every frame).</summary>
        internal ProbeResult Poll(out ProbeProgress progress)
        {
            bool added = false;
            try
            {
                DangerousAddRef(ref added);
                return NativeMethods.egp_probe_poll(Id, out progress);
            }
            finally
            {
                if (added)
                {
                    DangerousRelease();
                }
            }
        }

        protected override bool ReleaseHandle()
        {
            return NativeMethods.egp_probe_free((ulong)handle.ToInt64()) == ProbeResult.Ok;
        }
    }
}
