using System.Text;
using OllamaSocketProxy.Listener.Gateway;
using static OllamaSocketProxy.Tests.Listener.Gateway.GatewayFixtures;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>The registry finds the client of a token among the file's clients and <c>default</c>, or none.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ClientRegistryTests
{
    private const string AuthToken = "proxy-auth-token-for-tests";

    [TestCase(OpenWebUiToken, "open-webui")]
    [TestCase(KidsToken, "kids")]
    [TestCase(AuthToken, "default")]
    public void TokenOfAClient_AuthenticatesAsThatClient(string token, string name)
    {
        var registry = ExampleRegistry(AuthToken);

        var client = registry.Authenticate(Encoding.ASCII.GetBytes(token));

        Assert.That(client, Is.SameAs(registry.Clients.Single(each => each.Name == name)));
    }

    [Test]
    public void EveryClientOfAHundred_AuthenticatesAsItself()
    {
        var clients = Enumerable.Range(0, 100)
            .Select(i => new ClientDefinition($"client-{i}", Convert.FromHexString(Sha256Hex($"token-{i}")), line: i + 1))
            .ToList();
        var registry = ClientRegistry.Create(clients, authToken: null);

        for (var i = 0; i < clients.Count; i++)
        {
            Assert.That(registry.Authenticate(Encoding.ASCII.GetBytes($"token-{i}")), Is.SameAs(registry.Clients[i]));
        }
    }

    [TestCase("")]
    [TestCase("wrong-token")]
    [TestCase(KidsToken + "x")]
    [TestCase("x" + KidsToken)]
    [TestCase("osp_kids-test-toke")]
    [TestCase("OSP_KIDS-TEST-TOKEN")]
    [TestCase("proxy-auth-token-for-tests ")]
    public void UnknownToken_AuthenticatesAsNobody(string token)
    {
        Assert.That(ExampleRegistry(AuthToken).Authenticate(Encoding.ASCII.GetBytes(token)), Is.Null);
    }

    [Test]
    public void DigestInsteadOfToken_AuthenticatesAsNobody()
    {
        // A stolen file gives no token away: presenting what it holds does not work.
        Assert.That(ExampleRegistry(null).Authenticate(Encoding.ASCII.GetBytes(Sha256Hex(KidsToken))), Is.Null);
    }

    [Test]
    public void AuthTokenAlone_IsOneDefaultClientWithEveryModelAndManage()
    {
        var registry = ClientRegistry.Create(null, AuthToken);

        var client = registry.Clients.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(registry.IsOpen, Is.False);
            Assert.That(client.Name, Is.EqualTo("default"));
            Assert.That(client.Models, Is.Null);
            Assert.That(client.Manage, Is.True);
            Assert.That(client.MaxConcurrent, Is.Null);
            Assert.That(client.RequestsPerMinute, Is.Null);
            Assert.That(registry.Authenticate(Encoding.ASCII.GetBytes(AuthToken)), Is.SameAs(client));
        }
    }

    [Test]
    public void NeitherFileNorAuthToken_IsOpen()
    {
        var registry = ClientRegistry.Create(null, null);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(registry.IsOpen, Is.True);
            Assert.That(registry.Count, Is.Zero);
            Assert.That(ClientRegistry.Load(null, null).IsOpen, Is.True);
        }
    }

    [Test]
    public void FileWithNoClient_IsNotOpenAndAdmitsNobody()
    {
        var registry = ClientRegistry.Create([], null);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(registry.IsOpen, Is.False);
            Assert.That(registry.Authenticate(Encoding.ASCII.GetBytes(KidsToken)), Is.Null);
        }
    }

    [Test]
    public void FileClients_AreNotOpen()
    {
        Assert.That(ExampleRegistry(null).IsOpen, Is.False);
    }

    [Test]
    public void FileClientNamedDefault_WithAuthToken_FailsNamingItsLine()
    {
        var clients = new[] { new ClientDefinition("Default", Convert.FromHexString(Sha256Hex("t")), line: 9) };

        var error = Assert.Throws<ClientsFileException>(() => ClientRegistry.Create(clients, AuthToken, "clients.json"));

        Assert.That(error.Message, Does.StartWith("clients.json: line 9: the name \"Default\" is taken by the client of PROXY_AUTH_TOKEN"));
    }

    [Test]
    public void FileClientNamedDefault_WithoutAuthToken_IsAnOrdinaryClient()
    {
        var clients = new[] { new ClientDefinition("default", Convert.FromHexString(Sha256Hex("t")), models: ["gemma3:4b"], line: 2) };

        var registry = ClientRegistry.Create(clients, authToken: null);

        Assert.That(registry.Authenticate("t"u8)?.Models, Is.EqualTo(new[] { "gemma3:4b" }));
    }

    [Test]
    public void FileClientWithTheAuthTokensDigest_FailsWithoutTheToken()
    {
        var clients = new[] { new ClientDefinition("laptop", Convert.FromHexString(Sha256Hex(AuthToken)), line: 3) };

        var error = Assert.Throws<ClientsFileException>(() => ClientRegistry.Create(clients, AuthToken, "clients.json"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.Message, Does.StartWith("clients.json: line 3: client \"laptop\" has the token of PROXY_AUTH_TOKEN"));
            Assert.That(error.Message, Does.Not.Contain(AuthToken).And.Not.Contain(Sha256Hex(AuthToken)));
        }
    }

    [Test]
    public void TwoClientsWithOneToken_Fail()
    {
        var digest = Convert.FromHexString(Sha256Hex("shared"));
        var clients = new[] { new ClientDefinition("a", digest, line: 1), new ClientDefinition("b", digest, line: 2) };

        var error = Assert.Throws<ClientsFileException>(() => ClientRegistry.Create(clients, null));

        Assert.That(error.Message, Does.StartWith("line 2: clients \"a\" and \"b\" have the same token"));
    }

    [Test]
    public void Authenticate_AllocatesNothing()
    {
        var registry = ExampleRegistry(AuthToken);
        var known = Encoding.ASCII.GetBytes(KidsToken);
        var unknown = Encoding.ASCII.GetBytes("wrong-token");
        registry.Authenticate(known);
        registry.Authenticate(unknown);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            registry.Authenticate(known);
            registry.Authenticate(unknown);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    [Test]
    public void ClientDefinition_ToStringIsTheNameOnly()
    {
        var client = ExampleRegistry(null).Clients[0];

        Assert.That(client.ToString(), Is.EqualTo("open-webui"));
    }

    private static ClientRegistry ExampleRegistry(string? authToken) =>
        ClientRegistry.Create(ClientsFile.Parse(Encoding.UTF8.GetBytes(ExampleFile)).Clients, authToken);
}
