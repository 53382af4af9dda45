#include "Modules/ModuleManager.h"

#include "edgegap_probe.h"

class FEdgegapProbeModule : public IModuleInterface
{
public:
	virtual void StartupModule() override
	{
		// A stale library next to a newer header is caught here rather than as a crash.
		if (egp_abi_version() != EGP_ABI_VERSION)
		{
			UE_LOG(LogTemp, Error, TEXT("libedgegap_probe ABI %u does not match the header's %u"), egp_abi_version(), EGP_ABI_VERSION);
		}
	}
};

IMPLEMENT_MODULE(FEdgegapProbeModule, EdgegapProbe)
