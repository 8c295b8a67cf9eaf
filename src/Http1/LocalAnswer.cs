namespace OllamaSocketProxy.Http1;

/// <summary>What the proxy answers itself: nothing goes upstream, and no token is needed.</summary>
public enum LocalAnswer : byte
{
    /// <summary>Not answered locally: the request goes upstream, once authenticated.</summary>
    None,

    /// <summary><c>GET /</c> or <c>HEAD /</c>: Ollama's "is it running" health check (README.md#routing).</summary>
    Health,

    /// <summary>OPTIONS on any target, <c>*</c> included: the methods the proxy serves, in Allow (RFC 9110 §9.3.7).</summary>
    Options,
}

/// <summary>Chooses the <see cref="LocalAnswer"/> for a request whose method the proxy serves.</summary>
public static class LocalAnswers
{
    public static LocalAnswer For(RequestMethod method, TargetKind target)
    {
        if (method == RequestMethod.Options)
        {
            return LocalAnswer.Options;
        }

        // RFC 9112 §3.2.4: asterisk-form is only for OPTIONS.
        if (target == TargetKind.Asterisk)
        {
            RequestRejections.Throw(RequestRejection.InvalidRequestTarget);
        }

        return target == TargetKind.Root && method is RequestMethod.Get or RequestMethod.Head ? LocalAnswer.Health : LocalAnswer.None;
    }
}
