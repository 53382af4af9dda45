// Ownership of a native probe handle. Plain C#: no UnityEngine dependency.
using System;
using System.Runtime.InteropServices;

namespace Edgegap.Probe
{
    /// <summary>
    /// Owns one native probe (an <c>EgpProbe</c> id) and frees it exactly once, on Dispose or,
    /// if forgotten, from the finalizer. Freeing also cancels a running probe.
    /// </summary>
    /// <remarks>
    /// The id is kept in the IntPtr slot of SafeHandle (ids are small counters, so they fit
    /// even a 32-bit IntPtr); it is never dereferenced. Calls go through <see cref="Call"/>,
    /// which holds a reference so the handle cannot be released in the middle of a call.
    /// </remarks>
    public sealed class ProbeSafeHandle : SafeHandle
    {
        private ProbeSafeHandle()
            : base(IntPtr.Zero, true)
        {
        }

        internal static ProbeSafeHandle FromId(ulong id)
        {
            if (id == 0 || id > (ulong)long.MaxValue || (IntPtr.Size == 4 && id > int.MaxValue))
            {
                throw new ProbeException(ProbeResult.InvalidHandle, "native probe id " + id + " does not fit a handle");
            }
            var handle = new ProbeSafeHandle();
            handle.SetHandle(new IntPtr((long)id));
            return handle;
        }

        /// <summary>True when this object holds no probe.</summary>
        public override bool IsInvalid
        {
            get { return handle == IntPtr.Zero; }
        }

        /// <summary>The native id (valid while this handle is not closed).</summary>
        internal ulong Id
        {
            get { return (ulong)handle.ToInt64(); }
        }

        /// <summary>Runs a native call with the id while holding a reference to the handle.</summary>
        internal ProbeResult Call(Func<ulong, ProbeResult> call)
        {
            bool added = false;
            try
            {
                DangerousAddRef(ref added);
                return call(Id);
            }
            finally
            {
                if (added)
                {
                    DangerousRelease();
                }
            }
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
