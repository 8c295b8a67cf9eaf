namespace OllamaSocketProxy.Fuzz;

/// <summary>FNV-1a over what a parser produced, so results of different buffer shapes compare as one number.</summary>
internal struct Fingerprint
{
    private ulong _hash;

    public Fingerprint() => _hash = 14695981039346656037UL;

    public readonly ulong Value => _hash;

    public void Add(ReadOnlySpan<byte> bytes)
    {
        Add(bytes.Length);
        foreach (var b in bytes)
        {
            _hash = (_hash ^ b) * 1099511628211UL;
        }
    }

    public void Add(long value)
    {
        for (var i = 0; i < 8; i++)
        {
            _hash = (_hash ^ (byte)(value >> (i * 8))) * 1099511628211UL;
        }
    }
}
