using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// The <c>Date</c> field line of the responses the proxy sends (RFC 9110 §6.6.1), read from the proxy's clock.
/// Formatted when the clock's second changes (two threads at the boundary may both do it), into an immutable array
/// swapped in whole, so a request reads it without a lock and without allocating. Unlike Kestrel's heartbeat timer,
/// nothing runs while no response is sent: an idle proxy is never woken to format a date nobody reads.
/// </summary>
internal sealed class DateHeader(TimeProvider clock)
{
    private Formatted? _current;

    /// <summary>The field line for the clock's current second, CRLF included.</summary>
    public ReadOnlySpan<byte> FieldLine
    {
        get
        {
            var now = clock.GetUtcNow();
            var second = now.UtcTicks / TimeSpan.TicksPerSecond;
            var current = Volatile.Read(ref _current);
            if (current is null || current.Second != second)
            {
                var line = new byte[HttpDate.FieldLineLength];
                HttpDate.WriteFieldLine(now, line);
                current = new Formatted(second, line);
                Volatile.Write(ref _current, current);
            }

            return current.Line;
        }
    }

    /// <summary>One second's line; the second and its bytes are swapped together, never torn.</summary>
    private sealed record Formatted(long Second, byte[] Line);
}
