#if UNITY_5_3_OR_NEWER
// IMatchmakerTransport on UnityWebRequest, for games. Deliberately thin: every decision (when to
// poll, retries, backoff, cancel) is in the native flow; this only sends and reports back.
// Compiled by Unity only (not by the mono tests, which use HttpClientTransport).
using System;
using System.Collections.Generic;
using System.Text;
using UnityEngine.Networking;

namespace Edgegap.Probe
{
    /// <summary>Sends the flow's requests with UnityWebRequest (answers arrive on the main thread).</summary>
    public sealed class UnityWebRequestTransport : IMatchmakerTransport
    {
        private readonly int timeoutSeconds;

        /// <summary>A transport with a per-request timeout in seconds (default 10).</summary>
        public UnityWebRequestTransport(int timeoutSeconds = 10)
        {
            this.timeoutSeconds = timeoutSeconds;
        }

        /// <inheritdoc />
        public void Send(MatchmakerRequest request, Action<MatchmakerResponse> done)
        {
            var web = new UnityWebRequest(request.Url, request.Method)
            {
                downloadHandler = new DownloadHandlerBuffer(),
                timeout = timeoutSeconds,
            };
            if (request.Body != null)
            {
                web.uploadHandler = new UploadHandlerRaw(Encoding.UTF8.GetBytes(request.Body));
            }
            foreach (KeyValuePair<string, string> header in request.Headers)
            {
                web.SetRequestHeader(header.Key, header.Value);
            }
            web.SendWebRequest().completed += _ =>
            {
                if (web.result == UnityWebRequest.Result.ConnectionError)
                {
                    done(MatchmakerResponse.Failed(web.error));
                }
                else
                {
                    done(MatchmakerResponse.Answer((int)web.responseCode, web.GetResponseHeader("Retry-After"),
                        web.downloadHandler.data));
                }
                web.Dispose();
            };
        }
    }
}
#endif
