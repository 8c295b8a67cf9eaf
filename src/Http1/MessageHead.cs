using System.Buffers;
using System.Text;

namespace OllamaSocketProxy.Http1;

/// <summary>
/// What request and response heads share: the head's bytes, its field lines as ranges over them, and the
/// framing and connection facts of RFC 9112 §6 and RFC 9110 §7.6.1. An instance is reused message after
/// message (<see cref="Reset"/>), so parsing a head allocates nothing.
/// </summary>
public abstract class MessageHead
{
    private FieldRange[] _fields = new FieldRange[16];
    private int _fieldCount;
    private byte[]? _rented;
    private ReadOnlyMemory<byte> _bytes;
    private ContentLengthList _contentLength;
    private TransferCodingList _transferCoding;

    /// <summary>The head as received, first line through the empty line.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes.Span;

    public ReadOnlySpan<FieldRange> Fields => _fields.AsSpan(0, _fieldCount);

    public bool HasContentLength => _contentLength.IsPresent;
    public bool HasInvalidContentLength => _contentLength.IsInvalid;
    public long ContentLength => _contentLength.Length;
    public TransferCoding TransferCoding => _transferCoding.Result;

    /// <summary>Connection: close was sent (or, for requests, HTTP/1.0, which the proxy never keeps alive).</summary>
    public bool WantsClose { get; protected set; }

    /// <summary>Connection names a field other than close and keep-alive, which is then hop-by-hop too.</summary>
    public bool HasConnectionOptions { get; private set; }

    public virtual void Reset()
    {
        if (_rented is not null)
        {
            ArrayPool<byte>.Shared.Return(_rented);
            _rented = null;
        }

        _bytes = default;
        _fieldCount = 0;
        _contentLength = default;
        _transferCoding = default;
        WantsClose = HasConnectionOptions = false;
    }

    /// <summary>Takes the head's bytes: the pipe's own memory when contiguous, else a pooled copy.</summary>
    internal void SetBytes(in ReadOnlySequence<byte> head)
    {
        if (head.IsSingleSegment)
        {
            _bytes = head.First;
            return;
        }

        _rented = ArrayPool<byte>.Shared.Rent((int)head.Length);
        head.CopyTo(_rented);
        _bytes = _rented.AsMemory(0, (int)head.Length);
    }

    /// <summary>
    /// Copies the head's bytes out of the pipe's memory, for a head used after its read was consumed: the pipe gives
    /// that memory back, and fills it with later bytes. Does nothing for a head already held in a pooled copy.
    /// </summary>
    public void KeepBytes()
    {
        if (_rented is not null || _bytes.IsEmpty)
        {
            return;
        }

        _rented = ArrayPool<byte>.Shared.Rent(_bytes.Length);
        _bytes.Span.CopyTo(_rented);
        _bytes = _rented.AsMemory(0, _bytes.Length);
    }

    /// <summary>Records a field; returns false when there are already <paramref name="maxFields"/>.</summary>
    internal bool TryAddField(FieldRange field, long maxFields)
    {
        if (_fieldCount == maxFields)
        {
            return false;
        }

        if (_fieldCount == _fields.Length)
        {
            Array.Resize(ref _fields, (int)Math.Min(_fields.Length * 2, maxFields));
        }

        _fields[_fieldCount++] = field;
        var value = field.Value(Bytes);
        switch (field.Known)
        {
            case KnownField.ContentLength:
                _contentLength.Add(value);
                break;
            case KnownField.TransferEncoding:
                _transferCoding.Add(value);
                break;
            case KnownField.Connection:
                AddConnectionOptions(value);
                break;
            default:
                OnField(field, value);
                break;
        }

        return true;
    }

    /// <summary>Lets a request or response head note the fields only it cares about.</summary>
    protected virtual void OnField(FieldRange field, ReadOnlySpan<byte> value)
    {
    }

    private void AddConnectionOptions(ReadOnlySpan<byte> value)
    {
        while (HttpSyntax.TryNextListElement(ref value, out var option))
        {
            if (Ascii.EqualsIgnoreCase(option, "close"u8))
            {
                WantsClose = true;
            }
            else if (!Ascii.EqualsIgnoreCase(option, "keep-alive"u8))
            {
                HasConnectionOptions = true;
            }
        }
    }

    /// <summary>
    /// Whether a field is passed on: not hop-by-hop by name, and not named by a Connection field (RFC 9110 §7.6.1).
    /// </summary>
    public bool IsNamedByConnection(ReadOnlySpan<byte> name)
    {
        if (!HasConnectionOptions)
        {
            return false;
        }

        foreach (var field in Fields)
        {
            if (field.Known != KnownField.Connection)
            {
                continue;
            }

            var list = field.Value(Bytes);
            while (HttpSyntax.TryNextListElement(ref list, out var option))
            {
                if (Ascii.EqualsIgnoreCase(option, name))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
