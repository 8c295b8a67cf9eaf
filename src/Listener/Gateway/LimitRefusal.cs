using System.Buffers;
using System.Buffers.Text;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// Why <see cref="ClientLimiter.TryAcquire"/> refused a request: which limit, its value, when to try again, and the
/// JSON body of the 429 answer.
/// </summary>
public readonly struct LimitRefusal
{
    internal LimitRefusal(LimitKind kind, int limit, int retryAfterSeconds, byte[] errorBody)
    {
        Kind = kind;
        Limit = limit;
        RetryAfterSeconds = retryAfterSeconds;
        _errorBody = errorBody;
    }

    private readonly byte[]? _errorBody;

    public LimitKind Kind { get; }

    /// <summary>The configured value of the limit that refused: 4 concurrent requests, 60 a minute.</summary>
    public int Limit { get; }

    /// <summary>
    /// Whole seconds for <c>Retry-After</c> (RFC 9110 §10.2.3), rounded up and at least 1. A concurrency refusal
    /// has no time of its own (a slot frees when another request ends), so it says 1.
    /// </summary>
    public int RetryAfterSeconds { get; }

    /// <summary><c>{"error":"client \"kids\" is over its limit of 4 concurrent requests"}</c>, made when the limits were set.</summary>
    public ReadOnlySpan<byte> ErrorBody => _errorBody;

    /// <summary>Writes <c>Retry-After: N\r\n</c>, for the extra fields of the 429 answer.</summary>
    public void WriteRetryAfterField(IBufferWriter<byte> output)
    {
        output.Write("Retry-After: "u8);
        var span = output.GetSpan(11);
        Utf8Formatter.TryFormat(RetryAfterSeconds, span, out var written);
        output.Advance(written);
        output.Write("\r\n"u8);
    }

    /// <summary>The message of the error body, for a limit of <paramref name="kind"/>.</summary>
    public static string Message(string clientName, LimitKind kind, int limit) => kind switch
    {
        LimitKind.Concurrent => $"client \"{clientName}\" is over its limit of {limit} concurrent requests",
        LimitKind.RequestsPerMinute => $"client \"{clientName}\" is over its limit of {limit} requests per minute",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
