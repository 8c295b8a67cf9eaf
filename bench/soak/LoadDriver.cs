using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace OllamaSocketProxy.Soak;

/// <summary>
/// Drives the proxy with raw HTTP/1.1 connections: each keeps alive for a random number of requests of random
/// scenarios, aborts on purpose where the scenario says so, and checks every answer byte for byte.
/// <code>Soak load --proxy 127.0.0.1:PORT --token T --connections 200 --requests N --duration S [--scenarios a,b] --summary PATH</code>
/// Stops at whichever of the request count and the duration comes first; every request has a deadline.
/// </summary>
internal sealed partial class LoadDriver
{
    private static readonly int ScenarioCount = Enum.GetValues<Scenario>().Length;
    private static readonly int OutcomeCount = Enum.GetValues<Outcome>().Length;

    private readonly IPEndPoint _proxy;
    private readonly string _token;
    private readonly int _connections;
    private readonly long _requests;
    private readonly TimeSpan _duration;
    private readonly TimeSpan _deadline;
    private readonly int _seed;
    private readonly (Scenario Scenario, int Weight)[] _mix;
    private readonly long[] _counts = new long[ScenarioCount * OutcomeCount];
    private readonly Dictionary<int, long> _otherStatuses = [];
    private readonly List<string> _hangs = [];
    private readonly List<string> _wrong = [];
    private readonly Stopwatch _clock = new();
    private long _started;
    private long _connectionsOpened;

