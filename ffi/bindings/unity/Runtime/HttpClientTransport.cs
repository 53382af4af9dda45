// IMatchmakerTransport on System.Net.Http.HttpClient: for tools, servers, tests (mono), and
// games that prefer it to UnityWebRequest. Plain C#: no UnityEngine dependency.
// In Unity it compiles with the .NET Standard API level (the default), where System.Net.Http is
// part of the profile; with the .NET Framework level it would need a csc.rsp reference, so it is
// left out there (UnityWebRequestTransport is the games' transport anyway).
#if !UNITY_5_3_OR_NEWER || NET_STANDARD_2_0 || NET_STANDARD_2_1 || NET_STANDARD
using System;
using System.Linq;
using System.Net.Http;
using System.Text;

namespace Edgegap.Probe
{
    /// <summary>Sends the flow's requests with an <see cref="HttpClient"/> (answers arrive on pool threads).</summary>
    public sealed class HttpClientTransport : IMatchmakerTransport, IDisposable
    {
        private readonly HttpClient client;

        /// <summary>A transport with its own client and a per-request <paramref name="timeout"/>.</summary>
        public HttpClientTransport(TimeSpan timeout)
        {
            client = new HttpClient { Timeout = timeout };
        }

        /// <summary>A transport with a 10 s timeout per request.</summary>
        public HttpClientTransport()
            : this(TimeSpan.FromSeconds(10))
        {
        }

        /// <inheritdoc />
        public void Send(MatchmakerRequest request, Action<MatchmakerResponse> done)
        {
            var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Url);
            foreach (var header in request.Headers)
            {
                if (!header.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
                {
                    message.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }
            if (request.Body != null)
            {
                message.Content = new StringContent(request.Body, Encoding.UTF8, "application/json");
            }
            client.SendAsync(message).ContinueWith(sent =>
            {
                message.Dispose();
                if (sent.IsFaulted || sent.IsCanceled)
                {
                    var reason = sent.IsFaulted ? sent.Exception.GetBaseException().Message : "timed out";
                    done(MatchmakerResponse.Failed(reason));
                    return;
                }
                using (var response = sent.Result)
                {
                    string retryAfter = null;
                    System.Collections.Generic.IEnumerable<string> values;
                    if (response.Headers.TryGetValues("Retry-After", out values))
                    {
                        retryAfter = values.FirstOrDefault();
                    }
                    byte[] body;
                    try
                    {
                        body = response.Content.ReadAsByteArrayAsync().Result;
                    }
                    catch (AggregateException e)
                    {
                        done(MatchmakerResponse.Failed(e.GetBaseException().Message));
                        return;
                    }
                    done(MatchmakerResponse.Answer((int)response.StatusCode, retryAfter, body));
                }
            });
        }

        /// <summary>Disposes the client.</summary>
        public void Dispose()
        {
            client.Dispose();
        }
    }
}
#endif
