namespace OllamaSocketProxy.Listener;

/// <summary>
/// The arguments of a subcommand (<c>clients</c>, <c>usage</c>), one at a time: <c>--name value</c>,
/// <c>--name=value</c>, flags and bare words.
/// </summary>
internal sealed class CommandArguments(IReadOnlyList<string> args, int start = 0)
{
    private int _next = start;
    private string? _inlineValue;

    /// <summary>The whole argument at hand.</summary>
    public string Current { get; private set; } = "";

    /// <summary>The argument's name: <see cref="Current"/> up to an <c>=</c> that follows <c>--name</c>.</summary>
    public string Option { get; private set; } = "";

    /// <summary>The value came with the name (<c>--name=value</c>): a flag given so is a mistake.</summary>
    public bool HasInlineValue => _inlineValue is not null;

    public bool MoveNext()
    {
        if (_next >= args.Count)
        {
            return false;
        }

        Current = args[_next++];
        var equals = Current.StartsWith("--", StringComparison.Ordinal) ? Current.IndexOf('=', StringComparison.Ordinal) : -1;
        Option = equals < 0 ? Current : Current[..equals];
        _inlineValue = equals < 0 ? null : Current[(equals + 1)..];
        return true;
    }

    /// <summary>The option's value: after its <c>=</c>, else the next argument.</summary>
    public string Value() =>
        _inlineValue ?? (_next < args.Count ? args[_next++] : throw new CommandUsageException($"{Option} needs a value"));
}

/// <summary>A subcommand was called wrongly: its message and the usage text, exit code 2.</summary>
internal sealed class CommandUsageException(string message) : Exception(message);
