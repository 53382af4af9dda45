#include "EdgegapProbeSubsystem.h"

#include "HttpModule.h"
#include "Interfaces/IHttpRequest.h"
#include "Interfaces/IHttpResponse.h"

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
	if (Flow)
	{
		TickFlow();
	}
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
		// The run's own error: the poll that saw the end succeeded and set no last error.
		UE_LOG(LogEdgegapProbe, Warning, TEXT("the probe produced no report: %s"), UTF8_TO_TCHAR(Probe->ErrorMessage().c_str()));
	}
	Probe.reset();
	OnProbeFinished.Broadcast(bSucceeded, PayloadJson);
}

TStatId UEdgegapProbeSubsystem::GetStatId() const
{
	RETURN_QUICK_DECLARE_CYCLE_STAT(UEdgegapProbeSubsystem, STATGROUP_Tickables);
}

bool UEdgegapProbeSubsystem::StartTicket(const FString& MatchmakerUrl, const FString& Token, const FString& Profile, const FString& PayloadJson)
{
	return StartFlow(EGP_FLOW_KIND_TICKET, MatchmakerUrl, Token, FString(), Profile, PayloadJson);
}

bool UEdgegapProbeSubsystem::CreateGroup(const FString& MatchmakerUrl, const FString& Token, const FString& Profile, const FString& PayloadJson)
{
	return StartFlow(EGP_FLOW_KIND_CREATE_GROUP, MatchmakerUrl, Token, FString(), Profile, PayloadJson);
}

bool UEdgegapProbeSubsystem::JoinGroup(const FString& MatchmakerUrl, const FString& Token, const FString& GroupId, const FString& Profile, const FString& PayloadJson)
{
	return StartFlow(EGP_FLOW_KIND_JOIN_GROUP, MatchmakerUrl, Token, GroupId, Profile, PayloadJson);
}

bool UEdgegapProbeSubsystem::StartFlow(EgpFlowKind Kind, const FString& MatchmakerUrl, const FString& Token, const FString& GroupId,
	const FString& Profile, const FString& PayloadJson)
{
	Flow.reset();
	++FlowGeneration;
	bAwaitingResponse = false;
	auto Created = edgegap::MatchmakingFlow::Create(Kind, TCHAR_TO_UTF8(*Token), TCHAR_TO_UTF8(*Profile),
		TCHAR_TO_UTF8(*PayloadJson), TCHAR_TO_UTF8(*GroupId));
	if (!Created)
	{
		UE_LOG(LogEdgegapProbe, Warning, TEXT("could not start matchmaking: %s"), UTF8_TO_TCHAR(Created.error().message.c_str()));
		return false;
	}
	Flow.emplace(std::move(Created).value());
	MatchmakerBaseUrl = MatchmakerUrl;
	MatchmakerBaseUrl.RemoveFromEnd(TEXT("/"));
	FlowStartSeconds = FPlatformTime::Seconds();
	return true;
}

void UEdgegapProbeSubsystem::SetReady(bool bReady)
{
	if (Flow && Flow->SetReady(bReady) != EGP_RESULT_OK)
	{
		UE_LOG(LogEdgegapProbe, Warning, TEXT("SetReady: %s"), UTF8_TO_TCHAR(edgegap::LastErrorMessage().c_str()));
	}
}

void UEdgegapProbeSubsystem::CancelMatchmaking()
{
	if (Flow)
	{
		Flow->Cancel();
	}
}

FString UEdgegapProbeSubsystem::GetGroupId() const
{
	if (!Flow)
	{
		return FString();
	}
	auto Id = Flow->Text(EGP_FLOW_TEXT_GROUP_ID);
	return Id ? FString(UTF8_TO_TCHAR(Id.value().c_str())) : FString();
}

uint64 UEdgegapProbeSubsystem::FlowNowMs() const
{
	return static_cast<uint64>((FPlatformTime::Seconds() - FlowStartSeconds) * 1000.0);
}

void UEdgegapProbeSubsystem::TickFlow()
{
	if (bAwaitingResponse)
	{
		return;
	}
	const EgpFlowStep Step = Flow->Step(FlowNowMs());
	if (Step.action == EGP_FLOW_ACTION_SEND)
	{
		SendFlowRequest();
	}
	else if (Step.action == EGP_FLOW_ACTION_FINISHED)
	{
		const bool bAssigned = Step.status == EGP_RESULT_OK;
		auto Text = Flow->Text(bAssigned ? EGP_FLOW_TEXT_ASSIGNMENT_JSON : EGP_FLOW_TEXT_ERROR_MESSAGE);
		const FString Value = Text ? FString(UTF8_TO_TCHAR(Text.value().c_str())) : FString();
		Flow.reset();
		OnMatchmakingFinished.Broadcast(bAssigned, bAssigned ? Value : FString(), bAssigned ? FString() : Value);
	}
}

void UEdgegapProbeSubsystem::SendFlowRequest()
{
	auto Text = [this](EgpFlowText Which) {
		auto Value = Flow->Text(Which);
		return Value ? FString(UTF8_TO_TCHAR(Value.value().c_str())) : FString();
	};
	TSharedRef<IHttpRequest, ESPMode::ThreadSafe> Request = FHttpModule::Get().CreateRequest();
	Request->SetVerb(Text(EGP_FLOW_TEXT_REQUEST_METHOD));
	Request->SetURL(MatchmakerBaseUrl + TEXT("/") + Text(EGP_FLOW_TEXT_REQUEST_PATH));
	TArray<FString> Lines;
	Text(EGP_FLOW_TEXT_REQUEST_HEADERS).ParseIntoArray(Lines, TEXT("\n"));
	for (const FString& Line : Lines)
	{
		FString Name, Value;
		if (Line.Split(TEXT(": "), &Name, &Value))
		{
			Request->SetHeader(Name, Value);
		}
	}
	const FString Body = Text(EGP_FLOW_TEXT_REQUEST_BODY);
	if (!Body.IsEmpty())
	{
		Request->SetContentAsString(Body);
	}
	TWeakObjectPtr<UEdgegapProbeSubsystem> WeakThis(this);
	const uint32 Generation = FlowGeneration;
	Request->OnProcessRequestComplete().BindLambda(
		[WeakThis, Generation](FHttpRequestPtr, FHttpResponsePtr Response, bool bConnected)
		{
			UEdgegapProbeSubsystem* Self = WeakThis.Get();
			if (Self == nullptr || !Self->Flow || Self->FlowGeneration != Generation)
			{
				return; // the flow this answers was replaced or freed
			}
			Self->bAwaitingResponse = false;
			if (!bConnected || !Response.IsValid())
			{
				Self->Flow->TransportError(Self->FlowNowMs(), "no answer from the matchmaker");
				return;
			}
			const TArray<uint8>& Content = Response->GetContent();
			Self->Flow->Respond(Self->FlowNowMs(), static_cast<uint32_t>(Response->GetResponseCode()),
				TCHAR_TO_UTF8(*Response->GetHeader(TEXT("Retry-After"))),
				std::string(reinterpret_cast<const char*>(Content.GetData()), Content.Num()));
		});
	bAwaitingResponse = true;
	Request->ProcessRequest();
}

void UEdgegapProbeSubsystem::Deinitialize()
{
	Flow.reset();
	Probe.reset();
	Super::Deinitialize();
}
