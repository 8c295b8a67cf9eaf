using System.Collections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OllamaSocketProxy.Listener;

ProxyServer.PreferInlineSocketCompletions();

// A .env in the working directory is read first; a variable set in the real environment wins
// (docs/BEHAVIOUR.md#configuration).
try
{
    DotNetEnv.Env.NoClobber().Load();
}
catch (Exception)
{
    // The parser's message may quote the offending line, and that line may hold a secret.
    Console.Error.WriteLine("OllamaSocketProxy: .env could not be parsed; check its quoting (KEY=value, one per line)");
    return 1;
}

var variables = new Dictionary<string, string?>(StringComparer.Ordinal);
foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
{
    variables[(string)entry.Key] = entry.Value as string;
}

// `OllamaSocketProxy clients add|list`: edits or lists the clients file, then exits; the proxy does not start.
if (args is ["clients", ..])
{
    return OllamaSocketProxy.Listener.Gateway.ClientsCommand.Run(args[1..], Console.Out, Console.Error, variables);
}

// `OllamaSocketProxy usage`: prints the totals from the usage database, then exits; the proxy does not start.
if (args is ["usage", ..])
{
    return OllamaSocketProxy.Listener.Usage.UsageCommand.Run(args[1..], Console.Out, Console.Error, variables);
}

ProxyOptions options;
try
{
    options = ProxyOptions.FromEnvironment(variables);
}
catch (ProxyConfigurationException e)
{
    Console.Error.WriteLine($"OllamaSocketProxy: {e.Message}");
    return 1;
}

// A clients file that does not parse stops the start with its error and line; on reload, the previous clients stay.
try
{
    OllamaSocketProxy.Listener.Gateway.ClientRegistry.Load(options.ClientsFile, options.AuthToken);
}
catch (OllamaSocketProxy.Listener.Gateway.ClientsFileException e)
{
    Console.Error.WriteLine($"OllamaSocketProxy: PROXY_CLIENTS_FILE {e.Message}");
    return 1;
}

var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { Args = args });
builder.Logging.SetMinimumLevel(options.LogLevel);
builder.Logging.AddSimpleConsole(console =>
{
    console.SingleLine = true;
    console.UseUtcTimestamp = true;
    console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
});

// Under overload a full log queue drops lines rather than stalling the socket threads that write them.
builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(
    console => console.QueueFullMode = Microsoft.Extensions.Logging.Console.ConsoleLoggerQueueFullMode.DropWrite);
builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout + TimeSpan.FromSeconds(5));
builder.Services.AddSingleton(options);
builder.Services.AddSingleton(services => new ProxyServer(options, services.GetRequiredService<ILoggerFactory>()));
builder.Services.AddHostedService<ProxyHostedService>();

using var host = builder.Build();
var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("OllamaSocketProxy");
foreach (var name in ProxyOptions.UnknownProxyVariables(variables.Keys))
{
    ProxyLog.UnknownVariable(log, name);
}

try
{
    await host.RunAsync().ConfigureAwait(false);
}
catch (System.Net.Sockets.SocketException e)
{
    Console.Error.WriteLine($"OllamaSocketProxy: PROXY_LISTEN {options.Listen} cannot be bound: {e.Message}");
    return 1;
}
catch (ProxyConfigurationException e)
{
    // PROXY_ADMIN_LISTEN cannot be bound (ProxyServer.StartAdmin).
    Console.Error.WriteLine($"OllamaSocketProxy: {e.Message}");
    return 1;
}

return 0;
