using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Listener.Metrics;

/// <summary>
/// The proxy's instruments, on the <see cref="Meter"/> named <see cref="MeterName"/>: <c>/metrics</c>
/// (<see cref="PrometheusExporter"/>) and <c>dotnet-counters monitor --counters OllamaSocketProxy</c> read the same
/// figures. Instrument names are the Prometheus family names (a counter's without <c>_total</c>, which the exporter
/// adds).
/// </summary>
/// <remarks>
/// <para>
/// Requests and tokens are counted in a <see cref="RequestTally"/> per client, model and status, which observable
/// counters report when a listener collects: a request adds to its tally with three interlocked operations, where
/// three recorded measurements would each go through every listener and look up their series by tags. The
/// durations are histograms, recorded as they happen.
/// </para>
/// <para>
/// Recording allocates nothing once a tally exists: the histograms' tags go in a <see cref="TagList"/> (a struct
/// holding up to eight tags inline) and every label value passed in is a string that already exists (a client's
/// name, a <see cref="ModelLabel"/>, a cached status code). Label values must be bounded: client names from the
/// clients file, models through <see cref="ModelLabel"/>, keys from the key pool.
/// </para>
/// </remarks>
public sealed class ProxyMetrics : IDisposable
{
    public const string MeterName = "OllamaSocketProxy";

    private const string ClientTag = "client";
    private const string ModelTag = "model";
    private const string StatusTag = "status";
    private const string KindTag = "kind";
    private const string KeyTag = "key";
    private const string StateTag = "state";

    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _timeToFirstByte;
    private readonly ConcurrentDictionary<(string Client, string Model, string Status), RequestTally> _tallies = new();
    private readonly ProxyMetricsSources _sources;

    public ProxyMetrics(ProxyMetricsSources? sources = null)
    {
        _sources = sources ?? new ProxyMetricsSources();
        Meter = new Meter(MeterName);
        var durations = new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets };

