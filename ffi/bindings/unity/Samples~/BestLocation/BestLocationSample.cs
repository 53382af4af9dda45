// Sample: fetch the matchmaker's beacon list, probe it, log the closest location and the
// ticket body. Attach to a GameObject next to an EdgegapProbeBehaviour.
//
// The matchmaker URL and token are the *matchmaker's* (safe in a client), never your Edgegap
// API token. The token is sent raw in the Authorization header.
using System.Collections;
using Edgegap.Probe;
using UnityEngine;
using UnityEngine.Networking;

public sealed class BestLocationSample : MonoBehaviour
{
    [SerializeField] private string matchmakerUrl = "https://your-matchmaker.edgegap.net";
    [SerializeField] private string matchmakerToken = "";
    [SerializeField] private string profile = "casual";
    [SerializeField] private EdgegapProbeBehaviour probe;

    private IEnumerator Start()
    {
        Debug.Log("edgegap-probe native " + BeaconProbe.NativeVersion);
        using (var request = UnityWebRequest.Get(matchmakerUrl.TrimEnd('/') + "/locations/beacons"))
        {
            request.SetRequestHeader("Authorization", matchmakerToken);
            yield return request.SendWebRequest();
            if (request.result != UnityWebRequest.Result.Success)
            {
                Debug.LogWarning("beacon list: " + request.error);
                yield break;
            }
            probe.onPayload.AddListener(OnPayload);
            probe.onError.AddListener(error => Debug.LogWarning("probe failed: " + error));
            probe.Begin(request.downloadHandler.text);
        }
    }

    private void Update()
    {
        var session = probe.Session;
        if (session != null && !session.IsFinished)
        {
            // A progress bar would use session.Progress.Fraction here.
        }
    }

    private void OnPayload(string payloadJson)
    {
        // payloadJson is {"beacons": {"City": ms, ...}}: exactly the ticket's "attributes".
        string ticket = "{\"profile\": \"" + profile + "\", \"attributes\": " + payloadJson + "}";
        Debug.Log("closest locations payload: " + payloadJson);
        Debug.Log("POST " + matchmakerUrl + "/tickets with " + ticket);
        Debug.Log("full report: " + probe.Outcome.ReportJson);
    }
}
