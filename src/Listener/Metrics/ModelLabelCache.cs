namespace OllamaSocketProxy.Listener.Metrics;

/// <summary>
/// One connection's last model name and the label it got (<see cref="ModelLabel.For(ReadOnlySpan{byte}, bool, ModelLabelCache)"/>):
/// a client mostly names the same model request after request, and the label of a name stays the same as long as
/// the known names do. Not thread-safe: a connection's requests come one after another.
/// </summary>
public sealed class ModelLabelCache
{
    /// <summary>A longer name is looked up every time.</summary>
    public const int MaxNameLength = 128;

    internal readonly byte[] Name = new byte[MaxNameLength];

    /// <summary>-1 while nothing is remembered.</summary>
    internal int Length = -1;

    /// <summary>The known names the label was found among; another set makes the memory stale.</summary>
    internal object? Known;

    internal string Label = ModelLabel.None;
}
