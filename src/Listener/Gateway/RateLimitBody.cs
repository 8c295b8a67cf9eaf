using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// What the body of an upstream 429 says: which limit was reached, and when it resets if the text names a time.
/// </summary>
/// <remarks>
/// Ollama Cloud answers <c>{"error":"you (name) have reached your session usage limit, upgrade for higher limits:
/// https://ollama.com/upgrade"}</c>, or the same with "weekly usage limit" (earlier texts said "you've reached your
/// hourly usage limit, please wait or upgrade to continue"). None of them names a reset time, and no
/// <c>Retry-After</c> comes with them. The OpenAI- and Anthropic-compatible routes wrap the text as
/// <c>{"error":{"message":"…"}}</c>. Should a text name its reset, it is taken from an RFC 3339 timestamp
/// ("resets at 2026-03-16T05:00:00Z") or a delay ("try again in 2h30m", "resets in 5 hours").
/// </remarks>
public readonly partial record struct RateLimitBody(RateLimitKind Kind, DateTimeOffset? ResetAt)
{
    /// <summary>Bytes of the body looked at: the messages are one short line.</summary>
    public const int MaxInspectedLength = 4096;

    /// <summary>Longest delay read from a text; the pool caps a bench further (<see cref="BenchLadder.MaxBench"/>).</summary>
    private const double MaxDelaySeconds = 400 * 86_400;

    /// <summary>Reads a 429 body (de-chunked, as received); a body that is not JSON is read as text.</summary>
    public static RateLimitBody Parse(ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        body = body[..Math.Min(body.Length, MaxInspectedLength)];
        var reader = new Utf8JsonReader(body, isFinalBlock: false, state: default);
        return FromText(ErrorMessage(ref reader) ?? Encoding.UTF8.GetString(body), now);
    }

    /// <inheritdoc cref="Parse(ReadOnlySpan{byte}, DateTimeOffset)"/>
    public static RateLimitBody Parse(in ReadOnlySequence<byte> body, DateTimeOffset now)
    {
        var inspected = body.Slice(0, Math.Min(body.Length, MaxInspectedLength));
        var reader = new Utf8JsonReader(inspected, isFinalBlock: false, state: default);
        return FromText(ErrorMessage(ref reader) ?? Encoding.UTF8.GetString(inspected), now);
    }

    private static RateLimitBody FromText(string text, DateTimeOffset now) => new(Classify(text), ResetTime(text, now));

    /// <summary>The top-level <c>"error"</c> string, or its <c>"message"</c> when it is an object; null when there is none.</summary>
    private static string? ErrorMessage(ref Utf8JsonReader reader)
    {
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isError = reader.ValueTextEquals("error"u8);
                if (!reader.Read())
                {
                    return null;
                }

                if (isError)
                {
                    return reader.TokenType switch
                    {
                        JsonTokenType.String => reader.GetString(),
                        JsonTokenType.StartObject => NestedMessage(ref reader),
                        _ => null,
                    };
                }

                if (!reader.TrySkip())
                {
                    return null;
                }
            }

            return null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Not JSON, or a string that is not UTF-8: the caller reads the bytes as text.
            return null;
        }
    }

    private static string? NestedMessage(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isMessage = reader.ValueTextEquals("message"u8);
            if (!reader.Read())
            {
                return null;
            }

            if (isMessage)
            {
                return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }

            if (!reader.TrySkip())
            {
                return null;
            }
        }

        return null;
    }

    private static RateLimitKind Classify(string text)
    {
        var kind = RateLimitKind.Other;
        foreach (var match in LimitName().EnumerateMatches(text))
        {
            // A long limit wins over a short one should a text name both: waiting on the short one would fail again.
            var word = text.AsSpan(match.Index, match.Length);
            if (word.StartsWith("session", StringComparison.OrdinalIgnoreCase) || word.StartsWith("hourly", StringComparison.OrdinalIgnoreCase))
            {
                kind = kind == RateLimitKind.Weekly ? kind : RateLimitKind.Session;
            }
            else
            {
                return RateLimitKind.Weekly;
            }
        }

        return kind;
    }

    private static DateTimeOffset? ResetTime(string text, DateTimeOffset now)
    {
        if (Timestamp().Match(text) is { Success: true } stamp
            && DateTimeOffset.TryParse(stamp.ValueSpan, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            return at;
        }

        if (Delay().Match(text) is not { Success: true } delay)
        {
            return null;
        }

        var seconds = 0.0;
        foreach (Match part in DelayPart().Matches(delay.Groups["delay"].Value))
        {
            var number = double.Parse(part.Groups["n"].ValueSpan, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
            seconds += number * UnitSeconds(part.Groups["unit"].ValueSpan);
        }

        return now + TimeSpan.FromSeconds(Math.Min(seconds, MaxDelaySeconds));
    }

    private static double UnitSeconds(ReadOnlySpan<char> unit) => char.ToLowerInvariant(unit[0]) switch
    {
        'm' when unit.Equals("ms", StringComparison.OrdinalIgnoreCase) || unit.StartsWith("milli", StringComparison.OrdinalIgnoreCase) => 0.001,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => 1,
    };

    /// <summary>"session usage limit", "weekly limit", …: the names Ollama Cloud's texts use, past and present.</summary>
    [GeneratedRegex(@"\b(?:session|hourly|daily|weekly|monthly)\s+(?:usage\s+)?limit", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex LimitName();

    /// <summary>An RFC 3339 date-time (a missing offset is read as UTC).</summary>
    [GeneratedRegex(@"\b[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,7})?)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})?", RegexOptions.CultureInvariant)]
    private static partial Regex Timestamp();

    /// <summary>"in 5 hours", "after 30 s", "in 2h30m", "in 1 hour and 20 minutes".</summary>
    [GeneratedRegex(
        @"\b(?:in|after)\s+(?<delay>(?:[0-9]+(?:\.[0-9]+)?\s*(?:milliseconds?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w)(?![a-z])[\s,]*(?:and\s+)?)+)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Delay();

    [GeneratedRegex(@"(?<n>[0-9]+(?:\.[0-9]+)?)\s*(?<unit>[a-z]+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DelayPart();
}
