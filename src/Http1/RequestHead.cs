using System.Diagnostics;

namespace OllamaSocketProxy.Http1;

/// <summary>A parsed, validated request head, plus the facts about it the proxy acts on (routing, auth, framing).</summary>
public sealed class RequestHead : MessageHead
{
    private Range _method;
    private Range _target;
    private Range _authorization;
    private Range _apiKey;
    private Range _origin;
    private Range _requestMethod;
    private Range _requestHeaders;
    private Range _contentType;
    private bool _emptyHost;
    private bool _hasContentType;

    public RequestMethod Method { get; private set; }
    public ReadOnlySpan<byte> MethodBytes => Bytes[_method];
    public ReadOnlySpan<byte> Target => Bytes[_target];
    public Http1Version Version { get; private set; }

    public int HostCount { get; private set; }
    public bool ExpectsContinue { get; private set; }
    public int AuthorizationCount { get; private set; }
    public int ApiKeyCount { get; private set; }

    /// <summary>The value of the (last) Authorization field; meaningful when <see cref="AuthorizationCount"/> is 1.</summary>
    public ReadOnlySpan<byte> Authorization => Bytes[_authorization];

    /// <summary>The value of the (last) x-api-key field; meaningful when <see cref="ApiKeyCount"/> is 1.</summary>
    public ReadOnlySpan<byte> ApiKey => Bytes[_apiKey];

    /// <summary>How many Origin fields came (a browser sends one, RFC 6454 §7).</summary>
    public int OriginCount { get; private set; }

    /// <summary>The value of the (last) Origin field.</summary>
    public ReadOnlySpan<byte> Origin => Bytes[_origin];

    /// <summary>An Access-Control-Request-Method field came: with OPTIONS and Origin, a CORS preflight.</summary>
    public bool HasAccessControlRequestMethod { get; private set; }

    public ReadOnlySpan<byte> AccessControlRequestMethod => Bytes[_requestMethod];

    /// <summary>The (last) Access-Control-Request-Headers value; empty when there is none.</summary>
    public ReadOnlySpan<byte> AccessControlRequestHeaders => Bytes[_requestHeaders];

    public override void Reset()
    {
        base.Reset();
        HostCount = AuthorizationCount = ApiKeyCount = OriginCount = 0;
        HasAccessControlRequestMethod = false;
        _origin = _requestMethod = _requestHeaders = default;
        ExpectsContinue = _emptyHost = _hasContentType = false;
    }

    internal void SetRequestLine(RequestMethod method, Range methodRange, Range target, Http1Version version)
    {
        Method = method;
        _method = methodRange;
        _target = target;
        Version = version;
        WantsClose = version == Http1Version.Http10;
    }

    protected override void OnField(FieldRange field, ReadOnlySpan<byte> value)
    {
        switch (field.Known)
        {
            case KnownField.Host:
                // RFC 9110 §7.2: Host = uri-host [ ":" port ]; a list, a path or userinfo is not a host.
                if (value.IndexOfAny(",/?#@ \t"u8) >= 0)
                {
                    RequestRejections.Throw(RequestRejection.MissingOrDuplicateHost);
                }

                HostCount++;
                _emptyHost = value.IsEmpty;
                break;
            case KnownField.Authorization:
                AuthorizationCount++;
                _authorization = new Range(field.ValueStart, field.ValueStart + field.ValueLength);
                break;
            case KnownField.XApiKey:
                ApiKeyCount++;
                _apiKey = new Range(field.ValueStart, field.ValueStart + field.ValueLength);
                break;
            case KnownField.Origin:
                OriginCount++;
                _origin = new Range(field.ValueStart, field.ValueStart + field.ValueLength);
                break;
            case KnownField.AccessControlRequestMethod:
                HasAccessControlRequestMethod = true;
                _requestMethod = new Range(field.ValueStart, field.ValueStart + field.ValueLength);
                break;
            case KnownField.AccessControlRequestHeaders:
                _requestHeaders = new Range(field.ValueStart, field.ValueStart + field.ValueLength);
                break;
            case KnownField.Expect:
                // RFC 9110 §10.1.1: 100-continue is the only expectation defined; HTTP/1.0 clients cannot use it.
                if (!System.Text.Ascii.EqualsIgnoreCase(value, "100-continue"u8))
                {
                    RequestRejections.Throw(RequestRejection.UnsupportedExpectation);
                }

                ExpectsContinue = Version == Http1Version.Http11;
                break;
            case KnownField.ContentType:
                // RFC 9110 §5.3, §8.3: a singleton sent twice, on which recipients differ (first, last, or a list), so the
                // upstream could read the body as another type than a filter before it did. Byte-identical repeats leave
                // nothing to differ on and pass, as identical Content-Length values do (§8.6).
                if (_hasContentType && !value.SequenceEqual(Bytes[_contentType]))
                {
                    RequestRejections.Throw(RequestRejection.ConflictingContentType);
                }

                _hasContentType = true;
                _contentType = new Range(field.ValueStart, field.ValueStart + field.ValueLength);
                break;
        }
    }

    /// <summary>Cross-field rules, checked once every field is in (RFC 9112 §3.2, §6.1).</summary>
    internal void Validate()
    {
        Debug.Assert(!Bytes.IsEmpty);

        // RFC 9112 §3.2: a server MUST respond 400 to an HTTP/1.1 request without Host, and to any with more than one.
        if (HostCount > 1 || (HostCount == 0 && Version == Http1Version.Http11))
        {
            RequestRejections.Throw(RequestRejection.MissingOrDuplicateHost);
        }

        // RFC 9112 §3.3: an origin-form target takes its authority from Host, and an http URI with an empty host is
        // invalid (RFC 9110 §4.2.1). Absolute-form carries its own authority (§3.2.2), and OPTIONS * names no resource.
        if (_emptyHost && Target[0] == '/')
        {
            RequestRejections.Throw(RequestRejection.MissingOrDuplicateHost);
        }
    }
}
