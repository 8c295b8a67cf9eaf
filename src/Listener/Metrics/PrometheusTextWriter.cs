using System.Buffers;
using System.Globalization;
using System.Text;

namespace OllamaSocketProxy.Listener.Metrics;

/// <summary>
/// Writes the Prometheus text exposition format, version 0.0.4, as UTF-8: a <c># HELP</c> and a <c># TYPE</c> line
/// per family, then one line per sample, <c>name{label="value",…} value</c>, each ended by <c>\n</c>. Knows the
/// syntax only: which families and samples there are is <see cref="PrometheusExporter"/>'s business.
/// </summary>
public readonly struct PrometheusTextWriter
{
    /// <summary>The <c>Content-Type</c> of a scrape answer in this format.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    // The format's escapes: a label value escapes backslash, double quote and line feed; HELP text only the first
    // and the last.
    private static readonly SearchValues<char> s_labelValueEscapes = SearchValues.Create("\\\"\n");
    private static readonly SearchValues<char> s_helpEscapes = SearchValues.Create("\\\n");

    private readonly IBufferWriter<byte> _output;

    public PrometheusTextWriter(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
    }

    /// <summary>
    /// <c># HELP name help</c> (left out when <paramref name="help"/> is empty) and <c># TYPE name type</c>.
    /// <paramref name="name"/> must be a valid metric name (see <see cref="SanitizeMetricName"/>).
    /// </summary>
    public void WriteFamilyHeader(ReadOnlySpan<byte> name, string? help, PrometheusMetricType type)
    {
        if (!string.IsNullOrEmpty(help))
        {
            Write("# HELP "u8);
            Write(name);
            Write(" "u8);
            WriteEscaped(help, s_helpEscapes);
            Write("\n"u8);
        }

        Write("# TYPE "u8);
        Write(name);
        Write(type switch
        {
            PrometheusMetricType.Counter => " counter\n"u8,
            PrometheusMetricType.Gauge => " gauge\n"u8,
            PrometheusMetricType.Histogram => " histogram\n"u8,
            _ => " untyped\n"u8,
        });
    }

    /// <summary>
    /// One sample line: <paramref name="name"/> and <paramref name="suffix"/> (<c>_bucket</c>, <c>_sum</c>, …), the
    /// label pairs <paramref name="labels"/> (already escaped, see <see cref="WriteLabelPair"/>) and
    /// <paramref name="extraLabel"/> (a bucket's <c>le="…"</c>), in braces when there are any, then the value.
    /// </summary>
    public void WriteSample(ReadOnlySpan<byte> name, ReadOnlySpan<byte> suffix, ReadOnlySpan<byte> labels, ReadOnlySpan<byte> extraLabel, double value)
    {
        Write(name);
        Write(suffix);
        if (!labels.IsEmpty || !extraLabel.IsEmpty)
        {
            Write("{"u8);
            Write(labels);
            if (!labels.IsEmpty && !extraLabel.IsEmpty)
            {
                Write(","u8);
            }

            Write(extraLabel);
            Write("}"u8);
        }

        Write(" "u8);
        WriteValue(value);
        Write("\n"u8);
    }

    /// <summary>
    /// A value as the format writes floats: the shortest text that reads back as the same double, and
    /// <c>+Inf</c>, <c>-Inf</c>, <c>NaN</c> (what Go's <c>strconv.ParseFloat</c>, which Prometheus reads with, accepts).
    /// </summary>
    public void WriteValue(double value)
    {
        if (double.IsNaN(value))
        {
            Write("NaN"u8);
        }
        else if (double.IsPositiveInfinity(value))
        {
            Write("+Inf"u8);
        }
        else if (double.IsNegativeInfinity(value))
        {
            Write("-Inf"u8);
        }
        else
        {
            // 32 bytes hold any double in "R" form (at most 24: sign, 17 digits, point, exponent).
            var span = _output.GetSpan(32);
            var formatted = value.TryFormat(span, out var written, "R", CultureInfo.InvariantCulture);
            System.Diagnostics.Debug.Assert(formatted, "a double formats within 32 bytes");
            _output.Advance(written);
        }
    }

    /// <summary>
    /// <c>name="value"</c>, the value escaped, after a comma unless <paramref name="first"/>: one pair of the label list
    /// that <see cref="WriteSample"/> takes. <paramref name="name"/> must be a valid label name (see
    /// <see cref="SanitizeLabelName"/>).
    /// </summary>
    public void WriteLabelPair(string name, string value, bool first)
    {
        if (!first)
        {
            Write(","u8);
        }

        WriteEscaped(name, s_labelValueEscapes);
        Write("=\""u8);
        WriteEscaped(value, s_labelValueEscapes);
        Write("\""u8);
    }

    /// <summary>A metric name the format accepts (<c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>): every other character becomes <c>_</c>.</summary>
    public static string SanitizeMetricName(string name) => Sanitize(name, allowColon: true);

    /// <summary>A label name the format accepts (<c>[a-zA-Z_][a-zA-Z0-9_]*</c>): every other character becomes <c>_</c>.</summary>
    public static string SanitizeLabelName(string name) => Sanitize(name, allowColon: false);

    private static string Sanitize(string name, bool allowColon)
    {
        if (name.Length == 0)
        {
            return "_";
        }

        var valid = true;
        for (var i = 0; i < name.Length && valid; i++)
        {
            valid = IsNameChar(name[i], allowColon, first: i == 0);
        }

        if (valid)
        {
            return name;
        }

        return string.Create(name.Length, (name, allowColon), static (chars, state) =>
        {
            for (var i = 0; i < chars.Length; i++)
            {
                var c = state.name[i];
                chars[i] = IsNameChar(c, state.allowColon, first: i == 0) ? c : '_';
            }
        });
    }

    private static bool IsNameChar(char c, bool allowColon, bool first) =>
        char.IsAsciiLetter(c) || c == '_' || (allowColon && c == ':') || (!first && char.IsAsciiDigit(c));

    private void WriteEscaped(string text, SearchValues<char> escapes)
    {
        var rest = text.AsSpan();
        while (!rest.IsEmpty)
        {
            var next = rest.IndexOfAny(escapes);
            var run = next < 0 ? rest : rest[..next];
            if (!run.IsEmpty)
            {
                var span = _output.GetSpan(Encoding.UTF8.GetMaxByteCount(run.Length));
                _output.Advance(Encoding.UTF8.GetBytes(run, span));
            }

            if (next < 0)
            {
                break;
            }

            Write(rest[next] switch
            {
                '\\' => "\\\\"u8,
                '"' => "\\\""u8,
                _ => "\\n"u8,
            });
            rest = rest[(next + 1)..];
        }
    }

    private void Write(ReadOnlySpan<byte> bytes) => _output.Write(bytes);
}
