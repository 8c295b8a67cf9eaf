using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Process;

/// <summary>
/// The real executable: configuration errors, .env, start-up line (docs/BEHAVIOUR.md#configuration and #operations).
/// SIGTERM: <see cref="Listener.Server.ShutdownTests"/>.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class ExecutableTests
{
    private const string Key = "sk-executable-test-key-8d1f";

    [Test]
    public async Task MissingApiKey_ExitsWith1AndOneLineNamingTheVariable()
    {
        var (exitCode, lines) = await RunUntilExitAsync(new Dictionary<string, string> { ["PROXY_LISTEN"] = "127.0.0.1:0" });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(exitCode, Is.EqualTo(1));
            Assert.That(lines, Has.Count.EqualTo(1), string.Join("\n", lines));
            Assert.That(lines, Has.Some.Contains("OLLAMA_API_KEY"));
        }
    }

    [TestCase("PROXY_LISTEN", "not-an-address")]
    [TestCase("PROXY_LISTEN", "127.0.0.1:99999")]
    [TestCase("OLLAMA_UPSTREAM_URL", "ftp://ollama.com")]
    [TestCase("PROXY_UPSTREAM_RESPONSE_TIMEOUT", "soon")]
    public async Task MalformedVariable_ExitsWith1AndOneLineNamingItWithoutTheKey(string variable, string value)
    {
        var (exitCode, lines) = await RunUntilExitAsync(new Dictionary<string, string> { ["OLLAMA_API_KEY"] = Key, [variable] = value });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(exitCode, Is.EqualTo(1));
            Assert.That(lines, Has.Count.EqualTo(1), string.Join("\n", lines));
            Assert.That(lines, Has.Some.Contains(variable));
            Assert.That(lines, Has.None.Contains(Key));
        }
    }

    [Test]
    public async Task MalformedVariableInDotEnvFile_ExitsWith1NamingIt()
    {
        var (exitCode, lines) = await RunUntilExitAsync(
            new Dictionary<string, string>(),
            dotEnv: $"OLLAMA_API_KEY={Key}\nPROXY_LISTEN=not-an-address\n");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(exitCode, Is.EqualTo(1));
            Assert.That(lines, Has.Some.Contains("PROXY_LISTEN"), string.Join("\n", lines));
        }
    }

    [Test]
    public async Task ValidConfiguration_LogsTheListeningAddressAndAnswersTheHealthCheck()
    {
        var folder = Directory.CreateTempSubdirectory("ollama-socket-proxy-exe-");
        try
        {
            await using var proxy = ProxyProcess.Start(
                new Dictionary<string, string> { ["OLLAMA_API_KEY"] = Key, ["PROXY_LISTEN"] = "127.0.0.1:0", ["PROXY_AUTH_TOKEN"] = "exe-token" },
                folder.FullName);

            var client = await RawClient.ConnectAsync(await proxy.WaitForListeningEndPointAsync());
            await using (client)
            {
                await client.SendAsync("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
                var response = await client.ReadResponseAsync();

                Assert.That(response.BodyText, Is.EqualTo("Ollama is running"), response.Describe());
            }

            Assert.That(proxy.Lines, Has.None.Contains(Key).And.None.Contains("exe-token"));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Test]
    public async Task RealEnvironment_WinsOverTheDotEnvFile()
    {
        var folder = Directory.CreateTempSubdirectory("ollama-socket-proxy-exe-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, ".env"), "PROXY_LISTEN=not-an-address\nOLLAMA_API_KEY=from-dotenv\n");
            await using var proxy = ProxyProcess.Start(
                new Dictionary<string, string> { ["PROXY_LISTEN"] = "127.0.0.1:0" },
                folder.FullName);

            var endPoint = await proxy.WaitForListeningEndPointAsync();

            Assert.That(endPoint.Port, Is.Not.Zero);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Test]
    public async Task UnknownProxyVariable_IsNamedInAWarningAndTheProxyStarts()
    {
        var folder = Directory.CreateTempSubdirectory("ollama-socket-proxy-exe-");
        try
        {
            await using var proxy = ProxyProcess.Start(
                new Dictionary<string, string> { ["OLLAMA_API_KEY"] = Key, ["PROXY_LISTEN"] = "127.0.0.1:0", ["PROXY_AUTH_TOKN"] = "typo" },
                folder.FullName);

            await proxy.WaitForListeningEndPointAsync();

            Assert.That(proxy.Lines, Has.Some.Contains("PROXY_AUTH_TOKN"));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static async Task<(int ExitCode, IReadOnlyList<string> Lines)> RunUntilExitAsync(
        IReadOnlyDictionary<string, string> variables, string? dotEnv = null)
    {
        var folder = Directory.CreateTempSubdirectory("ollama-socket-proxy-exe-");
        try
        {
            if (dotEnv is not null)
            {
                await File.WriteAllTextAsync(Path.Combine(folder.FullName, ".env"), dotEnv);
            }

            await using var proxy = ProxyProcess.Start(variables, folder.FullName);
            var exitCode = await proxy.WaitForExitAsync();
            return (exitCode, [.. proxy.Lines.Where(line => !string.IsNullOrWhiteSpace(line))]);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
