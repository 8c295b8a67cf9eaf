using System.Buffers;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// The model one request body names, read with <see cref="RequestModel.Find"/> at most once per field: the usage
/// observer, the allow-list and the access log all ask it of the same held bytes, and the first to ask pays for the
/// walk. One per connection, given each request's body with <see cref="Reset"/>; allocates only its name buffer, at
/// the first question.
/// </summary>
public sealed class BodyModel
{
    private byte[]? _name;
    private ReadOnlySequence<byte> _body;
    private bool _read;
    private ModelField _field;
    private RequestModelStatus _status;
    private int _length;

    /// <summary>Takes the next body: what was read of the last one is forgotten. Only the held body's owner calls it.</summary>
    internal void Reset(in ReadOnlySequence<byte> body)
    {
        _body = body;
        _read = false;
    }

    /// <summary>
    /// <see cref="RequestModel.Find"/> over the body for <paramref name="field"/>, read now or remembered from the last
    /// question about the same field: the status, and the name (unescaped UTF-8; none unless found) copied to
    /// <paramref name="name"/>, which must hold <see cref="RequestModel.MaxNameLength"/> bytes.
    /// </summary>
    public RequestModelStatus Find(ModelField field, Span<byte> name, out int nameLength)
    {
        var buffer = _name ??= new byte[RequestModel.MaxNameLength];
        if (!_read || _field != field)
        {
            _status = RequestModel.Find(_body, field, buffer, out _length);
            _field = field;
            _read = true;
        }

        buffer.AsSpan(0, _length).CopyTo(name);
        nameLength = _length;
        return _status;
    }
}
