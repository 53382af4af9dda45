// UEdgegapProbeSubsystem: one probe per game instance, ticked from the game thread.
//
//   auto* Probe = GetGameInstance()->GetSubsystem<UEdgegapProbeSubsystem>();
//   Probe->OnProbeFinished.AddDynamic(this, &UMyMatchmaking::HandleProbe);
//   Probe->StartProbe(BeaconListJson);   // the matchmaker's GET locations/beacons body
//   ... HandleProbe(bSucceeded, PayloadJson): PayloadJson is the ticket's whole "attributes"
//   object; StartTicket(MatchmakerUrl, Token, Profile, PayloadJson) sends it.
//
// Probing runs on the library's own threads; Tick() only polls (no blocking, no allocation
// until the end). The probe is freed (and cancelled) in Deinitialize or on a new StartProbe.
//
// Matchmaking: StartTicket (or CreateGroup / JoinGroup + SetReady) runs the library's sans-I/O
// flow; Tick() sends what it asks for with Unreal's HTTP module and hands the answers back.
// Every decision (poll interval and jitter, backoff on 429/5xx honouring Retry-After, giving up
// after 10 errors in a row, DELETE on cancel, 409 = already matched) is the library's; this
// class only moves bytes. OnMatchmakingFinished fires on the game thread.
#pragma once

#include "CoreMinimal.h"
#include "Subsystems/GameInstanceSubsystem.h"
#include "Tickable.h"

#include <optional>

#include "edgegap_probe.hpp"

#include "EdgegapProbeSubsystem.generated.h"

DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FEdgegapProbeFinished, bool, bSucceeded, const FString&, PayloadJson);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_ThreeParams(FEdgegapMatchmakingFinished, bool, bAssigned, const FString&, AssignmentJson, const FString&, Error);

UCLASS()
class EDGEGAPPROBE_API UEdgegapProbeSubsystem : public UGameInstanceSubsystem, public FTickableGameObject
{
	GENERATED_BODY()

public:
	/** Starts probing the beacons of this list (either JSON shape). Returns false when it could not start. */
	UFUNCTION(BlueprintCallable, Category = "Edgegap|Probe")
	bool StartProbe(const FString& BeaconListJson, int32 ProbesPerBeacon = 5, float MaxLatencyMs = 0.f);

	/** Stops the probe early; OnProbeFinished still fires with what was measured. */
	UFUNCTION(BlueprintCallable, Category = "Edgegap|Probe")
	void CancelProbe();

	/** True while a probe runs. */
	UFUNCTION(BlueprintPure, Category = "Edgegap|Probe")
	bool IsProbing() const;

	/** Fraction of beacons done, 0..1. */
	UFUNCTION(BlueprintPure, Category = "Edgegap|Probe")
	float GetProgress() const { return Progress; }

	/** The full ranked report of the last finished probe (JSON), or empty. */
	UFUNCTION(BlueprintPure, Category = "Edgegap|Probe")
	const FString& GetReportJson() const { return ReportJson; }

	/** The matchmaker payload of the last finished probe (JSON), or empty. */
	UFUNCTION(BlueprintPure, Category = "Edgegap|Probe")
	const FString& GetPayloadJson() const { return PayloadJson; }

	/** Fired on the game thread when a probe has finished. */
	UPROPERTY(BlueprintAssignable, Category = "Edgegap|Probe")
	FEdgegapProbeFinished OnProbeFinished;

	/** Enters matchmaking with a ticket; PayloadJson is GetPayloadJson() (the ticket's "attributes"). */
	UFUNCTION(BlueprintCallable, Category = "Edgegap|Matchmaking")
	bool StartTicket(const FString& MatchmakerUrl, const FString& Token, const FString& Profile, const FString& PayloadJson);

	/** Creates a party owned by this player (share GetGroupId() with friends), then waits for a server. */
	UFUNCTION(BlueprintCallable, Category = "Edgegap|Matchmaking")
	bool CreateGroup(const FString& MatchmakerUrl, const FString& Token, const FString& Profile, const FString& PayloadJson);

	/** Joins a party with this player's own latencies, then waits for a server. */
	UFUNCTION(BlueprintCallable, Category = "Edgegap|Matchmaking")
	bool JoinGroup(const FString& MatchmakerUrl, const FString& Token, const FString& GroupId, const FString& Profile, const FString& PayloadJson);

	/** Says this party member is ready (or not). */
	UFUNCTION(BlueprintCallable, Category = "Edgegap|Matchmaking")
	void SetReady(bool bReady);

	/** Leaves matchmaking: the ticket is deleted (the party left); OnMatchmakingFinished follows. */
	UFUNCTION(BlueprintCallable, Category = "Edgegap|Matchmaking")
	void CancelMatchmaking();

	/** The party's id once known, else empty. */
	UFUNCTION(BlueprintPure, Category = "Edgegap|Matchmaking")
	FString GetGroupId() const;

	/** Fired on the game thread when matchmaking ended: the assignment JSON, or why not. */
	UPROPERTY(BlueprintAssignable, Category = "Edgegap|Matchmaking")
	FEdgegapMatchmakingFinished OnMatchmakingFinished;

	// UGameInstanceSubsystem
	virtual void Deinitialize() override;

	// FTickableGameObject
	virtual void Tick(float DeltaTime) override;
	virtual TStatId GetStatId() const override;
	virtual bool IsTickable() const override { return Probe.has_value() || Flow.has_value(); }
	virtual ETickableTickType GetTickableTickType() const override { return ETickableTickType::Conditional; }

private:
	void Finish(bool bSucceeded);
	bool StartFlow(EgpFlowKind Kind, const FString& MatchmakerUrl, const FString& Token, const FString& GroupId,
		const FString& Profile, const FString& PayloadJson);
	void TickFlow();
	void SendFlowRequest();
	uint64 FlowNowMs() const;

	std::optional<edgegap::MatchmakingFlow> Flow;
	FString MatchmakerBaseUrl;
	double FlowStartSeconds = 0.0;
	bool bAwaitingResponse = false;
	/** Bumped per flow, so an answer to a replaced flow's request is dropped. */
	uint32 FlowGeneration = 0;

	std::optional<edgegap::Probe> Probe;
	float Progress = 0.f;
	FString ReportJson;
	FString PayloadJson;
};
