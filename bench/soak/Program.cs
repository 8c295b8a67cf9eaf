using System.Net;
using System.Net.Sockets;
using OllamaSocketProxy.Soak;

// Soak upstream --cert PEM --key PEM --port-file PATH     the failing TLS upstream (FaultyUpstream)
// Soak load --proxy IP:PORT --token T [--connections N] [--requests N] [--duration S] [--deadline S] [--seed N]
//           [--scenarios json,ndjson,...] [--summary PATH]
// Soak free-port                                          prints a TCP port free on 127.0.0.1 right now
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Soak upstream|load|free-port [--option value]...");
    return 2;
}

var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 1; i + 1 < args.Length; i += 2)
{
    options[args[i].TrimStart('-')] = args[i + 1];
}

switch (args[0])
{
    case "upstream":
        return await FaultyUpstream.RunAsync(options);
    case "load":
        return await LoadDriver.RunAsync(options);
    case "free-port":
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            Console.WriteLine(((IPEndPoint)probe.LocalEndPoint!).Port);
        }

        return 0;
    default:
        Console.Error.WriteLine($"unknown command {args[0]}");
        return 2;
}