    private LoadDriver(Dictionary<string, string> options)
    {
        _proxy = IPEndPoint.Parse(options["proxy"]);
        _token = options["token"];
        _connections = int.Parse(options.GetValueOrDefault("connections", "200"), CultureInfo.InvariantCulture);
        _requests = long.Parse(options.GetValueOrDefault("requests", "1000000"), CultureInfo.InvariantCulture);
        _duration = TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("duration", "240"), CultureInfo.InvariantCulture));
        _deadline = TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("deadline", "20"), CultureInfo.InvariantCulture));
        _seed = int.Parse(options.GetValueOrDefault("seed", "1"), CultureInfo.InvariantCulture);
        _mix = Scenarios.Only(options.GetValueOrDefault("scenarios"));
        if (_mix.Length == 0)
        {
            throw new ArgumentException($"--scenarios names none of: {string.Join(',', Scenarios.Mix.Select(m => Scenarios.Name(m.Scenario)))}");
        }
    }

    public static async Task<int> RunAsync(Dictionary<string, string> options)
    {
        var driver = new LoadDriver(options);
        await driver.RunAsync().ConfigureAwait(false);
        var summary = driver.Summary();
        Console.WriteLine(summary.Table);
        if (options.TryGetValue("summary", out var path))
        {
            await File.WriteAllTextAsync(path, summary.KeyValues).ConfigureAwait(false);
        }

        return 0;
    }

    private bool TryTakeRequest() =>
        _clock.Elapsed < _duration && Interlocked.Increment(ref _started) <= _requests;

    private async Task RunAsync()
    {
        _clock.Start();
        using var progress = new CancellationTokenSource();
        var reporter = ReportProgressAsync(progress.Token);
        await Task.WhenAll(Enumerable.Range(0, _connections).Select(WorkerAsync)).ConfigureAwait(false);
        await progress.CancelAsync().ConfigureAwait(false);
        await reporter.ConfigureAwait(false);
        _clock.Stop();
    }

    private async Task ReportProgressAsync(CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(10), stop).ConfigureAwait(false);
                var done = Total(_ => true);
                Console.WriteLine($"  {_clock.Elapsed.TotalSeconds,5:F0} s: {done} requests ({done / _clock.Elapsed.TotalSeconds:F0}/s), {Total(o => o == Outcome.Ok)} ok, {Total(o => o == Outcome.Hang)} hangs");
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task WorkerAsync(int worker)
    {
        var random = new Random(_seed * 1000 + worker);
        while (_clock.Elapsed < _duration && Volatile.Read(ref _started) < _requests)
        {
            await using var connection = await ConnectAsync().ConfigureAwait(false);
            if (connection is null)
            {
                Count(Scenario.Json, Outcome.ConnectFailed);
                await Task.Delay(100).ConfigureAwait(false);
                continue;
            }

            // Keep-alive reuse: a connection carries 1 to 40 requests unless an answer ends it sooner.
            for (var budget = random.Next(1, 41); budget > 0 && TryTakeRequest(); budget--)
            {
                var scenario = Scenarios.Pick(random, _mix);
                var (outcome, reusable) = await RunRequestAsync(connection, scenario, close: budget == 1 || random.Next(20) == 0, random).ConfigureAwait(false);
                Count(scenario, outcome);
                if (!reusable)
                {
                    break;
                }
            }
        }
    }

    private async Task<ClientConnection?> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.ConnectAsync(_proxy, timeout.Token).ConfigureAwait(false);
            Interlocked.Increment(ref _connectionsOpened);
            return new ClientConnection(socket);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            return null;
        }
    }

    private async Task<(Outcome Outcome, bool Reusable)> RunRequestAsync(ClientConnection connection, Scenario scenario, bool close, Random random)
    {
        var request = Request.For(scenario, random, _token, close);
        using var deadline = new CancellationTokenSource(_deadline);
        var stage = "sending";
        var started = _clock.Elapsed;
        try
        {
            if (scenario == Scenario.ClientAbortUpload)
            {
                await connection.Stream.WriteAsync(request.Bytes.AsMemory(0, request.AbortAfter), deadline.Token).ConfigureAwait(false);
                connection.Abort();
                return (Outcome.AbortedByClient, false);
            }

            for (var offset = 0; offset < request.Bytes.Length; offset += 16 * 1024)
            {
                await connection.Stream.WriteAsync(request.Bytes.AsMemory(offset, Math.Min(16 * 1024, request.Bytes.Length - offset)), deadline.Token).ConfigureAwait(false);
            }

            stage = "waiting for the head";
            Head? head;
            try
            {
                do
                {
                    head = await Wire.ReadHeadAsync(connection.Reader, deadline.Token).ConfigureAwait(false);
                }
                while (head is { Status: >= 100 and < 200 });
            }
            catch (Exception e) when (e is IOException or SocketException or WireEndedException)
            {
                head = null;
            }

            if (head is null)
            {
                return (Outcome.NoResponse, false);
            }

            stage = $"reading a {head.Status} body";
            var status = head.Status;
            if (scenario == Scenario.ClientAbortStream && status == 200 && head.IsChunked)
            {
                await Wire.ReadChunkedAsync(connection.Reader, deadline.Token, stopAfterData: 1).ConfigureAwait(false);
                connection.Abort();
                return (Outcome.AbortedByClient, false);
            }

            BodyRead body;
            try
            {
                body = head.IsChunked ? await Wire.ReadChunkedAsync(connection.Reader, deadline.Token).ConfigureAwait(false)
                    : head.ContentLength is { } length ? await Wire.ReadContentAsync(connection.Reader, length, deadline.Token).ConfigureAwait(false)
                    : await Wire.ReadToEndAsync(connection.Reader, deadline.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException)
            {
                body = default;
            }

            if (!body.Complete)
            {
                return (Outcome.Truncated, false);
            }

            var reusable = !head.SaysClose && !close;
            switch (status)
            {
                case >= 200 and < 300:
                    if (request.Check(body))
                    {
                        return (Outcome.Ok, reusable);
                    }

                    lock (_wrong)
                    {
                        _wrong.Add($"{Scenarios.Name(scenario)}: {body.Bytes} bytes, hash {body.Hash}; expected {request.Describe()}");
                    }

                    return (Outcome.WrongBody, false);
                case 401:
                    return (Outcome.Status401, reusable);
                case 502:
                    return (Outcome.Status502, reusable);
                case 504:
                    return (Outcome.Status504, reusable);
                default:
                    lock (_otherStatuses)
                    {
                        _otherStatuses[status] = _otherStatuses.GetValueOrDefault(status) + 1;
                    }

                    return (Outcome.OtherStatus, reusable);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            lock (_hangs)
            {
                _hangs.Add($"{Scenarios.Name(scenario)} at {started.TotalSeconds:F1} s: no progress for {_deadline.TotalSeconds:F0} s while {stage}");
            }

            connection.Abort();
            return (Outcome.Hang, false);
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // A reset while sending: the proxy gave up on the request (it answers and closes, e.g. after a 502).
            return (Outcome.NoResponse, false);
        }
    }

    private void Count(Scenario scenario, Outcome outcome) =>
        Interlocked.Increment(ref _counts[((int)scenario * OutcomeCount) + (int)outcome]);

    private long Read(Scenario scenario, Outcome outcome) =>
        Volatile.Read(ref _counts[((int)scenario * OutcomeCount) + (int)outcome]);

    private long Total(Func<Outcome, bool> which) =>
        Enum.GetValues<Scenario>().Sum(s => Enum.GetValues<Outcome>().Where(which).Sum(o => Read(s, o)));

    private (string Table, string KeyValues) Summary()
    {
        var outcomes = Enum.GetValues<Outcome>();
        var table = new StringBuilder();
        var seconds = _clock.Elapsed.TotalSeconds;
        var total = Total(_ => true);
        table.AppendLine(CultureInfo.InvariantCulture, $"{total} requests in {seconds:F0} s ({total / seconds:F0}/s) over {_connectionsOpened} connections ({_connections} at a time)");
        table.AppendLine();
        table.AppendLine("| scenario | expected | " + string.Join(" | ", outcomes.Select(Column)) + " |");
        table.AppendLine("| --- | --- | " + string.Join(" | ", outcomes.Select(_ => "---:")) + " |");
        var unexpected = new List<string>();
        foreach (var scenario in Enum.GetValues<Scenario>())
        {
            var expected = Scenarios.Expected(scenario);
            table.Append(CultureInfo.InvariantCulture, $"| {Scenarios.Name(scenario)} | {Column(expected)} |");
            foreach (var outcome in outcomes)
            {
                var count = Read(scenario, outcome);
                table.Append(CultureInfo.InvariantCulture, $" {(count == 0 ? "" : count.ToString(CultureInfo.InvariantCulture))} |");
                if (count > 0 && outcome != expected && outcome != Outcome.ConnectFailed)
                {
                    unexpected.Add($"{Scenarios.Name(scenario)} → {Column(outcome)}: {count}");
                }
            }

            table.AppendLine();
        }

        table.AppendLine("| **total** | |" + string.Concat(outcomes.Select(o => $" **{Total(x => x == o)}** |")));
        table.AppendLine();
        if (_otherStatuses.Count > 0)
        {
            table.AppendLine("other statuses: " + string.Join(", ", _otherStatuses.OrderBy(s => s.Key).Select(s => $"{s.Key} ×{s.Value}")));
        }

        table.AppendLine(unexpected.Count == 0 ? "every request ended as its scenario expects" : "outcomes other than expected: " + string.Join("; ", unexpected));
        foreach (var line in _hangs.Take(20).Concat(_wrong.Take(20)))
        {
            table.AppendLine("  " + line);
        }

        var keyValues = new StringBuilder();
        keyValues.AppendLine(CultureInfo.InvariantCulture, $"requests={total}");
        keyValues.AppendLine(CultureInfo.InvariantCulture, $"seconds={seconds:F0}");
        keyValues.AppendLine(CultureInfo.InvariantCulture, $"connections_opened={_connectionsOpened}");
        foreach (var outcome in outcomes)
        {
            keyValues.AppendLine(CultureInfo.InvariantCulture, $"{Column(outcome)}={Total(o => o == outcome)}");
        }

        keyValues.AppendLine(CultureInfo.InvariantCulture, $"unexpected={unexpected.Sum(u => long.Parse(u[(u.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture))}");
        return (table.ToString(), keyValues.ToString());
    }

    /// <summary>The report's name for an outcome: 2xx, 401, 502, 504, other-status, truncated, aborted-by-client, …</summary>
    private static string Column(Outcome outcome) => outcome switch
    {
        Outcome.Ok => "2xx",
        Outcome.Status401 => "401",
        Outcome.Status502 => "502",
        Outcome.Status504 => "504",
        _ => KebabCase().Replace(outcome.ToString(), "-$1").ToLowerInvariant(),
    };

    [GeneratedRegex("(?<=[a-z])([A-Z])")]
    private static partial Regex KebabCase();

    /// <summary>A client connection: the socket, a stream to write, a pipe to read.</summary>
    private sealed class ClientConnection(Socket socket) : IAsyncDisposable
    {
        public NetworkStream Stream { get; } = new(socket, ownsSocket: true);

        public PipeReader Reader { get; } = PipeReader.Create(new NetworkStream(socket, ownsSocket: false), new StreamPipeReaderOptions(leaveOpen: true));

        /// <summary>Resets the connection (RST), as a client that crashes or is killed does.</summary>
        public void Abort()
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }

            socket.Close();
        }

        public async ValueTask DisposeAsync()
        {
            await Reader.CompleteAsync().ConfigureAwait(false);
            await Stream.DisposeAsync().ConfigureAwait(false);
        }
    }
}
