using System.Buffers;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Listener.Metrics;
using OllamaSocketProxy.Listener.Usage;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// The usage observer (README.md#usage-and-metrics): for every request a client sent, who sent it, which model it
/// named, which key served it, its route and status, the token counts its answer reported and its times. The counts
/// are read from the answer's bytes as they pass to the client (<see cref="UsageReader"/>, which keeps at most a
/// chunk-size line, never a line of the answer); the relay neither waits for it nor changes a byte. At the end the
/// request goes to the metrics and, as one <see cref="UsageRecord"/>, to its hourly row in memory, which is written
/// off the request path (<see cref="UsageRecorder"/>). No prompt or answer text is kept.
/// </summary>
/// <remarks>
/// First in the pipeline, so it is asked about every authenticated request and hears the end of each, refused ones
/// included. The model is read from a body the proxy holds (<see cref="ProxyContext.HeldBodyLimit"/>); a streamed
/// body counts as naming no model. Its label is bounded (<see cref="ModelLabel"/>): a name in a client's list (as the
/// clients file reads now), or one the upstream has served with a 2xx; any other is <c>other</c>. A request on a route
/// that reports tokens asks the upstream for an answer without a content coding, since compressed bytes cannot be
/// read as they pass. Per connection it keeps one reader, one name buffer, the last name's label, the last metrics tally and the
/// last usage row; per request it allocates nothing.
/// </remarks>
internal sealed class UsagePolicy(
    UsageRecorder? recorder, ProxyMetrics metrics, ModelLabel models, ClientRegistrySource clients, TimeProvider time) : RequestPolicy
{
    // The clients whose model lists the labels know: a reload brings new lists, taken at the next request's end.
    private ClientRegistry? _labelledClients;

    /// <summary>The client of a proxy without a clients file (<see cref="ClientRegistry"/>).</summary>
    private const string DefaultClient = "default";

    public override bool ObservesResponseBody => true;

    public override PolicyVerdict OnRequest(RequestContext request)
    {
        var observation = request.ConnectionState[Index] as Observation ?? NewObservation(request);
        request.PolicyState[Index] = observation;

        var target = request.Target;
        var prefix = MappedTarget.PrefixBytes(target.Prefix);
        var rest = request.Head.Target[target.RestStart..];
        var kind = observation.LastRoute.Classify(target.Prefix, prefix, rest, out observation.Api, out observation.Route);
        observation.Format = UsageFormat.None;
        observation.ReaderStarted = false;
        observation.ModelLength = 0;

        // Only a held body can name the model: a bodiless request (a model list, a version query) skips the route. A
        // route the usage rows name has its kind from the same table walk; only another is classified again.
        if (request.BodyHeld && !request.HeldBody.IsEmpty)
        {
            ReadModel(request, observation, kind == GatewayRouteKind.Other ? GatewayRoute.Classify(prefix, rest) : kind);
        }

        if (observation.Api != UsageApi.None)
        {
            request.IdentityEncoding = true;
        }

        return PolicyVerdict.Continue;
    }

    public override ResponseVerdict OnResponseHead(RequestContext request, ResponseHead response, in ReadOnlySequence<byte> bodyStart)
    {
        if (request.PolicyState[Index] is Observation observation)
        {
            // A retried request sees a second head: the reader starts over with the body that is relayed.
            observation.Format = UsageFormats.For(observation.Api, response);
            observation.ReaderStarted = false;
        }

        return ResponseVerdict.Relay;
    }

    public override void OnResponseBody(RequestContext request, in ReadOnlySequence<byte> bytes)
    {
        if (request.PolicyState[Index] is not Observation { Format: not UsageFormat.None } observation)
        {
            return;
        }

        if (!observation.ReaderStarted)
        {
            // Known only once the head is written: an HTTP/1.0 client gets the body without its chunk framing.
            observation.Reader.Reset(observation.Format, chunked: request.ResponseFraming.Kind == BodyKind.Chunked && !request.Dechunk);
            observation.ReaderStarted = true;
        }

        observation.Reader.Observe(bytes);
    }

    public override void OnCompleted(RequestContext request)
    {
        if (request.PolicyState[Index] is not Observation observation)
        {
            return;
        }

        var log = request.Log;
        var duration = time.GetElapsedTime(log.Started);
        TimeSpan? firstByte = log.FirstByte == 0 ? null : time.GetElapsedTime(log.Started, log.FirstByte);
        long? prompt = null;
        long? completion = null;
        if (observation.ReaderStarted)
        {
            observation.Reader.TryGetCounts(out prompt, out completion);
        }

        var registry = clients.Current;
        if (!ReferenceEquals(Volatile.Read(ref _labelledClients), registry))
        {
            models.UpdateClients(registry.Clients);
            Volatile.Write(ref _labelledClients, registry);
        }

        var status = log.Status;
        var name = observation.ModelName.AsSpan(0, observation.ModelLength);
        var model = name.IsEmpty ? ModelLabel.None : models.For(name, served: status is >= 200 and <= 299, observation.Labels);
        var client = request.Client?.Name ?? DefaultClient;

        var tally = metrics.TallyFor(client, model, status, observation.Tally);
        observation.Tally = tally;
        metrics.RequestCompleted(tally, duration, firstByte, prompt, completion);
        recorder?.TryRecord(new UsageRecord(
            time.GetUtcNow(), client, ReferenceEquals(model, ModelLabel.None) ? UsageRecord.None : model, request.KeyLabel ?? UsageRecord.None,
            observation.Route, status, prompt, completion, firstByte ?? TimeSpan.Zero, duration), ref observation.Row);
    }

    private static void ReadModel(RequestContext request, Observation observation, GatewayRouteKind route)
    {
        var field = route switch
        {
            GatewayRouteKind.ModelInBody => ModelField.Model,
            GatewayRouteKind.ModelOrNameInBody => ModelField.ModelOrName,
            _ => (ModelField?)null,
        };
        // Copied: the request's end needs the name after the held body is gone.
        if (field is { } named && request.BodyModel.Find(named, observation.ModelName, out var length) == RequestModelStatus.Found)
        {
            observation.ModelLength = length;
        }
    }

    private Observation NewObservation(RequestContext request)
    {
        var observation = new Observation();
        request.ConnectionState[Index] = observation;
        return observation;
    }

    /// <summary>What the policy keeps per connection and reuses for each of its requests.</summary>
    private sealed class Observation
    {
        public readonly UsageReader Reader = new();
        public readonly byte[] ModelName = new byte[RequestModel.MaxNameLength];
        public readonly ModelLabelCache Labels = new();
        public readonly RouteMemory LastRoute = new();
        public RequestTally? Tally;
        public UsageCell? Row;
        public int ModelLength;
        public UsageApi Api;
        public string Route = UsageFormats.OtherRoute;
        public UsageFormat Format;
        public bool ReaderStarted;
    }

    /// <summary>
    /// One connection's last target and what <see cref="UsageFormats.Classify(ReadOnlySpan{byte}, ReadOnlySpan{byte}, out string, out GatewayRouteKind)"/>
    /// made of it: a client mostly sends the same path request after request, and the same bytes classify the same.
    /// </summary>
    private sealed class RouteMemory
    {
        /// <summary>A longer target is classified every time.</summary>
        private const int MaxTargetLength = 64;

        private readonly byte[] _target = new byte[MaxTargetLength];
        private int _length = -1;
        private TargetPrefix _prefix;
        private UsageApi _api;
        private string _route = UsageFormats.OtherRoute;
        private GatewayRouteKind _kind;

        /// <summary>The usage API and route label of the forwarded target, and the kind of its route (see <see cref="UsageFormats"/>).</summary>
        public GatewayRouteKind Classify(TargetPrefix prefix, ReadOnlySpan<byte> prefixBytes, ReadOnlySpan<byte> rest, out UsageApi api, out string route)
        {
            if (_length < 0 || prefix != _prefix || !rest.SequenceEqual(_target.AsSpan(0, _length)))
            {
                _api = UsageFormats.Classify(prefixBytes, rest, out _route, out _kind);
                _prefix = prefix;
                _length = rest.TryCopyTo(_target) ? rest.Length : -1;
            }

            api = _api;
            route = _route;
            return _kind;
        }
    }
}
