using System.Runtime.CompilerServices;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Listener.Usage;

/// <summary>
/// Walks one JSON value (RFC 8259) as its bytes pass, piece after piece, and notes the fields a token count comes
/// from. Fixed state: no token is buffered, however long a string, an array or the whole value is, so an answer of
/// any size is followed (an embedding of thousands of numbers, the whole text of a long answer) in the same few
/// hundred bytes. It checks the grammar (structure, escapes, numbers, literals; not the UTF-8 inside strings), so a
/// value that is cut short or malformed is never <see cref="IsComplete"/> and its counts are never taken. Field names
/// match as sent, escapes and all: the upstream's encoder writes them plain. A value that arrives whole in one read,
/// as most answers and stream lines do, is walked in one pass by the same grammar (<see cref="TryScanWhole"/>); the
/// byte-by-byte walk takes the rest. A mutable struct: keep it in a field, never copy it mid-value.
/// </summary>
internal partial struct UsageJsonScanner
{
    /// <summary>Deeper nesting is refused, as <see cref="RequestModel"/> refuses it in a request.</summary>
    public const int MaxDepth = 256;

    /// <summary>The longest name that matters (<c>prompt_eval_count</c>, <c>completion_tokens</c>): a longer one is another field.</summary>
    private const int MaxNameLength = 17;

    private UsageDialect _dialect;
    private Mode _mode;
    private NumberPart _number;
    private Slot _slot;
    private bool _inName;
    private byte _hexLeft;
    private byte _literal;
    private byte _literalMatched;
    private int _depth;
    private LevelBits _objects;
    private Name _name1;
    private Name _name2;
    private Name _name3;
    private NameBytes _nameBytes;
    private int _nameLength;
    private long _numberValue;
    private bool _numberPlain;

    // What the value says, once complete.
    private bool _done;
    private bool _rootUsage;
    private bool _nestedUsage;
    private bool _odd;
    private ushort _present;
    private SlotValues _values;

    private enum Mode : byte
    {
        /// <summary>A value must come: at the top, after a colon, after a comma in an array.</summary>
        Value,

        /// <summary>After <c>[</c>: a value or <c>]</c>.</summary>
        FirstElement,

        /// <summary>After <c>{</c>: a name or <c>}</c>.</summary>
        FirstName,

        /// <summary>After a comma in an object: a name.</summary>
        Name,

        Colon,

        /// <summary>After a value in a container: a comma or the container's end.</summary>
        AfterValue,

        /// <summary>Inside a string: a name when <see cref="_inName"/>.</summary>
        String,

        /// <summary>After a backslash in a string.</summary>
        Escape,

        /// <summary>Within the four digits of <c>\uXXXX</c>.</summary>
        Hex,

        Number,
        Literal,

        /// <summary>The value ended; only whitespace may follow.</summary>
        Complete,

        Invalid,
    }

    /// <summary>Where a number stands (RFC 8259 §6): what may come next.</summary>
    private enum NumberPart : byte { Minus, Zero, Integer, Dot, Fraction, Exponent, ExponentSign, ExponentDigits }

    /// <summary>A field name that matters at some depth; <see cref="None"/> for a level that is an array or has no name yet.</summary>
    private enum Name : byte { None, Other, Done, PromptEvalCount, EvalCount, Usage, Parent, Prompt, Completion }

    /// <summary>What the value being read is, by the names on its path.</summary>
    private enum Slot : byte
    {
        None,
        Done,
        OllamaPrompt,
        OllamaCompletion,
        RootUsage,
        RootPrompt,
        RootCompletion,
        NestedUsage,
        NestedPrompt,
        NestedCompletion,
    }

    /// <summary>The slots whose value is a token count, one bit each.</summary>
    private const int CountSlots = (1 << (int)Slot.OllamaPrompt) | (1 << (int)Slot.OllamaCompletion) | (1 << (int)Slot.RootPrompt)
        | (1 << (int)Slot.RootCompletion) | (1 << (int)Slot.NestedPrompt) | (1 << (int)Slot.NestedCompletion);

    /// <summary>Whether the value ended, whole and well-formed, with nothing but whitespace after it.</summary>
    public readonly bool IsComplete => _mode == Mode.Complete;

    /// <summary>Sets the names to look for; <see cref="Begin"/> keeps them.</summary>
    public void Configure(UsageDialect dialect)
    {
        this = default;
        _dialect = dialect;
    }

    /// <summary>Starts the next value.</summary>
    public void Begin()
    {
        var dialect = _dialect;
        this = default;
        _dialect = dialect;
    }

