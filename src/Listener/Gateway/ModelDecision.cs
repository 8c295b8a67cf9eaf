namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>What the model policy decided about one request (<see cref="ModelPolicy.Decide"/>), and the answer it calls for.</summary>
public enum ModelDecision : byte
{
    /// <summary>Forward it. A model list answer still goes through <see cref="ModelListFilter"/>.</summary>
    Allowed,

    /// <summary>400 with <see cref="ModelErrors.ModelRequired"/>: the route carries a model, the body names none usable.</summary>
    ModelRequired,

    /// <summary>403 with <see cref="ModelErrors.WriteNotAllowed"/>: the model is not in the client's list.</summary>
    NotAllowed,

    /// <summary>403 with <see cref="ModelErrors.WriteManageRefused"/>: a <see cref="GatewayRouteKind.Manage"/> route, no <c>manage</c>.</summary>
    ManageRefused,
}