        Meter.CreateObservableCounter(
            "ollama_proxy_requests", ObserveRequests, "{request}", "Requests answered, by client, model and status code.");
        _duration = Meter.CreateHistogram(
            "ollama_proxy_request_duration_seconds", "s", "Time from the request's head to the answer's last byte, by client.", tags: null, durations);
        _timeToFirstByte = Meter.CreateHistogram(
            "ollama_proxy_time_to_first_byte_seconds", "s", "Time from the request's head to the answer's first byte, by client.", tags: null, durations);
        Meter.CreateObservableCounter(
            "ollama_proxy_tokens", ObserveTokens, "{token}", "Tokens the upstream counted, by client, model and kind (prompt or completion).");
        Meter.CreateObservableGauge(
            "ollama_proxy_upstream_key_up", ObserveKeysUp, "{key}", "1 when the upstream key may serve requests, 0 while it is benched or disabled.");
        Meter.CreateObservableCounter(
            "ollama_proxy_upstream_key_rate_limited", ObserveKeysRateLimited, "{response}", "Upstream 429 answers drawn by each key since start.");
        Meter.CreateObservableGauge(
            "ollama_proxy_client_connections", ObserveClientConnections, "{connection}", "Client connections open.");
        Meter.CreateObservableGauge(
            "ollama_proxy_upstream_connections", ObserveUpstreamConnections, "{connection}", "Upstream connections, idle in the pool or busy with a request.");
        Meter.CreateObservableCounter(
            "ollama_proxy_usage_db_errors", ObserveUsageDbErrors, "{error}", "Usage database writes that failed since start.");
    }

    /// <summary>
    /// Upper bounds, in seconds, of the duration histograms: a model may take 50 ms to answer from a warm cache or ten
    /// minutes to think, so the buckets reach from one to the other.
    /// </summary>
    public static IReadOnlyList<double> DurationBuckets { get; } = Array.AsReadOnly([0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600]);

    /// <summary>The meter the instruments live on, for <see cref="PrometheusExporter"/>.</summary>
    public Meter Meter { get; }

    /// <summary>
    /// Counts one answered request: its durations, and the tokens its answer reported (a count that is null, because
    /// the answer carried none, is not counted). <paramref name="model"/> is a <see cref="ModelLabel"/> value;
    /// <paramref name="timeToFirstByte"/> is null when no byte of an answer reached the client.
    /// </summary>
    public void RequestCompleted(
        string client, string model, int status, TimeSpan duration, TimeSpan? timeToFirstByte, long? promptTokens = null, long? completionTokens = null) =>
        RequestCompleted(TallyFor(client, model, status), duration, timeToFirstByte, promptTokens, completionTokens);

    /// <summary>Counts one answered request in <paramref name="tally"/> (<see cref="TallyFor"/>); see the other overload.</summary>
    public void RequestCompleted(RequestTally tally, TimeSpan duration, TimeSpan? timeToFirstByte, long? promptTokens, long? completionTokens)
    {
        tally.Add(promptTokens, completionTokens);

        var clientOnly = new TagList { { ClientTag, tally.Client } };
        _duration.Record(duration.TotalSeconds, clientOnly);
        if (timeToFirstByte is { } firstByte)
        {
            _timeToFirstByte.Record(firstByte.TotalSeconds, clientOnly);
        }
    }

    /// <summary>
    /// The tally of requests from <paramref name="client"/> for <paramref name="model"/> answered with
    /// <paramref name="status"/>: <paramref name="recent"/> when it is that tally (a connection's requests mostly
    /// are), else the one the metrics keep, made on first use. Allocates only then.
    /// </summary>
    public RequestTally TallyFor(string client, string model, int status, RequestTally? recent = null)
    {
        var label = StatusLabel.For(status);
        if (recent is not null && recent.Is(client, model, label))
        {
            return recent;
        }

        return _tallies.GetOrAdd((client, model, label), static key => new RequestTally(key.Client, key.Model, key.Status));
    }

    public void Dispose() => Meter.Dispose();

    private IEnumerable<Measurement<long>> ObserveRequests()
    {
        var measurements = new List<Measurement<long>>();
        foreach (var (_, tally) in _tallies)
        {
            measurements.Add(new Measurement<long>(
                tally.Requests,
                new KeyValuePair<string, object?>(ClientTag, tally.Client),
                new KeyValuePair<string, object?>(ModelTag, tally.Model),
                new KeyValuePair<string, object?>(StatusTag, tally.Status)));
        }

        return measurements;
    }

    /// <summary>The tokens of each client and model, over every status; a kind no answer reported has no series.</summary>
    private IEnumerable<Measurement<long>> ObserveTokens()
    {
        var sums = new Dictionary<(string Client, string Model), (long? Prompt, long? Completion)>();
        foreach (var (_, tally) in _tallies)
        {
            var key = (tally.Client, tally.Model);
            var (prompt, completion) = sums.GetValueOrDefault(key);
            sums[key] = (Sum(prompt, tally.PromptTokens), Sum(completion, tally.CompletionTokens));
        }

        var measurements = new List<Measurement<long>>(2 * sums.Count);
        foreach (var ((client, model), (prompt, completion)) in sums)
        {
            if (prompt is { } p)
            {
                measurements.Add(TokenMeasurement(p, client, model, "prompt"));
            }

            if (completion is { } c)
            {
                measurements.Add(TokenMeasurement(c, client, model, "completion"));
            }
        }

        return measurements;

        static long? Sum(long? a, long? b) => a is null ? b : b is null ? a : a + b;

        static Measurement<long> TokenMeasurement(long value, string client, string model, string kind) => new(
            value,
            new KeyValuePair<string, object?>(ClientTag, client),
            new KeyValuePair<string, object?>(ModelTag, model),
            new KeyValuePair<string, object?>(KindTag, kind));
    }

    private IEnumerable<Measurement<int>> ObserveKeysUp()
    {
        var keys = _sources.Keys?.Invoke() ?? [];
        var measurements = new Measurement<int>[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            measurements[i] = new Measurement<int>(keys[i].State == KeyState.Up ? 1 : 0, new KeyValuePair<string, object?>(KeyTag, keys[i].Label));
        }

        return measurements;
    }

    private IEnumerable<Measurement<long>> ObserveKeysRateLimited()
    {
        var keys = _sources.Keys?.Invoke() ?? [];
        var measurements = new Measurement<long>[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            measurements[i] = new Measurement<long>(keys[i].RateLimitedCount, new KeyValuePair<string, object?>(KeyTag, keys[i].Label));
        }

        return measurements;
    }

    private IEnumerable<Measurement<long>> ObserveClientConnections() =>
        _sources.ClientConnections is { } connections ? [new Measurement<long>(connections())] : [];

    private IEnumerable<Measurement<long>> ObserveUpstreamConnections()
    {
        var measurements = new List<Measurement<long>>(2);
        if (_sources.IdleUpstreamConnections is { } idle)
        {
            measurements.Add(new Measurement<long>(idle(), new KeyValuePair<string, object?>(StateTag, "idle")));
        }

        if (_sources.BusyUpstreamConnections is { } busy)
        {
            measurements.Add(new Measurement<long>(busy(), new KeyValuePair<string, object?>(StateTag, "busy")));
        }

        return measurements;
    }

    private Measurement<long> ObserveUsageDbErrors() => new(_sources.UsageDbErrors?.Invoke() ?? 0);
}
