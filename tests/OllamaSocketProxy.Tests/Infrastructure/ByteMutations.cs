namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>Damaged copies of a byte string, for the tests that hold a quick reader to a thorough one.</summary>
public static class ByteMutations
{
    /// <summary>
    /// <paramref name="source"/> with one to three edits: a byte changed to one of <paramref name="alphabet"/>, a byte
    /// dropped, one of <paramref name="alphabet"/> inserted, or a run of up to <paramref name="maxRepeat"/> bytes
    /// repeated elsewhere.
    /// </summary>
    public static byte[] Mutate(byte[] source, Random random, byte[] alphabet, int maxRepeat)
    {
        var bytes = source.ToList();
        for (var edits = random.Next(1, 4); edits > 0 && bytes.Count > 0; edits--)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(4))
            {
                case 0:
                    bytes[at] = alphabet[random.Next(alphabet.Length)];
                    break;
                case 1:
                    bytes.RemoveAt(at);
                    break;
                case 2:
                    bytes.Insert(at, alphabet[random.Next(alphabet.Length)]);
                    break;
                default:
                    var length = Math.Min(random.Next(1, maxRepeat + 1), bytes.Count - at);
                    bytes.InsertRange(random.Next(bytes.Count), bytes.GetRange(at, length));
                    break;
            }
        }

        return [.. bytes];
    }
}
