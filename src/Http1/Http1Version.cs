namespace OllamaSocketProxy.Http1;

/// <summary>The two versions the proxy speaks with clients (RFC 9112 §2.3); others are refused with 505.</summary>
public enum Http1Version : byte
{
    Http10,
    Http11,
}
