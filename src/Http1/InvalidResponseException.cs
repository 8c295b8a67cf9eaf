namespace OllamaSocketProxy.Http1;

/// <summary>The upstream sent something that is not a valid HTTP/1.1 response; the message is a fixed text.</summary>
public sealed class InvalidResponseException(string message) : Exception(message);
