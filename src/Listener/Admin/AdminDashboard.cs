namespace OllamaSocketProxy.Listener.Admin;

/// <summary>
/// The dashboard page, <c>Admin/dashboard.html</c>: one self-contained file (its script and styles inline, no CDN: an
/// edge box may be offline) embedded in the binary as the resource <c>dashboard.html</c>, read once, at its first request.
/// It reads <c>/status</c> and <c>/usage</c> from the same origin, with the credentials the browser was asked for.
/// </summary>
internal static class AdminDashboard
{
    private const string ResourceName = "dashboard.html";

    private static byte[]? s_page;

    /// <summary>The page's bytes (UTF-8). Two first requests at once may both read the resource; either copy serves.</summary>
    public static ReadOnlySpan<byte> Page => Volatile.Read(ref s_page) ?? Load();

    private static byte[] Load()
    {
        using var stream = typeof(AdminDashboard).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"the resource {ResourceName} is missing from the build (Listener.csproj)");
        var page = new byte[stream.Length];
        stream.ReadExactly(page);
        Volatile.Write(ref s_page, page);
        return page;
    }
}
