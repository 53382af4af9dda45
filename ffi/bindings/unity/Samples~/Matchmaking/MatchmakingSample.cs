// Sample: the whole way from beacons to a server. Fetches the matchmaker's beacon list, probes
// it, creates a ticket with the payload, waits for the assignment and logs where to connect.
// Escape (or calling CancelMatchmaking from a UI button) cancels: the ticket is deleted.
//
// Every decision (poll interval with jitter, backoff on 429/5xx honouring Retry-After, giving
// up after 10 errors in a row, DELETE on cancel, 409 = already matched) is made by the native
// flow; UnityWebRequestTransport only sends what it asks for. Everything runs on the main
// thread from Update(); nothing blocks.
//
// The URL and token are the *matchmaker's* (safe in a client), never your Edgegap API token.
using Edgegap.Probe;
using UnityEngine;
using UnityEngine.Networking;

public sealed class MatchmakingSample : MonoBehaviour
{
    [SerializeField] private string matchmakerUrl = "https://your-matchmaker.edgegap.net";
    [SerializeField] private string matchmakerToken = "";
    [SerializeField] private string profile = "casual";

    private UnityWebRequest beaconRequest;
    private ProbeSession probe;
    private MatchmakingSession matchmaking;

    private void Start()
    {
        beaconRequest = UnityWebRequest.Get(matchmakerUrl.TrimEnd('/') + "/locations/beacons");
        beaconRequest.SetRequestHeader("Authorization", matchmakerToken);
        beaconRequest.SendWebRequest();
    }

    private void Update()
    {
        if (beaconRequest != null && beaconRequest.isDone)
        {
            OnBeacons();
        }
        if (probe != null && probe.Tick() && matchmaking == null)
        {
            OnProbed(probe.Outcome);
        }
        if (matchmaking != null)
        {
            matchmaking.Tick();
        }
        if (Input.GetKeyDown(KeyCode.Escape))
        {
            CancelMatchmaking();
        }
    }

    private void OnBeacons()
    {
        if (beaconRequest.result != UnityWebRequest.Result.Success)
        {
            Debug.LogWarning("beacon list: " + beaconRequest.error);
        }
        else
        {
            probe = new ProbeSession(beaconRequest.downloadHandler.text);
            probe.Start();
        }
        beaconRequest.Dispose();
        beaconRequest = null;
    }

    private void OnProbed(ProbeOutcome outcome)
    {
        if (!outcome.Succeeded)
        {
            Debug.LogWarning("probe failed: " + outcome.Error);
            return;
        }
        // The payload, {"beacons": {"City": ms}}, is exactly the ticket's "attributes".
        Debug.Log("latencies: " + outcome.PayloadJson);
        matchmaking = MatchmakingSession.Ticket(matchmakerUrl, matchmakerToken, profile, outcome.PayloadJson,
            new UnityWebRequestTransport());
        matchmaking.Completed += OnMatchmakingDone;
    }

    /// <summary>Leaves matchmaking (deletes the ticket). Bind it to a Cancel button.</summary>
    public void CancelMatchmaking()
    {
        if (matchmaking != null && matchmaking.Outcome == null)
        {
            matchmaking.Cancel();
        }
    }

    private void OnMatchmakingDone(MatchmakingOutcome outcome)
    {
        switch (outcome.Status)
        {
            case ProbeResult.Ok:
                // {"fqdn", "public_ip", "ports": {"gameport": {"external", "link", ...}}, "location"}
                Debug.Log("server assigned: " + outcome.AssignmentJson);
                break;
            case ProbeResult.AlreadyMatched:
                Debug.Log("too late to cancel: a match was found (" + outcome.Error + ")");
                break;
            case ProbeResult.MatchmakingCancelled:
                Debug.Log("matchmaking cancelled: " + outcome.Error);
                break;
            default:
                Debug.LogWarning("matchmaking failed: " + outcome.Error);
                break;
        }
    }

    private void OnDestroy()
    {
        if (probe != null)
        {
            probe.Dispose();
        }
        if (matchmaking != null)
        {
            // Disposing sends nothing: a game leaving mid-search should CancelMatchmaking and
            // keep ticking until Completed before it destroys this object.
            matchmaking.Dispose();
        }
    }
}
