using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using OllamaSocketProxy.Listener.Admin;

namespace OllamaSocketProxy.Listener;

/// <summary>The admin listener's part of the proxy: what it reads, and when it starts and stops.</summary>
public sealed partial class ProxyServer
{
    private readonly AdminServer? _admin;
    private bool _adminStarted;

    /// <summary>The admin listener's bound address; null when <c>PROXY_ADMIN_LISTEN</c> is off or before start.</summary>
    public IPEndPoint? AdminEndPoint => _admin is { } admin && Volatile.Read(ref _adminStarted) ? admin.LocalEndPoint : null;

    /// <summary>
    /// Writes the usage counted so far now, instead of at the next flush interval: true once it is in the database,
    /// false when the database failed or is off.
    /// </summary>
    internal Task<bool> FlushUsageAsync() => _context.Usage?.FlushAsync() ?? Task.FromResult(false);

    /// <summary>
    /// Requests under way, and how many of them hold an upstream connection (from renting it to their response's end,
    /// the phases of <see cref="TimeoutReason"/> that involve the upstream). Counted when asked, by a look at every
    /// open connection, so the request path pays nothing; each look reads another thread's state without a lock, so
    /// a count may be one request early or late.
    /// </summary>
    internal (int InFlight, int Busy) CountRequests()
    {
        int inFlight = 0, busy = 0;
        foreach (var connection in _connections.Keys)
        {
            var request = connection.Request;
            if (!request.InProgress)
            {
                continue;
            }

            inFlight++;
            if (connection.Timeouts.Phase is TimeoutReason.RequestBody or TimeoutReason.UpstreamResponse or TimeoutReason.ResponseBody)
            {
                busy++;
            }
        }

        return (inFlight, busy);
    }

    /// <summary>The admin listener, reading this server's state; null when <c>PROXY_ADMIN_LISTEN</c> is off.</summary>
    private AdminServer? CreateAdmin(ILoggerFactory loggerFactory)
    {
        var context = _context;
        if (_options.AdminListen is null || context.Exporter is not { } exporter)
        {
            return null;
        }

        var usage = context.Usage;
        var store = context.UsageStore;
        var sources = new AdminSources
        {
            ScrapeMetrics = exporter.Scrape,
            QueryUsage = store is null ? null : store.Query,
            UsageState = () => usage is null ? AdminSources.UsageOff : usage.IsFailing ? AdminSources.UsageFailing : AdminSources.UsageOk,
            Keys = context.Keys.Snapshot,
            Requests = CountRequests,
            ClientConnections = () => ConnectionCount,
            IdleUpstreamConnections = () => _pool.IdleCount,
            Listening = () => _listener is not null && Volatile.Read(ref _stopped) == 0,
            Started = _timeProvider.GetUtcNow(),
        };
        return new AdminServer(_options, sources, loggerFactory.CreateLogger("OllamaSocketProxy.Admin"), _timeProvider);
    }

    /// <summary>
    /// Starts the admin listener, after the API listener (whose start-up line comes first). An address that cannot be
    /// bound stops the start, naming its variable: Program.cs prints it as one line.
    /// </summary>
    private void StartAdmin()
    {
        if (_admin is null)
        {
            return;
        }

        try
        {
            _admin.Start();
        }
        catch (SocketException e)
        {
            throw new ProxyConfigurationException("PROXY_ADMIN_LISTEN", $"{_options.AdminListen} cannot be bound: {e.Message}");
        }

        Volatile.Write(ref _adminStarted, true);
    }
}
