using System.Text;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// What a scripted upstream handler gets for one request: the request as received, and raw writes on its
/// connection, so a test can send any framing, pause on a gate, close or reset mid-body.
/// </summary>
public sealed class UpstreamExchange(UpstreamConnection connection, ReceivedRequest request, CancellationToken stopping)
{
    public ReceivedRequest Request { get; } = request;

    public UpstreamConnection Connection { get; } = connection;

    /// <summary>Fires when the test upstream is disposed; gates should be awaited with it.</summary>
    public CancellationToken Stopping { get; } = stopping;

    internal bool CloseRequested { get; private set; }

    internal bool AbortRequested { get; private set; }

    /// <summary>Writes these bytes (ISO-8859-1, one byte per char) and flushes them at once.</summary>
    public Task WriteAsync(string text) => WriteAsync(Encoding.Latin1.GetBytes(text));

    public Task WriteAsync(byte[] bytes) => Connection.WriteAsync(bytes, Stopping);

    /// <summary>Waits for a test's gate; gives up when the upstream stops or the guard expires.</summary>
    public Task WaitAsync(Task gate) => gate.WaitAsync(EventTimeout.Limit, Stopping);

    /// <summary>After the handler returns, closes the connection gracefully (FIN) instead of waiting for the next request.</summary>
    public void CloseAfterResponse() => CloseRequested = true;

    /// <summary>Resets the connection now.</summary>
    public void Abort()
    {
        AbortRequested = true;
        Connection.Abort();
    }
}
