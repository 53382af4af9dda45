// Build rules of the EdgegapProbe module: the header-only wrapper plus the prebuilt native
// library, linked statically on every platform (one less file to ship, and iOS requires it).
//
// Put the libraries built by ffi/README.md ("Building for each platform") here:
//   Source/ThirdParty/EdgegapProbeLibrary/include/edgegap_probe.h      (copy of ffi/include)
//   Source/ThirdParty/EdgegapProbeLibrary/lib/Win64/edgegap_probe.lib  (x86_64-pc-windows-msvc)
//   Source/ThirdParty/EdgegapProbeLibrary/lib/Mac/libedgegap_probe.a   (lipo of x86_64 + aarch64-apple-darwin)
//   Source/ThirdParty/EdgegapProbeLibrary/lib/Linux/libedgegap_probe.a (x86_64-unknown-linux-gnu)
//   Source/ThirdParty/EdgegapProbeLibrary/lib/Android/arm64-v8a/libedgegap_probe.a (aarch64-linux-android)
//   Source/ThirdParty/EdgegapProbeLibrary/lib/IOS/libedgegap_probe.a   (aarch64-apple-ios)
using System.IO;
using UnrealBuildTool;

public class EdgegapProbe : ModuleRules
{
	public EdgegapProbe(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;
		CppStandard = CppStandardVersion.Cpp17;

		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine" });
		// Unreal's HTTP module sends the matchmaking flow's requests (the library has no HTTP stack).
		PrivateDependencyModuleNames.AddRange(new string[] { "HTTP" });

		string ThirdParty = Path.GetFullPath(Path.Combine(ModuleDirectory, "..", "ThirdParty", "EdgegapProbeLibrary"));
		string LibDir = Path.Combine(ThirdParty, "lib");
		PublicIncludePaths.Add(Path.Combine(ThirdParty, "include"));

		if (Target.Platform == UnrealTargetPlatform.Win64)
		{
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "Win64", "edgegap_probe.lib"));
			// What the Rust standard library needs on Windows (the exact list for your toolchain:
			// cargo rustc -p edgegap-probe-ffi --crate-type staticlib -- --print native-static-libs).
			PublicSystemLibraries.AddRange(new string[] { "ws2_32.lib", "userenv.lib", "bcrypt.lib", "ntdll.lib", "advapi32.lib", "kernel32.lib" });
		}
		else if (Target.Platform == UnrealTargetPlatform.Mac)
		{
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "Mac", "libedgegap_probe.a"));
			PublicFrameworks.AddRange(new string[] { "CoreFoundation", "Security" });
		}
		else if (Target.Platform == UnrealTargetPlatform.IOS)
		{
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "IOS", "libedgegap_probe.a"));
			PublicFrameworks.AddRange(new string[] { "CoreFoundation", "Security" });
		}
		else if (Target.Platform == UnrealTargetPlatform.Android)
		{
			// UE5 builds Android for arm64 only; add an armeabi-v7a copy for a 32-bit UE4 target.
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "Android", "arm64-v8a", "libedgegap_probe.a"));
			PublicSystemLibraries.AddRange(new string[] { "log", "dl", "m" });
		}
		else if (Target.Platform == UnrealTargetPlatform.Linux)
		{
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "Linux", "libedgegap_probe.a"));
			PublicSystemLibraries.AddRange(new string[] { "pthread", "dl", "m" });
		}
	}
}
