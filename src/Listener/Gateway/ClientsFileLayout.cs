namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// Where the <c>clients</c> array sits in the file's bytes, so that <c>clients add</c> can insert an entry as text and
/// keep everything else (comments, spacing) as it was. Offsets count from the first byte of the file.
/// </summary>
/// <param name="ArrayClose">The offset of the array's closing <c>]</c>.</param>
/// <param name="LastElementStart">The offset of the last entry's <c>{</c>; -1 when the array is empty.</param>
/// <param name="LastElementEnd">The offset just past the last entry's <c>}</c>; -1 when the array is empty.</param>
internal readonly record struct ClientsFileLayout(int ArrayClose, int LastElementStart, int LastElementEnd);
