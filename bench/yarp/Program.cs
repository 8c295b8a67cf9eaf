// The YARP peer: the same job as OllamaSocketProxy (token check, Authorization swap, TLS upstream
// verified against the test CA), written the way a .NET user would with YARP. Configured by
// environment variables set by bench/run.sh.
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

static string Env(string name) =>
    Environment.GetEnvironmentVariable(name) ?? throw new InvalidOperationException(name + " is not set");

var listen = IPEndPoint.Parse(Env("YARP_LISTEN"));
var upstream = Env("YARP_UPSTREAM_URL");
var expected = "Bearer " + Env("YARP_AUTH_TOKEN");
var upstreamAuthorization = "Bearer " + Env("YARP_UPSTREAM_KEY");
var ca = X509CertificateLoader.LoadCertificateFromFile(Env("YARP_UPSTREAM_CA_FILE"));

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Listen(listen);
});

RouteConfig[] routes =
[
    new()
    {
        RouteId = "all",
        ClusterId = "ollama",
        Match = new RouteMatch { Path = "{**rest}" },
        Transforms =
        [
            new Dictionary<string, string> { ["RequestHeader"] = "Authorization", ["Set"] = upstreamAuthorization },
            // Neither nginx (as configured) nor our proxy tells the upstream the client's address.
            new Dictionary<string, string> { ["X-Forwarded"] = "Off" },
        ],
    },
];
ClusterConfig[] clusters =
[
    new()
    {
        ClusterId = "ollama",
        Destinations = new Dictionary<string, DestinationConfig> { ["cloud"] = new() { Address = upstream } },
        HttpRequest = new ForwarderRequestConfig
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        },
    },
];

builder.Services.AddReverseProxy()
    .LoadFromMemory(routes, clusters)
    .ConfigureHttpClient((_, handler) =>
    {
        // Trust the test CA only for the upstream, with full chain and name validation.
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.Add(ca);
        handler.SslOptions.CertificateChainPolicy = policy;
    });

var app = builder.Build();
app.Use((context, next) =>
{
    if (context.Request.Headers.Authorization != expected)
    {
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }

    return next(context);
});
app.MapReverseProxy();
app.Run();
