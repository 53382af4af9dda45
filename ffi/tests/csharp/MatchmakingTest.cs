// C# test of the Unity binding's matchmaking API (ffi/bindings/unity/Runtime/Matchmaking.cs)
// on mono: beacons -> probe -> ticket -> assignment through HttpClientTransport against the
// simulated matchmaker on 127.0.0.1 (with one 429 + Retry-After and one 503 injected), cancel,
// a party, a refused token.
//
// usage: mono MatchmakingTest.exe BEACON_LIST.json http://127.0.0.1:PORT TOKEN
using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using Edgegap.Probe;

internal static class MatchmakingTest
{
    private static int passed;
    private static int failed;
    private static string url;
    private static string token;

    private static void Check(bool ok, string what)
    {
        if (ok)
        {
            passed++;
        }
        else
        {
            failed++;
            Console.Error.WriteLine("FAIL: " + what);
        }
    }

    private static bool Contains(string text, string needle)
    {
        return text != null && text.IndexOf(needle, StringComparison.Ordinal) >= 0;
    }

    /// <summary>A game loop: ticks every session every 5 ms until all ended or the limit.</summary>
    private static void Loop(int limitMs, Action<int> everyFrame, params MatchmakingSession[] sessions)
    {
        var clock = Stopwatch.StartNew();
        int frame = 0;
        while (clock.ElapsedMilliseconds < limitMs)
        {
            bool all = true;
            foreach (var s in sessions)
            {
                all &= s.Tick();
            }
            if (all)
            {
                return;
            }
            if (everyFrame != null)
            {
                everyFrame(frame);
            }
            frame++;
            Thread.Sleep(5);
        }
        Check(false, "every session ended within " + limitMs + " ms");
    }

    private static MatchmakingOptions Fast()
    {
        return new MatchmakingOptions { PollIntervalMs = 30, JitterMs = 5 };
    }

    private static string Payload(string beacons)
    {
        using (var session = new ProbeSession(beacons))
        {
            session.Start();
            var clock = Stopwatch.StartNew();
            while (!session.Tick() && clock.ElapsedMilliseconds < 15000)
            {
                Thread.Sleep(5);
            }
            Check(session.Outcome != null && session.Outcome.Succeeded, "the probe succeeded");
            return session.Outcome == null ? null : session.Outcome.PayloadJson;
        }
    }

    private static void TestTicket(string payload, HttpClientTransport http)
    {
        using (var mm = MatchmakingSession.Ticket(url, token, "casual", payload, http, Fast()))
        {
            int completedOn = -1, completions = 0;
            mm.Completed += outcome =>
            {
                completions++;
                completedOn = Thread.CurrentThread.ManagedThreadId;
            };
            var started = Stopwatch.StartNew();
            Loop(20000, null, mm);
            Check(mm.Outcome != null && mm.Outcome.Succeeded, "the ticket got a server: " + (mm.Outcome == null ? "none" : mm.Outcome.Error));
            Check(mm.Outcome != null && Contains(mm.Outcome.AssignmentJson, "\"fqdn\":\"sim-server.local\""), "assignment fqdn");
            Check(started.ElapsedMilliseconds >= 900, "Retry-After: 1 was honoured");
            Check(completions == 1 && completedOn == Thread.CurrentThread.ManagedThreadId, "Completed once, on the ticking thread");
            Check(mm.TicketId.StartsWith("ticket-", StringComparison.Ordinal), "ticket id");
            Check(mm.LastHttpStatus == 200, "last answer 200");
        }
    }

    private static void TestCancel(string payload, HttpClientTransport http)
    {
        using (var mm = MatchmakingSession.Ticket(url, token, "casual", payload, http, Fast()))
        {
            bool cancelled = false;
            Loop(10000, frame =>
            {
                if (!cancelled && mm.TicketId.Length > 0)
                {
                    mm.Cancel();
                    cancelled = true;
                }
            }, mm);
            Check(cancelled, "the ticket existed before the cancel");
            Check(mm.Outcome != null && mm.Outcome.Status == ProbeResult.MatchmakingCancelled, "cancelled");
            Check(mm.Outcome != null && Contains(mm.Outcome.Error, "ticket deleted"), "the ticket was deleted");
        }
    }

    private static void TestParty(string payload, HttpClientTransport http)
    {
        using (var owner = MatchmakingSession.CreateGroup(url, token, "casual", payload, http, Fast()))
        {
            var clock = Stopwatch.StartNew();
            while (owner.GroupId.Length == 0 && clock.ElapsedMilliseconds < 5000)
            {
                owner.Tick();
                Thread.Sleep(5);
            }
            Check(owner.GroupId.StartsWith("group-", StringComparison.Ordinal), "group created");
            owner.SetReady(true);
            using (var friend = MatchmakingSession.JoinGroup(url, token, owner.GroupId, "casual", payload, http, Fast()))
            {
                bool ready = false;
                Loop(10000, frame =>
                {
                    if (!ready && friend.MemberId.Length > 0)
                    {
                        friend.SetReady(true);
                        ready = true;
                    }
                }, owner, friend);
                Check(owner.Outcome != null && owner.Outcome.Succeeded, "the owner got the server");
                Check(friend.Outcome != null && friend.Outcome.Succeeded, "the friend got the server");
                Check(friend.Outcome != null && Contains(friend.Outcome.AssignmentJson, "sim-server.local"), "same server");
                Check(owner.MemberId != friend.MemberId, "two memberships");
            }
        }
    }

    private static void TestRefusedToken(string payload, HttpClientTransport http)
    {
        const string wrong = "not-the-token-5b7a";
        using (var mm = MatchmakingSession.Ticket(url, wrong, "casual", payload, http, Fast()))
        {
            Loop(5000, null, mm);
            Check(mm.Outcome != null && mm.Outcome.Status == ProbeResult.MatchmakingFailed, "refused");
            Check(mm.Outcome != null && Contains(mm.Outcome.Error, "HTTP 401") && !Contains(mm.Outcome.Error, wrong),
                "the 401 is named, the token is not");
        }
        var code = ProbeResult.Ok;
        try
        {
            MatchmakingSession.JoinGroup(url, token, null, "casual", payload, http);
        }
        catch (ProbeException e)
        {
            code = e.Code;
        }
        Check(code == ProbeResult.NullArgument, "joining needs a group id");
    }

    private static int Main(string[] args)
    {
        if (args.Length != 3 || !args[1].StartsWith("http://127.0.0.1:", StringComparison.Ordinal))
        {
            Console.Error.WriteLine("usage: MatchmakingTest.exe BEACON_LIST.json http://127.0.0.1:PORT TOKEN");
            return 2;
        }
        url = args[1];
        token = args[2];
        var payload = Payload(File.ReadAllText(args[0]));
        Check(Contains(payload, "\"beacons\""), "the payload is the attributes object");
        using (var http = new HttpClientTransport(TimeSpan.FromSeconds(5)))
        {
            TestTicket(payload, http);
            TestCancel(payload, http);
            TestParty(payload, http);
            TestRefusedToken(payload, http);
        }
        Console.WriteLine("C# matchmaking: " + passed + " passed, " + failed + " failed");
        return failed == 0 ? 0 : 1;
    }
}
