// C# test of the Unity binding (ffi/bindings/unity/Runtime), compiled with mcs and run with
// mono against the built cdylib: the same calls a Unity game makes, through the SafeHandle
// wrapper and the frame-loop ProbeSession.
//
// usage: mono ProbeTest.exe BEACON_LIST.json   (LD_LIBRARY_PATH must hold libedgegap_probe.so)
using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using Edgegap.Probe;

internal static class ProbeTest
{
    private static int passed;
    private static int failed;

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

    private static ProbeResult CodeOf(Action action)
    {
        try
        {
            action();
            return ProbeResult.Ok;
        }
        catch (ProbeException e)
        {
            return e.Code;
        }
    }

    private static int IndexOf(string text, string needle)
    {
        return text == null ? -1 : text.IndexOf(needle, StringComparison.Ordinal);
    }

    private static void TestSession(string beacons)
    {
        Check(BeaconProbe.NativeAbiVersion == 1, "ABI version 1");
        Check(!string.IsNullOrEmpty(BeaconProbe.NativeVersion), "native version string");
        var config = ProbeConfig.Defaults();
        Check(config.Size == 112, "config size is the C struct's");
        Check(config.Count >= 1 && config.TieFactor >= 1.0, "config defaults");
        Check(config.Adaptive == 1 && config.MaxProbes == 30 && config.Confidence == 0.95,
              "adaptive sampling on by default, 30 probes, 95 %");

        using (var session = new ProbeSession(beacons, config))
        {
            var before = session.Probe.Poll();
            Check(before.State == ProbeState.Created && before.TargetsTotal == 4, "created, four beacons");
            int progressEvents = 0;
            int completedEvents = 0;
            int tickThread = Thread.CurrentThread.ManagedThreadId;
            int eventThread = -1;
            session.ProgressChanged += p => progressEvents++;
            session.Completed += o =>
            {
                completedEvents++;
                eventThread = Thread.CurrentThread.ManagedThreadId;
            };
            session.Start();
            Check(CodeOf(session.Probe.Start) == ProbeResult.AlreadyStarted, "start twice");

            // The game loop: one Tick per "frame".
            var clock = Stopwatch.StartNew();
            while (!session.Tick() && clock.ElapsedMilliseconds < 15000)
            {
                Thread.Sleep(5);
            }
            Check(session.IsFinished, "finished within the limit");
            Check(completedEvents == 1 && progressEvents >= 1, "events fired");
            Check(eventThread == tickThread, "events fire on the ticking thread");
            var outcome = session.Outcome;
            Check(outcome != null && outcome.Succeeded, "succeeded");
            if (outcome == null || !outcome.Succeeded)
            {
                return;
            }
            Check(session.Progress.TargetsDone == 4 && session.Progress.Samples > 0, "all beacons measured");

            string report = outcome.ReportJson;
            int oslo = IndexOf(report, "\"city\": \"Oslo\"");
            int paris = IndexOf(report, "\"city\": \"Paris\"");
            int tokyo = IndexOf(report, "\"city\": \"Tokyo\"");
            int unreachable = IndexOf(report, "\"unreachable\": [");
            int atlantis = IndexOf(report, "\"city\": \"Atlantis\"");
            Check(oslo >= 0 && oslo < paris && paris < tokyo, "ranked Oslo, Paris, Tokyo");
            Check(tokyo < unreachable && unreachable < atlantis, "Atlantis only in unreachable");

            string payload = outcome.PayloadJson;
            Check(IndexOf(payload, "\"Oslo\":") > 0 && IndexOf(payload, "\"Paris\":") > 0
                  && IndexOf(payload, "\"Tokyo\":") > 0, "payload has every reachable city");
            Check(IndexOf(payload, "Atlantis") < 0, "payload has no unreachable city");
            Check(payload.Split(':').Length - 1 == 4, "payload has exactly three cities");
        }
    }

