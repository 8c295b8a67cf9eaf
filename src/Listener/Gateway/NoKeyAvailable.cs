using System.Buffers;
using System.Globalization;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>Why <see cref="UpstreamKeyPool.TryChoose"/> found no key.</summary>
public enum NoKeyReason : byte
{
    /// <summary>Every key that is not disabled is benched: 429 with <c>Retry-After</c> until the first returns.</summary>
    AllRateLimited,

    /// <summary>Every key was refused by the upstream (401 or 403): 502, nothing will change before a restart.</summary>
    AllDisabled,
}

/// <summary>The answer when no upstream key can serve a request, and the response that says so.</summary>
public readonly struct NoKeyAvailable
{
    internal NoKeyAvailable(NoKeyReason reason, DateTimeOffset nextReturn, int retryAfterSeconds)
    {
        Reason = reason;
        NextReturn = nextReturn;
        RetryAfterSeconds = retryAfterSeconds;
    }

    public NoKeyReason Reason { get; }

    /// <summary>When the first benched key returns (<see cref="NoKeyReason.AllRateLimited"/> only).</summary>
    public DateTimeOffset NextReturn { get; }

    /// <summary>Whole seconds until <see cref="NextReturn"/>, rounded up, at least 1; 0 when all keys are disabled.</summary>
    public int RetryAfterSeconds { get; }

    /// <summary>429 (RFC 6585 §4) while keys will return; 502 once the upstream has refused them all.</summary>
    public int Status => Reason == NoKeyReason.AllRateLimited ? 429 : 502;

    /// <summary>Longest body <see cref="FormatErrorBody"/> writes.</summary>
    private const int MaxBodyLength = 128;

    /// <summary>Writes <c>{"error":"…"}</c>: for 429 <c>all upstream keys are rate limited; next in N s</c>.</summary>
    public void WriteErrorBody(IBufferWriter<byte> output)
    {
        Span<byte> body = stackalloc byte[MaxBodyLength];
        output.Write(body[..FormatErrorBody(body)]);
    }

    /// <summary>For 429, writes <c>Retry-After: N\r\n</c> (RFC 9110 §10.2.3) for the answer's extra fields; for 502, nothing.</summary>
    public void WriteRetryAfterField(IBufferWriter<byte> output)
    {
        if (Reason != NoKeyReason.AllRateLimited)
        {
            return;
        }

        output.Write("Retry-After: "u8);
        var span = output.GetSpan(11);
        RetryAfterSeconds.TryFormat(span, out var digits, default, CultureInfo.InvariantCulture);
        output.Advance(digits);
        output.Write("\r\n"u8);
    }

    private int FormatErrorBody(Span<byte> destination)
    {
        if (Reason == NoKeyReason.AllDisabled)
        {
            var text = "{\"error\":\"all upstream keys were refused by the upstream (401 or 403); check OLLAMA_API_KEY\"}"u8;
            text.CopyTo(destination);
            return text.Length;
        }

        var prefix = "{\"error\":\"all upstream keys are rate limited; next in "u8;
        prefix.CopyTo(destination);
        var length = prefix.Length;
        RetryAfterSeconds.TryFormat(destination[length..], out var digits, default, CultureInfo.InvariantCulture);
        length += digits;
        " s\"}"u8.CopyTo(destination[length..]);
        return length + 4;
    }
}
