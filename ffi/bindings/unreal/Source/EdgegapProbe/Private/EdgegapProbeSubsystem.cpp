#include "EdgegapProbeSubsystem.h"

DEFINE_LOG_CATEGORY_STATIC(LogEdgegapProbe, Log, All);

bool UEdgegapProbeSubsystem::StartProbe(const FString& BeaconListJson, int32 ProbesPerBeacon, float MaxLatencyMs)
{
	Probe.reset(); // frees (and cancels) a previous probe
	ReportJson.Reset();
	PayloadJson.Reset();
	Progress = 0.f;

	edgegap::Config Config;
	Config.count = static_cast<uint32_t>(FMath::Max(1, ProbesPerBeacon));
	Config.max_latency_ms = FMath::Max(0.f, MaxLatencyMs);

	auto Created = edgegap::Probe::Create(TCHAR_TO_UTF8(*BeaconListJson), Config);
	if (!Created)
	{
		UE_LOG(LogEdgegapProbe, Warning, TEXT("could not create the probe: %s"), UTF8_TO_TCHAR(Created.error().message.c_str()));
		return false;
	}
	Probe.emplace(std::move(Created).value());
	if (Probe->Start() != EGP_RESULT_OK)
	{
		UE_LOG(LogEdgegapProbe, Warning, TEXT("could not start the probe: %s"), UTF8_TO_TCHAR(edgegap::LastErrorMessage().c_str()));
		Probe.reset();
		return false;
	}
	return true;
}

void UEdgegapProbeSubsystem::CancelProbe()
{
	if (Probe)
	{
		Probe->Cancel();
	}
}

bool UEdgegapProbeSubsystem::IsProbing() const
{
	return Probe.has_value();
}

void UEdgegapProbeSubsystem::Tick(float DeltaTime)
{
	if (!Probe)
	{
		return;
	}
	const EgpProgress Now = Probe->Poll();
	Progress = Now.targets_total == 0 ? 0.f : FMath::Min(1.f, float(Now.targets_done) / float(Now.targets_total));
	if (Now.finished)
	{
		Finish(Now.status == EGP_RESULT_OK);
	}
}

void UEdgegapProbeSubsystem::Finish(bool bSucceeded)
{
	if (bSucceeded)
	{
		auto Report = Probe->ResultJson();
		auto Payload = Probe->PayloadJson();
		bSucceeded = Report.ok() && Payload.ok();
		if (bSucceeded)
		{
			ReportJson = UTF8_TO_TCHAR(Report.value().c_str());
			PayloadJson = UTF8_TO_TCHAR(Payload.value().c_str());
		}
	}
	if (!bSucceeded)
	{
		UE_LOG(LogEdgegapProbe, Warning, TEXT("the probe produced no report: %s"), UTF8_TO_TCHAR(edgegap::LastErrorMessage().c_str()));
	}
	Probe.reset();
	OnProbeFinished.Broadcast(bSucceeded, PayloadJson);
}

TStatId UEdgegapProbeSubsystem::GetStatId() const
{
	RETURN_QUICK_DECLARE_CYCLE_STAT(UEdgegapProbeSubsystem, STATGROUP_Tickables);
}

void UEdgegapProbeSubsystem::Deinitialize()
{
	Probe.reset();
	Super::Deinitialize();
}