    /// <summary>Reads the next bytes of the value.</summary>
    public void Scan(ReadOnlySpan<byte> bytes)
    {
        // A value that arrives whole is read in one pass (TryScanWhole); bytes that end inside one, byte by byte.
        if (_mode == Mode.Value && _depth == 0 && EndsAContainer(bytes))
        {
            if (TryScanWhole(bytes))
            {
                return;
            }

            _values = default;
        }

        var i = 0;
        while (i < bytes.Length)
        {
            var b = bytes[i];
            switch (_mode)
            {
                case Mode.String:
                    i = ScanString(bytes, i);
                    continue;
                case Mode.Escape:
                    Escape(b);
                    break;
                case Mode.Hex:
                    _mode = HexDigit.Value(b) < 0 ? Mode.Invalid : --_hexLeft == 0 ? Mode.String : Mode.Hex;
                    break;
                case Mode.Number:
                    if (_number is NumberPart.Integer or NumberPart.Fraction or NumberPart.ExponentDigits)
                    {
                        // A run of digits at once: answers are full of long numbers (durations in nanoseconds).
                        i = SkipDigits(bytes, i);
                        if (i == bytes.Length)
                        {
                            return;
                        }

                        b = bytes[i];
                    }

                    if (!Number(b))
                    {
                        continue; // the byte after the number is read again as what follows it
                    }

                    break;
                case Mode.Literal:
                    Literal(b);
                    break;
                case Mode.Invalid:
                    return;
                case Mode.Colon when b == ':':
                    // A value follows its name; an answer written without whitespace starts it in the next byte, read
                    // now rather than after another turn through this switch.
                    _mode = Mode.Value;
                    if (++i < bytes.Length && bytes[i] > ' ')
                    {
                        StartValue(bytes[i]);
                        i = ReadOnIfString(bytes, i + 1);
                    }

                    continue;
                case Mode.AfterValue when b == ',':
                    if (!InObject)
                    {
                        _mode = Mode.Value;
                        break;
                    }

                    // The same for the next member's name.
                    _mode = Mode.Name;
                    if (++i < bytes.Length && bytes[i] == '"')
                    {
                        StartName((byte)'"');
                        i = ReadOnIfString(bytes, i + 1);
                    }

                    continue;
                default:
                    // Above the space it is no whitespace: one comparison decides most bytes here.
                    if (b > ' ' || b is not ((byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r'))
                    {
                        Structural(b);
                        i = ReadOnIfString(bytes, i + 1);
                        continue;
                    }

                    break;
            }

            i++;
        }
    }

    /// <summary>
    /// Sets what this complete value tells of the answer's counts (-1: not known), leaving alone what it does not
    /// tell. A value with a count that is not a whole number (a string, a fraction, a negative or huge number, null)
    /// tells nothing.
    /// </summary>
    public readonly void ApplyTo(ref long prompt, ref long completion)
    {
        if (!IsComplete || _odd)
        {
            return;
        }

        switch (_dialect)
        {
            case UsageDialect.Ollama:
                // The final object ("done":true) holds the counts; Go leaves out a count of 0 (omitempty), and /api/embed
                // answers with prompt_eval_count and no "done".
                if (_done || Has(Slot.OllamaPrompt) || Has(Slot.OllamaCompletion))
                {
                    prompt = ValueOrZero(Slot.OllamaPrompt);
                    completion = ValueOrZero(Slot.OllamaCompletion);
                }

                break;

            case UsageDialect.OpenAi:
                // A usage object is the whole count (embeddings have no completion tokens); "usage":null is none.
                if (_rootUsage && (Has(Slot.RootPrompt) || Has(Slot.RootCompletion)))
                {
                    prompt = ValueOrZero(Slot.RootPrompt);
                    completion = ValueOrZero(Slot.RootCompletion);
                }
                else if (_nestedUsage && (Has(Slot.NestedPrompt) || Has(Slot.NestedCompletion)))
                {
                    prompt = ValueOrZero(Slot.NestedPrompt);
                    completion = ValueOrZero(Slot.NestedCompletion);
                }

                break;

            default:
                // message_start counts the input (its output_tokens is a placeholder); message_delta counts the output
                // so far and, from Ollama, the input again: the estimate in message_start is then replaced.
                if (_nestedUsage && Has(Slot.NestedPrompt))
                {
                    prompt = _values[(int)Slot.NestedPrompt];
                }

                if (_rootUsage && Has(Slot.RootPrompt))
                {
                    prompt = _values[(int)Slot.RootPrompt];
                }

                if (_rootUsage && Has(Slot.RootCompletion))
                {
                    completion = _values[(int)Slot.RootCompletion];
                }

                break;
        }
    }

    private readonly bool Has(Slot slot) => (_present & (1 << (int)slot)) != 0;

    private readonly long ValueOrZero(Slot slot) => Has(slot) ? _values[(int)slot] : 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsCount(Slot slot) => ((CountSlots >> (int)slot) & 1) != 0;

    private readonly bool InObject
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (_objects[(_depth - 1) >> 6] & (1UL << ((_depth - 1) & 63))) != 0;
    }

    private void Structural(byte b)
    {
        switch (_mode)
        {
            case Mode.Value:
                StartValue(b);
                break;
            case Mode.FirstElement:
                if (b == ']')
                {
                    Close(isObject: false);
                }
                else
                {
                    StartValue(b);
                }

                break;
            case Mode.FirstName:
                if (b == '}')
                {
                    Close(isObject: true);
                }
                else
                {
                    StartName(b);
                }

                break;
            case Mode.Name:
                StartName(b);
                break;
            case Mode.Colon:
                // The colon itself is taken in Scan: anything else here is out of place.
                _mode = Mode.Invalid;
                break;
            case Mode.AfterValue:
                // The comma is taken in Scan: only the container's end may come instead.
                if (b is (byte)'}' or (byte)']')
                {
                    Close(isObject: b == '}');
                }
                else
                {
                    _mode = Mode.Invalid;
                }

                break;
            default:
                // Something after the complete value: the line or the body is not one JSON value.
                _mode = Mode.Invalid;
                break;
        }
    }

    private void StartValue(byte b)
    {
        var slot = SlotOfValue();
        switch (b)
        {
            case (byte)'{':
                if (slot == Slot.RootUsage)
                {
                    _rootUsage = true;
                }
                else if (slot == Slot.NestedUsage)
                {
                    _nestedUsage = true;
                }

                _odd |= IsCount(slot);
                Push(isObject: true);
                break;
            case (byte)'[':
                _odd |= IsCount(slot);
                Push(isObject: false);
                break;
            case (byte)'"':
                _odd |= IsCount(slot);
                _inName = false;
                _mode = Mode.String;
                break;
            case (byte)'t' or (byte)'f' or (byte)'n':
                _odd |= IsCount(slot);
                _slot = slot;
                _literal = b;
                _literalMatched = 1;
                _mode = Mode.Literal;
                break;
            case (byte)'-' or (>= (byte)'0' and <= (byte)'9'):
                _slot = slot;
                _numberPlain = b != '-';
                _numberValue = 0;
                _number = b switch { (byte)'-' => NumberPart.Minus, (byte)'0' => NumberPart.Zero, _ => NumberPart.Integer };
                Accumulate(b);
                _mode = Mode.Number;
                break;
            default:
                _mode = Mode.Invalid;
                break;
        }
    }

    /// <summary>The slot of a value that starts now, in the container at <see cref="_depth"/>.</summary>
    private readonly Slot SlotOfValue() => SlotOf(_depth, _name1, _name2, _name3);

    /// <summary>The slot of a value that starts in the container at <paramref name="depth"/>, under the names on its path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Slot SlotOf(int depth, Name name1, Name name2, Name name3) => depth switch
    {
        1 => name1 switch
        {
            Name.Done => Slot.Done,
            Name.PromptEvalCount => Slot.OllamaPrompt,
            Name.EvalCount => Slot.OllamaCompletion,
            Name.Usage => Slot.RootUsage,
            _ => Slot.None,
        },
        2 when name1 == Name.Usage => name2 switch
        {
            Name.Prompt => Slot.RootPrompt,
            Name.Completion => Slot.RootCompletion,
            _ => Slot.None,
        },
        2 when name1 == Name.Parent => name2 == Name.Usage ? Slot.NestedUsage : Slot.None,
        3 when name1 == Name.Parent && name2 == Name.Usage => name3 switch
        {
            Name.Prompt => Slot.NestedPrompt,
            Name.Completion => Slot.NestedCompletion,
            _ => Slot.None,
        },
        _ => Slot.None,
    };

    private void Push(bool isObject)
    {
        if (_depth == MaxDepth)
        {
            _mode = Mode.Invalid;
            return;
        }

        ref var word = ref _objects[_depth >> 6];
        var bit = 1UL << (_depth & 63);
        word = isObject ? word | bit : word & ~bit;
        _depth++;

        // A new container has no name yet: a stale one from a sibling must not give its values a slot.
        SetName(_depth, Name.None, ref _name1, ref _name2, ref _name3);

        _mode = isObject ? Mode.FirstName : Mode.FirstElement;
    }

    private void Close(bool isObject)
    {
        if (InObject != isObject)
        {
            _mode = Mode.Invalid;
            return;
        }

        _depth--;
        EndValue();
    }

    private void EndValue() => _mode = _depth == 0 ? Mode.Complete : Mode.AfterValue;

    /// <summary>After the byte that opened a token, at <paramref name="i"/>: a string (a name or a value) is read on at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ReadOnIfString(ReadOnlySpan<byte> bytes, int i) => _mode == Mode.String && i < bytes.Length ? ScanString(bytes, i) : i;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StartName(byte b)
    {
        if (b != '"')
        {
            _mode = Mode.Invalid;
            return;
        }

        _nameLength = IsWanted(_depth, _name1, _name2) ? 0 : -1;
        _inName = true;
        _mode = Mode.String;
    }

    private int ScanString(ReadOnlySpan<byte> bytes, int i)
    {
        var rest = bytes[i..];
        var stop = JsonSpan.IndexOfStringStop(rest);
        if (_inName && _nameLength == 0 && stop >= 0 && rest[stop] == '"')
        {
            // The whole name is here: it is told from these bytes, without a copy.
            EndName(stop <= MaxNameLength ? Identify(_dialect, rest[..stop]) : Name.Other);
            return i + stop + 1;
        }

        if (_inName && _nameLength >= 0)
        {
            AppendName(stop < 0 ? rest : rest[..stop]);
        }

        if (stop < 0)
        {
            return bytes.Length;
        }

        switch (rest[stop])
        {
            case (byte)'"':
                if (_inName)
                {
                    EndName(_nameLength < 0 ? Name.Other : Identify(_dialect, ((ReadOnlySpan<byte>)_nameBytes)[.._nameLength]));
                }
                else
                {
                    EndValue();
                }

                break;
            case (byte)'\\':
                _nameLength = -1; // an escaped name is none of ours
                _mode = Mode.Escape;
                break;
            default:
                _mode = Mode.Invalid;
                break;
        }

        return i + stop + 1;
    }

    private void AppendName(ReadOnlySpan<byte> run)
    {
        if (run.Length > MaxNameLength - _nameLength)
        {
            _nameLength = -1;
            return;
        }

        run.CopyTo(((Span<byte>)_nameBytes)[_nameLength..]);
        _nameLength += run.Length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EndName(Name name)
    {
        SetName(_depth, name, ref _name1, ref _name2, ref _name3);
        _inName = false;
        _mode = Mode.Colon;
    }

    /// <summary>Which name that matters <paramref name="name"/> is, told by its length first: most names are none of them.</summary>
    private static Name Identify(UsageDialect dialect, ReadOnlySpan<byte> name)
    {
        if (dialect == UsageDialect.Ollama)
        {
            return name.Length switch
            {
                4 when name.SequenceEqual("done"u8) => Name.Done,
                10 when name.SequenceEqual("eval_count"u8) => Name.EvalCount,
                17 when name.SequenceEqual("prompt_eval_count"u8) => Name.PromptEvalCount,
                _ => Name.Other,
            };
        }

        return name.Length switch
        {
            5 when name.SequenceEqual("usage"u8) => Name.Usage,
            12 when name.SequenceEqual("input_tokens"u8) => Name.Prompt,
            13 when name.SequenceEqual("prompt_tokens"u8) => Name.Prompt,
            13 when name.SequenceEqual("output_tokens"u8) => Name.Completion,
            17 when name.SequenceEqual("completion_tokens"u8) => Name.Completion,
            7 when dialect == UsageDialect.Anthropic && name.SequenceEqual("message"u8) => Name.Parent,
            8 when dialect == UsageDialect.OpenAi && name.SequenceEqual("response"u8) => Name.Parent,
            _ => Name.Other,
        };
    }

    /// <summary>Only the names on a path to a count are kept: the top level, a usage object, and the object that holds one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsWanted(int depth, Name name1, Name name2) => depth switch
    {
        1 => true,
        2 => name1 is Name.Usage or Name.Parent,
        3 => name1 == Name.Parent && name2 == Name.Usage,
        _ => false,
    };

    /// <summary>The name of the member being read in the container at <paramref name="depth"/>, where it matters.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SetName(int depth, Name name, ref Name name1, ref Name name2, ref Name name3)
    {
        switch (depth)
        {
            case 1:
                name1 = name;
                break;
            case 2:
                name2 = name;
                break;
            case 3:
                name3 = name;
                break;
        }
    }

    /// <summary>Whether the last byte of <paramref name="bytes"/> but whitespace closes an object or an array: they may hold a whole value.</summary>
    private static bool EndsAContainer(ReadOnlySpan<byte> bytes)
    {
        var end = bytes.TrimEnd(" \t\r\n"u8);
        return !end.IsEmpty && end[^1] is (byte)'}' or (byte)']';
    }

    private void Escape(byte b)
    {
        if (b == 'u')
        {
            _hexLeft = 4;
            _mode = Mode.Hex;
            return;
        }

        _mode = b is (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t'
            ? Mode.String
            : Mode.Invalid;
    }

    private void Literal(byte b)
    {
        var literal = _literal switch { (byte)'t' => "true"u8, (byte)'f' => "false"u8, _ => "null"u8 };
        if (b != literal[_literalMatched])
        {
            _mode = Mode.Invalid;
            return;
        }

        if (++_literalMatched == literal.Length)
        {
            _done |= _slot == Slot.Done && _literal == 't';
            EndValue();
        }
    }

    /// <summary>Reads <paramref name="b"/> as part of the number; false when it is not, and the number ended before it.</summary>
    private bool Number(byte b)
    {
        var digit = (uint)(b - '0') <= 9;
        switch (_number)
        {
            case NumberPart.Integer when digit:
                Accumulate(b);
                return true;
            case NumberPart.Zero or NumberPart.Integer:
                if (b == '.')
                {
                    _number = NumberPart.Dot;
                    _numberPlain = false;
                    return true;
                }

                if (b is (byte)'e' or (byte)'E')
                {
                    _number = NumberPart.Exponent;
                    _numberPlain = false;
                    return true;
                }

                EndNumber();
                return false;
            case NumberPart.Fraction:
                if (digit)
                {
                    return true;
                }

                if (b is (byte)'e' or (byte)'E')
                {
                    _number = NumberPart.Exponent;
                    return true;
                }

                EndNumber();
                return false;
            case NumberPart.ExponentDigits:
                if (digit)
                {
                    return true;
                }

                EndNumber();
                return false;
            case NumberPart.Exponent when b is (byte)'+' or (byte)'-':
                _number = NumberPart.ExponentSign;
                return true;
            default:
                // After a sign, a dot or an exponent's mark, a digit must come.
                if (!digit)
                {
                    _mode = Mode.Invalid;
                    return true;
                }

                _number = _number switch
                {
                    NumberPart.Minus => b == '0' ? NumberPart.Zero : NumberPart.Integer,
                    NumberPart.Dot => NumberPart.Fraction,
                    _ => NumberPart.ExponentDigits,
                };
                return true;
        }
    }

    /// <summary>Reads the digits from <paramref name="i"/> on; returns where they end.</summary>
    private int SkipDigits(ReadOnlySpan<byte> bytes, int i)
    {
        var rest = bytes[i..];
        var length = JsonSpan.IndexOfNonDigit(rest);
        if (length < 0)
        {
            length = rest.Length;
        }

        // Only a count's value is needed; any other number is only checked.
        if (_number == NumberPart.Integer && IsCount(_slot))
        {
            foreach (var digit in rest[..length])
            {
                Accumulate(digit);
            }
        }

        return i + length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Accumulate(byte b)
    {
        var digit = b - '0';
        if (digit is < 0 or > 9)
        {
            return;
        }

        if (_numberValue > (long.MaxValue - digit) / 10)
        {
            _numberPlain = false;
            return;
        }

        _numberValue = (_numberValue * 10) + digit;
    }

    private void EndNumber()
    {
        if (IsCount(_slot))
        {
            if (_numberPlain)
            {
                _values[(int)_slot] = _numberValue;
                _present |= (ushort)(1 << (int)_slot);
            }
            else
            {
                _odd = true;
            }
        }

        EndValue();
    }

    /// <summary>One bit per nesting level: set when that level is an object.</summary>
    [InlineArray(MaxDepth / 64)]
    private struct LevelBits
    {
        private ulong _element;
    }

    [InlineArray(MaxNameLength)]
    private struct NameBytes
    {
        private byte _element;
    }

    [InlineArray(10)]
    private struct SlotValues
    {
        private long _element;
    }
}
