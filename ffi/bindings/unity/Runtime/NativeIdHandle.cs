// Ownership of a native handle id (a probe or a matchmaking flow). Plain C#: no UnityEngine.
using System;
using System.Runtime.InteropServices;

namespace Edgegap.Probe
{
    /// <summary>
    /// Owns one native id (<c>EgpProbe</c>, <c>EgpFlow</c>) and frees it exactly once, on
    /// Dispose or, if forgotten, from the finalizer.
    /// </summary>
    /// <remarks>
    /// The id is kept in the IntPtr slot of SafeHandle (ids are small counters, so they fit
    /// even a 32-bit IntPtr); it is never dereferenced. Calls go through <see cref="Call"/>,
    /// which holds a reference so the handle cannot be released in the middle of a call.
    /// </remarks>
    public abstract class NativeIdHandle : SafeHandle
    {
        /// <summary>An empty handle; <see cref="Adopt"/> gives it its id.</summary>
        protected NativeIdHandle()
            : base(IntPtr.Zero, true)
        {
        }

        /// <summary>Takes ownership of <paramref name="id"/>.</summary>
        protected void Adopt(ulong id)
        {
            if (id == 0 || id > (ulong)long.MaxValue || (IntPtr.Size == 4 && id > int.MaxValue))
            {
                throw new ProbeException(ProbeResult.InvalidHandle, "native id " + id + " does not fit a handle");
            }
            SetHandle(new IntPtr((long)id));
        }

        /// <summary>True when this object holds no id.</summary>
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
    }

    /// <summary>Owns one native matchmaking flow; freeing it sends nothing.</summary>
    public sealed class FlowSafeHandle : NativeIdHandle
    {
        private FlowSafeHandle()
        {
        }

        internal static FlowSafeHandle FromId(ulong id)
        {
            var handle = new FlowSafeHandle();
            handle.Adopt(id);
            return handle;
        }

        protected override bool ReleaseHandle()
        {
            return NativeMethods.egp_flow_free((ulong)handle.ToInt64()) == ProbeResult.Ok;
        }
    }
}
