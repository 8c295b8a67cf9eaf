namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// Buffered reads of lines and exact byte counts from one side of a connection. A reset reads as the end of the
/// stream (with <see cref="WasReset"/> set), so a test sees a truncation instead of an exception.
/// Every byte read is kept in <see cref="Transcript"/>; <paramref name="bytesArrived"/>, when given, is called after each
/// read that brought bytes, so a test can await a byte count as an event.
/// </summary>
internal sealed class ByteReader(Stream stream, Action? bytesArrived = null)
{
    private const int BufferSize = 64 * 1024;
    private readonly byte[] buffer = new byte[BufferSize];
    private readonly MemoryStream transcript = new();
    private int start;
    private int end;
    private long bytesRead;

    public bool AtEnd { get; private set; }

    public bool WasReset { get; private set; }

    public long BytesRead => Interlocked.Read(ref bytesRead);

    /// <summary>Bytes handed out so far (read, less what is still buffered); for the reading loop only.</summary>
    public long Consumed => BytesRead - (end - start);

    public byte[] Transcript
    {
        get
        {
            lock (transcript)
            {
                return transcript.ToArray();
            }
        }
    }

    /// <summary>The next line with its line end; a shorter tail without one at the end of the stream; empty at the end.</summary>
    public async ValueTask<byte[]> ReadLineAsync(CancellationToken cancellationToken)
    {
        var scanned = 0;
        while (true)
        {
            var lineFeed = Array.IndexOf(buffer, (byte)'\n', start + scanned, end - start - scanned);
            if (lineFeed >= 0)
            {
                var line = buffer[start..(lineFeed + 1)];
                start = lineFeed + 1;
                return line;
            }

            scanned = end - start;
            if (!await FillAsync(cancellationToken))
            {
                return Take(end - start);
            }
        }
    }

    /// <summary>Exactly <paramref name="count"/> bytes, or fewer when the stream ends first.</summary>
    public async ValueTask<byte[]> ReadExactlyAsync(long count, CancellationToken cancellationToken)
    {
        var result = new MemoryStream();
        while (result.Length < count)
        {
            if (start == end && !await FillAsync(cancellationToken))
            {
                break;
            }

            result.Write(Take((int)Math.Min(end - start, count - result.Length)));
        }

        return result.ToArray();
    }

    public async ValueTask<byte[]> ReadToEndAsync(CancellationToken cancellationToken)
    {
        var result = new MemoryStream();
        while (start < end || await FillAsync(cancellationToken))
        {
            result.Write(Take(end - start));
        }

        return result.ToArray();
    }

    private byte[] Take(int count)
    {
        var taken = buffer[start..(start + count)];
        start += count;
        return taken;
    }

    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (AtEnd)
        {
            return false;
        }

        if (start == end)
        {
            start = end = 0;
        }
        else if (end == buffer.Length)
        {
            if (start == 0)
            {
                throw new InvalidDataException($"A line longer than {BufferSize} bytes arrived.");
            }

            Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
            end -= start;
            start = 0;
        }

        int read;
        try
        {
            read = await stream.ReadAsync(buffer.AsMemory(end), cancellationToken);
        }
        catch (IOException)
        {
            WasReset = true;
            read = 0;
        }
        catch (ObjectDisposedException)
        {
            read = 0;
        }

        if (read == 0)
        {
            AtEnd = true;
            return false;
        }

        lock (transcript)
        {
            transcript.Write(buffer, end, read);
        }

        Interlocked.Add(ref bytesRead, read);
        end += read;
        bytesArrived?.Invoke();
        return true;
    }
}
