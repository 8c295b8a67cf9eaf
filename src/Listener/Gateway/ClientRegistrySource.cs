using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// Holds the current <see cref="ClientRegistry"/> and replaces it when the clients file is re-read: on
/// <see cref="Reload"/>, on SIGHUP, and when the file changes. A reload swaps one reference, so requests in flight
/// keep the registry they started with and no connection is dropped; readers never lock. A file that does not parse
/// keeps the previous registry and logs one line naming the error and its line.
/// </summary>
public sealed class ClientRegistrySource : IDisposable
{
    /// <summary>
    /// How long the file must stay quiet before it is re-read: an editor's save is a burst of events (write a copy,
    /// rename it over the file), and the file may be missing in between.
    /// </summary>
    public static readonly TimeSpan ReloadDelay = TimeSpan.FromMilliseconds(200);

    private readonly string? _path;
    private readonly string? _authToken;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly Lock _reloading = new();
    private ClientRegistry _current;
    private ITimer? _delay;
    private FileSystemWatcher? _watcher;
    private PosixSignalRegistration? _hangup;
    private bool _disposed;

    /// <summary>
    /// Loads the registry from <paramref name="clientsFilePath"/> (none when <c>null</c>) and
    /// <paramref name="authToken"/>; throws <see cref="ClientsFileException"/> when the file is not valid, so that
    /// the proxy does not start with it. Call <see cref="StartWatching"/> to reload on SIGHUP and on changes.
    /// </summary>
    public ClientRegistrySource(string? clientsFilePath, string? authToken, ILogger logger, TimeProvider? timeProvider = null)
    {
        _path = clientsFilePath;
        _authToken = authToken;
        _logger = logger;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _current = ClientRegistry.Load(clientsFilePath, authToken);
    }

    /// <summary>The registry to use for the request at hand. Take it once per request.</summary>
    public ClientRegistry Current => Volatile.Read(ref _current);

    /// <summary>The clients file; <c>null</c> when there is none, and nothing to reload.</summary>
    public string? FilePath => _path;

    /// <summary>
    /// Re-reads the clients file. On success the new registry replaces the current one and one line is logged;
    /// on failure the current one stays and one line names the error and its line. Returns whether it succeeded.
    /// </summary>
    public bool Reload()
    {
        if (_path is null)
        {
            return true;
        }

        lock (_reloading)
        {
            try
            {
                var next = ClientRegistry.Load(_path, _authToken);
                Volatile.Write(ref _current, next);
                GatewayLog.ClientsReloaded(_logger, next.Count);
                return true;
            }
            catch (ClientsFileException e)
            {
                GatewayLog.ClientsReloadFailed(_logger, Current.Count, e.Message);
                return false;
            }
        }
    }

    /// <summary>
    /// Reloads on SIGHUP and when the file changes (created, written or renamed onto, as editors save). Does nothing
    /// without a clients file: SIGHUP then keeps its default action.
    /// </summary>
    public void StartWatching()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_path is null || _delay is not null)
        {
            return;
        }

        _delay = _timeProvider.CreateTimer(static state => ((ClientRegistrySource)state!).ReloadUnlessDisposed(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnHangup);

        var fullPath = Path.GetFullPath(_path);
        try
        {
            // Watching the directory, not the file: a save by rename replaces the file the watch would be on.
            var watcher = new FileSystemWatcher(Path.GetDirectoryName(fullPath)!, Path.GetFileName(fullPath))
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            watcher.Changed += OnFileEvent;
            watcher.Created += OnFileEvent;
            watcher.Renamed += OnFileEvent;

            // A lost event (the watcher's buffer overflowed) may have been a change.
            watcher.Error += (_, _) => OnFileEvent();
            watcher.EnableRaisingEvents = true;
            _watcher = watcher;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            GatewayLog.ClientsNotWatched(_logger, _path, e.Message);
        }
    }

    /// <summary>Stops watching; <see cref="Current"/> stays usable.</summary>
    public void Dispose()
    {
        lock (_reloading)
        {
            _disposed = true;
        }

        _watcher?.Dispose();
        _hangup?.Dispose();
        _delay?.Dispose();
    }

    /// <summary>A change was seen: reload once the file has been quiet for <see cref="ReloadDelay"/>.</summary>
    internal void OnFileEvent() => _delay?.Change(ReloadDelay, Timeout.InfiniteTimeSpan);

    internal void OnHangup(PosixSignalContext context)
    {
        // SIGHUP would end the process; here it means "re-read the configuration", as for nginx and sshd.
        context.Cancel = true;
        ThreadPool.QueueUserWorkItem(static source => source.ReloadUnlessDisposed(), this, preferLocal: false);
    }

    private void OnFileEvent(object sender, FileSystemEventArgs e) => OnFileEvent();

    private void ReloadUnlessDisposed()
    {
        if (!Volatile.Read(ref _disposed))
        {
            Reload();
        }
    }
}
