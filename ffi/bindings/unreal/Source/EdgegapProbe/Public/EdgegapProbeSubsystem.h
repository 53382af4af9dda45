// UEdgegapProbeSubsystem: one probe per game instance, ticked from the game thread.
//
//   auto* Probe = GetGameInstance()->GetSubsystem<UEdgegapProbeSubsystem>();
//   Probe->OnProbeFinished.AddDynamic(this, &UMyMatchmaking::HandleProbe);
//   Probe->StartProbe(BeaconListJson);   // the matchmaker's GET locations/beacons body
//   ... HandleProbe(bSucceeded, PayloadJson) puts PayloadJson into the ticket's "attributes".
//
// Probing runs on the library's own threads; Tick() only polls (no blocking, no allocation
// until the end). The probe is freed (and cancelled) in Deinitialize or on a new StartProbe.
#pragma once

#include "CoreMinimal.h"
#include "Subsystems/GameInstanceSubsystem.h"
#include "Tickable.h"

#include <optional>

#include "edgegap_probe.hpp"

#include "EdgegapProbeSubsystem.generated.h"

DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FEdgegapProbeFinished, bool, bSucceeded, const FString&, PayloadJson);

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

	// UGameInstanceSubsystem
	virtual void Deinitialize() override;

	// FTickableGameObject
	virtual void Tick(float DeltaTime) override;
	virtual TStatId GetStatId() const override;
	virtual bool IsTickable() const override { return Probe.has_value(); }
	virtual ETickableTickType GetTickableTickType() const override { return ETickableTickType::Conditional; }

private:
	void Finish(bool bSucceeded);

	std::optional<edgegap::Probe> Probe;
	float Progress = 0.f;
	FString ReportJson;
	FString PayloadJson;
};
