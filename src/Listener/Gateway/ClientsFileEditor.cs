using System.Security.Cryptography;
using System.Text;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// Adds an entry to a clients file as text, so that the rest of the file (comments, spacing, order) stays as the
/// operator wrote it, and writes files whole: a reader (the proxy's reload) sees the old file or the new one.
/// </summary>
internal static class ClientsFileEditor
{
    /// <summary>A new clients file holding one entry.</summary>
    public static byte[] NewFile(string entry) => Encoding.UTF8.GetBytes(
        "// The proxy's clients (PROXY_CLIENTS_FILE). token_sha256 is the SHA-256 of the client's token, never the token;\n"
        + "// add a client with: OllamaSocketProxy clients add NAME [--models a,b]\n"
        + "{\n"
        + "  \"clients\": [\n"
        + $"    {entry}\n"
        + "  ]\n"
        + "}\n");

    /// <summary>
    /// <paramref name="original"/> with <paramref name="entry"/> (one line of JSON) as the last element of the
    /// <c>clients</c> array that <paramref name="layout"/> locates: on its own line before the <c>]</c>, indented as
    /// the entry before it, with a comma after that entry unless one is there.
    /// </summary>
    public static byte[] AddEntry(ReadOnlySpan<byte> original, ClientsFileLayout layout, string entry)
    {
        var newline = original.IndexOf("\r\n"u8) >= 0 ? "\r\n" : "\n";
        var close = layout.ArrayClose;
        var closeLineStart = LineStart(original, close);
        var closeOnOwnLine = IsBlank(original[closeLineStart..close]);
        var closeIndent = Indent(original, closeLineStart);
        var step = closeIndent.Contains('\t', StringComparison.Ordinal) ? "\t" : "  ";

        var elementIndent = closeIndent + step;
        var needsComma = false;
        if (layout.LastElementStart >= 0)
        {
            var elementLineStart = LineStart(original, layout.LastElementStart);
            if (IsBlank(original[elementLineStart..layout.LastElementStart]))
            {
                elementIndent = Indent(original, elementLineStart);
            }

            needsComma = !HasComma(original[layout.LastElementEnd..close]);
        }

        var insertAt = closeOnOwnLine ? closeLineStart : close;
        var inserted = closeOnOwnLine
            ? elementIndent + entry + newline
            : newline + elementIndent + entry + newline + closeIndent;

        var result = new List<byte>(original.Length + inserted.Length + 1);
        if (needsComma)
        {
            result.AddRange(original[..layout.LastElementEnd]);
            result.Add((byte)',');
            result.AddRange(original[layout.LastElementEnd..insertAt]);
        }
        else
        {
            result.AddRange(original[..insertAt]);
        }

        result.AddRange(Encoding.UTF8.GetBytes(inserted));
        result.AddRange(original[insertAt..]);
        return [.. result];
    }

    /// <summary>
    /// Replaces the file at <paramref name="path"/> (or the file its symbolic link points to) with
    /// <paramref name="content"/>: a temporary file in the same directory, flushed to disk, then renamed over it,
    /// keeping the old file's permissions.
    /// </summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> content)
    {
        var fullPath = Path.GetFullPath(path);
        var target = File.Exists(fullPath) ? File.ResolveLinkTarget(fullPath, returnFinalTarget: true)?.FullName ?? fullPath : fullPath;
        var temporary = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{RandomNumberGenerator.GetHexString(8, lowercase: true)}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            if (!OperatingSystem.IsWindows() && File.Exists(target))
            {
                File.SetUnixFileMode(temporary, File.GetUnixFileMode(target));
            }

            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The error that got us here is the one to report.
            }

            throw;
        }
    }

    private static int LineStart(ReadOnlySpan<byte> text, int offset) => text[..offset].LastIndexOf((byte)'\n') + 1;

    private static string Indent(ReadOnlySpan<byte> text, int lineStart)
    {
        var line = text[lineStart..];
        var length = line.IndexOfAnyExcept((byte)' ', (byte)'\t');
        return Encoding.ASCII.GetString(line[..(length < 0 ? line.Length : length)]);
    }

    private static bool IsBlank(ReadOnlySpan<byte> text) => text.IndexOfAnyExcept((byte)' ', (byte)'\t') < 0;

    /// <summary>Whether the text between the last entry and the <c>]</c> (white space and comments) holds a comma.</summary>
    private static bool HasComma(ReadOnlySpan<byte> between)
    {
        var i = 0;
        while (i < between.Length)
        {
            if (between[i..].StartsWith("//"u8))
            {
                var end = between[i..].IndexOf((byte)'\n');
                i = end < 0 ? between.Length : i + end + 1;
            }
            else if (between[i..].StartsWith("/*"u8))
            {
                var end = between[(i + 2)..].IndexOf("*/"u8);
                i = end < 0 ? between.Length : i + 2 + end + 2;
            }
            else if (between[i] == (byte)',')
            {
                return true;
            }
            else
            {
                i++;
            }
        }

        return false;
    }
}
