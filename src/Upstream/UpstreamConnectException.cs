namespace OllamaSocketProxy.Upstream;

/// <summary>Why no connection to the upstream could be made.</summary>
public enum UpstreamConnectFailure
{
    /// <summary>The name did not resolve, or the connection was refused, reset or unreachable.</summary>
    Unreachable,

    /// <summary>The TLS handshake failed: an untrusted certificate, one for another name, or a protocol error.</summary>
    Tls,

    /// <summary>The connection or handshake did not finish within the connect timeout.</summary>
    Timeout,
}

/// <summary>A failed connect; the message names the cause and never a secret.</summary>
public sealed class UpstreamConnectException(UpstreamConnectFailure failure, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public UpstreamConnectFailure Failure { get; } = failure;
}
