using System.Buffers;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// Watches a request body that is longer than what <see cref="RequestModel.Find"/> read, as it streams upstream, for a
/// second top-level <c>"model"</c>: Ollama's server keeps the last one, so a body could name an allowed model in its
/// first 64 KiB and another one after them. Fed every byte of the body from its first one, in order and before each
/// piece is sent, it answers false at the piece that names a second model; the proxy then sends nothing more, and
/// the upstream, which decodes the whole object before it acts, never runs the request.
/// </summary>
/// <remarks>
/// A byte-level walk with fixed state (no token is buffered, however long a string or a name is), so it follows a
/// body of any size. It tracks only what tells a top-level name from everything else: strings and their escapes,
/// nesting, and the commas of the top-level object. For valid JSON it sees exactly the names a parser sees; invalid
/// JSON is refused by the upstream whatever this decides. A mutable struct: keep it in a field, reset it with
/// <c>default</c>, never copy it mid-body.
/// </remarks>
public struct RequestModelGuard
{
    private static readonly SearchValues<byte> s_stringStops = SearchValues.Create("\"\\"u8);
    private static readonly SearchValues<byte> s_nestedStops = SearchValues.Create("\"{}[]"u8);

    private int _depth;
    private int _models;
    private bool _inString;
    private bool _escaped;
    private bool _inName;
    private bool _expectName;
    private bool _done;
    private JsonNameMatcher _name;

    /// <summary>False once the body has named a second model at the top level; from then on, always false.</summary>
    public bool Observe(ReadOnlySpan<byte> bytes)
    {
        var i = 0;
        while (i < bytes.Length && !_done)
        {
            if (_inString)
            {
                i = InString(bytes, i);
                if (_models > 1)
                {
                    return false;
                }

                continue;
            }

            if (_depth > 1)
            {
                // Inside a nested value only strings and brackets matter.
                var next = bytes[i..].IndexOfAny(s_nestedStops);
                if (next < 0)
                {
                    break;
                }

                i += next;
            }

            Structural(bytes[i++]);
        }

        return _models <= 1;
    }

    /// <summary>Walks string content from <paramref name="i"/>; returns where it stopped.</summary>
    private int InString(ReadOnlySpan<byte> bytes, int i)
    {
        if (!_inName && !_escaped)
        {
            var next = bytes[i..].IndexOfAny(s_stringStops);
            if (next < 0)
            {
                return bytes.Length;
            }

            i += next;
        }

        var b = bytes[i];
        if (_escaped)
        {
            _escaped = false;
        }
        else if (b == '\\')
        {
            _escaped = true;
        }
        else if (b == '"')
        {
            _inString = false;
            if (_inName && _name.IsMatch("model"u8))
            {
                _models++;
            }

            _inName = false;
            return i + 1;
        }

        if (_inName)
        {
            _name.Feed(b, "model"u8);
        }

        return i + 1;
    }

    private void Structural(byte b)
    {
        switch (b)
        {
            case (byte)'"':
                _inString = true;
                _inName = _depth == 1 && _expectName;
                _expectName = false;
                _name = default;
                break;
            case (byte)'{' or (byte)'[':
                if (_depth == 0 && b != '{')
                {
                    _done = true; // a top level that is not an object names no model
                }

                _depth++;
                _expectName = _depth == 1;
                break;
            case (byte)'}' or (byte)']':
                // The end of the top-level object: the upstream reads no further (Go's json.Decoder stops there).
                _done = --_depth <= 0;
                break;
            case (byte)',':
                _expectName = _depth == 1;
                break;
            case (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or (byte)':':
                break;
            default:
                _done = _depth == 0; // a top-level scalar
                break;
        }
    }
}
