namespace OllamaSocketProxy.Listener;

/// <summary>
/// What a setting is when its variable is unset or blank: the text a user would write (<c>130</c>,
/// <c>127.0.0.1:11434</c>), read exactly as if it had been set; <see cref="Unset"/>, which leaves the
/// option empty; or <see cref="Required"/>, which stops the start.
/// </summary>
internal readonly record struct SettingDefault
{
    private SettingDefault(string? text, bool isRequired)
    {
        Text = text;
        IsRequired = isRequired;
    }

    /// <summary>No default: the option stays empty (<c>null</c>) and the feature it turns on stays off.</summary>
    public static SettingDefault Unset { get; } = new(null, isRequired: false);

    /// <summary>No default: the proxy does not start without a value.</summary>
    public static SettingDefault Required { get; } = new(null, isRequired: true);

    /// <summary>The default as a user writes it in <c>.env</c>; <c>null</c> for <see cref="Unset"/> and <see cref="Required"/>.</summary>
    public string? Text { get; }

    public bool IsRequired { get; }

    public static implicit operator SettingDefault(string text) => new(text, isRequired: false);

    public override string ToString() => Text ?? (IsRequired ? "(required)" : "(unset)");
}
