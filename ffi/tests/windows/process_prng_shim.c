/*
 * TEST-ONLY. Never ship this file or the DLL built from it.
 *
 * A stand-in `bcryptprimitives.dll` for running the Windows build under wine 8, which lacks
 * `ProcessPrng`, the function Rust's standard library (and getrandom) import from it for
 * random numbers (real Windows has it from Windows 10 on, the oldest Windows Rust supports).
 * ffi/tests/windows/run.sh builds it with mingw and puts it beside the test programs only,
 * where wine loads it instead of its own bcryptprimitives. It fills the buffer from
 * RtlGenRandom (SystemFunction036 in advapi32), the operating system's CSPRNG.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom */

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
