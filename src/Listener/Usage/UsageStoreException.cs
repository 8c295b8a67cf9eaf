namespace OllamaSocketProxy.Listener.Usage;

/// <summary>The usage database cannot be used as it is, for a reason SQLite itself does not report (its schema).</summary>
public sealed class UsageStoreException(string message) : Exception(message);
