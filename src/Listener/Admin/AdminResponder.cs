using System.Buffers;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Listener.Usage;

namespace OllamaSocketProxy.Listener.Admin;

/// <summary>
/// Answers one admin request: the only place that chooses an admin status. In order: a method other than GET and HEAD
/// is 405, an unknown path 404, a missing or wrong token 401 (<see cref="AdminAccess"/>); then the endpoint answers.
/// Errors are <c>{"error":"…"}</c> for the JSON endpoints and one line of text for the others; none quotes the
/// request or holds a secret.
/// </summary>
internal sealed class AdminResponder(AdminSources sources, AdminAccess access, TimeProvider time, ILogger logger)
{
    // One /usage query at a time: SQLite blocks a thread per query, and a page polling from several tabs must not take
    // the thread pool's threads one each.
    private readonly SemaphoreSlim _usageGate = new(1, 1);

    /// <summary>
    /// Writes the body of the answer to <paramref name="head"/> into <paramref name="body"/> and returns its status and
    /// kind. Completes synchronously except for <c>/usage</c>, whose query runs on the thread pool;
    /// <paramref name="cancellationToken"/> stops the wait for it (the connection then closes).
    /// </summary>
    public ValueTask<AdminReply> AnswerAsync(RequestHead head, IBufferWriter<byte> body, CancellationToken cancellationToken)
    {
        var endpoint = AdminEndpoints.Find(head.Target, out var query);
        var json = AdminEndpoints.AnswersJson(endpoint);
        if (head.Method is not (RequestMethod.Get or RequestMethod.Head))
        {
            return new(Error(body, 405, json, "only GET and HEAD are served here", AdminFields.Allow));
        }

        if (endpoint == AdminEndpoint.None)
        {
            return new(Error(body, 404, json, "not found: the admin listener serves /, /healthz, /readyz, /metrics, /usage and /status"));
        }

        if (!access.AllowsHost(head))
        {
            return new(Error(body, 403, json,
                "the admin listener on loopback answers only requests for localhost or a loopback address (Host), so that no web page can read it through a name of its own"));
        }

        if (!access.Allows(endpoint, head))
        {
            // The page's challenge makes a browser ask for the token; the endpoints' does not, so a page whose
            // password went stale shows its own message rather than a browser prompt at every poll.
            var challenge = endpoint == AdminEndpoint.Dashboard ? AdminFields.BasicChallenge : AdminFields.BearerChallenge;
            return new(Error(body, 401, json, "the admin token is missing or wrong (PROXY_ADMIN_TOKEN)", challenge));
        }

        switch (endpoint)
        {
            case AdminEndpoint.Health:
                body.Write("ok\n"u8);
                return new(new AdminReply(200, AdminContent.Text));
            case AdminEndpoint.Ready:
                return new(Ready(body));
            case AdminEndpoint.Metrics:
                return new(Metrics(body));
            case AdminEndpoint.Status:
                AdminStatus.WriteJson(body, sources, time.GetUtcNow());
                return new(new AdminReply(200, AdminContent.Json));
            case AdminEndpoint.Dashboard:
                body.Write(AdminDashboard.Page);
                return new(new AdminReply(200, AdminContent.Html, AdminFields.Page));
            default:
                return Usage(query, body, cancellationToken);
        }
    }

    private AdminReply Ready(IBufferWriter<byte> body)
    {
        if (AdminStatus.IsReady(sources, sources.Keys(), out var why))
        {
            body.Write("ready\n"u8);
            return new AdminReply(200, AdminContent.Text);
        }

        return Error(body, 503, json: false, why);
    }

    private AdminReply Metrics(IBufferWriter<byte> body)
    {
        try
        {
            sources.ScrapeMetrics(body);
            return new AdminReply(200, AdminContent.Metrics);
        }
        catch (Exception e)
        {
            // An observable instrument's callback threw (PrometheusExporter.Scrape): before anything was written.
            AdminLog.ScrapeFailed(logger, e);
            return Error(body, 500, json: false, "the metrics could not be collected; see the proxy's log");
        }
    }

    private ValueTask<AdminReply> Usage(ReadOnlySpan<byte> query, IBufferWriter<byte> body, CancellationToken cancellationToken)
    {
        if (sources.QueryUsage is not { } run)
        {
            return new(Error(body, 404, json: true, "the usage database is off (PROXY_USAGE_DB=off)"));
        }

        if (!AdminUsageQuery.TryParse(query, time.GetUtcNow(), out var usageQuery, out var error))
        {
            return new(Error(body, 400, json: true, error));
        }

        return QueryAsync(run, usageQuery, body, cancellationToken);
    }

    private async ValueTask<AdminReply> QueryAsync(
        Func<UsageQuery, UsageQueryResult> run, UsageQuery query, IBufferWriter<byte> body, CancellationToken cancellationToken)
    {
        UsageQueryResult result;
        await _usageGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Off the I/O threads: SQLite blocks while it reads (up to its busy timeout while another writer holds a lock).
            result = await Task.Run(() => run(query), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SqliteException or UsageStoreException)
        {
            AdminLog.UsageQueryFailed(logger, e.Message);
            return Error(body, 503, json: true, e.Message);
        }
        catch (Exception e)
        {
            // Anything else (the native library missing, an I/O error) is logged whole, and not described to the caller.
            AdminLog.UsageQueryFailed(logger, e.ToString());
            return Error(body, 503, json: true, "the usage database cannot be read; see the proxy's log");
        }
        finally
        {
            _usageGate.Release();
        }

        using (var writer = new System.Text.Json.Utf8JsonWriter(body))
        {
            UsageQueryJson.Write(writer, result);
        }

        return new AdminReply(200, AdminContent.Json);
    }

    private static AdminReply Error(IBufferWriter<byte> body, int status, bool json, string message, AdminFields fields = AdminFields.None)
    {
        if (json)
        {
            JsonErrorBody.Write(body, message);
        }
        else
        {
            WriteLine(body, message);
        }

        return new AdminReply(status, json ? AdminContent.Json : AdminContent.Text, fields);
    }

    private static void WriteLine(IBufferWriter<byte> body, string message)
    {
        var span = body.GetSpan(System.Text.Encoding.UTF8.GetMaxByteCount(message.Length) + 1);
        var length = System.Text.Encoding.UTF8.GetBytes(message, span);
        span[length] = (byte)'\n';
        body.Advance(length + 1);
    }
}
