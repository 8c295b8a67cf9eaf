using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// Turns a variable's text (trimmed, never blank) into its value, or throws <see cref="ProxyConfigurationException"/>
/// naming the variable. A message may quote the text, except for a secret's.
/// </summary>
internal static class SettingParsers
{
    public static string Secret(string name, string text)
    {
        // The value goes into a header line: only visible ASCII, or it could split the head (RFC 9110 §5.5).
        foreach (var c in text)
        {
            if (c is < '!' or > '~')
            {
                throw Invalid(name, "may contain only visible ASCII characters (no spaces or control characters)");
            }
        }

        return text;
    }

    public static IPEndPoint EndPoint(string name, string text)
    {
        var address = text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase)
            ? "127.0.0.1" + text["localhost".Length..]
            : text;
        var colon = address.LastIndexOf(':');
        var portText = colon < 0 ? "" : address[(colon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, null, out var port) || port > 65535
            || !IPEndPoint.TryParse(address, out var endPoint))
        {
            throw Invalid(name, $"'{text}' is not an address:port such as 127.0.0.1:11434 or [::]:11434");
        }

        return endPoint;
    }

    public static Uri Origin(string name, string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0
            || uri.AbsolutePath != "/")
        {
            throw Invalid(name, $"'{text}' is not an origin such as https://ollama.com or http://192.168.1.10:11434 (scheme, host and optional port only)");
        }

        return uri;
    }

    public static X509Certificate2Collection PemFile(string name, string path)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw Invalid(name, $"'{path}' could not be read as PEM certificates: {e.Message}");
        }

        return certificates.Count > 0 ? certificates : throw Invalid(name, $"'{path}' holds no PEM certificate");
    }

    public static long Integer(string name, string text, long min, long max)
    {
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < min || number > max)
        {
            throw Invalid(name, $"'{text}' is not a whole number from {min} to {max}");
        }

        return number;
    }

    public static TimeSpan Seconds(string name, string text)
    {
        // At most a week: more is surely a mistake, and a huge number would overflow TimeSpan.
        if (!double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds)
            || seconds <= 0 || seconds > 86_400 * 7)
        {
            throw Invalid(name, $"'{text}' is not a number of seconds greater than 0 (for example 30 or 0.5)");
        }

        return TimeSpan.FromSeconds(seconds);
    }

    public static bool Boolean(string name, string text) => text.ToLowerInvariant() switch
    {
        "1" or "true" or "yes" or "on" => true,
        "0" or "false" or "no" or "off" => false,
        _ => throw Invalid(name, $"'{text}' is not true or false"),
    };

    public static LogLevel Level(string name, string text) =>
        Enum.TryParse<LogLevel>(text, ignoreCase: true, out var level) && Enum.IsDefined(level)
            ? level
            : throw Invalid(name, $"'{text}' is not one of Trace, Debug, Information, Warning, Error, Critical, None");

    /// <summary>A value parsed by a type of its own, whose <see cref="FormatException"/> message reads after the name.</summary>
    public static T Formatted<T>(string name, string text, Func<string, T> parse)
    {
        try
        {
            return parse(text);
        }
        catch (FormatException e)
        {
            throw Invalid(name, e.Message);
        }
    }

    private static ProxyConfigurationException Invalid(string name, string why) => new(name, why);
}
