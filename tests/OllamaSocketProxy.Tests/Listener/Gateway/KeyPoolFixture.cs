using System.Buffers;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>A key pool on a fake clock with a recording logger, and the upstream answers tests feed it.</summary>
internal sealed class KeyPoolFixture
{
    public static readonly DateTimeOffset Start = new(2026, 3, 15, 12, 0, 0, TimeSpan.Zero);

    public KeyPoolFixture(int keyCount)
    {
        Secrets = [.. Enumerable.Range(1, keyCount).Select(i => $"sk-test-secret-{i:D4}-{i:D4}")];
        Keys = UpstreamKey.ParseList(string.Join(",", Secrets));
        Pool = new UpstreamKeyPool(Keys, Clock, Logs.CreateLogger("KeyPool"));
    }

    public static ReadOnlySequence<byte> SessionLimit { get; } = Body("""{"error":"you (someone) have reached your session usage limit, upgrade for higher limits: https://ollama.com/upgrade"}""");
    public static ReadOnlySequence<byte> WeeklyLimit { get; } = Body("""{"error":"you (someone) have reached your weekly usage limit, please wait or upgrade to continue"}""");
    public static ReadOnlySequence<byte> UnnamedLimit { get; } = Body("""{"error":"too many requests"}""");

    public FakeTimeProvider Clock { get; } = new(Start);
    public RecordingLoggerProvider Logs { get; } = new();
    public string[] Secrets { get; }
    public IReadOnlyList<UpstreamKey> Keys { get; }
    public UpstreamKeyPool Pool { get; }

    public static ReadOnlySequence<byte> Body(string text) => new(Encoding.UTF8.GetBytes(text));

    public static ReadOnlySequence<byte> LimitBody(RateLimitKind kind) => kind switch
    {
        RateLimitKind.Session => SessionLimit,
        RateLimitKind.Weekly => WeeklyLimit,
        _ => UnnamedLimit,
    };

    public UpstreamKey Choose(UpstreamKey? except = null)
    {
        Assert.That(Pool.TryChoose(out var key, out var unavailable, except), Is.True, () => $"no key: {unavailable.Reason}");
        return key!;
    }

    public NoKeyAvailable ChooseNone(UpstreamKey? except = null)
    {
        Assert.That(Pool.TryChoose(out var key, out var unavailable, except), Is.False, () => $"chose {key}");
        return unavailable;
    }

    public KeyOutcome RateLimited(UpstreamKey key, ReadOnlySequence<byte> body, string retryAfter = "") =>
        Pool.OnResponse(key, 429, Encoding.ASCII.GetBytes(retryAfter), body);

    public KeyStatus Status(UpstreamKey key) => Pool.Snapshot()[key.Position - 1];

    /// <summary>How long from now until <paramref name="key"/> returns.</summary>
    public TimeSpan BenchLeft(UpstreamKey key) =>
        (Status(key).BenchedUntil ?? throw new AssertionException($"{key} is not benched")) - Clock.GetUtcNow();

    public int LinesContaining(string text) => Logs.Lines.Count(line => line.Contains(text, StringComparison.Ordinal));
}
