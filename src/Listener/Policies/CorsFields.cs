using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// CORS for browser pages (README.md#several-clients-and-keys, <c>PROXY_ORIGINS</c>): a request whose <c>Origin</c>
/// matches gets <c>Access-Control-Allow-Origin</c> on every response, errors included; a preflight <c>OPTIONS</c>
/// (answered by the proxy without a token) gets the preflight fields. An origin that does not match gets no CORS field:
/// the browser refuses it, not the proxy.
/// </summary>
internal sealed class CorsFields(CorsPolicy origins) : RequestPolicy
{
    public override void OnHead(RequestContext request)
    {
        var head = request.Head;

        // Several Origin fields are no origin at all (RFC 6454 §7.2: one serialized origin).
        if (head.OriginCount != 1)
        {
            return;
        }

        if (head.Method == RequestMethod.Options && head.HasAccessControlRequestMethod)
        {
            origins.WritePreflightFields(request.ResponseFields, head.Origin, head.AccessControlRequestMethod, head.AccessControlRequestHeaders);
        }
        else
        {
            origins.WriteAllowOrigin(request.ResponseFields, head.Origin);
        }
    }
}
