namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// The model policy's rules in one place: which routes need <c>manage</c>, where a route names its model, and what a
/// client with a model list may send. Reads nothing for a client whose list allows every model, except to refuse
/// it a management route.
/// </summary>
public static class ModelPolicy
{
    /// <summary>
    /// Decides about one request. <paramref name="path"/> is the forwarded path (for <c>/v1/models/{model}</c>),
    /// <paramref name="body"/> the model of the body bytes the proxy holds (their first
    /// <see cref="RequestModel.ScanLimit"/> bytes are read, de-chunked). The model found, if any, is in <paramref name="name"/>
    /// (<see cref="RequestModel.MaxNameLength"/> bytes) for the error and the access log.
    /// </summary>
    /// <remarks>
    /// When the answer is <see cref="ModelDecision.Allowed"/> with a model found in a body that goes on past the
    /// <see cref="RequestModel.ScanLimit"/> bytes read, the rest must pass <see cref="RequestModelGuard"/> before it is sent.
    /// </remarks>
    public static ModelDecision Decide(
        GatewayRouteKind route, ModelAllowList models, bool manage, ReadOnlySpan<byte> path, BodyModel body,
        Span<byte> name, out int nameLength, out RequestModelStatus status)
    {
        nameLength = 0;
        status = RequestModelStatus.NotFound;
        if (route == GatewayRouteKind.Manage)
        {
            return manage ? ModelDecision.Allowed : ModelDecision.ManageRefused;
        }

        if (models.AllowsEverything)
        {
            return ModelDecision.Allowed;
        }

        switch (route)
        {
            case GatewayRouteKind.ModelInBody or GatewayRouteKind.ModelOrNameInBody:
                var field = route == GatewayRouteKind.ModelInBody ? ModelField.Model : ModelField.ModelOrName;
                status = body.Find(field, name, out nameLength);
                return status != RequestModelStatus.Found ? ModelDecision.ModelRequired : Check(models, name[..nameLength]);

            case GatewayRouteKind.ModelInPath:
                status = GatewayRoute.TryGetPathModel(path, name, out nameLength) ? RequestModelStatus.Found : RequestModelStatus.Invalid;
                return status != RequestModelStatus.Found ? ModelDecision.ModelRequired : Check(models, name[..nameLength]);

            case GatewayRouteKind.Other:
                // A route Ollama may add later: a model it names is checked; without one the request goes on.
                status = body.Find(ModelField.Model, name, out nameLength);
                return status switch
                {
                    RequestModelStatus.Found => Check(models, name[..nameLength]),
                    RequestModelStatus.Ambiguous => ModelDecision.ModelRequired,
                    _ => ModelDecision.Allowed,
                };

            default:
                // No model in the request; a list's answer is filtered on the way back.
                return ModelDecision.Allowed;
        }
    }

    private static ModelDecision Check(ModelAllowList models, ReadOnlySpan<byte> name) =>
        models.Allows(name) ? ModelDecision.Allowed : ModelDecision.NotAllowed;
}
