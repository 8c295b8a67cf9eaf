using Microsoft.Extensions.Logging;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>Formats each entry, its exception included, into one recorded line.</summary>
internal sealed class RecordingLogger(string category, Action<string> record) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var line = $"{logLevel} {category}: {formatter(state, exception)}";
        record(exception is null ? line : $"{line}\n{exception}");
    }
}