    private static void TestMisuse(string beacons)
    {
        Check(CodeOf(() => BeaconProbe.Create("{not json")) == ProbeResult.BadBeaconList, "invalid JSON");
        Check(CodeOf(() => BeaconProbe.Create("{\"beacons\": []}")) == ProbeResult.NoBeacons, "empty list");
        Check(CodeOf(() => BeaconProbe.Create(null)) == ProbeResult.NullArgument, "null list");
        Check(CodeOf(() => BeaconProbe.CreateWithJsonConfig(beacons, "{\"countt\": 1}")) == ProbeResult.InvalidJson,
              "config typo");
        var bad = ProbeConfig.Defaults();
        bad.Count = 0;
        Check(CodeOf(() => BeaconProbe.Create(beacons, bad)) == ProbeResult.InvalidConfig, "count 0");
        try
        {
            BeaconProbe.Create("{not json");
        }
        catch (ProbeException e)
        {
            Check(e.Message.Length > "BadBeaconList: ".Length, "exception carries the native message");
        }

        var probe = BeaconProbe.Create(beacons);
        Check(probe.Poll().State == ProbeState.Created, "poll before start");
        string json;
        Check(probe.TryGetResultJson(out json) == ProbeResult.NotStarted && json == null, "result before start");
        ulong id = probe.Handle.Id;
        probe.Dispose();
        probe.Dispose(); // a second Dispose is a no-op, never a double free
        // The native side detects a stale id by itself (a raw double free / use after free).
        ProbeProgress stale;
        Check(NativeMethods.egp_probe_poll(id, out stale) == ProbeResult.InvalidHandle, "native use after free");
        Check(NativeMethods.egp_probe_free(id) == ProbeResult.InvalidHandle, "native double free");
        Check(probe.Handle.IsClosed, "disposed handle is closed");
        bool disposedThrows = false;
        try
        {
            probe.Poll();
        }
        catch (ObjectDisposedException)
        {
            disposedThrows = true;
        }
        Check(disposedThrows, "use after dispose is ObjectDisposedException");
    }

    private static void TestCancelAndBlocking(string beacons)
    {
        using (var probe = BeaconProbe.CreateWithJsonConfig(beacons, "{\"count\": 200, \"early_decision\": false}"))
        {
            probe.Start();
            var clock = Stopwatch.StartNew();
            while (probe.Poll().Samples < 3 && clock.ElapsedMilliseconds < 5000)
            {
                Thread.Sleep(5);
            }
            string early;
            Check(probe.TryGetResultJson(out early) == ProbeResult.NotFinished, "not finished mid-run");
            var cancelledAt = Stopwatch.StartNew();
            probe.Cancel();
            while (!probe.IsFinished && cancelledAt.ElapsedMilliseconds < 5000)
            {
                Thread.Sleep(5);
            }
            var progress = probe.Poll();
            Check(progress.Finished && progress.Cancelled, "cancelled probe finishes");
            Check(cancelledAt.ElapsedMilliseconds < 3000, "cancel is prompt");
            Check(IndexOf(probe.GetResultJson(), "\"locations\"") >= 0, "cancelled run still reports");
        }

        using (var probe = BeaconProbe.CreateWithJsonConfig(beacons, "{\"count\": 3, \"attribute\": \"latency\"}"))
        {
            Check(probe.RunBlocking() == ProbeResult.Ok, "blocking run");
            Check(IndexOf(probe.GetPayloadJson(), "\"latency\"") >= 0, "attribute from JSON config");
        }
    }

    private static int Main(string[] args)
    {
        if (args.Length != 1)
        {
            Console.Error.WriteLine("usage: ProbeTest.exe BEACON_LIST.json");
            return 2;
        }
        string beacons = File.ReadAllText(args[0]);
        TestSession(beacons);
        TestMisuse(beacons);
        TestCancelAndBlocking(beacons);
        Console.WriteLine("C#: " + passed + " passed, " + failed + " failed");
        return failed == 0 ? 0 : 1;
    }
}
