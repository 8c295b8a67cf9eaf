using System.Buffers;
using System.Globalization;
using System.Text.Json;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Listener.Usage;

namespace OllamaSocketProxy.Listener.Admin;

/// <summary>
/// The proxy's state now, for <c>/readyz</c> and <c>/status</c>: read once per request from <see cref="AdminSources"/>,
/// so both parts of an answer describe the same moment.
/// </summary>
internal static class AdminStatus
{
    /// <summary>
    /// Ready: the API listener accepts connections and some upstream key is up, so a request can be served now. A
    /// benched key is not: it answers 429 until its bench ends (README.md#the-key-pool).
    /// </summary>
    public static bool IsReady(AdminSources sources, IReadOnlyList<KeyStatus> keys, out string why)
    {
        if (!sources.Listening())
        {
            why = "not ready: the API listener is not accepting connections";
            return false;
        }

        int benched = 0, disabled = 0;
        foreach (var key in keys)
        {
            switch (key.State)
            {
                case KeyState.Up:
                    why = "";
                    return true;
                case KeyState.Benched:
                    benched++;
                    break;
                case KeyState.Disabled:
                    disabled++;
                    break;
            }
        }

        why = string.Create(CultureInfo.InvariantCulture, $"not ready: no upstream key is up ({benched} benched, {disabled} disabled)");
        return false;
    }

    /// <summary>
    /// Writes <c>/status</c>. The names are a contract with the dashboard page (and anyone's script), so they only
    /// ever grow:
    /// <code>
    /// {"now":"2026-12-06T05:12:09Z","started":"2026-12-06T04:00:00Z","ready":true,"requests_in_flight":2,
    ///  "client_connections":5,"upstream_connections":{"idle":1,"busy":2},"usage_db":"ok",
    ///  "keys":[{"key":"key#1 (…abcd)","state":"up","benched_until":null,"rate_limited":3}]}
    /// </code>
    /// Times are ISO 8601 in UTC, to the second; a key is named by its label, never by the key.
    /// </summary>
    public static void WriteJson(IBufferWriter<byte> output, AdminSources sources, DateTimeOffset now)
    {
        var keys = sources.Keys();
        var ready = IsReady(sources, keys, out _);
        var (inFlight, busy) = sources.Requests();

        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("now", UsageQueryRow.FormatUtc(now));
        writer.WriteString("started", UsageQueryRow.FormatUtc(sources.Started));
        writer.WriteBoolean("ready", ready);
        writer.WriteNumber("requests_in_flight", inFlight);
        writer.WriteNumber("client_connections", sources.ClientConnections());
        writer.WriteStartObject("upstream_connections");
        writer.WriteNumber("idle", sources.IdleUpstreamConnections());
        writer.WriteNumber("busy", busy);
        writer.WriteEndObject();
        writer.WriteString("usage_db", sources.UsageState());
        writer.WriteStartArray("keys");
        foreach (var key in keys)
        {
            writer.WriteStartObject();
            writer.WriteString("key", key.Label);
            writer.WriteString("state", key.State switch
            {
                KeyState.Up => "up",
                KeyState.Benched => "benched",
                _ => "disabled",
            });
            if (key.BenchedUntil is { } until)
            {
                writer.WriteString("benched_until", UsageQueryRow.FormatUtc(until));
            }
            else
            {
                writer.WriteNull("benched_until");
            }

            writer.WriteNumber("rate_limited", key.RateLimitedCount);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
