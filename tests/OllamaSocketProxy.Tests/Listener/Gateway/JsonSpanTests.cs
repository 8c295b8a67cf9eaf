using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>The pieces the hand-written JSON readers share, at every place where their sixteen-byte steps and their tails meet.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class JsonSpanTests
{
    [Test]
    public void IndexOfNonDigit_FindsTheFirstByteThatIsNoDigit_AtEveryPlace()
    {
        var failures = new List<string>();

        // The bytes next to the digits, both ends of the byte range, and what follows a number in JSON.
        byte[] others = [(byte)'/', (byte)':', 0x00, 0xFF, 0x80, (byte)'.', (byte)'e', (byte)',', (byte)'}', (byte)' '];
        for (var length = 0; length <= 48; length++)
        {
            var digits = Enumerable.Range(0, length).Select(i => (byte)('0' + ((i * 7) % 10))).ToArray();
            Check(digits, -1);
            foreach (var other in others)
            {
                Check([.. digits, other, (byte)'1', (byte)'2'], length);
            }
        }

        Assert.That(failures, Is.Empty);

        void Check(byte[] bytes, int expected)
        {
            var actual = JsonSpan.IndexOfNonDigit(bytes);
            if (actual != expected)
            {
                failures.Add($"[{string.Join(' ', bytes.Select(b => b.ToString("x2")))}]: {actual}, not {expected}");
            }
        }
    }
}
