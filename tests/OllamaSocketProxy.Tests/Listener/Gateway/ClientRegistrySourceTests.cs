using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Infrastructure;
using static OllamaSocketProxy.Tests.Listener.Gateway.GatewayFixtures;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>Reload: on <see cref="ClientRegistrySource.Reload"/>, SIGHUP and file changes; a broken file keeps the old clients.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ClientRegistrySourceTests
{
    private const string ReloadedLine = "clients reloaded:";
    private const string FailedLine = "clients not reloaded";

    private static readonly string WithLaptop = ExampleFile.Replace(
        "\n  ],", $"\n    {{ \"name\": \"laptop\", \"token_sha256\": \"{Sha256Hex(LaptopToken)}\" }}\n  ],", StringComparison.Ordinal);

    [Test]
    public void Reload_AfterTheFileChanged_SwapsTheRegistryAndLogsOneLine()
    {
        using var setup = new Setup(ExampleFile);
        var before = setup.Source.Current;
        File.WriteAllText(setup.Path, WithLaptop);

        var reloaded = setup.Source.Reload();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(reloaded, Is.True);
            Assert.That(Authenticate(setup.Source.Current, LaptopToken), Is.EqualTo("laptop"));
            Assert.That(Authenticate(setup.Source.Current, KidsToken), Is.EqualTo("kids"));
            Assert.That(setup.Log.Lines, Is.EqualTo(new[] { "Information Gateway: clients reloaded: 3 clients" }));

            // A request that took the old registry keeps it: a reload swaps a reference and touches no connection.
            Assert.That(Authenticate(before, LaptopToken), Is.Null);
            Assert.That(Authenticate(before, KidsToken), Is.EqualTo("kids"));
        }
    }

    [Test]
    public void Reload_CountsTheDefaultClientOfPROXY_AUTH_TOKEN()
    {
        using var setup = new Setup(ExampleFile, authToken: "the-auth-token");

        setup.Source.Reload();

        Assert.That(setup.Log.Lines, Is.EqualTo(new[] { "Information Gateway: clients reloaded: 3 clients" }));
        Assert.That(Authenticate(setup.Source.Current, "the-auth-token"), Is.EqualTo("default"));
    }

    [Test]
    public void Reload_OfABrokenFile_KeepsThePreviousClientsAndLogsOneLineWithTheLine()
    {
        using var setup = new Setup(ExampleFile);
        var before = setup.Source.Current;
        var broken = WithLaptop.Replace("\"manage\": false", "\"manage\": \"no\"", StringComparison.Ordinal);
        File.WriteAllText(setup.Path, broken);

        var reloaded = setup.Source.Reload();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(reloaded, Is.False);
            Assert.That(setup.Source.Current, Is.SameAs(before));
            Assert.That(setup.Log.Lines, Is.EqualTo(new[]
            {
                $"Error Gateway: clients not reloaded, keeping the previous 2 clients: {setup.Path}: line 7: clients[1].manage must be true or false",
            }));
        }
    }

    [Test]
    public void Reload_OfAMissingFile_KeepsThePreviousClients()
    {
        using var setup = new Setup(ExampleFile);
        var before = setup.Source.Current;
        File.Delete(setup.Path);

        Assert.That(setup.Source.Reload(), Is.False);
        Assert.That(setup.Source.Current, Is.SameAs(before));
        Assert.That(setup.Log.Lines.Single(), Does.Contain($"{FailedLine}, keeping the previous 2 clients: {setup.Path}: cannot be read"));
    }

    [Test]
    public void BrokenFileAtStart_Throws()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("clients.json");
        File.WriteAllText(path, "{ \"clients\": [\n  { \"name\": \"kids\" }\n] }");

        var error = Assert.Throws<ClientsFileException>(() => _ = new ClientRegistrySource(path, null, NullLogger()));

        Assert.That(error.Message, Is.EqualTo($"{path}: line 2: clients[0] (\"kids\") has no \"token_sha256\""));
    }

    [Test]
    public void NoFile_ReloadDoesNothing()
    {
        var log = new RecordingLoggerProvider();
        using var source = new ClientRegistrySource(null, "the-auth-token", Logger(log));
        source.StartWatching();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(source.Reload(), Is.True);
            Assert.That(source.Current.Clients.Single().Name, Is.EqualTo("default"));
            Assert.That(log.Lines, Is.Empty);
        }
    }

    [Test]
    public void NeitherFileNorToken_IsOpen()
    {
        using var source = new ClientRegistrySource(null, null, NullLogger());

        Assert.That(source.Current.IsOpen, Is.True);
    }

    [Test]
    public async Task FileReplacedByRename_ReloadsOnItsOwn()
    {
        using var setup = new Setup(ExampleFile);
        setup.Source.StartWatching();

        // As an editor or `clients add` saves: a new file renamed over the old one.
        var temporary = setup.Path + ".new";
        File.WriteAllText(temporary, WithLaptop);
        File.Move(temporary, setup.Path, overwrite: true);

        await setup.Log.WaitForLineAsync(line => line.Contains(ReloadedLine, StringComparison.Ordinal));
        Assert.That(Authenticate(setup.Source.Current, LaptopToken), Is.EqualTo("laptop"));
    }

    [Test]
    public async Task FileWrittenInPlace_ReloadsOnItsOwn()
    {
        using var setup = new Setup(ExampleFile);
        setup.Source.StartWatching();

        File.WriteAllText(setup.Path, WithLaptop);

        await setup.Log.WaitForLineAsync(line => line.Contains(ReloadedLine, StringComparison.Ordinal));
        Assert.That(Authenticate(setup.Source.Current, LaptopToken), Is.EqualTo("laptop"));
    }

    [Test]
    public async Task FileBrokenInPlace_LogsTheErrorWithItsLineOnItsOwn()
    {
        using var setup = new Setup(ExampleFile);
        setup.Source.StartWatching();
        var before = setup.Source.Current;

        File.WriteAllText(setup.Path, ExampleFile.Replace("\"gemma3:4b\"", "\"\"", StringComparison.Ordinal));

        var line = await setup.Log.WaitForLineAsync(line => line.Contains(FailedLine, StringComparison.Ordinal));
        Assert.That(line, Does.EndWith($"{setup.Path}: line 7: clients[1].models[0] must be a model name or a * pattern (a non-empty string)"));
        Assert.That(setup.Source.Current, Is.SameAs(before));
    }

    [Test]
    public void FileEvents_ReloadOnceWhenQuietForTheDelay()
    {
        var time = new FakeTimeProvider();
        using var setup = new Setup(ExampleFile, time: time);

        // Written before the watch starts, so that only the events below arm the delay.
        File.WriteAllText(setup.Path, WithLaptop);
        setup.Source.StartWatching();

        // A burst of events, each less than the delay after the one before.
        setup.Source.OnFileEvent();
        time.Advance(ClientRegistrySource.ReloadDelay / 2);
        setup.Source.OnFileEvent();
        time.Advance(ClientRegistrySource.ReloadDelay / 2);
        setup.Source.OnFileEvent();
        time.Advance(ClientRegistrySource.ReloadDelay - TimeSpan.FromMilliseconds(1));
        var reloadsDuringTheBurst = ReloadCount(setup.Log);

        time.Advance(TimeSpan.FromMilliseconds(1));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(reloadsDuringTheBurst, Is.Zero);
            Assert.That(ReloadCount(setup.Log), Is.EqualTo(1));
            Assert.That(Authenticate(setup.Source.Current, LaptopToken), Is.EqualTo("laptop"));
        }
    }

    [Test]
    public void FileEventsAfterDispose_ReloadNothing()
    {
        var time = new FakeTimeProvider();
        var setup = new Setup(ExampleFile, time: time);
        using (setup)
        {
            setup.Source.StartWatching();
            setup.Source.OnFileEvent();
        }

        time.Advance(ClientRegistrySource.ReloadDelay * 2);

        Assert.That(setup.Log.Lines, Is.Empty);
    }

    [Test]
    public async Task Hangup_IsCanceledAndReloads()
    {
        using var setup = new Setup(ExampleFile);
        File.WriteAllText(setup.Path, WithLaptop);
        var context = new PosixSignalContext(PosixSignal.SIGHUP);

        setup.Source.OnHangup(context);

        Assert.That(context.Cancel, Is.True, "SIGHUP must not end the process");
        await setup.Log.WaitForLineAsync(line => line.Contains(ReloadedLine, StringComparison.Ordinal));
        Assert.That(Authenticate(setup.Source.Current, LaptopToken), Is.EqualTo("laptop"));
    }

    private static int ReloadCount(RecordingLoggerProvider log) =>
        log.Lines.Count(line => line.Contains(ReloadedLine, StringComparison.Ordinal));

    private static string? Authenticate(ClientRegistry registry, string token) =>
        registry.Authenticate(Encoding.ASCII.GetBytes(token))?.Name;

    private static ILogger Logger(RecordingLoggerProvider provider) => provider.CreateLogger("Gateway");

    private static ILogger NullLogger() => Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>A clients file in a temporary folder and a source on it that logs to <see cref="Log"/>.</summary>
    private sealed class Setup : IDisposable
    {
        private readonly TemporaryFolder folder = new();

        public Setup(string text, string? authToken = null, TimeProvider? time = null)
        {
            Path = folder.File("clients.json");
            File.WriteAllText(Path, text);
            Source = new ClientRegistrySource(Path, authToken, Logger(Log), time);
        }

        public string Path { get; }

        public RecordingLoggerProvider Log { get; } = new();

        public ClientRegistrySource Source { get; }

        public void Dispose()
        {
            Source.Dispose();
            folder.Dispose();
        }
    }
}
