namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>A fresh folder under the system's temporary folder, removed with everything in it on dispose.</summary>
internal sealed class TemporaryFolder : IDisposable
{
    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("ollama-socket-proxy-gateway-");

    public string Path => folder.FullName;

    public string File(string name) => System.IO.Path.Combine(folder.FullName, name);

    public void Dispose() => folder.Delete(recursive: true);
}
