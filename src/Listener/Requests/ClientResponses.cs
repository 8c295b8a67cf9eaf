using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// Everything that goes to the client, as Kestrel's <c>Http1OutputProducer</c> is for Kestrel: the proxy's own
/// answers, the relayed response's flushes, and the end of a failed request. <see cref="RejectAsync"/> (the client's
/// fault), <see cref="ReportAsync"/> (a forwarding failure) and <see cref="RefuseAsync"/> (a policy's refusal) are the
/// only places that choose a status (docs/ARCHITECTURE.md#errors). Once a response head went out, an error can only
/// abort the connection, so the client cannot take a truncated response for a whole one.
/// </summary>
internal sealed class ClientResponses(ClientConnection connection, PipeWriter output)
{
    /// <summary>How long the last flush of a failing connection may take (RFC 9112 §9.6: the linger time).</summary>
    public static readonly TimeSpan Linger = TimeSpan.FromSeconds(2);

    public PipeWriter Output { get; } = output;

    /// <summary>The connection must end with a reset, not a FIN: a response was cut short.</summary>
    public bool AbortRequested { get; private set; }

    private RequestContext Request => connection.Request;

    /// <summary>Every response the proxy makes carries the date (RFC 9110 §6.6.1).</summary>
    private ReadOnlySpan<byte> DateField => connection.Context.Date.FieldLine;

    /// <summary>Ollama's health check (<c>GET /</c>) and <c>OPTIONS</c>: they spend nothing upstream and need no token.</summary>
    public void WriteLocalAnswer(LocalAnswer answer, bool close)
    {
        var before = Output.UnflushedBytes;
        LocalResponse.WriteLocalAnswer(Output, answer, DateField, close, headOnly: Request.Head.Method == RequestMethod.Head, Request.ResponseFields.WrittenSpan);

        Request.Log.MarkFirstByte(connection.Context.TimeProvider, 200);
        Request.Log.BytesOut += Output.UnflushedBytes - before;
        Request.ResponseStarted = true;
    }

    /// <summary>The client's request is refused: its status and Ollama's JSON error, then close (docs/BEHAVIOUR.md#errors).</summary>
    public async Task RejectAsync(RequestRejection reason)
    {
        var status = RequestRejections.StatusCode(reason);
        ProxyLog.Rejected(connection.Context.Log, connection.Peer, status, RequestRejections.Describe(reason));
        if (Request.ResponseStarted)
        {
            AbortRequested = true;
            return;
        }

        var before = Output.UnflushedBytes;
        var headOnly = Request.HeadParsed && Request.Head.Method == RequestMethod.Head;
        LocalResponse.WriteRejection(Output, reason, DateField, headOnly, Request.ResponseFields.WrittenSpan);
        Request.Log.Status = status;
        Request.Log.BytesOut += Output.UnflushedBytes - before;
        await FlushAsync(last: true).ConfigureAwait(false);
    }

    /// <summary>A policy refused the request before anything went upstream: its status and body, then close.</summary>
    public async Task RefuseAsync(PolicyVerdict refusal)
    {
        var before = Output.UnflushedBytes;
        LocalResponse.Write(
            Output, refusal.Status, "application/json; charset=utf-8"u8, refusal.JsonBody.Span, DateField, close: true,
            refusal.ExtraFields.Span, Request.Head.Method == RequestMethod.Head, Request.ResponseFields.WrittenSpan);
        Request.Log.Status = refusal.Status;
        Request.Log.BytesOut += Output.UnflushedBytes - before;
        await FlushAsync(last: true).ConfigureAwait(false);
    }

    /// <summary>
    /// A forwarding failure, reported as what the client sees: an error response while nothing has been sent, else an
    /// abort. Always returns false: the connection ends.
    /// </summary>
    public async ValueTask<bool> ReportAsync(ForwarderError error, string detail)
    {
        ProxyLog.ForwardingFailed(connection.Context.Log, connection.Peer, error, detail);
        if (Request.ResponseStarted || error == ForwarderError.ResponseBodyClient)
        {
            AbortRequested = true;
            return false;
        }

        var before = Output.UnflushedBytes;
        var status = ForwarderErrors.StatusCode(error);
        LocalResponse.WriteError(
            Output, status, ForwarderErrors.Describe(error), DateField, close: true, Request.Head.Method == RequestMethod.Head,
            responseFields: Request.ResponseFields.WrittenSpan);
        Request.Log.Status = status;
        Request.Log.BytesOut += Output.UnflushedBytes - before;
        await FlushAsync(last: true).ConfigureAwait(false);
        return false;
    }

    /// <param name="last">
    /// The connection's last response, a small error: flushed even after the connection's token fired (a timeout is
    /// what it reports), within <see cref="Linger"/> of its own, since a client that stopped reading could otherwise
    /// hold it (and the shutdown) forever.
    /// </param>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> FlushAsync(bool last = false)
    {
        using var lastFlush = last ? new CancellationTokenSource(Linger, connection.Context.TimeProvider) : null;
        try
        {
            var flush = await Output.FlushAsync(lastFlush?.Token ?? connection.Timeouts.WriteToken).ConfigureAwait(false);
            return !flush.IsCompleted;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            AbortRequested = true;
            return false;
        }
    }

    /// <summary>The connection failed in a way nobody expected: it ends with a reset.</summary>
    public void Abort() => AbortRequested = true;
}
